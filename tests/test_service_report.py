"""The repair's service report (服务确认单) as a PDF: Chinese text, drawn in the CJK font, read
back from the file; only repairs have one."""

from __future__ import annotations

import io

from pypdf import PdfReader

from tests.test_api import act, headers, open_case, walk_to
from tests.test_complaint_api import complaint_body


async def test_the_service_report_of_a_walked_repair_reads_back_in_chinese(api, tokens):
    case_id = await open_case(api, tokens, severity="severe", symptom="扫描时球管报警,无法出图")
    await walk_to(api, tokens, case_id, "repairing")
    for action, payload in (("order-parts", {"parts": [{"part_no": "XT-2040",
                                                       "name": "CT 球管组件"}]}),
                            ("parts-arrived", {"note": "备件已到"})):
        done = await act(api, tokens, case_id, "engineer", action, payload)
        assert done.status_code == 200, (action, done.text)
    await walk_to(api, tokens, case_id, "closed")
    response = await api.get(f"/v1/cases/{case_id}/report.pdf", headers=headers(tokens, "auditor"))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    pdf = PdfReader(io.BytesIO(response.content))
    text = "".join(page.extract_text() for page in pdf.pages)
    for words in ("服务确认单", case_id, "扫描时球管报警", "更换备件", "XT-2040", "CT 球管组件",
                  "维修验证", "功能测试", "通过", "客户确认", "满意度", "工程师签字"):
        assert words in text, words
    fonts = {str(font.get("/BaseFont")) for page in pdf.pages
             for font in (page["/Resources"]["/Font"].values())}
    assert any("WenQuanYi" in name for name in fonts), fonts

    english = await api.get(f"/v1/cases/{case_id}/report.pdf", params={"lang": "en"},
                            headers=headers(tokens, "auditor"))
    english_text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(english.content)).pages)
    assert "Service report" in english_text and "服务确认单" not in english_text


async def test_only_a_repair_has_a_service_report(api, tokens):
    created = await api.post("/v1/complaints", json=complaint_body(),
                             headers=headers(tokens, "hotline", "report-complaint-" + "x" * 8))
    assert created.status_code in (200, 201), created.text
    refused = await api.get(f"/v1/cases/{created.json()['case_id']}/report.pdf",
                            headers=headers(tokens, "auditor"))
    assert refused.status_code == 422
