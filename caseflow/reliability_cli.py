"""The reliability commands of `caseflow`: `import-history FILE`, and `report reliability`,
`report uptime`, `report patterns`, `report annual`, `report visit` (docs/reports.md)."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

console = Console(stderr=True, soft_wrap=True)


def _settings() -> Any:
    from caseflow.cli import _settings as settings

    return settings()


def _sessions(settings: Any) -> Any:
    from caseflow.store.db import make_engine, make_sessions

    return make_sessions(make_engine(settings.database_url))


def import_history(
    path: Annotated[Path, typer.Argument(help="CSV or YAML of past repairs and maintenance "
                                              "visits (docs/reports.md)")],
    fmt: Annotated[str | None, typer.Option("--format", help="csv or yaml (default: from the "
                                                              "file's extension)")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="check and count, write nothing")]
    = False,
) -> None:
    """Load past service records as imported history: all of the file or nothing; each bad
    line is named with its field (exit 1)."""
    from caseflow.domain.history import HistoryRefused
    from caseflow.store.history import import_history as load

    chosen = fmt or ("csv" if path.suffix.lower() == ".csv" else "yaml")
    if chosen not in ("csv", "yaml"):
        console.print(f"[red]--format: csv or yaml, not {chosen!r}[/]")
        raise typer.Exit(2)
    try:
        content = path.read_bytes().decode("utf-8-sig")
    except OSError as error:
        console.print(f"[red]{path}: cannot read: {error.strerror}[/]")
        raise typer.Exit(2) from None
    except UnicodeDecodeError:
        console.print(f"[red]{path}: not UTF-8 text[/] (nothing was imported)")
        raise typer.Exit(1) from None
    sessions = _sessions(_settings())
    try:
        with sessions.begin() as session:
            done = load(session, content, chosen, source=path.name, by="cli",  # type: ignore[arg-type]
                        now=datetime.now(timezone.utc), dry_run=dry_run)
    except HistoryRefused as refused:
        for error in refused.errors:
            console.print(f"[red]{path}:{error.line}: {error.field}: {error.message}[/]")
        console.print(f"[red]nothing was imported[/] ({len(refused.errors)} error(s))")
        raise typer.Exit(1) from None
    what = "checked (dry run: nothing written)" if dry_run else f"imported as #{done.import_id}"
    print(f"{path}: {done.repairs} repairs and {done.visits} maintenance visits {what}")


def register(app: typer.Typer, report: typer.Typer) -> None:
    """Add the reliability commands to `caseflow` and `caseflow report`."""
    app.command("import-history")(import_history)


def _json(value: Any) -> None:
    print(json.dumps(value, ensure_ascii=False, indent=2, default=str))
