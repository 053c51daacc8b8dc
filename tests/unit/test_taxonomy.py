from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from itsm_bridge.mapping.taxonomy import Taxonomy, Term, Vocabulary, normalize

DB = Term(
    "Database",
    ("DB", "Databases"),
    {"servicenow": "database", "jira": "Database"},
    Vocabulary("subcategory", [Term("Oracle", ("ora",), {"servicenow": "oracle", "jira": "Oracle"})]),
)
NET = Term("Network", ("Net",), {"servicenow": "network", "jira": "Network"}, Vocabulary("subcategory", []))
OTHER = Term("Inquiry", (), {"servicenow": "inquiry", "jira": "Inquiry"})
CATS = Vocabulary("category", [DB, NET, OTHER], default="Inquiry")


def taxonomy(**policies):
    return Taxonomy(CATS, Vocabulary("service", []), Vocabulary("resolution_code", []), policies)


def test_aliases_are_case_and_space_insensitive():
    for spelling in ("DB", "db", " database", "DATABASES ", "data base".replace(" ", "")):
        assert CATS.canonical(spelling) == "Database"
    assert CATS.canonical("  Net ") == "Network"
    assert CATS.canonical("storage") is None


@given(st.text(max_size=20))
def test_alias_resolution_is_idempotent(text):
    once = CATS.canonical(text)
    if once is not None:
        assert CATS.canonical(once) == once


@given(st.sampled_from(["servicenow", "jira"]), st.sampled_from(list(CATS.terms)))
def test_canonical_to_platform_and_back_is_identity(platform, name):
    out = CATS.to_platform(platform, name, "block")
    assert out.finding is None
    back = CATS.from_platform(platform, out.value, "block")
    assert back.value == name and back.finding is None


@given(st.text(alphabet=" \tabcDEF", max_size=12))
def test_normalize_is_idempotent(text):
    assert normalize(normalize(text)) == normalize(text)


def test_unmapped_block_policy_gives_blocking_finding_and_no_value():
    r = CATS.from_platform("servicenow", "quantum", "block")
    assert r.value is None and r.finding.severity == "block" and r.finding.field == "category"
    assert "quantum" in r.finding.message


def test_unmapped_default_policy_uses_default_with_warning():
    r = CATS.from_platform("jira", "quantum", "default")
    assert r.value == "Inquiry" and r.finding.severity == "warn"
    out = CATS.to_platform("jira", "quantum", "default")
    assert out.value == "Inquiry" and out.finding.severity == "warn"


def test_unmapped_pass_policy_keeps_value_with_warning():
    r = CATS.from_platform("jira", "Quantum", "pass")
    assert r.value == "Quantum" and r.finding.severity == "warn"


def test_subcategory_maps_within_its_category():
    t = taxonomy(servicenow="block")
    cat, sub = t.category_from_platform("servicenow", "database", "oracle")
    assert (cat.value, sub.value) == ("Database", "Oracle")
    cat, sub = t.category_to_platform("servicenow", "DB", "ora")
    assert (cat.value, sub.value) == ("database", "oracle")
    _, sub = t.category_from_platform("servicenow", "network", "oracle")
    assert sub.value is None and sub.finding.severity == "block"


def test_empty_values_are_not_findings():
    assert CATS.from_platform("jira", "", "block").finding is None
    assert CATS.to_platform("jira", None, "block").value is None
