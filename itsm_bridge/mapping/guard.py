"""The leak guard: every rendered public text is checked before anything is sent.

What blocks a publish (each a blocking Finding; the caller then sends nothing):

- an IPv4 or IPv6 address;
- an internal host name, by the configured `publish.internal_host_patterns` (regexes);
- an e-mail address;
- a token-like string: `Bearer ...`, an AWS access key id (AKIA...), a Slack token (xoxb-/xoxp-),
  a JWT, or a long high-entropy run of base64 or hex characters;
- a credential shape: a `key=value` secret (password=, token=, secret=, api_key=, ...; also
  `Password: ...` with a value that is not a plain word), a URL with `user:password@`, an
  `Authorization:` header or a `Basic ...` credential, a private-key block;
- script: `<script` or a `javascript:` URL (templates escape both; this catches a template
  author who wrote one in literally).

The guard sees what a reader sees: addresses, hosts and tokens are looked for in the text with
markdown escapes and HTML entities undone (so escaping cannot split a match), NFKC-normalised
(full-width and other compatibility forms become ASCII), with format, bidi and zero-width
characters dropped and look-alike dots read as dots. Script is looked for in the text as sent,
where `&lt;script&gt;` is harmless. The whole text is checked before it is cut to a length limit.
Token values are never copied into a Finding; addresses and host names are, masked.

`public_text` removes what a public page never carries: C0 and C1 control characters (NUL,
ESC, ...) and bidirectional controls, which reorder what a reader sees.
"""

from __future__ import annotations

import html
import ipaddress
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from itsm_bridge.findings import Finding
from itsm_bridge.output import is_control

PLATFORM = "statuspage"

