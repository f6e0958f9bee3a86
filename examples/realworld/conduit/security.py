"""Password hashing (scrypt) and JSON Web Tokens (HS256), with the standard library only."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from typing import Any, cast

# scrypt work factors: 16 MiB of memory per hash (OWASP's minimum recommendation).
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 1
TOKEN_LIFETIME_SECONDS = 60 * 60 * 24 * 30


class InvalidTokenError(Exception):
    """The token is malformed, signed with another key, or expired."""


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P)
    return f"scrypt${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    computed = hashlib.scrypt(
        password.encode(), salt=_unb64(salt), n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P
    )
    return hmac.compare_digest(computed, _unb64(digest))


def issue_token(user_id: int, secret: str, *, now: float | None = None) -> str:
    issued = int(time.time() if now is None else now)
    header = {"alg": "HS256", "typ": "JWT"}
    claims = {"sub": str(user_id), "iat": issued, "exp": issued + TOKEN_LIFETIME_SECONDS}
    signing_input = f"{_b64_json(header)}.{_b64_json(claims)}"
    return f"{signing_input}.{_b64(_sign(signing_input, secret))}"


def user_id_of(token: str, secret: str, *, now: float | None = None) -> int:
    """The user id a valid token names; InvalidTokenError otherwise."""
    parts = token.split(".")
    if len(parts) != 3:
        raise InvalidTokenError("a JWT has three dot-separated parts")
    header_part, claims_part, signature_part = parts
    header = _json_object(header_part)
    claims = _json_object(claims_part)
    if header.get("alg") != "HS256":
        raise InvalidTokenError("only HS256 tokens are accepted")
    expected = _sign(f"{header_part}.{claims_part}", secret)
    if not hmac.compare_digest(_token_part(signature_part), expected):
        raise InvalidTokenError("the signature does not match")
    expires = claims.get("exp")
    subject = claims.get("sub")
    if not isinstance(expires, int) or expires < (time.time() if now is None else now):
        raise InvalidTokenError("the token has expired")
    if not isinstance(subject, str) or not subject.isdigit():
        raise InvalidTokenError("the token names no user")
    return int(subject)


def _json_object(part: str) -> dict[str, Any]:
    try:
        value: object = json.loads(_token_part(part))
    except ValueError as exc:
        raise InvalidTokenError("a token part is not JSON") from exc
    if not isinstance(value, dict):
        raise InvalidTokenError("a token part is not a JSON object")
    return cast(dict[str, Any], value)


def _token_part(part: str) -> bytes:
    try:
        return _unb64(part)
    except ValueError as exc:  # binascii.Error is a ValueError
        raise InvalidTokenError("a token part is not base64url") from exc


def _sign(signing_input: str, secret: str) -> bytes:
    return hmac.new(secret.encode(), signing_input.encode(), hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _b64_json(value: dict[str, Any]) -> str:
    return _b64(json.dumps(value, separators=(",", ":")).encode())
