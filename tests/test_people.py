"""Admins keep people, log-ins and tokens (shown once, hashed, expiring, revocable); console
sign-in; the abuse limits: body size (413), per-token rates (429 with Retry-After)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from caseflow.api.app import create_app
from caseflow.api.limits import Limiter, RateLimited, SignInGuard
from caseflow.config import Settings
from caseflow.store.directory import hash_token
from caseflow.store.models import ApiToken, Case, Hospital, Person
from tests.test_api import headers, intake_body, locs, new_key, open_case

PASSWORD = "蓝色-Scanner-2026"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def hospital(sessions) -> str:  # type: ignore[no-untyped-def]
    """A hospital of this module's: the people added here serve it only, so no other test's
    notices or look-ups find them."""
    hospital_id = f"H-P{uuid.uuid4().hex[:8]}"
    with sessions.begin() as session:
        session.add(Hospital(id=hospital_id, name="人员测试医院"))
    return hospital_id


async def add_person(api, tokens, hospital, **fields) -> dict:  # type: ignore[no-untyped-def]
    body = {"id": f"P-{uuid.uuid4().hex[:8]}", "name": "吴工程师", "role": "engineer",
            "hospital_id": hospital, **fields}
    response = await api.post("/v1/people", json=body, headers=headers(tokens, "admin"))
    assert response.status_code == 201, response.text
    return response.json()


async def test_an_admin_adds_a_person_who_signs_in_and_out(api, tokens, sessions, hospital):
    username = f"wu{uuid.uuid4().hex[:6]}"
    person = await add_person(api, tokens, hospital, username=username,
                              password=PASSWORD, channels=["log"])
    assert person["can_sign_in"] and "password" not in person and "password_hash" not in person
    with sessions() as session:
        stored = session.get(Person, person["id"])
        assert stored.password_hash.startswith("$argon2id$") and PASSWORD not in stored.password_hash

    wrong = await api.post("/v1/auth/sign-in", json={"username": username, "password": "x" * 12})
    unknown = await api.post("/v1/auth/sign-in", json={"username": "nobody", "password": PASSWORD})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json(), "the same answer for a wrong name or password"

    signed = await api.post("/v1/auth/sign-in",
                            json={"username": username.upper(), "password": PASSWORD})
    assert signed.status_code == 200, signed.text
    token = signed.json()["token"]
    me = await api.get("/v1/me", headers=bearer(token))
    assert me.json()["id"] == person["id"] and me.json()["role"] == "engineer"
    assert "read_cases" in me.json()["capabilities"] and "manage_people" not in me.json()[
        "capabilities"]
    assert (await api.post("/v1/auth/sign-out", headers=bearer(token))).status_code == 204
    assert (await api.get("/v1/me", headers=bearer(token))).status_code == 401

    deactivated = await api.patch(f"/v1/people/{person['id']}", json={"active": False},
                                  headers=headers(tokens, "admin"))
    assert deactivated.status_code == 200 and deactivated.json()["active"] is False
    again = await api.post("/v1/auth/sign-in", json={"username": username, "password": PASSWORD})
    assert again.status_code == 401


async def test_bad_people_are_refused_naming_the_field(api, tokens, sessions, hospital):
    taken = await add_person(api, tokens, hospital, username=f"li{uuid.uuid4().hex[:6]}",
                             password=PASSWORD)
    for body, loc in (
            ({"id": "P 1", "name": "x", "role": "engineer"}, ["body", "id"]),
            ({"id": "P-2", "name": "x", "role": "emperor"}, ["body", "role"]),
            ({"id": "P-3", "name": "x", "role": "engineer", "password": "short1"},
             ["body", "password"]),
            ({"id": "P-4", "name": "x", "role": "engineer", "password": "onlyletterslong"},
             ["body", "password"]),
            ({"id": "P-5", "name": "x", "role": "engineer", "hospital_id": "H-NOWHERE"},
             ["body", "hospital_id"]),
            ({"id": "P-6", "name": "x", "role": "engineer", "username": taken["username"]},
             ["body", "username"]),
            ({"id": "P-7", "name": "x", "role": "engineer", "email": "not-an-address"},
             ["body", "email"]),
            ({"id": "P-8", "name": "x", "role": "engineer",
              "webhook_url": "https://user:pw@robot.example/hook"}, ["body", "webhook_url"])):
        response = await api.post("/v1/people", json=body, headers=headers(tokens, "admin"))
        assert response.status_code == 422 and loc in locs(response), (body, response.text)
        assert PASSWORD not in response.text and "pw@" not in response.text
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Person).where(
            Person.id.in_([f"P-{n}" for n in range(1, 9)]))) == 0
    again = await api.post("/v1/people", json={"id": taken["id"], "name": "x", "role": "hotline"},
                           headers=headers(tokens, "admin"))
    assert again.status_code == 409
    missing = await api.patch("/v1/people/NOBODY", json={"phone": "13900001111"},
                              headers=headers(tokens, "admin"))
    assert missing.status_code == 404
    for name in ("name", "role", "channels", "active", "phone", "email", "work_calendar",
                 "username", "password", "language", "time_zone"):
        response = await api.patch(f"/v1/people/{taken['id']}", json={name: None},
                                   headers=headers(tokens, "admin"))
        assert response.status_code == 422 and locs(response) == [["body", name]], name
    reads_english = await api.patch(f"/v1/people/{taken['id']}",
                                    json={"language": "en", "time_zone": "Europe/Berlin"},
                                    headers=headers(tokens, "admin"))
    assert reads_english.status_code == 200, reads_english.text
    assert (reads_english.json()["language"], reads_english.json()["time_zone"]) == (
        "en", "Europe/Berlin")
    for wrong in ({"language": "fr"}, {"time_zone": "Shanghai"}):
        refused = await api.patch(f"/v1/people/{taken['id']}", json=wrong,
                                  headers=headers(tokens, "admin"))
        assert refused.status_code == 422 and locs(refused) == [["body", *wrong]], wrong
    cleared = await api.patch(f"/v1/people/{taken['id']}", json={"hospital_id": ""},
                              headers=headers(tokens, "admin"))
    assert cleared.status_code == 200 and cleared.json()["hospital_id"] is None
    myself = await api.patch("/v1/people/AD-01", json={"active": False},
                             headers=headers(tokens, "admin"))
    assert myself.status_code == 422 and locs(myself) == [["body", "active"]]


async def test_tokens_are_shown_once_listed_without_secret_and_revoked(api, tokens, sessions,
                                                                       hospital):
    person = await add_person(api, tokens, hospital, role="hotline")
    issued = await api.post(f"/v1/people/{person['id']}/tokens",
                            json={"label": "呼叫中心 CTI", "expires_in_days": 30},
                            headers=headers(tokens, "admin"))
    assert issued.status_code == 201, issued.text
    secret, token_id = issued.json()["token"], issued.json()["id"]
    assert issued.json()["created_by"] == "AD-01" and issued.json()["expires_at"]
    with sessions() as session:
        row = session.get(ApiToken, token_id)
        assert row.token_hash == hash_token(secret) and secret not in row.token_hash
    listed = await api.get("/v1/tokens", params={"person_id": person["id"]},
                           headers=headers(tokens, "admin"))
    assert [t["id"] for t in listed.json()] == [token_id] and secret not in listed.text
    assert (await api.get("/v1/me", headers=bearer(secret))).status_code == 200
    revoked = await api.delete(f"/v1/tokens/{token_id}", headers=headers(tokens, "admin"))
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    assert (await api.get("/v1/me", headers=bearer(secret))).status_code == 401
    assert (await api.get("/v1/tokens", params={"person_id": person["id"]},
                          headers=headers(tokens, "admin"))).json() == []
    assert (await api.delete("/v1/tokens/2147483647",
                             headers=headers(tokens, "admin"))).status_code == 404


# ----- abuse limits -------------------------------------------------------------------------------

@pytest.fixture
async def strict(database_url, dev_env, dev_worker) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    """The API with tiny limits: 2 new cases and 3 steps a minute per token, 4 KiB bodies,
    2 sign-in attempts per user name."""
    settings = Settings(database_url=database_url, task_queue=dev_worker.task_queue,
                        environment="test", rate_create_per_minute=2,
                        rate_actions_per_minute=3, rate_logins_per_minute=2,
                        max_body_bytes=4096)
    app = create_app(settings, temporal=dev_env.client)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://caseflow.test", timeout=30) as client:
        yield client


def case_count(sessions) -> int:  # type: ignore[no-untyped-def]
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(Case))


async def test_case_creation_over_the_rate_is_429_and_creates_nothing(strict, tokens, sessions):
    for _ in range(2):
        created = await strict.post("/v1/repairs", json=intake_body(),
                                    headers=headers(tokens, "hotline", new_key()))
        assert created.status_code == 201, created.text
    before = case_count(sessions)
    limited = await strict.post("/v1/repairs", json=intake_body(),
                                headers=headers(tokens, "hotline", new_key()))
    assert limited.status_code == 429 and limited.json()["code"] == "RateLimited"
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    assert case_count(sessions) == before
    other = await strict.post("/v1/repairs", json=intake_body(),
                              headers=headers(tokens, "supervisor", new_key()))
    assert other.status_code == 201, "another token has its own allowance"


async def test_steps_over_the_rate_are_429(strict, api, tokens):
    case_id = await open_case(api, tokens, severity="general")
    answers = [await strict.post(f"/v1/cases/{case_id}/actions/progress", json={"x": 1},
                                 headers=headers(tokens, "engineer2", new_key()))
               for _ in range(4)]
    assert [a.status_code for a in answers] == [422, 422, 422, 429]


async def test_sign_in_attempts_are_limited_per_client_address(strict):
    """2 attempts a minute per address (the strict fixture): the third is 429, saying so."""
    codes = []
    for n in range(3):
        answer = await strict.post("/v1/auth/sign-in", json={
            "username": f"spray{n}{uuid.uuid4().hex[:6]}", "password": "Wrong-guess-1"})
        codes.append(answer.status_code)
    assert codes == [401, 401, 429]
    assert "per client address" in answer.json()["detail"] and answer.headers["Retry-After"]


@pytest.fixture
async def guarded(database_url, dev_env) -> AsyncIterator[Any]:  # type: ignore[no-untyped-def]
    """The API with the default sign-in limits, its clock stopped (so a delay cannot run out
    between two attempts however slow the machine); `at(address)` is a client from that
    address."""
    settings = Settings(database_url=database_url, environment="test")
    app = create_app(settings, temporal=dev_env.client)
    app.state.sign_in_guard = SignInGuard(clock=lambda: 1000.0)
    clients: list[httpx.AsyncClient] = []

    def at(address: str) -> httpx.AsyncClient:
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(address, 4000)),
                                   base_url="http://caseflow.test", timeout=30)
        clients.append(client)
        return client

    yield at
    for client in clients:
        await client.aclose()


async def test_a_guesser_cannot_lock_a_person_out_nor_spray_names(guarded, api, tokens,
                                                                   hospital):
    """Someone guessing one person's password (in any case of the name) is slowed at their own
    address, with growing delays; the person signs in from theirs. 25 names from one address
    are stopped by the address's limit. Every 429 says what was limited and when to retry."""
    username = f"zhao{uuid.uuid4().hex[:6]}"
    await add_person(api, tokens, hospital, username=username, password=PASSWORD)
    owner, guesser = guarded("198.51.100.7"), guarded("203.0.113.9")
    assert (await owner.post("/v1/auth/sign-in", json={"username": username,
                                                       "password": PASSWORD})).status_code == 200
    answers = []
    for n in range(12):
        name = username.upper() if n % 2 else username
        answers.append(await guesser.post("/v1/auth/sign-in", json={
            "username": name, "password": f"Guess-{n}-wrong"}))
    codes = [a.status_code for a in answers]
    assert codes[:3] == [401, 401, 401] and set(codes[3:]) == {429}, codes
    limited = answers[3].json()["detail"]
    assert "for this user name from this address" in limited and "retry in" in limited
    assert int(answers[3].headers["Retry-After"]) >= 1
    signed = await owner.post("/v1/auth/sign-in", json={"username": username,
                                                        "password": PASSWORD})
    assert signed.status_code == 200, "the person is not locked out"

    sprayer = guarded("192.0.2.44")
    sprayed = [(await sprayer.post("/v1/auth/sign-in", json={
        "username": f"name{n}{uuid.uuid4().hex[:4]}", "password": "Spring-2026!"})).status_code
        for n in range(25)]
    assert sprayed == [401] * 20 + [429] * 5, sprayed


