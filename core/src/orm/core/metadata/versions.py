"""The version property of an entity (``Property(version=True)``): optimistic locking.

Discovery checks the declaration here; the flush's use of it is in
:mod:`orm.core.unit_of_work.versions`.
"""

from __future__ import annotations

from orm.core.errors import MetadataError
from orm.core.metadata.model import EntityMetadata, PropertyMetadata, ScalarKind

VERSION_KINDS = (ScalarKind.INTEGER, ScalarKind.DATETIME)


def resolve_version_property(meta: EntityMetadata) -> PropertyMetadata | None:
    """The one property declared ``version=True``, checked; None when there is none."""
    declared = [prop for prop in meta.properties.values() if prop.version]
    if not declared:
        return None
    if len(declared) > 1:
        names = ", ".join(prop.name for prop in declared)
        raise MetadataError(
            f"{meta.class_name} declares several version properties ({names}); an entity has "
            f"at most one Property(version=True): keep one"
        )
    prop = declared[0]
    if prop.relation is not None or prop.kind not in VERSION_KINDS or prop.primary:
        raise MetadataError(
            f"{prop.path}: a version property must be a non-key `int` or `datetime` column; "
            f"change its annotation or remove version=True"
        )
    return prop
