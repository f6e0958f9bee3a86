"""No module uses another module's underscore names: collaborators talk through public APIs.

An AST scan of the packages' sources. It flags every ``obj._name`` where ``obj`` is not
``self``, ``cls`` or ``super()`` (those stay inside one class hierarchy) and every
``from orm... import _name``. What remains allowed is listed below, by receiver and name:
private APIs of third-party libraries we cannot avoid.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCE_ROOTS = [
    ROOT / "core" / "src",
    ROOT / "query_builder" / "src",
    *sorted((ROOT / "drivers").glob("*/src")),
    ROOT / "migrations" / "src",
    ROOT / "cli" / "src",
    ROOT / "testing" / "src",
]
ANY_NAME = "*"

# Private APIs of SQLAlchemy that have no public equivalent: (receiver, attribute).
THIRD_PARTY_PRIVATE_APIS: frozenset[tuple[str, str]] = frozenset(
    {
        ("dialect", "_support_default_function"),
        ("dialect", "_support_float_cast"),
        ("dialect", "_requires_alias_for_on_duplicate_key"),
        ("statement", "_generate_cache_key"),
        ("column", "_copy"),
    }
)

ALLOWED = THIRD_PARTY_PRIVATE_APIS


def _is_private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _within_own_class(receiver: ast.expr) -> bool:
    if isinstance(receiver, ast.Name):
        return receiver.id in ("self", "cls")
    return (
        isinstance(receiver, ast.Call)
        and isinstance(receiver.func, ast.Name)
        and receiver.func.id == "super"
    )


def private_uses(source: str) -> Iterator[tuple[int, str, str]]:
    """(line, receiver, name) of every use of another object's or module's private name."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and _is_private(node.attr):
            if not _within_own_class(node.value):
                yield node.lineno, ast.unparse(node.value), node.attr
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "orm":
            for alias in node.names:
                if _is_private(alias.name):
                    yield node.lineno, f"import {node.module}", alias.name


def _allowed(receiver: str, name: str) -> bool:
    return (receiver, name) in ALLOWED or (receiver, ANY_NAME) in ALLOWED


def test_the_scan_sees_reach_ins_and_lets_a_class_use_its_own_names() -> None:
    source = (
        "from orm.core.transactions import _Transaction\n"
        "class A(B):\n"
        "    def f(self, em):\n"
        "        self._x; cls._y; super()._z()\n"
        "        return em._uow.hydrator, getattr(em, 'n')._link\n"
    )
    assert sorted(private_uses(source)) == [
        (1, "import orm.core.transactions", "_Transaction"),
        (5, "em", "_uow"),
        (5, "getattr(em, 'n')", "_link"),
    ]


def test_no_module_uses_another_modules_private_names() -> None:
    found = []
    for root in SOURCE_ROOTS:
        for path in sorted(root.rglob("*.py")):
            for line, receiver, name in private_uses(path.read_text(encoding="utf-8")):
                if not _allowed(receiver, name):
                    where = path.relative_to(ROOT)
                    found.append(f"{where}:{line}: {receiver}.{name}")
    assert not found, (
        "these use another module's underscore names; give the collaborator a public, "
        "documented name instead:\n" + "\n".join(found)
    )
