"""The conformance cases the seed pages make, each with the sandbox state it presumes.

Every JSON example is a case:

- a request example is sent as it is; when an answer example of the same method answers
  it (every id of the request, workflow ids aside, appears in that answer), the answer
  must match it exactly (:mod:`tests.conformance.compare`); otherwise it must succeed and
  match that answer's shape;
- an answer example that answers no request example of the page is replayed from the
  requests it echoes (a batch answer's ``results[].request``) on the method's request
  example;
- every upload form example (multipart request, curl, JavaScript, Python) is sent with
  a real ``document.create`` answer's values, in the page's field order, and must be
  answered ``204`` and complete the document;
- every cause in an ``Errors`` table (and every row of the system rule violations
  table) is provoked and must come back with the table's code and HTTP code.

The state a case presumes (its :class:`Scene`) is read from the case itself: the subject
record, workflow and required documents its request names, with the statuses its answer
shows (a per-item SUCCESS is an active required document, ENTITY_NOT_FOUND one that does
not exist, a refusal naming "inactive" an INACTIVE one); documents a request links are
created and uploaded first, and their ids stand for the example's. When a page says
something the suite cannot turn into a state or a request, the case fails saying so —
nothing is skipped.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from tests.conformance.pages import Example, FormExample, Page, Table, ids_in

DEFAULT_SUBJECT = "sr_Conformance000000000001"
ACTIVE, INACTIVE, ENDED = "ACTIVE", "INACTIVE", "ENDED"


class SceneError(ValueError):
    """What a page says that the suite cannot replay; the case fails with this message."""


@dataclass(frozen=True)
class Scene:
    """The sandbox state a case presumes."""

    subject_record_id: str
    #: workflow id → state
    workflows: tuple[tuple[str, str], ...] = ()
    #: fixture records of required documents (with ``workflow_id``)
    required_documents: tuple[dict[str, Any], ...] = ()
    #: example document ids to create and upload before the request
    documents: tuple[str, ...] = ()


@dataclass(frozen=True)
class ItemRefusal:
    """What a refused batch item must carry."""

    code: str
    message: str | None = None


@dataclass(frozen=True)
class Case:
    page: str
    title: str
    method: str
    scene: Scene | None = None
    request: dict[str, Any] = field(default_factory=dict)
    http_status: int = 200
    #: The example answer: the whole body, or its ``data`` when ``answer_is_data``.
    answer: Any = None
    answer_is_data: bool = False
    #: Compare with an answer to another request: lengths free, items like the first.
    shape: bool = False
    #: A whole-request refusal: (code, entity_type, sub_code).
    refusal: tuple[str, str | None, str | None] | None = None
    #: Per-item refusals of a batch answer, by the item's index.
    item_refusals: tuple[tuple[int, ItemRefusal], ...] = ()
    form: FormExample | None = None
    #: Why the suite cannot replay this case (it then fails with this).
    unreadable: str | None = None
    #: The lines of the page's examples this case exercises.
    lines: tuple[int, ...] = ()

    @property
    def id(self) -> str:
        return f"{self.page.removesuffix('.txt')} / {self.title}"


# --------------------------------------------------------------------------- scenes


def _page_subject(page: Page) -> str:
    for example in page.examples:
        for found in ids_in(example.body):
            if found.startswith("sr_"):
                return found
    return DEFAULT_SUBJECT


def _rd_record(rd_id: str, workflow_id: str, status: str) -> dict[str, Any]:
    return {
        "required_document_id": rd_id,
        "workflow_id": workflow_id,
        "document_type_code": "ADDITIONAL",
        "name": rd_id,
        "status": status,
    }


def _item_status(result: Any) -> str | None:
    """The required document's status a batch result presumes (None: it does not exist)."""
    if not isinstance(result, dict):
        raise SceneError(f"a batch result that is not an object: {result!r}")
    if result.get("status") == "SUCCESS":
        return ACTIVE
    errors = result.get("errors") or []
    first = errors[0] if errors and isinstance(errors[0], dict) else {}
    code = first.get("code")
    if code == "ENTITY_NOT_FOUND":
        return None
    if "inactive" in str(first.get("message", "")).lower():
        return INACTIVE
    raise SceneError(
        f"no sandbox state is known that makes an item fail with {code} "
        f"{first.get('message')!r}: teach tests/conformance/cases.py which one"
    )


