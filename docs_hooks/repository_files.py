"""mkdocs hook: links from docs/ to files elsewhere in the repository become pages of the site.

The Markdown in docs/ links to repository files with relative paths (``../examples/x.py``) so
that the pages read well on a code host, where such links open the file. The site holds only
docs/, so each linked file becomes a generated page ``repository/<path>.md`` that shows the
file's text, and the link is pointed at that page. A link to a missing file is left as it was,
so that ``mkdocs build --strict`` reports it.
"""

from __future__ import annotations

import posixpath
import re
from pathlib import Path

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files, InclusionLevel
from mkdocs.structure.pages import Page

# Where the generated pages live inside the site.
PAGES_FOLDER = "repository"

# An inline Markdown link's target: `](target)` or `](target "title")`.
LINK = re.compile(r"\]\((?P<target>[^)\s#]+)(?P<fragment>#[^)\s]*)?(?P<rest>[^)]*)\)")

LANGUAGES = {".py": "python", ".toml": "toml", ".md": "markdown", ".yml": "yaml", ".sh": "sh"}


def repository_path(page_src_uri: str, target: str, config: MkDocsConfig) -> str | None:
    """The repository-relative path a docs link points at when it leaves docs/, else None."""
    if "://" in target or target.startswith(("/", "mailto:")):
        return None
    docs_dir = Path(config.docs_dir).resolve()
    repository = docs_dir.parent
    linked = (docs_dir / posixpath.dirname(page_src_uri) / target).resolve()
    if linked.is_relative_to(docs_dir) or not linked.is_relative_to(repository):
        return None
    if not linked.is_file():
        return None
    return linked.relative_to(repository).as_posix()


def source_page(path: str, text: str) -> str:
    """A page that shows one repository file in a fenced block longer than any fence inside."""
    longest_run = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest_run + 1)
    language = LANGUAGES.get(Path(path).suffix, "text")
    return (
        f"# `{path}`\n\n"
        f"The file `{path}` of the orm repository.\n\n"
        f"{fence}{language}\n{text.rstrip()}\n{fence}\n"
    )


def on_files(files: Files, /, *, config: MkDocsConfig) -> Files:
    """Add a page for every repository file that a documentation page links to."""
    repository = Path(config.docs_dir).resolve().parent
    linked_paths: set[str] = set()
    for file in files.documentation_pages():
        for match in LINK.finditer(file.content_string):
            path = repository_path(file.src_uri, match["target"], config)
            if path is not None:
                linked_paths.add(path)
    for path in sorted(linked_paths):
        text = (repository / path).read_text(encoding="utf-8")
        files.append(
            File.generated(
                config,
                f"{PAGES_FOLDER}/{path}.md",
                content=source_page(path, text),
                inclusion=InclusionLevel.NOT_IN_NAV,
            )
        )
    return files


def on_page_markdown(markdown: str, /, *, page: Page, config: MkDocsConfig, files: Files) -> str:
    """Point each link to a repository file at the page generated for it."""

    if page.file.src_uri.startswith(f"{PAGES_FOLDER}/"):
        return markdown  # a shown file's own links are part of its text

    def relink(match: re.Match[str]) -> str:
        path = repository_path(page.file.src_uri, match["target"], config)
        if path is None:
            return match[0]
        generated = posixpath.relpath(
            f"{PAGES_FOLDER}/{path}.md", posixpath.dirname(page.file.src_uri) or "."
        )
        return f"]({generated}{match['rest']})"

    return LINK.sub(relink, markdown)
