"""The spec lookup: bundled files need nothing outside the clone; unlicensed ones skip with a
reason naming the file and its origin, or fail under CI."""

from __future__ import annotations

from pathlib import Path

import pytest

import tests.specs as specs


@pytest.fixture
def nothing_outside(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(specs, "SHARED", tmp_path / "no-shared")
    monkeypatch.setenv("ITSM_BRIDGE_SPECS", str(tmp_path / "empty"))
    monkeypatch.delenv("ITSM_BRIDGE_REQUIRE_SPECS", raising=False)
    return tmp_path


def test_bundled_specs_are_found_without_anything_outside_the_clone(nothing_outside: Path) -> None:
    for name in ("jira-platform-v3.openapi.json", "cachet-v2-community.swagger.yaml", "servicenow-examples"):
        assert specs.spec_path(name).is_relative_to(specs.BUNDLED)


def test_an_unlicensed_spec_missing_everywhere_skips_naming_the_file_and_its_origin(nothing_outside: Path) -> None:
    with pytest.raises(pytest.skip.Exception, match=r"statuspage-v1\.openapi\.json.*developer\.statuspage\.io"):
        specs.spec_path("statuspage-v1.openapi.json")


def test_an_unlicensed_spec_is_taken_from_the_folder_the_environment_names(
    nothing_outside: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = nothing_outside / "mine"
    folder.mkdir()
    (folder / "jira-servicedesk.openapi.json").write_text("{}")
    monkeypatch.setenv("ITSM_BRIDGE_SPECS", str(folder))
    assert specs.spec_path("jira-servicedesk.openapi.json") == folder / "jira-servicedesk.openapi.json"


def test_ci_fails_instead_of_skipping_a_missing_spec(nothing_outside: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ITSM_BRIDGE_REQUIRE_SPECS", "1")
    with pytest.raises(pytest.fail.Exception, match="jira-servicedesk"):
        specs.spec_path("jira-servicedesk.openapi.json")