def scene_for(page: Page, request: dict[str, Any], answer: Any) -> Scene:
    """The state in which ``request`` gets ``answer`` (module docstring)."""
    found = ids_in(request)
    subjects = [i for i in found if i.startswith("sr_")]
    subject = subjects[0] if subjects else _page_subject(page)
    workflows = [i for i in found if i.startswith("w_")]
    rds: dict[str, dict[str, Any]] = {}
    workflow = workflows[0] if workflows else None
    data = answer if isinstance(answer, dict) else {}
    listed = data.get("required_documents")
    if isinstance(listed, list) and workflow:
        for raw in listed:
            record = dict(raw)
            status = record.pop("required_document_status", None) or record.pop("status", ACTIVE)
            record = {k: v for k, v in record.items() if k not in ("created_at", "updated_at")}
            rds[record["required_document_id"]] = {
                **record,
                "workflow_id": workflow,
                "status": status,
            }
    absent: set[str] = set()
    for result in data.get("results") or []:
        echo = result.get("request") if isinstance(result, dict) else None
        rd_id = echo.get("required_document_id") if isinstance(echo, dict) else None
        if not rd_id or not workflow:
            continue
        status = _item_status(result)
        if status is None:
            absent.add(rd_id)
        else:
            rds[rd_id] = _rd_record(rd_id, workflow, status)
    for rd_id in (i for i in found if i.startswith("rd_")):
        if rd_id not in rds and rd_id not in absent and workflow:
            rds[rd_id] = _rd_record(rd_id, workflow, ACTIVE)
    documents = tuple(i for i in found if i.startswith("d_"))
    return Scene(
        subject,
        tuple((w, "STARTED") for w in workflows),
        tuple(rds.values()),
        documents,
    )


# --------------------------------------------------------------------------- examples


def _answers(answer: Example, request: Example) -> bool:
    text = repr(answer.body)
    return all(i in text for i in ids_in(request.body) if not i.startswith("w_"))


def _item_refusals(answer: Any) -> tuple[tuple[int, ItemRefusal], ...]:
    out = []
    for i, result in enumerate(answer.get("results") or [] if isinstance(answer, dict) else []):
        if isinstance(result, dict) and result.get("status") == "ERROR":
            first = (result.get("errors") or [{}])[0]
            out.append((i, ItemRefusal(str(first.get("code")), first.get("message"))))
    return tuple(out)


def _list_param(request: dict[str, Any]) -> str | None:
    return next(
        (k for k, v in request.items() if isinstance(v, list) and v and isinstance(v[0], dict)),
        None,
    )


def example_cases(page: Page) -> list[Case]:
    cases: list[Case] = []
    requests = [e for e in page.examples if e.role == "request"]
    answers = [e for e in page.examples if e.role == "answer"]
    used: set[int] = set()
    for request in requests:
        same = [a for a in answers if a.method == request.method]
        paired = next((a for a in same if _answers(a, request)), None)
        template = paired or (same[0] if same else None)
        if paired is not None:
            used.add(paired.line)
        body = template.body if template is not None else None
        lines: tuple[int, ...]
        if paired is not None:
            title = f"{request.title} -> {paired.title}"
            lines = (request.line, paired.line)
        elif template is not None:
            title = f"{request.title} (shaped like {template.title})"
            lines = (request.line,)
        else:
            title, lines = request.title, (request.line,)
        try:
            scene = scene_for(page, request.body, body if paired is not None else None)
        except SceneError as error:
            cases.append(Case(page.name, title, request.method, unreadable=str(error), lines=lines))
            continue
        cases.append(
            Case(
                page.name,
                title,
                request.method,
                scene,
                request.body,
                answer=body,
                answer_is_data=template.fragment if template is not None else False,
                shape=paired is None,
                item_refusals=_item_refusals(body) if paired is not None else (),
                lines=lines,
            )
        )
    for answer in answers:
        if answer.line in used:
            continue
        base = next((r for r in requests if r.method == answer.method), None)
        results = answer.body.get("results") if isinstance(answer.body, dict) else None
        param = _list_param(base.body) if base is not None else None
        if base is None or not isinstance(results, list) or param is None:
            cases.append(
                Case(
                    page.name,
                    answer.title,
                    answer.method,
                    unreadable="an answer that answers no request example of the page, and "
                    "whose request cannot be read from it",
                    lines=(answer.line,),
                )
            )
            continue
        request = copy.deepcopy(base.body)
        request[param] = [r.get("request") for r in results]
        try:
            scene = scene_for(page, request, answer.body)
        except SceneError as error:
            cases.append(
                Case(
                    page.name,
                    answer.title,
                    answer.method,
                    unreadable=str(error),
                    lines=(answer.line,),
                )
            )
            continue
        cases.append(
            Case(
                page.name,
                answer.title,
                answer.method,
                scene,
                request,
                answer=answer.body,
                answer_is_data=answer.fragment,
                item_refusals=_item_refusals(answer.body),
                lines=(answer.line,),
            )
        )
    return cases


# --------------------------------------------------------------------------- forms


def form_cases(page: Page) -> list[Case]:
    create = next(
        (e for e in page.examples if e.method == "document.create" and e.role == "request"),
        None,
    )
    cases = []
    for form in page.forms:
        if create is None:
            cases.append(
                Case(
                    page.name,
                    form.title,
                    "upload",
                    form=form,
                    unreadable="an upload form on a page without a document.create request",
                )
            )
            continue
        scene = scene_for(page, create.body, None)
        cases.append(
            Case(page.name, form.title, "upload", scene, create.body, http_status=204, form=form)
        )
    return cases


# --------------------------------------------------------------------------- error tables

_PREFIX_FORMAT = re.compile(r"with (\w+)_ prefix format")


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in re.split(r"(?<=\.)\s+", text) if s.strip()]


