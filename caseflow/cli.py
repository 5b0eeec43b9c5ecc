"""The `caseflow` command: dev, worker, api, migrate, seed, replay, audit, report, bench."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from temporalio.service import RPCError

from caseflow.config import Settings
from caseflow.domain.policy_loader import PolicyError, load_policy
from caseflow.logs import configure_logging

app = typer.Typer(help="caseflow: service cases for CT/MR maintenance on Temporal.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
console = Console(stderr=True, soft_wrap=True)  # one line per result, however long


def _settings() -> Settings:
    settings = Settings()
    configure_logging(settings.log_format, settings.log_level)
    try:
        load_policy(settings.policy_file)
    except PolicyError as error:
        console.print(f"[red]bad SLA policy[/]\n{error}")
        raise typer.Exit(2) from None
    return settings


@app.command()
def dev() -> None:
    """Start everything: Temporal dev server + UI, worker, API, SQLite with demo data."""
    from caseflow.dev import run_dev

    settings = _settings()
    if settings.environment != "development":
        console.print("[red]caseflow dev is for development only[/] (CASEFLOW_ENVIRONMENT)")
        raise typer.Exit(2)
    raise typer.Exit(run_dev(settings))


@app.command()
def worker() -> None:
    """Run a worker (every workflow and activity) against the configured Temporal and database."""
    from caseflow.worker import run_worker

    try:
        asyncio.run(run_worker(_settings()))
    except KeyboardInterrupt:
        pass


@app.command()
def api() -> None:
    """Serve the HTTP API (OpenAPI at /docs)."""
    import uvicorn

    from caseflow.api.app import create_app

    settings = _settings()
    uvicorn.run(create_app(settings), host=settings.api_host, port=settings.api_port,
                log_config=None, access_log=False)


@app.command()
def migrate() -> None:
    """Apply database migrations up to head."""
    from caseflow.store.db import migrate as run

    run(_settings().database_url)


@app.command()
def seed() -> None:
    """Load the demo reference data and (in development) write .data/dev-tokens.json."""
    from caseflow.dev import prepare

    tokens = prepare(_settings())
    if tokens:
        console.print(f"dev tokens written for: {', '.join(tokens)}")


@app.command()
def replay(
    targets: Annotated[list[str] | None, typer.Argument(
        help="history or export JSON files, folders of them, or case ids (fetched from "
             "Temporal)")] = None,
    kind: Annotated[str | None, typer.Option(help="every closed case of this kind ...")] = None,
    since: Annotated[datetime | None, typer.Option("--from", help="... closed from (UTC)")] = None,
    until: Annotated[datetime | None, typer.Option("--to", help="... closed before (UTC)")] = None,
) -> None:
    """Replay histories against today's workflow code: OK, or the first divergence with its
    event id and why; non-zero exit on any divergence."""
    from caseflow import replay as r

    configure_logging("console", "WARNING")
    paths = [Path(t) for t in targets or [] if Path(t).exists()]
    case_ids = [t for t in targets or [] if not Path(t).exists()]
    if kind is None and (since or until):
        console.print("[red]--from/--to need --kind[/]")
        raise typer.Exit(2)
    if not paths and not case_ids and kind is None:
        console.print("[red]nothing to replay[/]: give files, folders, case ids or --kind")
        raise typer.Exit(2)

    async def run() -> int:
        failures = await r.replay_files(paths, console) if paths else 0
        if not case_ids and kind is None:
            return failures
        from caseflow.store.db import make_engine, make_sessions
        from caseflow.temporal import connect

        settings = _settings()
        client = await connect(settings)
        wanted = list(case_ids)
        if kind is not None:
            engine = make_engine(settings.database_url)
            try:
                wanted += r.closed_cases(make_sessions(engine), kind,
                                         _utc(since or datetime(1970, 1, 1)),
                                         _utc(until or datetime(9999, 1, 1)))
            finally:
                engine.dispose()
        return failures + await r.replay_all(r.cases(client, wanted), console, len(wanted))

    try:
        failures = asyncio.run(run())
    except RPCError as error:
        console.print(f"[red]Temporal did not answer[/]: {error.message}")
        raise typer.Exit(2) from None
    raise typer.Exit(1 if failures else 0)


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


audit = typer.Typer(help="Tamper evidence: verify exported histories and the seal chain.",
                    no_args_is_help=True)
app.add_typer(audit, name="audit")


@audit.command("verify")
def audit_verify(paths: Annotated[list[Path] | None, typer.Argument(
        help="exported case files or history JSON files; none: verify the whole chain")] = None,
) -> None:
    """Check exported histories against their seals, or the seal chain itself: prints OK or
    the first record that does not match; non-zero exit on any mismatch."""
    from caseflow.audit import verify_file
    from caseflow.store import seals
    from caseflow.store.db import make_engine, make_sessions

    settings = _settings()
    engine = make_engine(settings.database_url)
    sessions = make_sessions(engine)
    try:
        if paths:
            results = [verify_file(path, sessions) for path in paths]
            for ok, message in results:
                console.print(f"[green]OK[/]   {message}" if ok else f"[red]FAIL[/] {message}")
            raise typer.Exit(0 if all(ok for ok, _ in results) else 1)
        with sessions() as session:
            check = seals.verify_chain(session)
        if check.ok:
            console.print(f"[green]OK[/]   the chain of {check.links} sealed cases is intact")
            raise typer.Exit(0)
        console.print(f"[red]FAIL[/] link {check.first_bad} (case {check.case_id}): "
                      f"{check.reason}")
        raise typer.Exit(1)
    finally:
        engine.dispose()


report = typer.Typer(help="Reports: SLA compliance, and what a candidate policy would change.",
                     no_args_is_help=True)


class _Period:
    """The local days a report covers ([since, until), default the last `days` days up to
    today in the policy's time zone), and the cases opened in them."""

    def __init__(self, zone: str, since: datetime | None, until: datetime | None,
                 days: int) -> None:
        from datetime import timedelta
        from zoneinfo import ZoneInfo

        from caseflow.domain.reports import period

        end = until.date() if until else datetime.now(ZoneInfo(zone)).date() + timedelta(days=1)
        start = since.date() if since else end - timedelta(days=days)
        self.days: tuple[date, date] = (start, end)
        self.bounds = period(start, end, zone)

    def cases(self, settings: Settings, kind: str | None, hospital: str | None,
              closed: bool = False) -> tuple[list[dict[str, Any]], dict[str, str | None]]:
        """The cases opened in the period (only the closed ones if `closed`) and the contract
        each case's hospital had on the day it opened."""
        from caseflow.store.db import make_engine, make_sessions
        from caseflow.store.reports import cases_opened, contracts_of

        engine = make_engine(settings.database_url)
        try:
            with make_sessions(engine)() as session:
                found = [c for c in cases_opened(session, *self.bounds, kind=kind,
                                                 hospital_id=hospital)
                         if c["closed_at"] or not closed]
                return found, contracts_of(session, found)
        finally:
            engine.dispose()
app.add_typer(report, name="report")


@report.command("sla")
def report_sla(
    since: Annotated[datetime | None, typer.Option("--from", help="first day")] = None,
    until: Annotated[datetime | None, typer.Option("--to", help="day after the last")] = None,
    kind: Annotated[str | None, typer.Option(help="repair, complaint, emergency...")] = None,
    hospital: Annotated[str | None, typer.Option(help="a hospital id")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="the report as JSON")] = False,
) -> None:
    """How commitments were kept for the cases opened in a period (default: 30 days)."""

    from rich.table import Table

    from caseflow.domain.reports import sla_report

    settings = _settings()
    chosen = _Period(load_policy(settings.policy_file).defaults.timezone, since, until, 30)
    found, _ = chosen.cases(settings, kind, hospital)
    start, end = chosen.days
    result = sla_report(found, *chosen.bounds)
    if as_json:
        print(result.model_dump_json(indent=2))
        return
    table = Table(title=f"SLA {start} .. {end} ({result.cases} cases)")
    for column in ("kind", "severity", "hospital", "commitment", "cases", "met %", "met",
                   "late", "breached", "median min", "p90 min", "escalations"):
        table.add_column(column)
    for row in result.rows:
        table.add_row(row.kind, row.severity or "", row.hospital_id, row.commitment,
                      str(row.cases), "" if row.met_percent is None else f"{row.met_percent}",
                      str(row.met), str(row.met_late), str(row.breached_open),
                      str(row.median_minutes_to_meet or ""), str(row.p90_minutes_to_meet or ""),
                      " ".join(f"L{k}:{v}" for k, v in row.escalations_by_level.items()))
    Console(soft_wrap=True).print(table)
    for severity, hours in result.mean_hours_to_restore.items():
        print(f"mean time to restore ({severity}): {hours} h")


