"""URL slugs of article titles."""

from __future__ import annotations

import re
import secrets
import unicodedata

MAX_BASE_LENGTH = 200


def slugify(title: str) -> str:
    """``"How to train your dragon"`` -> ``"how-to-train-your-dragon"`` (ASCII, lowercase)."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")
    return slug[:MAX_BASE_LENGTH].rstrip("-") or "article"


def with_suffix(slug: str) -> str:
    """The slug made unique by a random suffix, for a title another article already has."""
    return f"{slug}-{secrets.token_hex(4)}"
