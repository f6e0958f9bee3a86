"""Database URLs and DSNs without their passwords: the one redaction every message goes through.

Drivers, the CLI, the migrations and the ``orm.sql`` query log never print a URL, a DSN or a
driver message that may echo one without passing it through :func:`redact_url` first.

What counts as a password:

- the userinfo of a URL, ``scheme://user:password@host``. The userinfo ends at the *last* ``@``
  before the query string, so a password may hold ``@``, ``:`` and ``/``
  (``postgresql://bob:p@ss@db/x`` is ``postgresql://bob:***@db/x``). The user stays visible;
- the value of a ``password``, ``pass``, ``passwd``, ``pwd`` or ``sslpassword`` parameter, in
  any case: in a query string (``?password=x``) or in a libpq key=value DSN
  (``host=db password=secret``, ``password='with spaces'``).

:func:`split_userinfo` applies the same userinfo rule for the drivers' URL parsers, so a URL is
read and redacted the same way.
"""

from __future__ import annotations

import re
from urllib.parse import quote

__all__ = ["REDACTED", "redact_url", "remove_secrets", "split_userinfo"]

REDACTED = "***"
# Shorter known passwords are not searched for in free text (see remove_secrets).
MIN_SECRET_LENGTH = 4

# "scheme://" followed by everything up to whitespace or a quote: one URL inside any text.
_URL = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*)://(?P<rest>[^\s'\"`<>]*)")

_SECRET_KEYS = r"(?:ssl)?(?:password|passwd|pass|pwd)"
# A query-string parameter (in a URL): the value ends at "&", "#" or the end of the URL.
_QUERY_SECRET = re.compile(rf"(?P<key>[?&;]{_SECRET_KEYS}=)[^&#;]*", re.IGNORECASE)
# A libpq key=value pair outside URLs. A bind placeholder ($1, ?, %s, %(x)s, :x) is not a
# secret: "SET password=$1" in the query log stays readable; "***" is already redacted.
_KEYWORD_SECRET = re.compile(
    rf"(?<![\w.\"`$])(?P<key>{_SECRET_KEYS}\s*=\s*)"
    r"(?!\$\d|\?|%s|%\(|:\w|\*\*\*(?:[&#;\s'\",)]|$))"
    r"(?P<value>'(?:[^'\\]|\\.)*'?|[^\s'\",;)]+)",
    re.IGNORECASE,
)


def split_userinfo(rest: str) -> tuple[str | None, str | None, str]:
    """``rest`` (a URL after ``scheme://``) as (user, password, the rest from the host on).

    User and password stay percent-encoded; each is None when absent. The userinfo ends at the
    last ``@`` before the query string (``?``), unless what comes before that ``@`` has no
    ``:`` and holds a ``/`` (then the ``@`` is part of the path, and the ordinary rule applies:
    the userinfo ends at the last ``@`` before the first ``/``).
    """
    if rest.startswith("/"):
        return None, None, rest  # no authority: sqlite:///path, postgresql:///db?host=...
    head = re.split(r"[?#]", rest, maxsplit=1)[0]
    at = head.rfind("@")
    if at >= 0 and "/" in head[:at].split(":", 1)[0]:
        authority = head.split("/", 1)[0]
        at = authority.rfind("@")
    if at < 0:
        return None, None, rest
    userinfo, location = rest[:at], rest[at + 1 :]
    user, colon, password = userinfo.partition(":")
    return user, (password if colon else None), location


def _redact_userinfo(match: re.Match[str]) -> str:
    scheme, rest = match.group("scheme"), match.group("rest")
    user, password, location = split_userinfo(rest)
    if password:
        rest = f"{user}:{REDACTED}@{location}"
    return _QUERY_SECRET.sub(lambda m: m.group("key") + REDACTED, f"{scheme}://{rest}")


def _redact_keyword(match: re.Match[str]) -> str:
    return match.group("key") + REDACTED


def redact_url(text: str) -> str:
    """``text`` (a URL, a DSN, or a message that holds some) with every password as ``***``.

    >>> redact_url("postgresql://bob:p@ss@db/x?sslmode=require")
    'postgresql://bob:***@db/x?sslmode=require'
    >>> redact_url("host=db user=bob password=secret")
    'host=db user=bob password=***'
    """
    lowered = text.lower()
    if "://" not in text and "pass" not in lowered and "pwd" not in lowered:
        return text  # the common case in the query log: nothing that could hold a password
    redacted = _URL.sub(_redact_userinfo, text)
    return _KEYWORD_SECRET.sub(_redact_keyword, redacted)


def remove_secrets(text: str, *secrets: str | None) -> str:
    """``text`` with each known secret (and its percent-encoded form) replaced by ``***``.

    For messages of a database client, which may echo the password it was given in a form
    :func:`redact_url` cannot recognise; the result is also passed through :func:`redact_url`.
    """
    for secret in secrets:
        # A password of one to three characters would blank out ordinary words of the
        # message; redact_url still removes it from any URL or DSN in the text.
        if not secret or len(secret) < MIN_SECRET_LENGTH:
            continue
        for form in sorted({secret, quote(secret, safe=""), quote(secret)}, key=len, reverse=True):
            text = text.replace(form, REDACTED)
    return redact_url(text)