@report.command("what-if")
def report_what_if(
    policy_file: Annotated[Path, typer.Option("--policy", help="the candidate SLA policy file")],
    since: Annotated[datetime | None, typer.Option("--from", help="first day")] = None,
    until: Annotated[datetime | None, typer.Option("--to", help="day after the last")] = None,
    kind: Annotated[str | None, typer.Option(help="repair, complaint, emergency...")] = None,
    hospital: Annotated[str | None, typer.Option(help="a hospital id")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="the report as JSON")] = False,
) -> None:
    """How the closed cases opened in a period (default: 90 days) would have kept their
    commitments under a candidate policy, before a contract is renegotiated."""

    from rich.table import Table

    from caseflow.domain.reports import what_if

    settings = _settings()
    try:
        candidate = load_policy(policy_file)
    except PolicyError as error:
        console.print(f"[red]bad candidate policy[/]\n{error}")
        raise typer.Exit(2) from None
    chosen = _Period(candidate.defaults.timezone, since, until, 90)
    found, contracts = chosen.cases(settings, kind, hospital, closed=True)
    start, end = chosen.days
    result = what_if(found, lambda case: candidate.pin(contracts[case["case_id"]],
                                                       case["opened_at"]), *chosen.bounds)
    if as_json:
        print(result.model_dump_json(indent=2))
        return
    table = Table(title=f"what if {policy_file} ({start} .. {end}, {result.cases} closed cases)")
    for column in ("kind", "commitment", "decided", "met % now", "met % candidate",
                   "lost", "won"):
        table.add_column(column)
    for row in result.rows:
        table.add_row(row.kind, row.commitment, str(row.decided), str(row.met_percent_now),
                      str(row.met_percent_candidate), str(row.now_met_candidate_missed),
                      str(row.now_missed_candidate_met))
    Console(soft_wrap=True).print(table)


def _bench() -> typer.Typer | None:
    """`caseflow bench ...` from bench/ of a source checkout (benchmarks are not installed)."""
    import sys

    root = Path(__file__).resolve().parent.parent
    if not (root / "bench" / "cli.py").is_file():
        return None
    if str(root) not in sys.path:
        sys.path.append(str(root))
    try:
        from bench.cli import app as bench_app
    except ImportError:  # another module named `bench` came first: no bench command
        return None
    return bench_app


if (_bench_app := _bench()) is not None:
    app.add_typer(_bench_app, name="bench")


if __name__ == "__main__":
    app()
