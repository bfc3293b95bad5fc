"""Fault injection over real HTTP: each scripted action, the seeded rates, latency, stats."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from agent.sandbox import FaultSettings, RunningSandbox, SandboxSettings, start_sandbox
from agent.sandbox.faults import FaultAction, FaultPlan, ScriptStep
from tests.conftest import DEMO_SUBJECT, sandbox_admin, sandbox_call, sandbox_upload

CREATE = {"subject_record_id": DEMO_SUBJECT, "file_name": "a.pdf", "file_size_in_bytes": 8}


def _script(sandbox: RunningSandbox, *steps: dict[str, Any]) -> None:
    answer = sandbox_admin(sandbox, "faults", {"script": list(steps)})
    assert answer.status_code == 200, answer.text


def _documents(sandbox: RunningSandbox) -> int:
    listed = sandbox_call(sandbox, "document.list", {"subject_record_id": DEMO_SUBJECT})
    return len(listed.json()["data"]["documents"])


@pytest.mark.parametrize(
    ("action", "status", "code", "has_trace"),
    [
        ("http_500", 500, "INTERNAL_SERVER_ERROR", True),
        ("http_503", 503, "SERVICE_UNAVAILABLE", False),
        ("http_429", 429, "TOO_MANY_REQUESTS", False),
    ],
)
def test_scripted_error_answers_come_before_processing(
    sandbox: RunningSandbox, action: str, status: int, code: str, has_trace: bool
) -> None:
    _script(sandbox, {"method": "document.create", "action": action, "retry_after": 7})
    answer = sandbox_call(sandbox, "document.create", CREATE)
    assert answer.status_code == status
    body = answer.json()
    assert body["meta"]["status"] == "ERROR" and body["errors"][0]["code"] == code
    assert ("trace_id" in body["meta"]) is has_trace
    if status == 429:
        assert answer.headers["Retry-After"] == "7"
    assert _documents(sandbox) == 0
    # The step is used up: the next call goes through.
    assert sandbox_call(sandbox, "document.create", CREATE).status_code == 200


def test_a_500_after_processing_did_create_the_document(sandbox: RunningSandbox) -> None:
    _script(sandbox, {"method": "document.create", "action": "http_500_after_processing"})
    assert sandbox_call(sandbox, "document.create", CREATE).status_code == 500
    assert _documents(sandbox) == 1


@pytest.mark.parametrize(
    ("action", "created"), [("drop_before_processing", 0), ("drop_after_processing", 1)]
)
def test_dropped_connections(sandbox: RunningSandbox, action: str, created: int) -> None:
    _script(sandbox, {"method": "document.create", "action": action})
    with pytest.raises(httpx.RemoteProtocolError):
        sandbox_call(sandbox, "document.create", CREATE)
    assert _documents(sandbox) == created


def test_non_json_502(sandbox: RunningSandbox) -> None:
    _script(sandbox, {"method": "*", "action": "non_json_502"})
    answer = sandbox_call(sandbox, "meta.checkVersion")
    assert answer.status_code == 502
    assert answer.headers["Content-Type"] == "text/html"
    assert "Bad Gateway" in answer.text


def test_a_script_counts_and_skips_other_methods(sandbox: RunningSandbox) -> None:
    _script(sandbox, {"method": "document.create", "action": "http_503", "count": 2})
    assert sandbox_call(sandbox, "meta.checkVersion").status_code == 200
    statuses = [sandbox_call(sandbox, "document.create", CREATE).status_code for _ in range(3)]
    assert statuses == [503, 503, 200]
    stats = sandbox_admin(sandbox, "stats").json()
    assert stats["by_method"]["document.create"] == {"503": 2, "200": 1}
    assert stats["faults"] == {"http_503": 2}
    assert stats["statuses"]["200"] >= 2


def test_rates_are_repeatable_with_a_seed(sandbox: RunningSandbox) -> None:
    def run() -> list[int]:
        answer = sandbox_admin(sandbox, "faults", {"rate_5xx": 0.5, "seed": 42})
        assert answer.status_code == 200
        return [sandbox_call(sandbox, "meta.checkVersion").status_code for _ in range(12)]

    first = run()
    assert first == run()
    assert {200} < set(first) <= {200, 500, 503}


def test_rate_429_sends_retry_after(tmp_path: Path) -> None:
    settings = SandboxSettings(faults=FaultSettings(rate_429=1.0, retry_after=3))
    with start_sandbox(tmp_path, settings=settings) as sandbox:
        answer = sandbox_call(sandbox, "meta.checkVersion")
        assert (answer.status_code, answer.headers["Retry-After"]) == (429, "3")


def test_latency_delays_answers(sandbox: RunningSandbox) -> None:
    sandbox_admin(sandbox, "faults", {"latency_ms": 150})
    started = time.monotonic()
    assert sandbox_call(sandbox, "meta.checkVersion").status_code == 200
    assert time.monotonic() - started >= 0.15


def test_a_hang_holds_one_methods_answer_back_and_leaves_the_others(
    sandbox: RunningSandbox,
) -> None:
    _script(sandbox, {"method": "meta.checkVersion", "action": "hang", "seconds": 1.5})
    with ThreadPoolExecutor(max_workers=1) as pool:
        started = time.monotonic()
        slow = pool.submit(sandbox_call, sandbox, "meta.checkVersion")
        while sandbox_admin(sandbox, "faults").json()["script"]:  # taken by the slow call
            assert time.monotonic() - started < 10
            time.sleep(0.01)
        assert sandbox_call(sandbox, "document.create", CREATE).status_code == 200
        other = time.monotonic() - started
        assert slow.result(timeout=30).status_code == 200  # answered as usual, late
        hung = time.monotonic() - started
    assert other < 1.5 <= hung  # another call went through while it hung
    stats = sandbox_admin(sandbox, "stats").json()
    assert stats["by_method"]["meta.checkVersion"] == {"200": 1}


def test_upload_faults_only_when_asked(sandbox: RunningSandbox) -> None:
    document = sandbox_call(sandbox, "document.create", CREATE).json()["data"]["document"]
    sandbox_admin(sandbox, "faults", {"rate_5xx": 1.0, "on_upload": False})
    assert sandbox_upload(document, b"%PDF-abc").status_code == 204
    sandbox_admin(sandbox, "faults", {"rate_5xx": 0.0})
    document = sandbox_call(sandbox, "document.create", CREATE).json()["data"]["document"]
    _script(sandbox, {"method": "upload", "action": "http_503"})
    refused = sandbox_upload(document, b"%PDF-abc")
    assert refused.status_code == 503 and "<Code>SlowDown</Code>" in refused.text
    assert sandbox_upload(document, b"%PDF-abc").status_code == 204


def test_a_scripted_upload_drop_after_processing_still_stores(sandbox: RunningSandbox) -> None:
    document = sandbox_call(sandbox, "document.create", CREATE).json()["data"]["document"]
    _script(sandbox, {"method": "upload", "action": "drop_after_processing"})
    with pytest.raises(httpx.RemoteProtocolError):
        sandbox_upload(document, b"%PDF-abc")
    got = sandbox_call(sandbox, "document.get", {"document_id": document["document_id"]})
    assert got.json()["data"]["document"]["upload_status"] == "COMPLETED"


@pytest.mark.parametrize(
    "body",
    [
        {"rate_5xx": 2},
        {"rate_429": "often"},
        {"latency_ms": -1},
        {"seed": 1.5},
        {"script": [{"method": "document.create", "action": "explode"}]},
        {"script": [{"action": "http_500", "count": 0}]},
        {"script": [{"action": "hang", "seconds": -1}]},
        {"script": "http_500"},
        {"form_lifetime": 0.5},
        {"hash_encoding": "hex32"},
    ],
)
def test_nonsense_fault_settings_are_refused(sandbox: RunningSandbox, body: dict[str, Any]) -> None:
    answer = sandbox_admin(sandbox, "faults", body)
    assert answer.status_code == 400
    assert answer.json()["error"]


def test_form_lifetime_changes_at_run_time(sandbox: RunningSandbox) -> None:
    answer = sandbox_admin(sandbox, "faults", {"form_lifetime": 1})
    assert answer.json()["form_lifetime"] == 1.0
    assert sandbox.api_config.form_lifetime == 1.0


# -- the policy alone, without HTTP ---------------------------------------------------


def test_the_plan_uses_script_steps_in_order_and_leaves_upload_alone() -> None:
    plan = FaultPlan()
    plan.configure(
        FaultSettings(),
        [
            ScriptStep("*", FaultAction.HTTP_503),
            ScriptStep("document.get", FaultAction.HTTP_429, retry_after=2),
        ],
    )
    assert plan.decide("upload") is None  # "*" means API methods only
    first = plan.decide("document.get")
    assert first is not None and first.action is FaultAction.HTTP_503
    second = plan.decide("document.get")
    assert second is not None and (second.action, second.retry_after) == (FaultAction.HTTP_429, 2)
    assert plan.decide("document.get") is None
