"""The `caseflow` command: dev, simulate-alarms, worker, api, migrate, seed, import,
import-history, replay, audit, report, token, person, bench."""

from __future__ import annotations

import asyncio
import signal
from datetime import date, datetime, timezone
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import structlog
import typer
from rich.console import Console
from rich.markup import escape
from temporalio.service import RPCError

from caseflow.config import Settings
from caseflow.domain.policy_loader import PolicyError, load_policy
from caseflow.logs import configure_logging

app = typer.Typer(help="caseflow: service cases for CT/MR maintenance on Temporal.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
# Results on standard output (`> file` keeps them), diagnostics and progress on standard
# error; one line per result, however long.
results = Console(soft_wrap=True)
console = Console(stderr=True, soft_wrap=True)
log = structlog.get_logger(__name__)


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


@app.command("simulate-alarms")
def simulate_alarms(
    seconds: Annotated[int, typer.Option(min=30, max=86400, help="how long to play")] = 120,
    api: Annotated[str | None, typer.Option(help="the API (default: make run's)")] = None,
    token: Annotated[str | None, typer.Option(
        help="a monitoring token (default: .data/dev-tokens.json's)")] = None,
    critical: Annotated[bool, typer.Option(help="also a quench risk: pages the on-call chain")]
        = False,
    seed: Annotated[int, typer.Option(help="the same seed plays the same streams")] = 7,
) -> None:
    """Play realistic alarm streams of the demo fleet into POST /v1/alarms, as a remote
    monitoring integration would: a tube that overheats and cools down, a cold head warming,
    helium falling towards its limit (docs/monitoring.md)."""
    import json

    import httpx

    from caseflow.simulator import alarm_stream, play, run_label

    settings = _settings()
    if token is None:
        found = settings.data_dir / "dev-tokens.json"
        token = json.loads(found.read_text("utf-8")).get("monitoring") if found.exists() else None
        if token is None:
            console.print(f"[red]no monitoring token[/]: start `make run` first (it writes "
                          f"{found}), or give --token")
            raise typer.Exit(2)
    base = api or f"http://{settings.api_host}:{settings.api_port}"
    stream = alarm_stream(datetime.now(timezone.utc), seconds, run=run_label(),
                          critical=critical, seed=seed)

    def shown(body: dict[str, Any]) -> None:
        for case_id in body["cases_opened"]:
            results.print(f"opened {case_id}")
        for item in body["items"]:
            if item["status"] == "refused":
                console.print(f"[red]refused[/] {item['alarm_id']}: {item['field']}: "
                              f"{item['reason']}")

    async def run() -> None:
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            played = await play(client, token or "", stream, on_batch=shown)
        results.print(f"{played.accepted} alarms accepted, {played.cleared} cleared, "
                      f"{played.refused} refused in {played.batches} batches; "
                      f"{len(played.cases or [])} repairs opened")

    console.print(f"playing {seconds} s of alarms of the demo fleet into {base} (Ctrl-C stops)")
    asyncio.run(run())


@app.command()
def worker() -> None:
    """Run a worker (every workflow and activity) against the configured Temporal and database."""
    from caseflow.worker import run_worker

    settings = _settings()

    async def until_stopped() -> None:
        # SIGTERM (docker stop, Kubernetes) stops it as Ctrl-C does: polling ends, running
        # activities finish, the outbox, deliverer and sealer loops end (docs/operations.md).
        main = asyncio.current_task()
        assert main is not None
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, main.cancel)
        await run_worker(settings)

    try:
        asyncio.run(until_stopped())
    except (KeyboardInterrupt, asyncio.CancelledError):
        log.info("worker stopped")


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
    jobs: Annotated[int | None, typer.Option(
        "--jobs", "-j", min=1, help="processes replaying at once (default: one per core)")] = None,
) -> None:
    """Replay histories against today's workflow code (every run of a case that continued as
    new): OK, or the first divergence with its event id and why, one line per history on
    stdout (progress and errors on stderr); non-zero exit on any divergence."""
    from caseflow import replay as r

    configure_logging("console", "WARNING")
    out = results
    err = console
    workers = jobs or r.default_jobs()
    paths = [Path(t) for t in targets or [] if Path(t).exists()]
    case_ids = [t for t in targets or [] if not Path(t).exists()]
    if kind is None and (since or until):
        err.print("[red]--from/--to need --kind[/]")
        raise typer.Exit(2)
    if not paths and not case_ids and kind is None:
        err.print("[red]nothing to replay[/]: give files, folders, case ids or --kind")
        raise typer.Exit(2)

    async def run() -> int:
        failures = await r.replay_files(paths, out, workers, err) if paths else 0
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
        return failures + await r.replay_all(r.cases(client, wanted), out, len(wanted), workers,
                                             err)

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
            checked = [verify_file(path, sessions) for path in paths]
            for ok, message in checked:
                results.print(f"[green]OK[/]   {escape(message)}" if ok
                              else f"[red]FAIL[/] {escape(message)}", highlight=False)
            raise typer.Exit(0 if all(ok for ok, _ in checked) else 1)
        with sessions() as session:
            check = seals.verify_chain(session)
        if check.ok:
            results.print(f"[green]OK[/]   the chain of {check.links} sealed cases is intact")
            raise typer.Exit(0)
        results.print(f"[red]FAIL[/] link {check.first_bad} (case {check.case_id}): "
                      f"{check.reason}", highlight=False)
        raise typer.Exit(1)
    finally:
        engine.dispose()


