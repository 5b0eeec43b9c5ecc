"""The `caseflow` command refuses to start on a bad policy file, saying where and why."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_worker_refuses_to_start_with_a_bad_policy_file(tmp_path: Path):
    bad = tmp_path / "policy.yaml"
    source = (Path(__file__).parent.parent / "caseflow" / "policy" / "default.yaml").read_text()
    bad.write_text(source.replace("minor:    {within: 24h,", "minor:    {within: 24 hours,"),
                   "utf-8")
    done = subprocess.run([sys.executable, "-m", "caseflow.cli", "worker"], capture_output=True,
                          text=True, timeout=60,
                          env={**os.environ, "CASEFLOW_POLICY_FILE": str(bad),
                               "CASEFLOW_TEMPORAL_ADDRESS": "127.0.0.1:1"})
    assert done.returncode == 2
    message = " ".join((done.stdout + done.stderr).split())
    assert str(bad) in message
    assert "defaults.repair.arrival.minor.within" in message
    assert "is not a duration" in message


def test_seed_outside_development_writes_no_token_file(tmp_path: Path):
    done = subprocess.run([sys.executable, "-m", "caseflow.cli", "seed"], capture_output=True,
                          text=True, timeout=60,
                          env={**os.environ, "CASEFLOW_ENVIRONMENT": "production",
                               "CASEFLOW_DATA_DIR": str(tmp_path),
                               "CASEFLOW_DATABASE_URL": f"sqlite:///{tmp_path}/caseflow.db"})
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "caseflow.db").exists()
    assert not (tmp_path / "dev-tokens.json").exists()
