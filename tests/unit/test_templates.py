from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from itsm_bridge.mapping.templates import (
    ALLOWED_FIELDS,
    TemplateProblem,
    escape_markdown,
    public_context,
    render_public,
    template_problems,
)
from itsm_bridge.model import Comment, Incident, PublicStatus

DEFAULT_BODY = "{{ public_message or 'We are investigating an issue affecting ' ~ service ~ '.' }}"


def incident(**kw) -> Incident:
    base = dict(key="INC1", title="Email delayed", service="Email", public_status=PublicStatus.IDENTIFIED)
    return Incident(**{**base, **kw})


def test_context_holds_only_the_allow_listed_fields():
    inc = incident(
        description="DESC",
        assignee="ASSIGNEE",
        reporter="REPORTER",
        assignment_group="GROUP",
        resolution_notes="NOTES",
        comments=(Comment("a", "WORKNOTE", datetime(2024, 1, 1, tzinfo=UTC)),),
    )
    ctx = public_context(inc)
    assert set(ctx) == set(ALLOWED_FIELDS)
    assert not {"DESC", "ASSIGNEE", "REPORTER", "GROUP", "NOTES", "WORKNOTE"} & {str(v) for v in ctx.values()}


@pytest.mark.parametrize(
    "name", ["description", "comments", "work_notes", "assignee", "reporter", "assignment_group", "incident"]
)
def test_a_template_cannot_reach_internal_fields(name):
    with pytest.raises(TemplateProblem, match=name):
        render_public("{{ " + name + " }}", incident(description="secret"))


def test_sandbox_refuses_attribute_escapes():
    with pytest.raises(TemplateProblem, match="unsafe"):
        render_public("{{ title.__class__.__mro__ }}", incident())


def test_globals_are_not_available():
    with pytest.raises(TemplateProblem):
        render_public("{{ range(3) }}", incident())


def test_default_body_uses_public_message_or_service():
    assert render_public(DEFAULT_BODY, incident(public_message="Mail is slow.")) == "Mail is slow."
    assert render_public(DEFAULT_BODY, incident()) == "We are investigating an issue affecting Email."


def test_html_is_escaped_so_script_never_renders():
    out = render_public("{{ title }}", incident(title="<script>alert(1)</script>"))
    assert "<script" not in out and "&lt;script&gt;" in out


def test_html_in_a_concatenated_value_is_escaped_too():
    out = render_public(DEFAULT_BODY, incident(service="<img src=x onerror=alert(1)>"))
    assert "<img" not in out and "&lt;img" in out


def test_markdown_links_and_emphasis_are_escaped():
    out = render_public("{{ title }}", incident(title="[click](javascript:alert(1)) **now**"))
    assert "javascript:" not in out
    assert out == r"\[click\](javascript\:alert(1)) \*\*now\*\*"


def test_javascript_scheme_is_neutralised_whatever_the_case_or_spacing():
    for text in ("JavaScript:alert(1)", "javascript :x", "vbscript:msgbox"):
        out = escape_markdown(text).replace(" ", "").lower()
        assert "javascript:" not in out and "vbscript:" not in out


def test_line_start_markdown_is_escaped():
    assert escape_markdown("- a\n# b\n> c\n1. d") == "\\- a\n\\# b\n> c\n1\\. d"


def test_plain_prose_is_left_readable():
    text = "Customer data: unaffected. Payments API slow since 10:00 (UTC)."
    assert escape_markdown(text) == text


def test_times_are_rendered_in_utc():
    inc = incident(opened=datetime(2024, 3, 1, 9, 5, tzinfo=UTC), resolved=datetime(2024, 3, 1, 10, 0, tzinfo=UTC))
    assert render_public("{{ started }} to {{ resolved }}", inc) == "2024-03-01 09:05 UTC to 2024-03-01 10:00 UTC"


def test_public_status_renders_as_its_word():
    assert render_public("{{ public_status }}", incident()) == "identified"


def test_template_problems_names_the_fault():
    assert template_problems("{{ title }}") == []
    assert template_problems("{{ title ") and template_problems("{{ caller }}")


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126) | st.just("\n"), max_size=60))
def test_a_markup_value_reads_as_written_once_rendered_as_commonmark(text):
    """What a reader of a Markdown page sees is the value itself (whitespace aside): no backslash,
    no entity, no emphasis or link made of it."""
    from itsm_bridge.sandbox.rendering import markdown_text

    shown = markdown_text(render_public("{{ title }}", incident(title=text)))
    assert " ".join(shown.split()) == " ".join(text.split())


def test_a_plain_text_field_gets_the_value_as_it_is():
    title = "can't pay & refunds {{ config }} *x* <b>"
    assert render_public("{{ title }}", incident(title=title), markup=False) == title