_IPV4 = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.]*\d)")
_IPV6_CANDIDATE = re.compile(r"(?<![\w:])[0-9A-Fa-f:]*:[0-9A-Fa-f:]*:[0-9A-Fa-f:.]*(?:%\w+)?(?![\w:])")
_EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_TOKENS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("bearer", re.compile(r"\bBearer\s+[A-Za-z0-9._~+/=-]{8,}", re.IGNORECASE)),
    ("aws_key", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")),
    ("slack", re.compile(r"\bxox[baprs]-[A-Za-z0-9-]{10,}")),
    ("jwt", re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*")),
    ("hex", re.compile(r"\b[0-9a-fA-F]{32,}\b")),
)
_SECRET_KEYS = (
    r"pass(?:word|wd|phrase)?|pwd|secret|client[_-]?secret|token|access[_-]?token|refresh[_-]?token"
    r"|api[_-]?key|apikey|access[_-]?key|secret[_-]?key|private[_-]?key|auth[_-]?token|credentials?"
)
_CREDENTIALS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("keyvalue", re.compile(rf"(?i)\b(?:{_SECRET_KEYS})\s*=\s*[\"']?[^\s\"'&;,]{{3,}}")),
    # `Password: value` only with a value that is not a plain word ("Password: reset mails delayed")
    ("keyvalue", re.compile(rf"(?i)\b(?:{_SECRET_KEYS})\s*:\s*[\"']?(?=[^\s\"']*[\d\W_])[^\s\"'&;,]{{6,}}")),
    ("url_credentials", re.compile(r"(?i)\b[a-z][a-z0-9+.-]*://[^\s/?#@:]+:[^\s/?#@]+@")),
    (
        "authorization",
        re.compile(
            r"(?i)\bauthorization\s*[:=]\s*(?:basic|bearer|digest|token|oauth|negotiate|ntlm"
            r"|apikey|sswsr?|aws4-hmac-sha256)\s+\S{4,}"
        ),
    ),
    ("basic", re.compile(r"\bBasic\s+(?=[A-Za-z0-9+/]*[0-9+/=])[A-Za-z0-9+/]{8,}={0,2}")),  # base64, not a word
    ("private_key", re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY( BLOCK)?-----")),
)
_B64_RUN = re.compile(r"[A-Za-z0-9+/_-]{32,}={0,2}")
_SCRIPT = re.compile(r"<\s*script|javascript\s*:|vbscript\s*:", re.IGNORECASE)
_MD_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")

MIN_ENTROPY_BITS = 4.0  # per character; English words and slugs sit well below this

# Dots NFKC leaves alone that a reader still reads as a dot in a host name or address.
_DOTS = str.maketrans({c: "." for c in "\u3002\uff61\ufe12\u2024\u2027\u00b7\u0701\u0702\u2e31\u30fb"})


def public_text(text: str, keep: str = "\n") -> str:
    """`text` without C0/C1 control characters (but those in `keep`) and bidi controls."""
    return "".join(c for c in text if c in keep or not is_control(c))


def reader_view(text: str) -> str:
    """`text` as a reader takes it in: NFKC, no format (incl. bidi and zero-width) or control
    characters, look-alike dots as dots."""
    text = unicodedata.normalize("NFKC", text).translate(_DOTS)
    return "".join(c for c in text if c in "\n\t" or unicodedata.category(c) not in ("Cf", "Cc"))


@dataclass(frozen=True)
class Hit:
    """One thing the guard found in a text."""

    kind: str  # ipv4, ipv6, host, email, token.<name>, script
    value: str


def entropy(text: str) -> float:
    """Shannon entropy of `text`, in bits per character."""
    counts = Counter(text)
    n = len(text)
    return -sum(c / n * math.log2(c / n) for c in counts.values()) if n else 0.0


def _looks_random(run: str) -> bool:
    body = run.rstrip("=")
    has_digit = any(c.isdigit() for c in body)
    has_upper = any(c.isupper() for c in body)
    has_lower = any(c.islower() for c in body)
    return has_digit and has_upper and has_lower and entropy(body) >= MIN_ENTROPY_BITS


def _plain(text: str) -> str:
    """`text` with HTML entities and markdown backslash escapes undone."""
    return _MD_ESCAPE.sub(r"\1", html.unescape(text))


class Guard:
    """Checks public text for anything that belongs inside the company."""

    def __init__(self, internal_host_patterns: Iterable[str] = ()) -> None:
        self.host_patterns = [re.compile(p, re.IGNORECASE) for p in internal_host_patterns]

    def hits(self, text: str, markup: bool = True) -> list[Hit]:
        """Everything in `text` that must not be published, in order of kind. Script matters only
        in a field the page renders as markup (`markup`); a plain-text field shows it as text."""
        # Data is looked for with the escaping undone (so it cannot split a match); script is
        # looked for in the text as sent, where escaped markup is harmless.
        found = self._scan(reader_view(_plain(text) if markup else text))
        if markup:
            found += [Hit("script", m.group()) for m in _SCRIPT.finditer(text)]
        return list(dict.fromkeys(found))

    def _scan(self, text: str) -> list[Hit]:
        found: list[Hit] = []
        for m in _IPV4.finditer(text):
            if all(int(part) <= 255 for part in m.group().split(".")):
                found.append(Hit("ipv4", m.group()))
        for m in _IPV6_CANDIDATE.finditer(text):
            candidate = m.group().split("%", 1)[0]
            if not any(c in "0123456789abcdefABCDEF" for c in candidate):
                continue
            try:
                ipaddress.IPv6Address(candidate)
            except ValueError:
                continue
            found.append(Hit("ipv6", m.group()))
        for pattern in self.host_patterns:
            found += [Hit("host", m.group()) for m in pattern.finditer(text)]
        found += [Hit("email", m.group()) for m in _EMAIL.finditer(text)]
        for name, pattern in (*_TOKENS, *_CREDENTIALS):
            found += [Hit(f"token.{name}", m.group()) for m in pattern.finditer(text)]
        found += [Hit("token.base64", m.group()) for m in _B64_RUN.finditer(text) if _looks_random(m.group())]
        return found

    def check(self, field: str, text: str, key: str | None = None, markup: bool = True) -> list[Finding]:
        """One blocking Finding per hit in `text` (the rendered value of `field`)."""
        return [_finding(field, hit, key) for hit in self.hits(text, markup)]


_WHAT = {
    "ipv4": "an IP address",
    "ipv6": "an IPv6 address",
    "host": "an internal host name",
    "email": "an e-mail address",
    "script": "script markup",
}


def _mask(value: str) -> str:
    return value if len(value) <= 4 else f"{value[:2]}…{value[-2:]}"


def _finding(field: str, hit: Hit, key: str | None) -> Finding:
    what = _WHAT.get(hit.kind, "a token-like string")
    secret = hit.kind.startswith("token.")
    return Finding(
        rule_id=f"publish.guard.{hit.kind}",
        platform=PLATFORM,
        field=field,
        severity="block",
        message=(
            f"the public {field} would carry {what}; nothing was published. "
            "Change the incident's public text (title, public message) or the publish template"
        ),
        key=key,
        value=None if secret else _mask(hit.value),
    )
