"""Suite-wide options: `slow` tests are skipped, visibly, unless `--run-slow` is given."""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--run-slow", action="store_true", default=False, help="also run tests marked slow")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--run-slow"):
        return
    skip = pytest.mark.skip(reason="slow: run with --run-slow (or python bench/reliability.py)")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)
