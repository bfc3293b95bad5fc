"""document.create after a lost answer: reconcile with document.list, never a blind repeat."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from agent.errors import AmbiguousRequest, ServerError
from agent.kompliant.models import Document
from agent.upload.create import create_document, find_orphans, parse_time
from tests.upload.fakes import T0, FakeKompliant

SR = "sr_A"


def doc(**kw: object) -> Document:
    base = Document("d_1", SR, "a.pdf", 10, "PENDING", created_at="2025-06-01T12:00:05.000Z")
    return replace(base, **kw)  # type: ignore[arg-type]


def test_only_a_fresh_pending_record_with_the_same_name_and_size_is_an_orphan() -> None:
    since = T0
    fresh = doc()
    assert find_orphans([fresh], "a.pdf", 10, since) == [fresh]
    for other in (
        doc(file_name="b.pdf"),
        doc(file_size=11),
        doc(upload_status="COMPLETED"),
        doc(deleted_at="2025-06-01T12:00:06Z"),
        doc(created_at="2025-06-01T11:59:59.999Z"),
        doc(created_at=None),
        doc(created_at="yesterday"),
    ):
        assert find_orphans([other], "a.pdf", 10, since) == []


def test_parse_time_reads_kompliant_timestamps_as_utc() -> None:
    assert parse_time("2025-06-01T12:00:00.000Z") == T0
    assert parse_time("2025-06-01T14:00:00+02:00") == T0
    assert parse_time("2025-06-01T12:00:00") == T0
    assert parse_time("") is None


def test_a_lost_answer_deletes_the_orphan_and_creates_one_document() -> None:
    api = FakeKompliant(faults={"create": ["lose_answer"]})
    created = create_document(api, SR, "a.pdf", 10, clock=lambda: T0)
    live = api.live()
    assert [d.document_id for d in live] == [created.document_id]
    assert api.calls == ["create", "list", "delete d_1", "create"]


def test_no_request_reached_kompliant_means_nothing_to_delete() -> None:
    api = FakeKompliant(faults={"create": ["ambiguous_before"]})
    created = create_document(api, SR, "a.pdf", 10, clock=lambda: T0)
    assert [d.document_id for d in api.live()] == [created.document_id]
    assert api.calls == ["create", "list", "create"]


def test_an_older_pending_record_of_the_same_file_is_left_alone() -> None:
    api = FakeKompliant(now=T0 - timedelta(hours=1))
    api.create_document(SR, "a.pdf", 10)  # someone's earlier, unrelated attempt
    api.now = T0
    api.faults = {"create": ["lose_answer"]}
    create_document(api, SR, "a.pdf", 10, clock=lambda: T0)
    assert sorted(d.document_id for d in api.live()) == ["d_1", "d_3"]


def test_a_server_clock_a_little_behind_is_tolerated() -> None:
    api = FakeKompliant(now=T0 - timedelta(seconds=30), faults={"create": ["lose_answer"]})
    create_document(api, SR, "a.pdf", 10, clock=lambda: T0)
    assert len(api.live()) == 1


def test_attempts_are_bounded_and_the_last_ambiguity_is_raised() -> None:
    api = FakeKompliant(faults={"create": ["lose_answer"] * 5})
    with pytest.raises(AmbiguousRequest):
        create_document(api, SR, "a.pdf", 10, clock=lambda: T0, attempts=3)
    assert api.calls.count("create") == 3
    assert api.live() == []


def test_other_errors_are_not_reconciled() -> None:
    api = FakeKompliant(faults={"create": [ServerError("boom")]})
    with pytest.raises(ServerError):
        create_document(api, SR, "a.pdf", 10, clock=lambda: T0)
    assert api.calls == ["create"]


def test_a_copy_another_agent_uploaded_is_found_by_name_size_and_hash() -> None:
    from agent.upload.create import find_uploaded_copy

    fake = FakeKompliant()
    sha = "ab" * 32
    fake.stored_hash = sha
    fake.statuses = ["COMPLETED"]
    fake.documents["d_old"] = doc(
        document_id="d_old", upload_status="COMPLETED", created_at="2025-06-01T11:00:00Z"
    )
    fake.documents["d_pending"] = doc(document_id="d_pending")  # not uploaded: not a copy
    fake.documents["d_other"] = doc(document_id="d_other", upload_status="COMPLETED", file_size=9)
    assert find_uploaded_copy(fake, SR, "a.pdf", 10, sha, T0) is None  # d_old is too old
    fake.documents["d_new"] = doc(document_id="d_new", upload_status="COMPLETED")
    assert find_uploaded_copy(fake, SR, "a.pdf", 10, sha, T0) == "d_new"
    assert find_uploaded_copy(fake, SR, "a.pdf", 10, "cd" * 32, T0) is None  # other content
