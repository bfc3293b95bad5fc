"""Every example of the two seed pages, replayed against the sandbox over real HTTP.

The cases are made from the pages at collection time (:mod:`tests.conformance.cases`):
when the pages change, the cases follow. Each test id names the page and the example's
title, so the run lists what was exercised.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conformance.cases import Case, all_cases
from tests.conformance.pages import read_pages
from tests.conformance.replay import run_case

CASES = all_cases(read_pages())


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_the_sandbox_answers_as_the_page_shows(case: Case, tmp_path: Path) -> None:
    if case.unreadable:
        pytest.fail(f"{case.id}: {case.unreadable}")
    problems = run_case(case, tmp_path)
    assert not problems, f"{case.id}:\n  " + "\n  ".join(problems)