@app.command("import")
def import_reference(
    path: Annotated[Path, typer.Argument(help="YAML or JSON: hospitals, contracts, equipment, "
                                              "people (docs/operations.md)")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="check and count, write nothing")]
    = False,
) -> None:
    """Load a site's reference data: each row added or updated by its key, all or nothing."""
    import yaml
    from pydantic import ValidationError
    from rich.table import Table

    from caseflow.domain.errors import DomainError
    from caseflow.domain.reference import ReferenceFile
    from caseflow.store.reference import load_reference

    try:
        found = ReferenceFile.model_validate(yaml.safe_load(path.read_text("utf-8")) or {})
    except OSError as error:
        console.print(f"[red]{path}: cannot read: {error.strerror}[/]")
        raise typer.Exit(2) from None
    except yaml.YAMLError as error:
        console.print(f"[red]{path}: not valid YAML or JSON: {error}[/]")
        raise typer.Exit(2) from None
    except ValidationError as error:
        for item in error.errors()[:20]:
            console.print(f"[red]{path}: {'.'.join(map(str, item['loc']))}: {item['msg']}[/]")
        raise typer.Exit(2) from None
    sessions = _directory(_settings())
    session = sessions()
    try:
        counts = load_reference(session, found)
        if dry_run:
            session.rollback()
        else:
            session.commit()
    except DomainError as error:
        session.rollback()
        console.print(f"[red]{path}: {error.field}: {error.message}[/] (nothing was written)")
        raise typer.Exit(2) from None
    finally:
        session.close()
    table = Table(title=f"{path}{' (dry run: nothing written)' if dry_run else ''}")
    for column in ("", "added", "changed", "unchanged"):
        table.add_column(column)
    for name, count in counts.items():
        table.add_row(name, str(count.added), str(count.changed), str(count.unchanged))
    Console(soft_wrap=True).print(table)


token = typer.Typer(help="API tokens: create (shown once), list, revoke.", no_args_is_help=True)
app.add_typer(token, name="token")
person = typer.Typer(help="People: add one, set a console password.", no_args_is_help=True)
app.add_typer(person, name="person")


def _directory(settings: Settings):  # type: ignore[no-untyped-def]
    from caseflow.store.db import make_engine, make_sessions

    return make_sessions(make_engine(settings.database_url))


@token.command("create")
def token_create(
    person_id: Annotated[str, typer.Argument(help="the person the token acts as")],
    label: Annotated[str, typer.Option(help="what uses it, e.g. 'hotline CTI'")],
    expires_days: Annotated[int | None, typer.Option(
        help="days until it expires; none with --no-expiry", min=1, max=3650)] = 90,
    no_expiry: Annotated[bool, typer.Option("--no-expiry", help="never expires")] = False,
) -> None:
    """Create a token; it is printed once (only its SHA-256 is kept)."""
    from datetime import timedelta

    from caseflow.store import people
    from caseflow.store.models import Person

    sessions = _directory(_settings())
    with sessions.begin() as session:
        holder = session.get(Person, person_id)
        if holder is None or not holder.active:
            console.print(f"[red]no active person {person_id!r}[/]")
            raise typer.Exit(2)
        expires = None if no_expiry or not expires_days else (
            datetime.now(timezone.utc) + timedelta(days=expires_days))
        secret, row = people.issue_token(session, person_id, label, expires_at=expires,
                                         created_by="cli")
        token_id = row.id
    console.print(f"token {token_id} for {person_id} ({holder.role}), expires "
                  f"{expires.isoformat() if expires else 'never'}; shown once:")
    print(secret)


