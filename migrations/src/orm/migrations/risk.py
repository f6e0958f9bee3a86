"""Which schema operations lose data: dropped tables and columns, narrowed types."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic.operations import ops


def _length(type_: Any) -> int | None:
    value = getattr(type_, "length", None)
    return value if isinstance(value, int) else None


_INTEGER_RANK = {"SMALLINTEGER": 1, "INTEGER": 2, "BIGINTEGER": 3}


def _integer_rank(type_: Any) -> int | None:
    affinity = getattr(type_, "_type_affinity", None)
    if affinity is None or not issubclass(affinity, sa.Integer):
        return None
    for cls in type(type_).__mro__:
        rank = _INTEGER_RANK.get(cls.__name__.upper())
        if rank is not None:
            return rank
    return 2


def narrowing(old: Any, new: Any) -> str | None:
    """Why changing a column from ``old`` to ``new`` may lose data, or None if it cannot."""
    if old is None or new is None:
        return None
    old_affinity: Any = getattr(old, "_type_affinity", None)
    new_affinity: Any = getattr(new, "_type_affinity", None)
    old_rank, new_rank = _integer_rank(old), _integer_rank(new)
    if old_rank is not None and new_rank is not None:
        return "a smaller integer type" if new_rank < old_rank else None
    if old_affinity is not None and old_affinity is new_affinity:
        if issubclass(old_affinity, sa.String):
            old_length, new_length = _length(old), _length(new)
            if new_length is not None and (old_length is None or new_length < old_length):
                return f"longer values are cut or rejected (length {old_length} -> {new_length})"
            return None
        if issubclass(old_affinity, sa.Numeric):
            old_p, new_p = getattr(old, "precision", None), getattr(new, "precision", None)
            old_s, new_s = getattr(old, "scale", None), getattr(new, "scale", None)
            if (new_p is not None and (old_p is None or new_p < old_p)) or (
                new_s is not None and (old_s is None or new_s < old_s)
            ):
                return f"digits may be lost (precision/scale {old_p},{old_s} -> {new_p},{new_s})"
            return None
        if issubclass(old_affinity, sa.LargeBinary):
            old_length, new_length = _length(old), _length(new)
            if new_length is not None and (old_length is None or new_length < old_length):
                return "longer values are cut or rejected"
        return None
    return "values that do not convert to the new type are lost or rejected"


def data_loss(op: ops.MigrateOperation) -> str | None:
    """A description of the data ``op`` destroys, or None."""
    if isinstance(op, ops.DropTableOp):
        return f"drops table {op.table_name} and all its rows"
    if isinstance(op, ops.DropColumnOp):
        return f"drops column {op.table_name}.{op.column_name} and its values"
    if isinstance(op, ops.AlterColumnOp) and op.modify_type is not None:
        why = narrowing(op.existing_type, op.modify_type)
        if why:
            return (
                f"changes the type of {op.table_name}.{op.column_name} from "
                f"{op.existing_type} to {op.modify_type}: {why}"
            )
    if isinstance(op, ops.ModifyTableOps):
        reasons = [reason for sub in op.ops if (reason := data_loss(sub))]
        return "; ".join(reasons) or None
    return None