def _required_params(page: Page) -> list[tuple[str, str]]:
    table = page.table("Parameters")
    if table is None:
        return []
    return [
        (row["Parameter"], row.get("Description", ""))
        for row in table.records()
        if row.get("Required", "").lower() == "yes"
    ]


def _rule_rows(tables: Iterable[Table]) -> list[tuple[str, str]]:
    for table in tables:
        if table.header[:2] == ("Entity Type", "Sub-code"):
            return [(row[0], row[1]) for row in table.rows]
    return []


def table_cases(page: Page) -> list[Case]:
    errors = next((t for t in page.tables if t.header[:2] == ("Error Code", "HTTP Code")), None)
    base = next((e for e in page.examples if e.role == "request"), None)
    if errors is None:
        return []
    if base is None:
        return [Case(page.name, "Errors", "", unreadable="an Errors table without a request")]
    method = base.method
    base_scene = scene_for(page, base.body, None)
    param = _list_param(base.body)
    cases: list[Case] = []
    for code, http, causes in (row[:3] for row in errors.rows):
        status = int(http)
        for cause in _sentences(causes):
            title = f"Errors / {code} {http} / {cause.rstrip('.')}"
            made = _provoke(page, method, base.body, base_scene, param, code, status, cause)
            if not made:
                made = [
                    Case(
                        page.name,
                        "",
                        method,
                        unreadable=f"no way to provoke {code} for {cause!r} is known: teach "
                        "tests/conformance/cases.py one",
                    )
                ]
            cases.extend(Case(**{**vars(c), "title": f"{title}{c.title}"}) for c in made)
    return cases


def _provoke(
    page: Page,
    method: str,
    base: dict[str, Any],
    scene: Scene,
    param: str | None,
    code: str,
    status: int,
    cause: str,
) -> list[Case]:
    """Cases that make ``cause`` happen; their titles are suffixes of the row's title."""
    lowered = cause.lower()
    workflow = next((w for w, _ in scene.workflows), None)
    first_item = base.get(param, [{}])[0] if param else {}
    rd_first = first_item.get("required_document_id") if isinstance(first_item, dict) else None

    def whole(suffix: str, request: dict[str, Any], in_scene: Scene, extra: Any = None) -> Case:
        sub = extra or (None, None)
        return Case(
            page.name,
            suffix,
            method,
            in_scene,
            request,
            http_status=status,
            refusal=(code, sub[0], sub[1]),
        )

    if lowered.startswith("required parameters not provided"):
        return [
            whole(f": without {name}", {k: v for k, v in base.items() if k != name}, scene)
            for name, _ in _required_params(page)
        ]
    if lowered.startswith("invalid values provided"):
        made = []
        for name, description in _required_params(page):
            if _PREFIX_FORMAT.search(description) and isinstance(base.get(name), str):
                wrong = {**base, name: "zz_" + base[name].split("_", 1)[-1]}
                made.append(whole(f": {name} in another prefix format", wrong, scene))
        return made
    if "inactive" in lowered and param and rd_first and workflow:
        inactive = [
            {**r, "status": INACTIVE} if r["required_document_id"] == rd_first else r
            for r in scene.required_documents
        ]
        request = {**base, param: [first_item]}
        in_scene = Scene(scene.subject_record_id, scene.workflows, tuple(inactive), scene.documents)
        return [
            Case(
                page.name,
                "",
                method,
                in_scene,
                request,
                item_refusals=((0, ItemRefusal(code, cause)),),
            )
        ]
    if "does not exist" in lowered:
        made = []
        if "workflow_id" in cause and workflow:
            without = Scene(scene.subject_record_id, (), (), scene.documents)
            made.append(whole(": unknown workflow_id", base, without))
        if "required_document_id" in cause and param and rd_first:
            rest = tuple(
                r for r in scene.required_documents if r["required_document_id"] != rd_first
            )
            in_scene = Scene(scene.subject_record_id, scene.workflows, rest, scene.documents)
            made.append(
                Case(
                    page.name,
                    ": unknown required_document_id",
                    method,
                    in_scene,
                    {**base, param: [first_item]},
                    item_refusals=((0, ItemRefusal(code)),),
                )
            )
        return made
    if "system rule violations" in lowered:
        made = []
        for entity_type, sub_code in _rule_rows(page.tables):
            if sub_code == "WORKFLOW_ENDED" and workflow:
                ended = Scene(
                    scene.subject_record_id,
                    ((workflow, ENDED),),
                    scene.required_documents,
                    scene.documents,
                )
                made.append(
                    whole(f": {entity_type} {sub_code}", base, ended, (entity_type, sub_code))
                )
            else:
                made.append(
                    Case(
                        page.name,
                        f": {entity_type} {sub_code}",
                        method,
                        unreadable=f"no way to provoke {sub_code} is known: teach "
                        "tests/conformance/cases.py one",
                    )
                )
        return made
    return []


def all_cases(pages: Iterable[Page]) -> list[Case]:
    out: list[Case] = []
    for page in pages:
        out += example_cases(page) + form_cases(page) + table_cases(page)
    return out
