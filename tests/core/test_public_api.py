"""The public names of ``orm.core`` and ``orm.core.errors``: a change here is an API change."""

from __future__ import annotations

import importlib
import inspect
import re

import pytest

import orm.core
import orm.core.errors

CORE_NAMES = [
    "Cascade",
    "ChangeSet",
    "CheckConstraintViolation",
    "Collection",
    "CommitOrderError",
    "Config",
    "ConfigurationError",
    "Connection",
    "ConstraintViolation",
    "Cursor",
    "DeadlockError",
    "DeleteBatch",
    "Driver",
    "DriverError",
    "DriverNotInstalledError",
    "EntityManager",
    "EntityMetadata",
    "EntityRepository",
    "EntityStateError",
    "EventArgs",
    "EventSubscriber",
    "Events",
    "ExecuteResult",
    "FlushEventArgs",
    "FlushValidationError",
    "ForeignKeyViolation",
    "Index",
    "InsertBatch",
    "IsolationLevel",
    "KeyPolicy",
    "LoadStrategy",
    "LockMode",
    "LockWaitError",
    "ManyToMany",
    "ManyToOne",
    "MetadataError",
    "NamingStrategy",
    "NotFoundError",
    "NotLoadedError",
    "NotNullViolation",
    "NotSupportedError",
    "ORM",
    "ORMError",
    "OneToMany",
    "OneToOne",
    "OptimisticLockError",
    "OrmLifespan",
    "OrmMiddleware",
    "PRUNE",
    "PivotBatch",
    "Platform",
    "PoolTimeoutError",
    "PrimaryKey",
    "Propagation",
    "Property",
    "PropertyMetadata",
    "Prune",
    "ReadOnlyError",
    "RelationKind",
    "Replica",
    "ReplicaStatus",
    "ScalarKind",
    "SchemaManager",
    "TransactionConflictError",
    "TransactionEventArgs",
    "Unique",
    "UniqueConstraintViolation",
    "UpdateBatch",
    "UpsertBatch",
    "UpsertEventArgs",
    "ValidationError",
    "ValidationProblem",
    "default",
    "entity",
    "get_em",
    "orm_lifespan",
    "redact_url",
    "retry_transaction",
    "schema_of",
    "to_dict",
    "to_json",
]

ERROR_NAMES = [
    "CheckConstraintViolation",
    "CommitOrderError",
    "ConfigurationError",
    "ConnectionError",
    "ConstraintViolation",
    "DeadlockError",
    "DriverError",
    "DriverNotInstalledError",
    "EntityStateError",
    "FlushValidationError",
    "ForeignKeyViolation",
    "LockWaitError",
    "MetadataError",
    "NotFoundError",
    "NotLoadedError",
    "NotNullViolation",
    "NotSupportedError",
    "ORMError",
    "OptimisticLockError",
    "PoolTimeoutError",
    "ReadOnlyError",
    "SyntaxError",
    "TransactionConflictError",
    "UniqueConstraintViolation",
    "ValidationError",
]


def _exception_classes() -> dict[str, type[BaseException]]:
    return {
        name: value
        for name, value in vars(orm.core.errors).items()
        if inspect.isclass(value)
        and issubclass(value, BaseException)
        and value.__module__ == orm.core.errors.__name__
    }


def test_core_all_is_pinned() -> None:
    assert sorted(orm.core.__all__) == CORE_NAMES
    assert len(set(orm.core.__all__)) == len(orm.core.__all__), "duplicates in orm.core.__all__"


@pytest.mark.parametrize("name", CORE_NAMES)
def test_every_core_name_is_importable(name: str) -> None:
    module = importlib.import_module("orm.core")
    assert getattr(module, name) is not None
    namespace: dict[str, object] = {}
    exec(f"from orm.core import {name}", namespace)
    assert namespace[name] is getattr(module, name)


def test_star_import_gives_exactly_all() -> None:
    namespace: dict[str, object] = {}
    exec("from orm.core import *", namespace)
    assert sorted(k for k in namespace if k != "__builtins__") == CORE_NAMES


def test_errors_all_is_pinned() -> None:
    assert sorted(orm.core.errors.__all__) == ERROR_NAMES
    assert len(set(orm.core.errors.__all__)) == len(orm.core.errors.__all__)


@pytest.mark.parametrize("name", ERROR_NAMES)
def test_every_error_name_is_importable(name: str) -> None:
    namespace: dict[str, object] = {}
    exec(f"from orm.core.errors import {name}", namespace)
    value = namespace[name]
    assert inspect.isclass(value)
    assert issubclass(value, orm.core.errors.ORMError)


def test_every_exception_class_of_the_errors_module_is_exported() -> None:
    assert sorted(_exception_classes()) == ERROR_NAMES


def test_errors_reexported_by_orm_core_are_the_same_objects() -> None:
    for name in ERROR_NAMES:
        if name in orm.core.__all__:
            assert getattr(orm.core, name) is getattr(orm.core.errors, name)


def test_builtin_shadowing_errors_are_not_in_orm_core() -> None:
    # ``from orm.core import *`` must not shadow the builtins ConnectionError / SyntaxError.
    assert "ConnectionError" not in orm.core.__all__
    assert "SyntaxError" not in orm.core.__all__


def test_errors_docstring_lists_every_exception_class() -> None:
    doc = orm.core.errors.__doc__
    assert doc is not None
    listed = set(re.findall(r"\b([A-Z][A-Za-z]*(?:Error|Violation))\b", doc))
    assert set(ERROR_NAMES) <= listed
    assert listed <= set(ERROR_NAMES), (
        f"the docstring names unknown errors: {listed - set(ERROR_NAMES)}"
    )


def test_errors_docstring_tree_matches_the_class_hierarchy() -> None:
    """Each tree line's indentation gives its parent; it must be the real base class."""
    doc = orm.core.errors.__doc__
    assert doc is not None
    classes = _exception_classes()
    stack: list[tuple[int, str]] = []
    seen = []
    for line in doc.splitlines():
        match = re.match(r"^([\s│├└─]*)([A-Z][A-Za-z]*(?:Error|Violation))\b", line)
        if match is None or match.group(2) not in classes:
            continue
        depth = len(match.group(1))
        name = match.group(2)
        while stack and stack[-1][0] >= depth:
            stack.pop()
        if stack:
            parent = stack[-1][1]
            assert classes[name].__bases__ == (classes[parent],), (
                f"the docstring puts {name} under {parent}, but its bases are "
                f"{classes[name].__bases__}"
            )
        else:
            assert name == "ORMError"
        stack.append((depth, name))
        seen.append(name)
    assert sorted(seen) == ERROR_NAMES


def test_every_error_has_a_docstring() -> None:
    for name, cls in _exception_classes().items():
        assert cls.__doc__, f"{name} has no docstring"


def test_driver_error_carries_its_context() -> None:
    error = orm.core.errors.UniqueConstraintViolation(
        "duplicate", table="author", constraint="uq_email", columns=("email",), sql="INSERT"
    )
    assert isinstance(error, orm.core.errors.ConstraintViolation)
    assert isinstance(error, orm.core.errors.DriverError)
    assert (error.table, error.constraint, error.columns, error.sql) == (
        "author",
        "uq_email",
        ("email",),
        "INSERT",
    )
    not_found = orm.core.errors.NotFoundError("nope", entity="Author")
    assert not_found.entity == "Author"
    assert str(not_found) == "nope"
