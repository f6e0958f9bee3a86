"""Discovery of ``Property(version=True)``: at most one per entity, an int or datetime."""

from __future__ import annotations

import datetime as dt

import pytest

from orm.core import MetadataError, NamingStrategy, PrimaryKey, Property, entity
from orm.core.metadata.discovery import discover


def test_the_version_property_is_found() -> None:
    @entity
    class Versioned:
        id: int = PrimaryKey()
        changed: dt.datetime = Property(version=True, init=False)

    meta = discover([Versioned], NamingStrategy())[Versioned]
    assert meta.version_property is meta.properties["changed"]


def test_two_version_properties_are_refused() -> None:
    @entity
    class Twice:
        id: int = PrimaryKey()
        first: int = Property(version=True, init=False)
        second: int = Property(version=True, init=False)

    with pytest.raises(MetadataError, match="Twice declares several version properties"):
        discover([Twice], NamingStrategy())


def test_a_text_version_is_refused() -> None:
    @entity
    class Texty:
        id: int = PrimaryKey()
        version: str = Property(version=True, init=False)

    with pytest.raises(MetadataError, match=r"Texty\.version: a version property must be"):
        discover([Texty], NamingStrategy())
