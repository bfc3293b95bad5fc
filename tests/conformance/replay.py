"""Replaying one conformance case against a sandbox over real HTTP on loopback.

The sandbox starts from a fixture made of the case's :class:`~tests.conformance.cases.Scene`
(with the demo fixture's public test key), the documents the request links are created
and uploaded first, and the request goes out signed with KSig1 like any client's.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from agent.sandbox import RunningSandbox, start_sandbox
from agent.sandbox.server import DEMO_FIXTURE
from tests.conformance.cases import Case, Scene
from tests.conformance.compare import Comparison, IdMap
from tests.conftest import sandbox_call

_http = httpx.Client(timeout=30)


def fixture_for(scene: Scene) -> dict[str, Any]:
    demo = json.loads(DEMO_FIXTURE.read_text(encoding="utf-8"))
    key = next(k for k in demo["api_keys"] if k.get("public"))
    account = next(a for a in demo["accounts"] if a["account_id"] == key["account_id"])
    workflows = []
    for workflow_id, state in scene.workflows:
        rds = [
            {k: v for k, v in rd.items() if k != "workflow_id"}
            for rd in scene.required_documents
            if rd["workflow_id"] == workflow_id
        ]
        workflows.append(
            {
                "workflow_id": workflow_id,
                "subject_record_id": scene.subject_record_id,
                "type": "BUSINESS_APPLICATION",
                "state": state,
                "required_documents": rds,
            }
        )
    return {
        "format_version": 1,
        "accounts": [account],
        "api_keys": [key],
        "subject_records": [
            {
                "subject_record_id": scene.subject_record_id,
                "account_id": account["account_id"],
                "type": "BUSINESS",
            }
        ],
        "workflows": workflows,
    }


def start_scene(scene: Scene, folder: Path) -> RunningSandbox:
    folder.mkdir(parents=True, exist_ok=True)
    fixture = folder / "scene.json"
    fixture.write_text(json.dumps(fixture_for(scene), indent=2), encoding="utf-8")
    return start_sandbox(folder / "data", fixture=fixture)


def pdf_bytes(size: int) -> bytes:
    head = b"%PDF-1.4\n"
    return (head + b"%" * max(0, size - len(head)))[: max(size, 1)]


def create(sandbox: RunningSandbox, body: dict[str, Any]) -> tuple[dict[str, Any], bytes]:
    """``document.create`` with ``body``: (the answer's document, content of its size)."""
    answer = sandbox_call(sandbox, "document.create", body)
    assert answer.status_code == 200, answer.text
    return answer.json()["data"]["document"], pdf_bytes(int(body["file_size_in_bytes"]))


def upload_documents(sandbox: RunningSandbox, scene: Scene, ids: IdMap) -> None:
    """Create and upload the documents the request links; bind their ids to the example's."""
    for example_id in scene.documents:
        content = pdf_bytes(64)
        document, _ = create(
            sandbox,
            {
                "subject_record_id": scene.subject_record_id,
                "file_name": "passport.pdf",
                "file_size_in_bytes": len(content),
            },
        )
        values = dict(document["presign_values"])
        files = {"file": ("passport.pdf", content, values["Content-Type"])}
        sent = _http.post(document["upload_url"], data=values, files=files)
        assert sent.status_code == 204, sent.text
        problem = ids.bind(example_id, document["document_id"])
        assert problem is None, problem


def run_case(case: Case, folder: Path) -> list[str]:
    """The differences between the sandbox's answer and the page; empty when none."""
    assert case.scene is not None
    sandbox = start_scene(case.scene, folder)
    try:
        if case.form is not None:
            return _run_form(case, sandbox)
        return _run_exchange(case, sandbox)
    finally:
        sandbox.stop()


def _run_exchange(case: Case, sandbox: RunningSandbox) -> list[str]:
    assert case.scene is not None
    ids = IdMap()
    upload_documents(sandbox, case.scene, ids)
    response = sandbox_call(sandbox, case.method, ids.substitute(case.request))
    problems: list[str] = []
    if response.status_code != case.http_status:
        problems.append(f"HTTP {response.status_code} where the page has {case.http_status}")
    try:
        body = response.json()
    except ValueError:
        return [*problems, f"the answer is not JSON: {response.text[:200]!r}"]
    if case.refusal is not None:
        problems += _refusal(case.refusal, body)
    elif case.answer is not None:
        comparison = Comparison(ids)
        if case.answer_is_data:
            meta = body.get("meta") or {}
            if meta.get("status") not in ("SUCCESS", "BATCH_PROCESSED"):
                problems.append(f"meta.status {meta.get('status')!r}: not a success")
            comparison.check(case.answer, body.get("data"), "data", shape=case.shape)
        else:
            comparison.check(case.answer, body, shape=case.shape)
        problems += comparison.problems
        if case.shape:
            problems += _all_succeeded(body)
    results = body.get("results") or []
    for index, refusal in case.item_refusals:
        if index >= len(results):
            problems.append(f"results[{index}]: missing")
            continue
        result = results[index]
        errors = result.get("errors") or [{}]
        if result.get("status") != "ERROR" or errors[0].get("code") != refusal.code:
            problems.append(f"results[{index}]: {result} is not a refusal with {refusal.code}")
        elif refusal.message is not None and errors[0].get("message") != refusal.message:
            problems.append(
                f"results[{index}].errors[0].message: {errors[0].get('message')!r} where the "
                f"page has {refusal.message!r}"
            )
    return problems


def _refusal(expected: tuple[str, str | None, str | None], body: dict[str, Any]) -> list[str]:
    code, entity_type, sub_code = expected
    problems = []
    meta = body.get("meta") or {}
    if meta.get("status") != "ERROR":
        problems.append(f"meta.status {meta.get('status')!r} where a refusal has 'ERROR'")
    errors = body.get("errors") or [{}]
    first = errors[0] if isinstance(errors[0], dict) else {}
    for name, want in (("code", code), ("entity_type", entity_type), ("sub_code", sub_code)):
        if want is not None and first.get(name) != want:
            problems.append(f"errors[0].{name}: {first.get(name)!r} where the page has {want!r}")
    if not first.get("message"):
        problems.append("errors[0].message: missing")
    return problems


def _all_succeeded(body: dict[str, Any]) -> list[str]:
    return [
        f"results[{i}]: {result.get('status')} {result.get('errors')}"
        for i, result in enumerate(body.get("results") or [])
        if result.get("status") != "SUCCESS"
    ]


def _run_form(case: Case, sandbox: RunningSandbox) -> list[str]:
    form = case.form
    assert form is not None
    document, content = create(sandbox, case.request)
    values: dict[str, str] = dict(document["presign_values"])
    problems: list[str] = []
    names = list(form.fields)
    if not names or names[-1] != "file":
        problems.append(f"the page's form does not send the file last: {names}")
    fields = [n for n in names if n != "file"]
    if set(fields) != set(values):
        problems.append(
            f"document.create gave the form fields {sorted(values)}; "
            f"the page sends {sorted(fields)}"
        )
        return problems
    file_name = form.file_name or str(case.request["file_name"])
    file_type = form.file_type or values["Content-Type"]
    data = {name: values[name] for name in fields}
    sent = _http.post(
        document["upload_url"], data=data, files={"file": (file_name, content, file_type)}
    )
    if sent.status_code != case.http_status:
        problems.append(
            f"HTTP {sent.status_code} where the page has {case.http_status}: {sent.text}"
        )
        return problems
    got = sandbox_call(sandbox, "document.get", {"document_id": document["document_id"]})
    status = got.json()["data"]["document"]["upload_status"]
    if status != "COMPLETED":
        problems.append(f"after the upload, upload_status is {status!r}, not COMPLETED")
    return problems
