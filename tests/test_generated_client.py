"""A client generated from /openapi.json by a standard generator (openapi-python-client, as a
client author would run it) walks a repair from intake to closed: every action is an
operation of its own with its payload's schema, so the client knows what `diagnose` takes."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from caseflow.api.app import create_app
from caseflow.config import Settings
from tests.test_api import WALK, intake_body, new_key

PACKAGE = "caseflow_api_client"


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    """The client package, generated into a folder of the module's own and imported."""
    folder = tmp_path_factory.mktemp("client")
    spec = folder / "openapi.json"
    app = create_app(Settings(environment="test", database_url="sqlite://"))
    spec.write_text(json.dumps(app.openapi(), ensure_ascii=False), "utf-8")
    tools = Path(sys.executable).parent
    done = subprocess.run([str(tools / "openapi-python-client"), "generate", "--path", str(spec),
                           "--output-path", str(folder / PACKAGE), "--meta", "none"],
                          capture_output=True, text=True, timeout=300,
                          env={"PATH": f"{tools}:/usr/bin:/bin", "HOME": str(folder)})
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Unable to" not in done.stdout + done.stderr, "every schema was understood"
    sys.path.insert(0, str(folder))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(folder))
        for name in [n for n in sys.modules if n.split(".")[0] == PACKAGE]:
            del sys.modules[name]


def operation(generated: ModuleType, tag: str, name: str) -> Any:
    return importlib.import_module(f"{PACKAGE}.api.{tag}.{name}")


async def test_a_generated_client_walks_a_repair_with_typed_actions(generated, database_url,
                                                                    dev_env, dev_worker,
                                                                    tokens):
    app = create_app(Settings(database_url=database_url, task_queue=dev_worker.task_queue,
                              environment="test"), temporal=dev_env.client)
    models = importlib.import_module(f"{PACKAGE}.models")
    clients: list[httpx.AsyncClient] = []

    def as_role(role: str) -> Any:
        transport = httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                      base_url="http://caseflow.test", timeout=30,
                                      headers={"Authorization": f"Bearer {tokens[role]}"})
        clients.append(transport)
        return generated.AuthenticatedClient(base_url="http://caseflow.test",
                                             token=tokens[role]).set_async_httpx_client(transport)

    try:
        opened = await operation(generated, "repairs", "open_repair_v1_repairs_post").asyncio_detailed(
            client=as_role("hotline"), body=models.RepairCreate.from_dict(intake_body(
                severity="severe")), idempotency_key=new_key())
        assert opened.status_code == 201, opened.content
        case_id = opened.parsed.case_id
        for reached, role, action, payload in WALK:
            name = action.replace("-", "_")
            body_type = getattr(models, "Repair" + "".join(
                part.capitalize() for part in name.split("_")))
            answer = await operation(generated, "repair_actions", f"repair_{name}") \
                .asyncio_detailed(case_id=case_id, client=as_role(role),
                                  body=body_type.from_dict(payload), idempotency_key=new_key())
            assert answer.status_code == 200, (action, answer.content)
            view = answer.parsed
            assert isinstance(view, models.RepairView), type(view)
            assert view.status.value == reached and view.case_id == case_id
        assert view.satisfaction == 5 and view.closed_at

        # A typed operation is for its kind only; a refusal comes back typed too.
        wrong_kind = await operation(generated, "complaint_actions", "complaint_withdraw") \
            .asyncio_detailed(case_id=case_id, client=as_role("hotline"),
                              body=models.ComplaintWithdraw.from_dict({"reason": "x"}),
                              idempotency_key=new_key())
        assert wrong_kind.status_code == 404 and "is a repair" in wrong_kind.parsed.detail
        closed = await operation(generated, "repair_actions", "repair_progress").asyncio_detailed(
            case_id=case_id, client=as_role("engineer"),
            body=models.RepairProgress.from_dict({"note": "已结案后"}), idempotency_key=new_key())
        assert closed.status_code == 409 and closed.parsed.code == "InvalidTransition"
    finally:
        for client in clients:
            await client.aclose()
