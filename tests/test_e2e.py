"""End to end: `caseflow dev` starts the real Temporal dev server, worker and API as processes;
one repair is walked from intake to closed over HTTP, then the stack is stopped with Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from tests.postgres import free_port
from tests.repair_driver import PASSING_VERIFICATION

pytestmark = pytest.mark.e2e
DEV: dict[str, subprocess.Popen] = {}  # the module's `caseflow dev`, for the Ctrl-C test


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str], Path]]:
    data = tmp_path_factory.mktemp("dev")
    api_port = free_port()
    env = {**os.environ,
           "CASEFLOW_DATA_DIR": str(data),
           "CASEFLOW_DATABASE_URL": f"sqlite:///{data}/caseflow.db",
           "CASEFLOW_TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}",
           "CASEFLOW_TEMPORAL_UI_PORT": str(free_port()),
           "CASEFLOW_API_PORT": str(api_port),
           "CASEFLOW_WORKER_METRICS_PORT": str(free_port()),
           "CASEFLOW_LOG_FORMAT": "json"}
    log = (data / "dev.log").open("w")
    # In a process group of its own, as a terminal's foreground job is: Ctrl-C (SIGINT to the
    # group) can be sent to it as a person sends it (test_ctrl_c_...).
    process = subprocess.Popen([sys.executable, "-m", "caseflow.cli", "dev"], env=env,
                               stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    DEV["process"] = process
    base = f"http://127.0.0.1:{api_port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert process.poll() is None, (data / "dev.log").read_text()
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the stack did not come up"
            time.sleep(0.5)
        tokens = json.loads((data / "dev-tokens.json").read_text("utf-8"))
        yield base, tokens, data
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def test_repair_walks_from_intake_to_closed_over_http(stack, tmp_path: Path) -> None:
    base, tokens, _ = stack

    def call(role: str, method: str, path: str, key: str | None = None, **body):  # type: ignore[no-untyped-def]
        headers = {"Authorization": f"Bearer {tokens[role]}"}
        if key:
            headers["Idempotency-Key"] = key
        response = httpx.request(method, base + path, headers=headers,
                                 json=body if method == "POST" else None, timeout=30)
        assert response.status_code in (200, 201), (path, response.status_code, response.text)
        return response.json()

    created = call("hotline", "POST", "/v1/repairs", key="e2e-intake-0001",
                   reporter_name="李医生", reporter_phone="0571-88886666", hospital_id="H-DH",
                   department="放射科", location="门诊楼2层", equipment_serial="CT-DH-0001",
                   symptom="扫描中断,提示探测器温度异常", observed_at="2026-11-22T08:10:00+08:00",
                   channel="phone", severity="severe")
    case = created["case_id"]
    actions = "/v1/cases/" + case + "/actions/"
    steps = [
        ("supervisor", "assign", {"engineer_id": "EN-01"}),
        ("engineer", "acknowledge", {}),
        ("hotline", "confirm-handover", {}),
        ("engineer", "arrive", {"mode": "remote"}),
        ("engineer", "report-site", {"condition": "远程接入正常"}),
        ("supervisor", "approve-start", {}),
        ("engineer", "diagnose", {"findings": "探测器散热风扇故障", "fault_category": "other"}),
        ("engineer", "order-parts", {"parts": [{"part_no": "FAN-22", "name": "散热风扇"}]}),
        ("engineer", "parts-arrived", {}),
        ("engineer", "progress", {"note": "风扇已到货,准备更换"}),
        ("engineer", "resolve", {"summary": "更换风扇,复测正常", "verification": PASSING_VERIFICATION}),
        ("hotline", "confirm", {"confirmed_by": "李医生"}),
        ("hotline", "callback", {"satisfaction": 4, "comment": "响应及时"}),
    ]
    for number, (role, action, payload) in enumerate(steps):
        view = call(role, "POST", actions + action, key=f"e2e-step-{number:04d}", **payload)
    assert view["status"] == "closed"
    assert view["outcome"] == "repaired"

    state = call("manager", "GET", f"/v1/cases/{case}")
    assert state["status"] == "closed"
    assert {c["key"]: c["state"] for c in state["commitments"]}["restore"] == "met"
    timeline = call("auditor", "GET", f"/v1/cases/{case}/timeline")
    steps = [e for e in timeline if e["source"] == "case"]
    assert [e["event"] for e in steps][:3] == ["opened", "classify", "assign"]
    # the callback closes it; its reportability review is opened then (docs/regulatory.md)
    assert [e["event"] for e in steps][-2:] == ["callback", "review-opened"]
    assert "探测器温度异常" in steps[0]["summary"]
    times = [datetime.fromisoformat(e["at"]) for e in timeline]
    assert times == sorted(times), "one timeline in time order"
    assert "notification-queued" in [e["event"] for e in timeline], "with the outbox's records"
    history = call("auditor", "GET", f"/v1/cases/{case}/history")
    assert history["events"][0]["eventType"] == "EVENT_TYPE_WORKFLOW_EXECUTION_STARTED"
    listed = call("manager", "GET", "/v1/cases?status=closed")
    assert case in [item["case_id"] for item in listed["items"]]


API_MD = Path(__file__).parent.parent / "docs" / "api.md"
README = Path(__file__).parent.parent / "README.md"


def sh_blocks(heading: str, path: Path = API_MD) -> list[str]:
    """The ```sh blocks of one section of a page, in order."""
    text = path.read_text("utf-8")
    section = text.split(f"## {heading}", 1)[1].split("\n## ", 1)[0]
    return [part.split("```", 1)[0] for part in section.split("```sh\n")[1:]]


def helpers() -> str:
    return sh_blocks("Shell helpers")[0]


def walkthrough_script() -> str:
    return "set -euo pipefail\n" + "\n".join([helpers(), *sh_blocks("Walk-through")])


def run_script(stack, tmp_path: Path, script: str) -> subprocess.CompletedProcess[str]:  # type: ignore[no-untyped-def]
    base, _, data = stack
    return subprocess.run(["bash", "-c", "set -euo pipefail\n" + script], cwd=tmp_path,
                          text=True, capture_output=True, timeout=120,
                          env={**os.environ, "API": base,
                               "TOKENS": str(data / "dev-tokens.json")})


def run_section(stack, tmp_path: Path, heading: str) -> subprocess.CompletedProcess[str]:  # type: ignore[no-untyped-def]
    """One section of docs/api.md, after the shell helpers it begins with, against the running
    stack; it must succeed."""
    done = run_script(stack, tmp_path, "\n".join([helpers(), *sh_blocks(heading)]))
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def test_the_docs_define_their_shell_helpers_before_any_example_uses_them():
    """Read top to bottom, docs/api.md defines API, TOKENS, tok, field and act before the
    first example that needs them."""
    text = API_MD.read_text("utf-8")
    blocks = [part.split("```", 1)[0] for part in text.split("```sh\n")[1:]]
    assert blocks[0] == helpers(), "the helpers come first"
    for name in ("tok ", "field ", "act ", "$API", "$TOKENS"):
        assert name.strip() in blocks[0]


def test_the_act_helper_shows_the_apis_refusal(stack, tmp_path: Path) -> None:
    done = run_script(stack, tmp_path, helpers() + """
CASE=$(curl -sf -X POST "$API/v1/repairs" -H "Authorization: Bearer $(tok hotline)" \\
  -H "Idempotency-Key: refused-$RANDOM$RANDOM" -H 'Content-Type: application/json' \\
  -d '{"reporter_name": "李医生", "reporter_phone": "0571-88886666", "hospital_id": "H-DH",
       "department": "放射科", "equipment_serial": "CT-DH-0001", "symptom": "球管报警",
       "observed_at": "2026-11-22T09:30:00+08:00", "channel": "phone"}' | field case_id)
act engineer arrive '{"mode": "on_site"}' || echo "act failed"
""")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("act failed")
    assert "refused (403)" in done.stderr and "not assigned to you" in done.stderr, done.stderr


def test_the_readme_opens_a_repair_as_written(stack, tmp_path: Path) -> None:
    """The README's first example, with nothing but curl and python3 (no uuidgen)."""
    (block,) = sh_blocks("Open a repair and walk it", README)
    done = run_script(stack, tmp_path, block)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    assert json.loads(done.stdout)["case_id"].startswith("RP-")


def test_docs_walkthrough_runs_as_written(stack, tmp_path: Path) -> None:
    done = run_script(stack, tmp_path, walkthrough_script())
    assert done.returncode == 0, done.stdout + done.stderr
    assert "all deadlines kept" in done.stdout
    assert "closed" in done.stdout
    assert "扫描时球管报警" in done.stdout  # the timeline's opening line, Chinese intact
    exported = list(tmp_path.glob("*.history.json"))
    assert len(exported) == 1
    replayed = subprocess.run([sys.executable, "-m", "caseflow.cli", "replay", str(exported[0])],
                              capture_output=True, text=True, timeout=60)
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    assert "OK" in replayed.stdout


def test_docs_complaint_walkthrough_runs_as_written(stack, tmp_path: Path) -> None:
    done = run_section(stack, tmp_path, "Complaint walk-through")
    lines = done.stdout.splitlines()
    assert lines[0].startswith("recorded CP-")
    assert any(line.startswith("CP-") and " closed level 1" in line for line in lines)
    assert "action-A1" in done.stdout and "callback" in done.stdout


def test_docs_emergency_walkthrough_runs_as_written(stack, tmp_path: Path) -> None:
    done = run_section(stack, tmp_path, "Emergency walk-through")
    lines = done.stdout.splitlines()
    assert lines[0].startswith("declared EM-")
    assert lines[1] == "paged level 1 张伟"
    assert lines[2:13] == ["acknowledged", "dispatched", "on_site", "on_site", "on_site",
                           "restored", "checked", "surveyed", "reviewed", "reviewed", "closed"]
    assert any(line.startswith("EM-") and " closed restored pages 1" in line for line in lines)
    assert "notify" in done.stdout and "on_site" in done.stdout


def test_docs_installation_walkthrough_runs_as_written(stack, tmp_path: Path) -> None:
    done = run_section(stack, tmp_path, "Installation walk-through")
    lines = done.stdout.splitlines()
    assert lines[0].startswith("ordered IN-")
    assert lines[1:10] == ["ordered", "site_ready", "delivered", "installed", "commissioned",
                           "verified", "trained", "trained", "accepted"]
    assert lines[10].startswith("in_service warranty ") and "next visits" in lines[10]
    assert lines[11] == "paused"


def test_docs_finding_cases_runs_as_written(stack, tmp_path: Path) -> None:
    done = run_section(stack, tmp_path, "Finding cases")
    assert "cases due within 2 hours" in done.stdout
    assert "last page" in done.stdout or "more: pass next_cursor" in done.stdout
    found = [line for line in done.stdout.splitlines() if line.startswith("RP-")]
    assert any(" RUNNING http" in line or " COMPLETED http" in line for line in found), \
        "Temporal visibility answered, with links to the Web UI"


def test_worker_and_api_serve_prometheus_metrics(stack) -> None:
    base, _, data = stack
    api = httpx.get(f"{base}/metrics", timeout=10)  # no token, like /healthz
    assert api.status_code == 200 and "caseflow_http_requests_total{" in api.text
    started = next(json.loads(line) for line in (data / "dev.log").read_text("utf-8").splitlines()
                   if '"worker started"' in line)
    worker = httpx.get(started["metrics"], timeout=10)
    assert worker.status_code == 200 and "temporal_request_total{" in worker.text


def test_dev_stack_serves_the_console_and_its_log_ins(stack) -> None:
    base, _, data = stack
    assert f"{base}/console/" in (data / "dev.log").read_text("utf-8"), "the URL is printed"
    page = httpx.get(f"{base}/console/", timeout=10)
    assert page.status_code == 200 and "app.js" in page.text
    logins = json.loads((data / "dev-logins.json").read_text("utf-8"))
    assert oct((data / "dev-logins.json").stat().st_mode & 0o777) == "0o600"
    signed = httpx.post(f"{base}/v1/auth/sign-in", json=logins["engineer"], timeout=10)
    assert signed.status_code == 200, signed.text
    me = httpx.get(f"{base}/v1/me", headers={"Authorization": f"Bearer {signed.json()['token']}"},
                   timeout=10)
    assert me.json()["role"] == "engineer"


def test_make_says_what_it_installs_before_the_quiet_minute(tmp_path: Path) -> None:
    """On a fresh clone `make run` is silent while pip installs: it says so first."""
    root = Path(__file__).parent.parent
    planned = subprocess.run(["make", "-n", "-C", str(root), "run", f"VENV={tmp_path}/venv"],
                             capture_output=True, text=True, timeout=60)
    assert planned.returncode == 0, planned.stderr
    lines = planned.stdout.splitlines()
    first_pip = next(n for n, line in enumerate(lines) if "pip install -q -e ." in line)
    assert any(line.startswith("echo") and "installing caseflow" in line
               for line in lines[:first_pip]), lines[:first_pip + 1]


def test_the_dev_stack_shows_whole_tokens_and_stops_quietly_on_ctrl_c(stack) -> None:
    """The last test of the module: `make run`'s tokens are printed whole, / leads to the
    console, and Ctrl-C (SIGINT to the foreground process group) stops the API, the worker and
    then Temporal with no traceback and no Temporal dial errors."""
    base, tokens, data = stack
    shown = (data / "dev.log").read_text("utf-8")
    for role, token in tokens.items():
        assert any(role in line and token in line for line in shown.splitlines()), role
    home = httpx.get(f"{base}/", follow_redirects=False, timeout=10)
    assert home.status_code in (302, 307) and home.headers["location"] == "/console/"
    process = DEV["process"]
    os.killpg(process.pid, signal.SIGINT)
    assert process.wait(timeout=60) == 0
    said = (data / "dev.log").read_text("utf-8")[len(shown):]
    assert "stopping..." in said
    for noise in ("Traceback", "CancelledError", "dial error", "Failed to poll"):
        assert noise not in said, said
