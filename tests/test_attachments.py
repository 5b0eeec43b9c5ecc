"""Attachments: a photo or a signed form uploaded to a case, kept with it, its SHA-256 on the
timeline and in the export, readable by whoever may read the case and nobody else; wrong
uploads are 413, 415 or 422 and keep nothing."""

from __future__ import annotations

import hashlib
import uuid

from caseflow.store.models import Person
from caseflow.store.people import issue_token
from tests.test_api import act, headers, new_key, open_case
from tests.test_reports import new_hospital_unit

PHOTO = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 40  # a JPEG's first bytes, then anything


def upload(api, token_headers, case_id: str, body: bytes, kind: str = "image/jpeg",  # type: ignore[no-untyped-def]
           name: str = "现场照片.jpg"):
    return api.post(f"/v1/cases/{case_id}/attachments", params={"name": name}, content=body,
                    headers={**token_headers, "Content-Type": kind})


async def test_an_engineers_photo_is_kept_hashed_and_read_only_by_who_may_read_the_case(
        api, tokens, sessions):
    hospital_id, serial = new_hospital_unit(sessions)
    suffix = uuid.uuid4().hex[:6]
    with sessions.begin() as session:
        session.add_all([Person(id=f"EN-F{suffix}", name="工程师 方", role="engineer",
                                hospital_id=hospital_id, channels=["log"]),
                         Person(id=f"EN-G{suffix}", name="工程师 高", role="engineer",
                                hospital_id="H-JB", channels=["log"])])
        session.flush()
        mine = {"Authorization": f"Bearer {issue_token(session, f'EN-F{suffix}', 'a')[0]}"}
        elsewhere = {"Authorization": f"Bearer {issue_token(session, f'EN-G{suffix}', 'a')[0]}"}
    case_id = await open_case(api, tokens, serial=serial, hospital=hospital_id,
                              severity="general")
    assert (await act(api, tokens, case_id, "supervisor", "assign",
                      {"engineer_id": f"EN-F{suffix}"})).status_code == 200

    sent = await upload(api, mine, case_id, PHOTO)
    assert sent.status_code == 201, sent.text
    info = sent.json()
    assert info["sha256"] == hashlib.sha256(PHOTO).hexdigest() and info["size"] == len(PHOTO)
    assert info["name"] == "现场照片.jpg" and info["uploaded_by"]["id"] == f"EN-F{suffix}"

    path = f"/v1/cases/{case_id}/attachments/{info['id']}"
    read = await api.get(path, headers=headers(tokens, "auditor"))
    assert read.status_code == 200 and read.content == PHOTO
    assert read.headers["content-type"] == "image/jpeg"
    assert read.headers["x-content-sha256"] == info["sha256"]
    refused = await api.get(path, headers=elsewhere)
    assert refused.status_code == 403, "an engineer of another hospital may not read it"
    assert (await upload(api, elsewhere, case_id, PHOTO)).status_code == 403

    timeline = (await api.get(f"/v1/cases/{case_id}/timeline",
                              headers=headers(tokens, "auditor"))).json()
    entry = next(e for e in timeline if e["source"] == "attachment")
    assert entry["data"]["sha256"] == info["sha256"]
    export = (await api.get(f"/v1/cases/{case_id}/export", headers=headers(tokens, "auditor")))
    assert info["sha256"] in [e["data"].get("sha256") for e in export.json()["timeline"]]
    listed = await api.get(f"/v1/cases/{case_id}/attachments", headers=headers(tokens, "hotline"))
    assert [a["id"] for a in listed.json()] == [info["id"]]


async def test_bad_uploads_are_413_415_or_422_and_keep_nothing(api, tokens):
    case_id = await open_case(api, tokens, severity="general")
    hotline = headers(tokens, "hotline")
    too_big = await upload(api, hotline, case_id, b"\xff\xd8\xff" + b"0" * (10 * 1024 * 1024))
    assert too_big.status_code == 413
    text = await upload(api, hotline, case_id, b"hello", kind="text/plain", name="a.txt")
    assert text.status_code == 415
    renamed = await upload(api, hotline, case_id, b"MZ not a picture", name="x.jpg")
    assert renamed.status_code == 415, "the bytes must be those of the type named"
    empty = await upload(api, hotline, case_id, b"")
    assert empty.status_code == 422 and empty.json()["detail"][0]["loc"] == ["body"]
    unnamed = await upload(api, hotline, case_id, PHOTO, name="../../etc/passwd")
    assert unnamed.status_code == 422
    pdf = await upload(api, hotline, case_id, b"%PDF-1.7\n...", kind="application/pdf",
                       name="验收单.pdf")
    assert pdf.status_code == 201
    listed = await api.get(f"/v1/cases/{case_id}/attachments", headers=hotline)
    assert [a["name"] for a in listed.json()] == ["验收单.pdf"]
    missing = await api.get(f"/v1/cases/{case_id}/attachments/{2**31 - 1}", headers=hotline)
    assert missing.status_code == 404
    assert new_key()
