"""ADF <-> plain text: user text stays text, only safe links, exact round trip."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from itsm_bridge.connectors.jira.adf import adf_to_text, text_to_adf


def test_paragraphs_and_line_breaks_become_paragraph_and_hardbreak_nodes():
    doc = text_to_adf("first line\nsecond line\n\nnext paragraph")
    assert doc == {
        "type": "doc",
        "version": 1,
        "content": [
            {
                "type": "paragraph",
                "content": [
                    {"type": "text", "text": "first line"},
                    {"type": "hardBreak"},
                    {"type": "text", "text": "second line"},
                ],
            },
            {"type": "paragraph", "content": [{"type": "text", "text": "next paragraph"}]},
        ],
    }


def test_http_https_and_mailto_become_link_marks_without_trailing_punctuation():
    doc = text_to_adf("see https://status.example.com/x?a=1. or mailto:ops@example.com, http://a.b")
    nodes = doc["content"][0]["content"]
    links = [(n["text"], n["marks"][0]["attrs"]["href"]) for n in nodes if "marks" in n]
    assert links == [
        ("https://status.example.com/x?a=1", "https://status.example.com/x?a=1"),
        ("mailto:ops@example.com", "mailto:ops@example.com"),
        ("http://a.b", "http://a.b"),
    ]
    assert [n["text"] for n in nodes if "marks" not in n] == ["see ", ". or ", ", "]


def test_other_schemes_mentions_and_wiki_markup_stay_plain_text():
    text = "javascript:alert(1) ftp://x.y [~admin] @here *bold* {code} [link|http://evil] ![img.png!"
    doc = text_to_adf(text)
    nodes = doc["content"][0]["content"]
    assert all(n["type"] == "text" for n in nodes)
    # only the bare http URL inside the wiki link syntax is a link, and only up to the bracket
    linked = [n for n in nodes if "marks" in n]
    assert [n["text"] for n in linked] == ["http://evil"]
    assert adf_to_text(doc) == text


def test_empty_text_is_an_empty_document():
    assert text_to_adf("") == {"type": "doc", "version": 1, "content": []}
    assert adf_to_text(text_to_adf(None)) == ""


def test_reading_collects_mentions_emoji_cards_lists_and_headings():
    doc = {
        "type": "doc",
        "version": 1,
        "content": [
            {"type": "heading", "attrs": {"level": 2}, "content": [{"type": "text", "text": "Impact"}]},
            {
                "type": "paragraph",
                "content": [
                    {"type": "mention", "attrs": {"id": "5b10", "text": "@Ana Lima"}},
                    {"type": "text", "text": " saw "},
                    {"type": "emoji", "attrs": {"shortName": ":fire:", "text": "🔥"}},
                    {"type": "text", "text": " at "},
                    {"type": "inlineCard", "attrs": {"url": "https://x.example"}},
                ],
            },
            {
                "type": "bulletList",
                "content": [
                    {
                        "type": "listItem",
                        "content": [{"type": "paragraph", "content": [{"type": "text", "text": "one"}]}],
                    },
                    {
                        "type": "listItem",
                        "content": [{"type": "paragraph", "content": [{"type": "text", "text": "two"}]}],
                    },
                ],
            },
        ],
    }
    assert adf_to_text(doc) == "Impact\n\n@Ana Lima saw 🔥 at https://x.example\n\none\ntwo"


def test_a_plain_string_body_is_read_as_is():
    assert adf_to_text("v2 body") == "v2 body"


@given(st.text(alphabet=st.characters(blacklist_characters="\r", blacklist_categories=("Cs",))))
def test_text_round_trips_exactly(text):
    assert adf_to_text(text_to_adf(text)) == text


@given(
    st.lists(st.sampled_from(["a", "b", " ", ":", "/", ".", "\n", "https://", "mailto:", "http://x.y"])).map("".join)
)
def test_every_text_node_is_non_empty_and_links_are_safe(text):
    for para in text_to_adf(text)["content"]:
        for node in para["content"]:
            if node["type"] == "text":
                assert node["text"]
                for mark in node.get("marks", []):
                    assert mark["attrs"]["href"].lower().startswith(("http://", "https://", "mailto:"))