@token.command("list")
def token_list(
    person_id: Annotated[str | None, typer.Option("--person", help="only this person's")] = None,
    include_revoked: Annotated[bool, typer.Option("--all", help="revoked ones too")] = False,
) -> None:
    """Tokens (never their secrets)."""
    from rich.table import Table

    from caseflow.store import people

    sessions = _directory(_settings())
    table = Table(title="API tokens")
    for column in ("id", "person", "role", "label", "created", "by", "expires", "revoked"):
        table.add_column(column)
    with sessions() as session:
        for row, holder in people.tokens(session, person_id, include_revoked=include_revoked):
            table.add_row(str(row.id), f"{holder.id} {holder.name}", holder.role, row.label,
                          f"{row.created_at:%Y-%m-%d %H:%M}", row.created_by,
                          f"{row.expires_at:%Y-%m-%d}" if row.expires_at else "never",
                          f"{row.revoked_at:%Y-%m-%d %H:%M}" if row.revoked_at else "")
    Console(soft_wrap=True).print(table)


@token.command("revoke")
def token_revoke(token_id: Annotated[int, typer.Argument(help="the id `token list` shows")],
                 ) -> None:
    """Revoke a token: every API process refuses it from the next request."""
    from caseflow.store import people

    sessions = _directory(_settings())
    with sessions.begin() as session:
        row = people.revoke_token(session, token_id, datetime.now(timezone.utc))
        if row is None:
            console.print(f"[red]no token {token_id}[/]")
            raise typer.Exit(2)
        console.print(f"token {token_id} of {row.person_id} revoked at {row.revoked_at}")


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        import sys

        return sys.stdin.readline().rstrip("\n")
    return typer.prompt("password", hide_input=True, confirmation_prompt=True)


def _write_person(person_id: str, fields: dict[str, Any], create: bool) -> None:
    """Create or change a person through the same checks as the admin API."""
    from pydantic import ValidationError

    from caseflow.domain.errors import DomainError
    from caseflow.domain.people import PersonCreate, PersonUpdate
    from caseflow.store import people
    from caseflow.store.models import Person

    try:
        body = (PersonCreate if create else PersonUpdate).model_validate(
            {"id": person_id, **fields} if create else fields)
    except ValidationError as error:
        first = error.errors()[0]
        console.print(f"[red]{'.'.join(map(str, first['loc']))}: {first['msg']}[/]")
        raise typer.Exit(2) from None
    sessions = _directory(_settings())
    with sessions.begin() as session:
        found = session.get(Person, person_id)
        if create and found is not None:
            console.print(f"[red]{person_id} exists[/]")
            raise typer.Exit(2)
        if not create and found is None:
            console.print(f"[red]no person {person_id!r}[/]")
            raise typer.Exit(2)
        try:
            if create:
                people.add_person(session, body)  # type: ignore[arg-type]
            else:
                people.write_person(session, found, body)  # type: ignore[arg-type]
        except DomainError as error:
            console.print(f"[red]{error.field}: {error.message}[/]")
            raise typer.Exit(2) from None
    console.print(f"{person_id} {'added' if create else 'changed'}")


@person.command("add")
def person_add(
    person_id: Annotated[str, typer.Argument(help="e.g. AD-02")],
    name: Annotated[str, typer.Option(help="as shown on cases")],
    role: Annotated[str, typer.Option(help="hotline, supervisor, engineer, manager, director, "
                                           "auditor or admin")],
    hospital: Annotated[str | None, typer.Option(help="the hospital they serve")] = None,
    username: Annotated[str | None, typer.Option(help="to sign in to the console")] = None,
    password_stdin: Annotated[bool, typer.Option(
        "--password-stdin", help="read the password from standard input")] = False,
) -> None:
    """Add a person (the first admin of a new installation, say); with --username, a password
    is asked for."""
    fields: dict[str, Any] = {"name": name, "role": role, "hospital_id": hospital}
    if username:
        fields |= {"username": username, "password": _read_password(password_stdin)}
    _write_person(person_id, fields, create=True)


@person.command("password")
def person_password(
    person_id: Annotated[str, typer.Argument()],
    username: Annotated[str | None, typer.Option(help="set or change the user name too")] = None,
    password_stdin: Annotated[bool, typer.Option(
        "--password-stdin", help="read the password from standard input")] = False,
) -> None:
    """Set a person's console password (and user name)."""
    fields: dict[str, Any] = {"password": _read_password(password_stdin)}
    if username:
        fields["username"] = username
    _write_person(person_id, fields, create=False)


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
                                                 hospital_id=hospital, contracted=True)
                         if c["closed_at"] or not closed]
                return found, contracts_of(session, found)
        finally:
            engine.dispose()
