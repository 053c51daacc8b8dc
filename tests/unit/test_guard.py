from __future__ import annotations

import pytest

from itsm_bridge.mapping.guard import Guard, entropy, public_text

HOSTS = [r"\b[a-z0-9-]+\.(?:corp|internal|local|lan)\b"]


@pytest.fixture
def guard() -> Guard:
    return Guard(HOSTS)


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Server 10.0.0.12 is down", "ipv4"),
        ("upstream 192.168.1.1:8443 refused", "ipv4"),
        ("fe80::1%eth0 stopped answering", "ipv6"),
        ("route to 2001:db8:85a3::8a2e:370:7334 lost", "ipv6"),
        ("db01.corp is down", "host"),
        ("see mail-gw.internal", "host"),
        ("ask john.doe@example.com", "email"),
        (r"ask john\_doe@example.com", "email"),  # markdown escaping cannot split a match
        ("Bearer abcdefghijklmnop", "token.bearer"),
        ("key AKIAIOSFODNN7EXAMPLE leaked", "token.aws_key"),
        ("xoxb-123456789012-abcdefghij", "token.slack"),
        ("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.sflKxwRJSMeKKF2QT4fwpM", "token.jwt"),
        ("sha d41d8cd98f00b204e9800998ecf8427e", "token.hex"),
        ("secret aB3dE5fG7hI9jK1lM3nO5pQ7rS9tU1vW3xY5zZ", "token.base64"),
        ("<script>alert(1)</script>", "script"),
        ("[x](javascript:alert(1))", "script"),
    ],
)
def test_guard_finds_what_must_not_be_published(guard, text, kind):
    assert kind in {h.kind for h in guard.hits(text)}


@pytest.mark.parametrize(
    "text",
    [
        "We are investigating an issue affecting Email.",
        "Payments API degraded since 2024-01-02 10:00 UTC",
        "Internationalization of the payments portal is slow",
        "Retry at 10:30:00 UTC",
        "&lt;script&gt;alert(1)&lt;/script&gt;",  # escaped markup is harmless text
        r"\[x\](javascript\:alert(1))",
        "Identity / SSO logins fail for some customers",
    ],
)
def test_guard_lets_ordinary_public_text_through(guard, text):
    assert guard.hits(text) == []


def test_out_of_range_octets_are_not_an_address(guard):
    assert guard.hits("build 300.1.2.999") == []


def test_internal_host_patterns_come_from_config():
    assert Guard([]).hits("db01.corp is down") == []
    assert [h.kind for h in Guard([r"\bprod-[a-z]+\d*\b"]).hits("prod-db2 failed")] == ["host"]


def test_findings_block_and_never_carry_a_token(guard):
    findings = guard.check("body", "use Bearer abcdefghijklmnop on 10.1.2.3", key="INC9")
    assert {f.rule_id for f in findings} == {"publish.guard.token.bearer", "publish.guard.ipv4"}
    assert all(f.blocking and f.key == "INC9" and f.field == "body" for f in findings)
    token = next(f for f in findings if "token" in f.rule_id)
    assert token.value is None and "abcdefghijklmnop" not in token.message


def test_entropy_separates_words_from_random_runs():
    assert entropy("aaaaaaaa") == 0.0
    assert entropy("Internationalization") < 4.0 < entropy("aB3dE5fG7hI9jK1lM3nO5pQ7rS9tU1vW3xY5")


@pytest.mark.parametrize(
    "text",
    [
        "Login fails: password=Hunter2Secret!",
        "jdbc:postgresql://db/app?user=app&password=pw123",
        "Server=db;Database=x;Pwd=abc123;",
        "token: Xy9_kk2q",
        "psql postgresql://app:S3cret@db.example.com/prod",
        "Authorization: Basic YWRtaW46c2VjcmV0",
        "sent with Basic YWRtaW46c2VjcmV0",
        "-----BEGIN OPENSSH PRIVATE KEY-----",
        "pass\u200bword=abc123",
        "AKIA\u2060IOSFODNN7EXAMPLE",
    ],
)
def test_credential_shapes_are_caught_even_when_disguised(text):
    assert [h.kind for h in Guard().hits(text) if h.kind.startswith("token.")], text


@pytest.mark.parametrize(
    "text",
    [
        "Password reset emails delayed",
        "Password: reset mails delayed",
        "Token expiry logs users out",
        "Basic troubleshooting done",
        "Authorization: pending approval",
        "API key rotation today",
    ],
)
def test_ordinary_titles_about_credentials_are_not_blocked(text):
    assert Guard().hits(text) == []


def test_look_alike_dots_and_full_width_forms_are_read_as_a_reader_reads_them():
    hits = Guard([r"\b[a-z0-9-]+\.(?:corp|internal)\b"]).hits("db01\uff0ecorp and ops@example\u3002com")
    assert {h.kind for h in hits} == {"host", "email"}


def test_public_text_drops_control_and_bidi_characters_but_keeps_newlines_when_asked():
    assert public_text("a\x00b\u202ec\x1b[2Jd\ne", keep="\n") == "abc[2Jd\ne"
