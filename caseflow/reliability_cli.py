"""The reliability commands of `caseflow`: `import-history FILE`, and `report reliability`,
`report annual`, `report visit` (docs/reports.md)."""

from __future__ import annotations

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


def _window(zone: str, since: datetime | None, until: datetime | None) -> tuple[datetime, datetime]:
    """[from, to) as local days; default this year so far (as the API)."""
    from datetime import date, timedelta
    from zoneinfo import ZoneInfo

    from caseflow.domain.reports import period

    today = datetime.now(ZoneInfo(zone)).date()
    end = until.date() if until else today + timedelta(days=1)
    start = since.date() if since else date(today.year, 1, 1)
    if end <= start:
        console.print("[red]--to must be after --from[/]")
        raise typer.Exit(2)
    return period(start, end, zone)


def _units(session: Any, zone: str, hospital: str | None, serial: str | None) -> Any:
    from caseflow.store.models import Equipment, Hospital
    from caseflow.store.reliability import units

    if hospital and session.get(Hospital, hospital) is None:
        console.print(f"[red]no hospital {hospital!r}[/]")
        raise typer.Exit(2)
    if serial and session.get(Equipment, serial) is None:
        console.print(f"[red]no equipment with serial {serial!r}[/]")
        raise typer.Exit(2)
    return units(session, zone, hospital_id=hospital, serial=serial)


Since = Annotated[datetime | None, typer.Option("--from", help="first day")]
Until = Annotated[datetime | None, typer.Option("--to", help="day after the last")]
Hospital = Annotated[str | None, typer.Option(help="a hospital id")]
Serial = Annotated[str | None, typer.Option(help="a unit's serial")]
AsJson = Annotated[bool, typer.Option("--json", help="as JSON (as the API answers)")]


def report_reliability(
    since: Since = None, until: Until = None, hospital: Hospital = None, serial: Serial = None,
    by: Annotated[str, typer.Option(help="unit, model, brand, hospital or engineer")] = "unit",
    as_json: AsJson = False,
) -> None:
    """Uptime, MTBF, MTTR, first-time fix, PM compliance... per unit, model, brand, hospital or
    engineer (default: this year so far); docs/reports.md gives each formula."""
    from rich.table import Table

    from caseflow.store.reliability import figures_report

    if by not in ("unit", "model", "brand", "hospital", "engineer"):
        console.print(f"[red]--by: unit, model, brand, hospital or engineer, not {by!r}[/]")
        raise typer.Exit(2)
    settings = _settings()
    sessions = _sessions(settings)
    book = _book(settings, sessions)
    lower, upper = _window(book.defaults.timezone, since, until)
    with sessions() as session:
        result = figures_report(session, book, _units(session, book.defaults.timezone,
                                                       hospital, serial),
                                lower, upper, datetime.now(timezone.utc), by)  # type: ignore[arg-type]
    if as_json:
        print(result.model_dump_json(indent=2))
        return
    table = Table(title=f"reliability {lower:%Y-%m-%d} .. {upper:%Y-%m-%d} by {by}"
                        + (f" ({result.note})" if result.note else ""))
    for column in ("", "uptime %", "down h", "failures", "MTBF h", "MTTR h", "FTF %",
                   "repeats", "PM %", "parts", "satisfaction"):
        table.add_column(column)
    rows = [(g.label, g.figures) for g in result.groups] + [("total", result.total)]
    for label, f in rows:
        table.add_row(label, *(("-" if v is None else str(v)) for v in (
            f.uptime_percent, f.downtime_hours, f.failures, f.mtbf_hours, f.mttr_hours,
            f.first_time_fix_percent, f.repeat_repairs, f.pm_compliance_percent,
            f.parts_replaced, f.satisfaction)))
    Console(soft_wrap=True).print(table)


Out = Annotated[Path, typer.Option("--out", help="the folder the PDF and HTML go to")]


def _book(settings: Any, sessions: Any) -> Any:
    from caseflow.domain.policy_loader import load_policy
    from caseflow.store.policies import PolicySource

    return PolicySource(sessions, load_policy(settings.policy_file)).current()


def _write(out: Path, name: str, html: str, pdf: bytes) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.html").write_text(html, "utf-8")
    (out / f"{name}.pdf").write_bytes(pdf)
    print(out / f"{name}.pdf")
    print(out / f"{name}.html")


def report_annual(
    hospital: Annotated[str, typer.Option(help="the hospital id")],
    year: Annotated[int, typer.Option(help="the calendar year", min=1970, max=2200)],
    serial: Serial = None, out: Out = Path("."),
) -> None:
    """The annual operation report (年度运行分析报告) of a hospital or one unit: PDF and HTML in
    Chinese, unit after unit with a progress bar (docs/reports.md)."""
    from rich.progress import Progress

    from caseflow.activities.reports import make_annual
    from caseflow.store.models import Equipment, Hospital

    settings = _settings()
    sessions = _sessions(settings)
    book = _book(settings, sessions)
    with sessions() as session:
        if session.get(Hospital, hospital) is None:
            console.print(f"[red]no hospital {hospital!r}[/]")
            raise typer.Exit(2)
        unit = session.get(Equipment, serial) if serial else None
        if serial and (unit is None or unit.hospital_id != hospital):
            console.print(f"[red]no equipment with serial {serial!r} at {hospital}[/]")
            raise typer.Exit(2)
    with Progress(console=console, transient=True) as bar:
        task = bar.add_task("units", total=None)
        report, html, pdf = make_annual(
            sessions, book, hospital, year, serial, datetime.now(timezone.utc),
            lambda done, total: bar.update(task, completed=done, total=total))
    if report.note:
        console.print(f"[yellow]{report.note}[/]")
    _write(out, f"annual-{hospital}-{year}" + (f"-{serial}" if serial else ""), html, pdf)


def report_visit(
    case_id: Annotated[str, typer.Argument(help="a maintenance visit, e.g. MV-20261201-000042")],
    out: Out = Path("."),
) -> None:
    """The report of a maintenance visit: checklist, calibration values, findings,
    confirmation, timeline (PDF and HTML, Chinese)."""
    from caseflow.activities.reports import rendered
    from caseflow.store.annual import visit_data

    settings = _settings()
    sessions = _sessions(settings)
    book = _book(settings, sessions)
    with sessions() as session:
        data = visit_data(session, case_id, datetime.now(timezone.utc))
    if data is None:
        console.print(f"[red]no maintenance visit {case_id!r}[/]")
        raise typer.Exit(2)
    html, pdf = rendered("visit", data, book.defaults.timezone)
    _write(out, f"visit-{case_id}", html, pdf)


def register(app: typer.Typer, report: typer.Typer) -> None:
    """Add the reliability commands to `caseflow` and `caseflow report`."""
    app.command("import-history")(import_history)
    report.command("reliability")(report_reliability)
    report.command("annual")(report_annual)
    report.command("visit")(report_visit)
