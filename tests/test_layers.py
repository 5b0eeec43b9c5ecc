"""The layers of docs/architecture.md: what the import contract (pyproject.toml
[tool.importlinter], run by `make lint` and `make test`) cannot see for itself."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
import tomllib
from pathlib import Path

import caseflow

ROOT = Path(__file__).resolve().parent.parent


def contract(contract_id: str) -> dict:  # type: ignore[type-arg]
    config = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    return next(c for c in config["tool"]["importlinter"]["contracts"] if c["id"] == contract_id)


def test_workflows_contract_forbids_every_caseflow_module_but_domain_and_workflows():
    """A new module of caseflow (a database helper, a client) is forbidden to workflow code
    from the day it is added: the contract must name it."""
    named = {m for m in contract("workflows-pure")["forbidden_modules"]
             if m.startswith("caseflow.")}
    found = {f"caseflow.{info.name}" for info in pkgutil.iter_modules(caseflow.__path__)}
    assert named == found - {"caseflow.domain", "caseflow.workflows"}


def test_the_api_loads_no_worker_activity_sender_or_smtp():
    """An API process imports its app without the worker, the activities, the outbox and its
    channels (SMTP): the contract sees static imports, this sees what is actually loaded."""
    probe = ("import sys, caseflow.api.app\n"
             "print('\\n'.join(sorted(sys.modules)))\n")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          timeout=120, check=True)
    loaded = set(done.stdout.split())
    assert "caseflow.api.app" in loaded
    leaked = sorted(m for m in loaded if m in ("caseflow.worker", "smtplib")
                    or m.startswith(("caseflow.activities", "caseflow.delivery")))
    assert leaked == []