def test_failed_sign_ins_wait_longer_and_longer_and_known_addresses_are_not_held():
    now = [0.0]
    guard = SignInGuard(clock=lambda: now[0], free=3, name_free=10)

    def waits(address: str, name: str) -> int:
        try:
            guard.check(address, name, 1000)
        except RateLimited as limited:
            return limited.retry_after
        return 0

    guard.succeeded("10.0.0.1", "Li")  # the person's own desk
    delays = []
    for n in range(8):
        now[0] += 3600 if n == 0 else delays[-1] or 0
        assert waits("10.9.9.9", "li") == 0
        guard.failed("10.9.9.9", "LI")
        delays.append(waits("10.9.9.9", "li"))
    assert delays == [0, 0, 1, 2, 4, 8, 16, 32]
    for n in range(12):  # guesses from many addresses: the name is held for new addresses
        guard.failed(f"10.1.0.{n}", "li")
    assert waits("10.2.0.1", "li") > 0
    assert waits("10.0.0.1", "li") == 0, "where the person signed in before, they still can"
    now[0] += 3601
    assert waits("10.2.0.1", "li") == 0 and waits("10.9.9.9", "li") == 0, "forgotten after 1 h"
    assert waits("10.0.0.1", "nobody") == 0
    guard.check("10.0.0.1", "li", 0)  # 0: no limits


