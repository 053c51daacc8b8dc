"""Suite-wide options: `slow` tests are skipped, visibly, unless `--run-slow` is given.

Property tests check behaviour, not speed: hypothesis's per-example deadline (200 ms) turns a
busy machine into a failure, so it is off for the whole suite.
"""

from __future__ import annotations

import pytest
from hypothesis import settings

settings.register_profile("suite", deadline=None)
settings.load_profile("suite")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--run-slow", action="store_true", default=False, help="also run tests marked slow")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--run-slow"):
        return
    skip = pytest.mark.skip(reason="slow: run with --run-slow (or python bench/reliability.py)")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)
