"""The app's HS256 tokens and scrypt password hashes (standard library only)."""

from __future__ import annotations

import pytest
from conduit.security import (
    TOKEN_LIFETIME_SECONDS,
    InvalidTokenError,
    hash_password,
    issue_token,
    user_id_of,
    verify_password,
)


def test_a_token_names_its_user_until_it_expires() -> None:
    token = issue_token(42, "secret", now=1_000)
    assert user_id_of(token, "secret", now=1_000) == 42
    with pytest.raises(InvalidTokenError, match="expired"):
        user_id_of(token, "secret", now=1_000 + TOKEN_LIFETIME_SECONDS + 1)


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t + "x",
        lambda t: t.replace(".", "!", 1),
        lambda t: ".".join(t.split(".")[:2]),
        lambda t: "eyJhbGciOiJub25lIn0." + t.split(".", 1)[1],
    ],
)
def test_a_changed_token_is_refused(mangle: object) -> None:
    token = issue_token(7, "secret", now=1_000)
    assert callable(mangle)
    with pytest.raises(InvalidTokenError):
        user_id_of(mangle(token), "secret", now=1_000)
    with pytest.raises(InvalidTokenError, match="signature"):
        user_id_of(token, "another secret", now=1_000)


def test_passwords_are_salted_and_verified() -> None:
    first, second = hash_password("pw"), hash_password("pw")
    assert first != second
    assert verify_password("pw", first) and not verify_password("other", first)
    assert not verify_password("pw", "not a hash")
