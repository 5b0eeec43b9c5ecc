"""The Temporal worker: every workflow and activity of caseflow, wired to its dependencies."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

import structlog
from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import Client
from temporalio.worker import Interceptor, Worker

from caseflow.activities.cases import CaseOpening
from caseflow.activities.directory import Directory
from caseflow.activities.equipment import EquipmentRegister
from caseflow.activities.policy_migration import PolicyMigrations
from caseflow.activities.records import CaseRecords
from caseflow.activities.reliability import UptimeGuards
from caseflow.activities.reports import ReportJobs
from caseflow.audit import run_sealer
from caseflow.config import Settings
from caseflow.delivery.channels import Channel, EmailChannel, LogChannel, WebhookChannel
from caseflow.delivery.outbox import Dispatcher, run_outbox
from caseflow.delivery.subscriptions import Deliverer
from caseflow.domain.calendar import WorkingCalendar
from caseflow.domain.policy_loader import load_policy
from caseflow.metrics import CaseMetrics, worker_runtime
from caseflow.reliability_watch import ReliabilityWatch, run_reliability_watch
from caseflow.store.db import make_engine, make_sessions
from caseflow.store.policies import PolicySource
from caseflow.temporal import connect, ensure_search_attributes
from caseflow.tracing import WORKER_SERVICE, tracer_provider
from caseflow.workflows import catalog

log = structlog.get_logger(__name__)


def build_worker(client: Client, sessions: sessionmaker[Session], task_queue: str,
                 executor: ThreadPoolExecutor, policies: PolicySource,
                 sandbox: str = "passthrough", max_cached_workflows: int = 1000,
                 interceptors: Sequence[Interceptor] = ()) -> Worker:
    """The worker on `client`: its metrics go to the client's runtime, its traces to the
    client's tracing interceptor (both off for a plain client). Cases it opens (linked
    complaints, emergencies, visits) are pinned to the policy in force. `sandbox`: see
    `catalog.sandbox`. A worker with no workflow cache replays each workflow's history for
    every task (tests of restarts). `interceptors`: the tests' checks of invariants."""
    records = CaseRecords(sessions, CaseMetrics.of(client))
    people, opening = Directory(sessions), CaseOpening(sessions, policies)
    register = EquipmentRegister(sessions, policies.fallback.defaults.timezone)
    guards = UptimeGuards(sessions, policies)
    reports = ReportJobs(sessions, policies)
    migrations = PolicyMigrations(sessions, client)
    return Worker(
        client,
        task_queue=task_queue,
        workflows=catalog.workflows(),
        activities=[records.record_case_events, records.record_case_event,
                    records.record_escalation,
                    opening.open_linked_complaint, opening.open_linked_emergency,
                    opening.open_maintenance_visit, opening.start_maintenance_plan,
                    opening.open_linked_repair, opening.place_in_group, opening.open_linked_review,
                    opening.open_linked_adverse_event,
                    register.accept_installation, register.set_equipment_status,
                    people.lookup_equipment, people.find_people, people.on_call_chain,
                    guards.uptime_standing, guards.record_uptime_rung,
                    reports.plan_report, reports.report_part, reports.render_report,
                    reports.fail_report, migrations.next_cases, migrations.migrate_case,
                    migrations.finish_migration],
        activity_executor=executor,
        max_concurrent_activities=32,
        max_cached_workflows=max_cached_workflows,
        workflow_runner=catalog.sandbox(sandbox, client.data_converter),
        interceptors=interceptors,
        # A workflow's next task goes first to the worker that has it cached; if that worker
        # died, Temporal hands the task to any worker after this long (default 10 s: a rung
        # due meanwhile fired that late). Short, since a healthy worker takes a task in ms.
        sticky_queue_schedule_to_start_timeout=STICKY_TIMEOUT,
    )


STICKY_TIMEOUT = timedelta(seconds=2)


def dispatcher(sessions: sessionmaker[Session], settings: Settings,
               policies: PolicySource) -> Dispatcher:
    """The outbox dispatcher with the channels the settings configure."""
    channels: dict[str, Channel] = {
        "log": LogChannel(), "webhook": WebhookChannel(settings.webhook_timeout_seconds)}
    if settings.smtp_host:
        channels["email"] = EmailChannel(
            settings.smtp_host, settings.smtp_port, settings.smtp_sender,
            username=settings.smtp_username, password=settings.smtp_password,
            starttls=settings.smtp_starttls)

    def working_hours(name: str, at: datetime) -> WorkingCalendar:
        policy = policies.current().pin(None, at)
        return policy.calendar(name) if name in policy.calendars else policy.local_calendar

    return Dispatcher(sessions, channels, working_hours,
                      timedelta(hours=settings.delivery_give_up_hours))


async def run_worker(settings: Settings) -> None:
    """Run the worker, the outbox sender, the subscription deliverer, the sealer of closed
    cases and the reliability watch (uptime guards, recurring faults) until cancelled;
    metrics on CASEFLOW_WORKER_METRICS_PORT, traces to OTLP if set."""
    engine = make_engine(settings.database_url)
    sessions = make_sessions(engine)
    runtime = worker_runtime(settings)
    tracing = tracer_provider(settings, WORKER_SERVICE)
    client = await connect(settings, runtime=runtime, tracing=tracing)
    metrics = CaseMetrics.of(client)
    try:
        await ensure_search_attributes(client)
    except Exception as error:  # a production namespace may not let workers register them
        log.warning("could not register search attributes", error=str(error))
    stop = asyncio.Event()
    with ThreadPoolExecutor(max_workers=32) as executor:
        policies = PolicySource(sessions, load_policy(settings.policy_file))
        worker = build_worker(client, sessions, settings.task_queue, executor, policies,
                              settings.workflow_sandbox)
        outbox = asyncio.create_task(run_outbox(
            dispatcher(sessions, settings, policies), settings.outbox_poll_seconds, stop,
            name="notifications", metrics=metrics))
        deliverer = Deliverer(sessions, timeout=settings.webhook_timeout_seconds,
                              give_up_after=timedelta(hours=settings.subscription_give_up_hours))
        events_out = asyncio.create_task(run_outbox(
            deliverer, settings.subscription_poll_seconds, stop, name="subscriptions",
            metrics=metrics))
        sealer = asyncio.create_task(run_sealer(client, sessions, settings.seal_poll_seconds,
                                                stop))
        watch = asyncio.create_task(run_reliability_watch(
            ReliabilityWatch(client, sessions, policies, settings.task_queue),
            settings.reliability_poll_seconds, stop))
        log.info("worker started", task_queue=settings.task_queue,
                 temporal=settings.temporal_address,
                 metrics=f"http://{settings.metrics_host}:{settings.worker_metrics_port}/metrics"
                 if runtime else None, tracing=settings.otlp_endpoint)
        try:
            await worker.run()
        finally:
            stop.set()
            await outbox
            await events_out
            await sealer
            await watch
            engine.dispose()
            if tracing is not None:
                tracing.shutdown()
