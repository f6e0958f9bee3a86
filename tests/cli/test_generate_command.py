"""generate-entities through the console script: print, --tables, --save, then check."""

from __future__ import annotations

import subprocess

from tests.cli.conftest import ENTITIES_V2, Project


def ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, f"stdout: {result.stdout}\nstderr: {result.stderr}"
    return result


async def test_generated_entities_describe_the_database(project: Project) -> None:
    project.write_entities(ENTITIES_V2)
    ok(project.orm("schema:create", "--run"))

    printed = ok(project.orm("generate-entities")).stdout
    assert "# --- author.py ---" in printed and "class Book:" in printed
    only = ok(project.orm("generate-entities", "--tables", "author")).stdout
    assert "class Author:" in only and "class Book:" not in only
    missing = project.orm("generate-entities", "--tables", "nope")
    assert missing.returncode == 1 and "nope" in missing.stderr

    saved = ok(project.orm("generate-entities", "--save", "--path", "generated"))
    folder = project.root / "generated"
    assert {p.name for p in folder.iterdir()} >= {"__init__.py", "author.py", "book.py"}
    assert str(folder / "book.py") in saved.stdout
    assert project.orm("generate-entities", "--save", "--path", "generated").returncode == 1

    (project.root / "app" / "generated_settings.py").write_text(
        "import os\n\nfrom generated import ENTITIES\nfrom orm.core import Config\n\n"
        "config = Config(url=os.environ['APP_DATABASE_URL'], entities=ENTITIES)\n"
    )
    ok(project.orm("--config", "app.generated_settings:config", "migration:check"))
