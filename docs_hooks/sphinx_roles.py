"""griffe extension: Sphinx roles in docstrings render as code spans on the site.

A few docstrings name other objects the Sphinx way (``:class:`Collection```); the site renders
docstrings as Markdown, where the role would show as literal text before the name. The role is
dropped, the name stays a code span, and the docstrings in the source are left as they are.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

# :class:`Name`, :meth:`.name`, :func:`~pkg.name`: the role, then a code span.
ROLE = re.compile(r":(?:class|mod|func|meth|attr|exc|data|obj):`[~.]?(?P<name>[^`]+)`")


def without_roles(text: str) -> str:
    """The text with each Sphinx role reduced to a Markdown code span of its target."""
    return ROLE.sub(lambda match: f"`{match['name']}`", text)


class SphinxRolesAsCode(griffe.Extension):
    """Rewrites the roles in every loaded object's docstring."""

    def on_instance(self, *, node: Any, obj: griffe.Object, agent: Any, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = without_roles(obj.docstring.value)
