"""What a fault looks like on the wire: Kompliant's error envelope, S3's XML, or a proxy's page.

:mod:`agent.sandbox.faults` decides which fault a request meets; this module writes the
answer it gives, and the status it is counted under in the stats.
"""

from __future__ import annotations

import json
import secrets

from agent.sandbox.envelope import envelope, trace_id
from agent.sandbox.faults import Fault, FaultAction
from agent.sandbox.s3post import S3Rejection, error_response


def fault_answer(fault: Fault, *, upload: bool) -> tuple[int, dict[str, str], bytes]:
    """The answer a before-processing fault gives (drops are not answers)."""
    action = fault.action
    headers: dict[str, str] = {}
    if action is FaultAction.NON_JSON_502:
        page = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
        return 502, {"Content-Type": "text/html"}, page
    if action is FaultAction.HTTP_429:
        headers["Retry-After"] = f"{fault.retry_after or 1:g}"
        status, code, message = 429, "TOO_MANY_REQUESTS", "Too many requests; slow down."
    elif action is FaultAction.HTTP_503:
        status, code, message = 503, "SERVICE_UNAVAILABLE", "The service is unavailable."
    else:
        status, code, message = 500, "INTERNAL_SERVER_ERROR", "An internal error occurred."
    if upload:
        s3_code = {429: "SlowDown", 503: "SlowDown", 500: "InternalError"}[status]
        rejection = S3Rejection(status, s3_code, message)
        answer_status, xml_headers, xml = error_response(rejection, secrets.token_hex(8).upper())
        return answer_status, {**xml_headers, **headers}, xml
    trace = trace_id() if status == 500 else None  # 500 is the application's own answer
    body = envelope(errors=[{"code": code, "message": message}], trace=trace)
    headers["Content-Type"] = "application/json"
    return status, headers, json.dumps(body).encode()


def fault_status(fault: Fault) -> str:
    """The status a fault is counted under in the stats."""
    if fault.action in (FaultAction.DROP_BEFORE_PROCESSING, FaultAction.DROP_AFTER_PROCESSING):
        return "dropped"
    return {
        FaultAction.HTTP_429: "429",
        FaultAction.HTTP_503: "503",
        FaultAction.NON_JSON_502: "502",
    }.get(fault.action, "500")