async def test_a_body_over_the_limit_is_413_and_creates_nothing(strict, tokens, sessions):
    before = case_count(sessions)
    large = intake_body(symptom="球管报警" * 1000)
    response = await strict.post("/v1/repairs", json=large,
                                 headers=headers(tokens, "hotline", new_key()))
    assert response.status_code == 413, response.text

    async def chunks():  # no Content-Length: counted while it streams in
        for _ in range(10):
            yield b" " * 1024

    streamed = await strict.post("/v1/repairs", content=chunks(), headers={
        **headers(tokens, "hotline", new_key()), "Content-Type": "application/json"})
    assert streamed.status_code == 413
    assert case_count(sessions) == before


def test_a_bucket_refills_at_its_rate():
    now = [0.0]
    limiter = Limiter(clock=lambda: now[0])
    for _ in range(3):
        limiter.take("act", "t", 3, "steps")
    with pytest.raises(RateLimited) as refused:
        limiter.take("act", "t", 3, "steps")
    assert refused.value.retry_after == 20
    now[0] = 20.0
    limiter.take("act", "t", 3, "steps")
    limiter.take("act", "other", 3, "steps")
    limiter.take("act", "t", 0, "steps")  # 0: no limit


# ----- the command line ---------------------------------------------------------------------------

def run_cli(database_url: str, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": database_url, "CASEFLOW_LOG_LEVEL": "WARNING",
           "CASEFLOW_ENVIRONMENT": "test"}
    return subprocess.run([sys.executable, "-m", "caseflow.cli", *args], input=stdin,
                          capture_output=True, text=True, env=env, timeout=60)


