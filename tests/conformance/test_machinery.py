"""The conformance suite's own parts: reading pages, making cases, comparing answers.

A suite that silently dropped an example, or a comparison that let a wrong answer pass,
would make the conformance tests unable to fail; these tests make sure neither happens.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from tests.conformance.cases import all_cases
from tests.conformance.compare import Comparison
from tests.conformance.pages import read_page, read_pages

MIXED: dict[str, Any] = {
    "meta": {"status": "BATCH_PROCESSED", "trace_id": "trc_a1", "total_requests": 2},
    "results": [
        {"status": "SUCCESS", "request": {"required_document_id": "rd_a1"}, "data": {}},
        {
            "status": "ERROR",
            "request": {"required_document_id": "rd_b2"},
            "errors": [{"code": "BAD_REQUEST", "message": "No."}],
        },
    ],
}


def test_every_example_of_every_page_is_a_case() -> None:
    pages = read_pages()
    covered = {(case.page, line) for case in all_cases(pages) for line in case.lines}
    examples = {(page.name, example.line) for page in pages for example in page.examples}
    assert examples, "no JSON example found in the seed pages"
    assert examples <= covered, f"examples without a case: {sorted(examples - covered)}"
    forms = [form for page in pages for form in page.forms]
    assert forms, "no upload form example found in the seed pages"


def test_every_json_block_of_a_page_is_read(tmp_path: Path) -> None:
    page = tmp_path / "page.txt"
    page.write_text(
        "POST https://api.kompliant.com/thing.make\n"
        'Request Body:\n{\n"a": "sr_x1"\n}\n'
        'Response:\n"things": [\n{\n"b": 1\n}\n]\n'
        'Response:\n{\n"thing": {\n"c": true\n}\n'
        "Prose after a block the page left open.\n",
        encoding="utf-8",
    )
    examples = read_page(page).examples
    assert [(e.role, e.body, e.repaired) for e in examples] == [
        ("request", {"a": "sr_x1"}, 0),
        ("answer", {"things": [{"b": 1}]}, 0),
        ("answer", {"thing": {"c": True}}, 1),
    ]


def test_a_matching_answer_passes_with_other_ids_and_times() -> None:
    answer = copy.deepcopy(MIXED)
    answer["meta"]["trace_id"] = "trc_other"
    comparison = Comparison()
    comparison.check(MIXED, answer)
    assert comparison.problems == []


def test_each_kind_of_difference_is_reported() -> None:
    answer = copy.deepcopy(MIXED)
    answer["meta"]["status"] = "SUCCESS"
    del answer["meta"]["total_requests"]
    answer["results"][0]["data"] = {"required_document_id": "rd_a1"}
    answer["results"][1]["errors"][0]["code"] = "SYSTEM_RULE_VIOLATION"
    answer["results"][1]["errors"][0]["message"] = "Nope."
    answer["results"][1]["request"]["required_document_id"] = "rd_a1"
    comparison = Comparison()
    comparison.check(MIXED, answer)
    text = "\n".join(comparison.problems)
    assert "meta: missing total_requests" in text
    assert "meta.status: 'SUCCESS'" in text
    assert "results[0].data: has required_document_id" in text
    assert "results[1].errors[0].code" in text
    assert "results[1].errors[0].message" in text
    assert "stands for both" in text  # one answer id for two ids of the example


def test_presign_values_must_keep_the_pages_order() -> None:
    page = {"presign_values": {"key": "k", "policy": "p"}}
    comparison = Comparison()
    comparison.check(page, {"presign_values": {"policy": "p", "key": "k"}})
    assert any("the page's order" in p for p in comparison.problems)