app.add_typer(report, name="report")


class ReportFormat(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


@report.command("sla")
def report_sla(
    since: Annotated[datetime | None, typer.Option("--from", help="first day")] = None,
    until: Annotated[datetime | None, typer.Option("--to", help="day after the last")] = None,
    kind: Annotated[str | None, typer.Option(help="repair, complaint, emergency...")] = None,
    hospital: Annotated[str | None, typer.Option(help="a hospital id")] = None,
    form: Annotated[ReportFormat, typer.Option(
        "--format", help="table (fits 80 columns), csv (for spreadsheets) or json")]
    = ReportFormat.table,
    as_json: Annotated[bool, typer.Option("--json", help="the same as --format json")] = False,
) -> None:
    """How commitments were kept for the cases opened in a period (default: 30 days), on
    standard output."""
    from rich.table import Table

    from caseflow.domain.reports import SLA_COLUMNS, sla_report, sla_table
    from caseflow.domain.spreadsheets import csv_text

    settings = _settings()
    chosen = _Period(load_policy(settings.policy_file).defaults.timezone, since, until, 30)
    found, _ = chosen.cases(settings, kind, hospital)
    start, end = chosen.days
    result = sla_report(found, *chosen.bounds)
    if as_json or form is ReportFormat.json:
        print(result.model_dump_json(indent=2))
        return
    if form is ReportFormat.csv:
        print(csv_text(SLA_COLUMNS, sla_table(result)), end="")
        return
    # One table per kind, severity and hospital, short columns: readable at 80 columns.
    results.print(f"SLA {start} .. {end}: {result.cases} cases opened", highlight=False)
    groups = sorted({(r.kind, r.severity or "", r.hospital_id) for r in result.rows})
    for kind_name, severity, hospital_id in groups:
        table = Table(title=f"{kind_name} {severity or '(no severity)'} at {hospital_id}",
                      title_justify="left", padding=(0, 1), box=None, show_edge=False,
                      header_style="bold")
        table.add_column("commitment", overflow="fold")
        for column in ("cases", "met%", "late", "brch", "med m", "p90 m", "L1", "L2", "L3"):
            table.add_column(column, justify="right", no_wrap=True)
        for row in result.rows:
            if (row.kind, row.severity or "", row.hospital_id) != (kind_name, severity,
                                                                    hospital_id):
                continue
            table.add_row(row.commitment, str(row.cases),
                          "-" if row.met_percent is None else f"{row.met_percent:g}",
                          str(row.met_late), str(row.breached_open),
                          _minutes(row.median_minutes_to_meet), _minutes(row.p90_minutes_to_meet),
                          *(str(row.escalations_by_level.get(level, 0)) for level in (1, 2, 3)))
        results.print()
        results.print(table, soft_wrap=False)
    for severity, hours in result.mean_hours_to_restore.items():
        results.print(f"mean time to restore ({severity}): {hours} h", highlight=False)
    if result.regulatory:  # the adverse events' reports to their regulators
        table = Table(title="reports to regulators", title_justify="left", padding=(0, 1),
                      box=None, show_edge=False, header_style="bold")
        for column in ("where", "event type", "report"):
            table.add_column(column, overflow="fold")
        for column in ("rpts", "met%", "late", "ovrd", "open"):
            table.add_column(column, justify="right", no_wrap=True)
        for row in result.regulatory:
            table.add_row(row.jurisdiction, row.event_type, row.report, str(row.reports),
                          "-" if row.met_percent is None else f"{row.met_percent:g}",
                          str(row.met_late), str(row.breached_open), str(row.open))
        results.print()
        results.print(table, soft_wrap=False)
    results.print("\nmet%: on time of decided; late: met late; brch: breached, not met;\n"
                  "med m / p90 m: working minutes to meet; L1-L3: escalations by level"
                  + ("; ovrd: reports overdue, not submitted" if result.regulatory else ""),
                  style="dim", highlight=False)


def _minutes(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


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


policy_migration = typer.Typer(
    help="Move open cases to another SLA policy: preview, apply (with a reason), follow.",
    no_args_is_help=True)
app.add_typer(policy_migration, name="policy-migration")


def _migration_view(view) -> None:  # type: ignore[no-untyped-def]
    from rich.table import Table

    counts = ", ".join(f"{name} {n}" for name, n in view.counts.items())
    console.print(f"{view.migration_id} {view.status}: to {view.policy_version} ({counts})")
    table = Table(title=f"{view.migration_id}: {len(view.cases)} cases")
    for column in ("case", "kind", "result", "commitment", "due now", "due after",
                   "fired", "fire at once"):
        table.add_column(column)
    for case in view.cases:
        if not case.moves:
            table.add_row(case.case_id, case.kind, case.result, "", "", "", "",
                          case.left_alone or case.reason or "")
        for move in case.moves:
            table.add_row(case.case_id, case.kind, case.result, f"{move.key} #{move.round}",
                          str(move.from_due or "paused"), str(move.to_due or "paused"),
                          str(move.fired), str(move.due_at_once))
    results.print(table)


def _migration_context():  # type: ignore[no-untyped-def]
    from caseflow.store.policies import PolicySource

    settings = _settings()
    sessions = _directory(settings)
    return settings, sessions, PolicySource(sessions, load_policy(settings.policy_file))


@policy_migration.command("preview")
def migration_preview(
    policy_file: Annotated[Path | None, typer.Option(
        "--policy", help="the candidate policy file (default: the policy in force)")] = None,
    kind: Annotated[list[str] | None, typer.Option(help="repair, complaint, ... (repeat)")] = None,
    contract: Annotated[list[str] | None, typer.Option(help="a contract code (repeat)")] = None,
    hospital: Annotated[list[str] | None, typer.Option(help="a hospital id (repeat)")] = None,
    case: Annotated[list[str] | None, typer.Option(help="a case id (repeat)")] = None,
    by: Annotated[str, typer.Option(help="who asks (a manager's id)")] = "MG-01",
    as_json: Annotated[bool, typer.Option("--json", help="the preview as JSON")] = False,
) -> None:
    """What moving the selected open cases to a policy would change; nothing changes until
    `apply`. Prints the migration id to apply."""
    from pydantic import ValidationError

    from caseflow import policy_migration as migrations
    from caseflow.domain.migration import Selection
    from caseflow.temporal import connect

    settings, sessions, policies = _migration_context()
    try:
        chosen = load_policy(policy_file) if policy_file else policies.current()
        selection = Selection(kinds=kind or [], contracts=contract or [],  # type: ignore[arg-type]
                              hospitals=hospital or [], case_ids=case or [])
    except (PolicyError, ValidationError) as error:
        console.print(f"[red]bad candidate or selection[/]\n{error}")
        raise typer.Exit(2) from None

    async def run():  # type: ignore[no-untyped-def]
        client = await connect(settings)
        return await migrations.preview(sessions, client, chosen, policies.current(),
                                        selection, by)

    view = asyncio.run(run())
    if as_json:
        print(view.model_dump_json(indent=2))
        return
    _migration_view(view)


@policy_migration.command("apply")
def migration_apply(
    migration_id: Annotated[str, typer.Argument(help="the id the preview printed")],
    reason: Annotated[str, typer.Option(help="why: recorded on every case")],
    per_minute: Annotated[int, typer.Option(help="cases moved a minute at most")] = 600,
    by: Annotated[str, typer.Option(help="who applies it (a manager's id)")] = "MG-01",
) -> None:
    """Start moving the cases of a preview (refused if anything changed since: preview
    again)."""
    from caseflow import policy_migration as migrations
    from caseflow.domain.errors import DomainError
    from caseflow.temporal import connect

    settings, sessions, policies = _migration_context()

    async def run():  # type: ignore[no-untyped-def]
        client = await connect(settings)
        return await migrations.apply(sessions, client, settings.task_queue, migration_id,
                                      reason=reason, per_minute=per_minute, by=by,
                                      in_force=policies.current())

    try:
        view = asyncio.run(run())
    except DomainError as error:
        console.print(f"[red]refused[/]: {error.message}")
        raise typer.Exit(1) from None
    console.print(f"{view.migration_id} running: follow it with "
                  f"`caseflow policy-migration status {view.migration_id}`")


@policy_migration.command("status")
def migration_status(
    migration_id: Annotated[str, typer.Argument(help="the migration's id")],
    as_json: Annotated[bool, typer.Option("--json", help="as JSON")] = False,
) -> None:
    """A migration's progress and the result of each case."""
    from caseflow.domain.errors import DomainError
    from caseflow.store import policy_migrations as store
    from caseflow.store.db import unit

    settings, sessions, _ = _migration_context()
    try:
        view = unit(sessions, store.status, migration_id)
    except DomainError as error:
        console.print(f"[red]{error.message}[/]")
        raise typer.Exit(1) from None
    if as_json:
        print(view.model_dump_json(indent=2))
        return
    _migration_view(view)


def _reliability() -> None:
    from caseflow.reliability_cli import register

    register(app, report)


_reliability()


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
