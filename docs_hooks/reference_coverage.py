"""mkdocs hook: the API reference shows every public name of every package.

The reference pages in docs/reference/ render objects with mkdocstrings directives
(``::: orm.core.ORM``, or ``::: orm.migrations`` for a whole package, which shows the members
of its ``__all__`` that have a docstring). A name added to a package's ``__all__`` could thus
be missing from the site, without a directive or without a docstring; the build warns about
it, which ``mkdocs build --strict`` turns into a failure. A rendered object's heading carries
its path as its HTML id, which is what is checked.
"""

from __future__ import annotations

import importlib
import re

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.plugins import get_plugin_logger
from mkdocs.structure.files import Files
from mkdocs.structure.pages import Page

log = get_plugin_logger(__name__)

# The packages whose public API the reference covers.
PACKAGES = (
    "orm.core",
    "orm.query_builder",
    "orm.sqlite",
    "orm.postgres",
    "orm.mysql",
    "orm.mongo",
    "orm.migrations",
    "orm.testing",
)

HEADING_ID = re.compile(r'<h[1-6] id="(?P<path>orm\.[\w.]+)"')

rendered: set[str] = set()


def on_pre_build(*, config: MkDocsConfig) -> None:
    """Start each build (`mkdocs serve` rebuilds in one process) with nothing rendered."""
    rendered.clear()


def on_page_content(html: str, /, *, page: Page, config: MkDocsConfig, files: Files) -> str:
    """Remember the objects each page renders."""
    rendered.update(match["path"] for match in HEADING_ID.finditer(html))
    return html


def is_rendered(package: str, name: str) -> bool:
    """Whether the name shows, under its public path or the path of its defining module."""
    return f"{package}.{name}" in rendered or any(
        path.startswith(f"{package}.") and path.endswith(f".{name}") for path in rendered
    )


def missing_names(package: str) -> list[str]:
    """The names of a package's ``__all__`` that no reference page renders."""
    public: list[str] = list(getattr(importlib.import_module(package), "__all__", []))
    return [name for name in public if not is_rendered(package, name)]


def on_post_build(*, config: MkDocsConfig) -> None:
    """Warn about every public name the reference pages leave out."""
    for package in PACKAGES:
        missing = missing_names(package)
        if missing:
            log.warning(
                "The API reference does not show %s from %s: give it a docstring, or name it "
                "in a `::: %s.<name>` directive on a page in docs/reference/.",
                ", ".join(missing),
                package,
                package,
            )