async def test_the_cli_creates_lists_and_revokes_tokens_and_adds_people(api, database_url):
    person_id, username = f"AD-{uuid.uuid4().hex[:6]}", f"ops{uuid.uuid4().hex[:6]}"
    added = run_cli(database_url, "person", "add", person_id, "--name", "运维 admin",
                    "--role", "admin", "--username", username, "--password-stdin",
                    stdin=PASSWORD + "\n")
    assert added.returncode == 0, added.stderr
    created = run_cli(database_url, "token", "create", person_id, "--label", "运维脚本",
                      "--expires-days", "7")
    assert created.returncode == 0, created.stderr
    secret = created.stdout.strip().splitlines()[-1]
    assert secret.startswith("cf_")
    me = await api.get("/v1/me", headers=bearer(secret))
    assert me.status_code == 200 and me.json()["role"] == "admin"
    listed = run_cli(database_url, "token", "list", "--person", person_id)
    assert listed.returncode == 0 and "运维脚本" in listed.stdout and secret not in listed.stdout
    token_id = next(line.split("│")[1].strip() for line in listed.stdout.splitlines()
                    if "运维脚本" in line)
    assert run_cli(database_url, "token", "revoke", token_id).returncode == 0
    assert (await api.get("/v1/me", headers=bearer(secret))).status_code == 401
    signed = await api.post("/v1/auth/sign-in", json={"username": username, "password": PASSWORD})
    assert signed.status_code == 200, signed.text
    weak = run_cli(database_url, "person", "password", person_id, "--password-stdin",
                   stdin="short\n")
    assert weak.returncode == 2 and "password" in weak.stderr
    nobody = run_cli(database_url, "token", "create", "NOBODY", "--label", "x")
    assert nobody.returncode == 2 and "no active person" in nobody.stderr
