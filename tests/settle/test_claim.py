"""Claims: the rename is the lock, the record is for recovery."""

from __future__ import annotations

import importlib
import json
import os
import socket
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from agent.owned_names import AGENT_OWNED
from agent.settle import (
    Claim,
    ClaimOwner,
    adopt,
    claim,
    claims_in,
    current_owner,
    local_owner_alive,
    release,
    stale_claims,
)
from agent.settle.claim import record_text
from tests.journal.helpers import python
from tests.kit.race import in_threads, race_results, start_race
from tests.settle.files import drop

T0 = datetime(2025, 3, 24, 12, 0, tzinfo=UTC)


def test_claim_moves_the_file_aside_and_writes_its_owner(tmp_path: Path) -> None:
    source = drop(tmp_path, "report.pdf", "the bytes")
    taken = claim(source, now=lambda: T0)
    assert taken is not None
    assert taken.path == tmp_path / AGENT_OWNED.processing_dir / "report.pdf"
    assert taken.path.read_text() == "the bytes" and not source.exists()
    assert taken.source == source and taken.folder == tmp_path
    record = json.loads(taken.record_path.read_text())
    assert record["pid"] == os.getpid() and record["host"] == socket.gethostname()
    assert record["source"] == str(source) and record["claimed_at"] == T0.isoformat()
    assert record["instance_id"] == current_owner().instance_id
    assert record["process_start"]  # known on Linux
    assert claims_in(tmp_path) == [taken]


def test_a_name_already_in_processing_gets_a_number(tmp_path: Path) -> None:
    first = claim(drop(tmp_path, "report.pdf", "one"))
    second = claim(drop(tmp_path, "report.pdf", "two"))
    assert first is not None and second is not None
    assert second.path.name == "report (2).pdf"
    assert (first.path.read_text(), second.path.read_text()) == ("one", "two")
    assert second.source == tmp_path / "report.pdf"


def test_a_gone_file_cannot_be_claimed(tmp_path: Path) -> None:
    tmp_path.mkdir(exist_ok=True)
    assert claim(tmp_path / "nothing.pdf") is None


def test_threads_racing_for_one_file_exactly_one_wins(tmp_path: Path) -> None:
    for round_ in range(50):
        folder = tmp_path / f"r{round_}"
        source = drop(folder, "scan.pdf")
        barrier = threading.Barrier(6)
        wins: list[Claim] = []

        def race(
            src: Path = source, gate: threading.Barrier = barrier, wins: list[Claim] = wins
        ) -> None:
            gate.wait()
            taken = claim(src)
            if taken is not None:
                wins.append(taken)

        in_threads(lambda _: race(), range(6))
        assert len(wins) == 1, f"round {round_}: {wins}"
        assert sorted(os.listdir(folder / AGENT_OWNED.processing_dir)) == [
            "scan.pdf",
            "scan.pdf" + AGENT_OWNED.claim_suffix,
        ]


CLAIMER = """
import sys, time
from pathlib import Path
from agent.settle import claim

folder, go = Path(sys.argv[1]), Path(sys.argv[2])
names = [f"f{n:03}.pdf" for n in range(int(sys.argv[3]))]
if sys.argv[4] == "reverse":
    names.reverse()
Path(sys.argv[5]).touch()  # imported and ready: the test starts the race when all are
deadline = time.monotonic() + 30
while not go.exists() and time.monotonic() < deadline:
    pass
for name in names:
    if claim(folder / name) is not None:
        print(name)
"""


def test_two_processes_on_one_folder_never_take_the_same_file(tmp_path: Path) -> None:
    count = 300
    folder = tmp_path / "shared"
    for n in range(count):
        drop(folder, f"f{n:03}.pdf", str(n))
    go = tmp_path / "go"
    orders = ("forward", "reverse", "forward")
    ready = [tmp_path / f"ready-{n}" for n in range(len(orders))]
    agents = [
        python(CLAIMER, str(folder), str(go), str(count), order, str(flag))
        for order, flag in zip(orders, ready, strict=True)
    ]
    start_race(agents, ready, go, who="claimer")
    won = race_results(agents)
    all_won = [name for names in won for name in names]
    assert sorted(all_won) == [f"f{n:03}.pdf" for n in range(count)]  # each once, none lost
    assert sum(1 for names in won if names) >= 2  # they really competed
    processing = folder / AGENT_OWNED.processing_dir
    assert sorted(
        p.name for p in processing.iterdir() if not p.name.endswith(AGENT_OWNED.claim_suffix)
    ) == [f"f{n:03}.pdf" for n in range(count)]
    assert not any(p.suffix == ".pdf" for p in folder.iterdir() if p.is_file())


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_claims_of_a_dead_agent_on_this_host_are_stale(tmp_path: Path) -> None:
    host = socket.gethostname()
    dead = ClaimOwner("old", host, dead_pid(), "boot:1")
    stale = claim(drop(tmp_path, "a.pdf"), owner=dead)
    alive = claim(drop(tmp_path, "b.pdf"))
    reused = claim(
        drop(tmp_path, "c.pdf"),
        owner=ClaimOwner("old", host, os.getpid(), "another-boot:42"),  # pid reused
    )
    assert stale is not None and alive is not None and reused is not None
    assert local_owner_alive(current_owner())
    found = {c.path.name for c in stale_claims(tmp_path)}
    assert found == {"a.pdf", "c.pdf"}


def test_claims_of_another_host_go_stale_by_age(tmp_path: Path) -> None:
    other = ClaimOwner("x", "other-host", 1, "")
    for name, age in (("old.pdf", timedelta(hours=2)), ("new.pdf", timedelta(minutes=5))):
        at = T0 - age
        taken = claim(drop(tmp_path, name), owner=other, now=lambda at=at: at)  # type: ignore[misc]
        assert taken is not None
        beat = at.timestamp()
        os.utime(taken.record_path, (beat, beat))  # its last heartbeat
    found = stale_claims(tmp_path, now=T0, other_host_age=timedelta(hours=1))
    assert [c.path.name for c in found] == ["old.pdf"]


def test_a_claim_without_record_is_stale_after_a_grace(tmp_path: Path) -> None:
    taken = claim(drop(tmp_path, "a.pdf"))
    assert taken is not None
    taken.record_path.unlink()  # the claimer died between rename and record
    now = datetime.now(UTC)
    assert stale_claims(tmp_path, now=now, orphan_grace=timedelta(minutes=2)) == []
    later = stale_claims(tmp_path, now=now + timedelta(minutes=3))
    assert [c.path for c in later] == [taken.path]
    assert later[0].source == tmp_path / "a.pdf" and later[0].owner is None


def test_only_one_agent_adopts_a_stale_claim(tmp_path: Path) -> None:
    dead = ClaimOwner("old", socket.gethostname(), dead_pid(), "")
    claim(drop(tmp_path, "a.pdf"), owner=dead)
    (found,) = stale_claims(tmp_path)
    me = ClaimOwner("me", socket.gethostname(), os.getpid(), "")
    mine = adopt(found, owner=me)
    assert mine is not None and mine.path == found.path
    assert adopt(found, owner=ClaimOwner("rival", "h", 1, "")) is None
    record = json.loads(found.record_path.read_text())
    assert record["instance_id"] == "me"
    assert stale_claims(tmp_path, is_alive=lambda owner: owner.instance_id == "me") == []
    assert sorted(os.listdir(tmp_path / AGENT_OWNED.processing_dir)) == [
        "a.pdf",
        "a.pdf" + AGENT_OWNED.claim_suffix,
    ]


def test_adopting_an_orphan_is_exclusive(tmp_path: Path) -> None:
    taken = claim(drop(tmp_path, "a.pdf"))
    assert taken is not None
    taken.record_path.unlink()
    (orphan,) = stale_claims(tmp_path, now=datetime.now(UTC) + timedelta(hours=1))
    assert adopt(orphan) is not None
    assert adopt(orphan) is None


def test_release_puts_the_file_back_without_replacing_anything(tmp_path: Path) -> None:
    taken = claim(drop(tmp_path, "report.pdf", "claimed"))
    assert taken is not None
    drop(tmp_path, "report.pdf", "a newer file of the same name")
    back = release(taken)
    assert back == tmp_path / "report (2).pdf" and back.read_text() == "claimed"
    assert (tmp_path / "report.pdf").read_text() == "a newer file of the same name"
    assert list((tmp_path / AGENT_OWNED.processing_dir).iterdir()) == []


def test_claim_survives_a_record_it_cannot_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    claim_module = importlib.import_module("agent.settle.claim")

    def full(*args: object, **kw: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(claim_module, "write_atomically", full)
    taken = claim(drop(tmp_path, "a.pdf"))
    assert taken is not None and taken.path.exists() and not taken.record_path.exists()
    # recovered as an orphan later
    assert stale_claims(tmp_path, now=datetime.now(UTC) + timedelta(hours=1))[0].path == taken.path


@pytest.mark.parametrize(
    "source",
    [
        "/home/ann/Kompliant/Bank statements/march.pdf",
        '/tmp/a "quoted" \\ name.pdf',
        "/tmp/é 😀.pdf",
    ],
)
def test_a_record_is_the_indented_json_of_its_claim(tmp_path: Path, source: str) -> None:
    owner = ClaimOwner("id", 'host "x"', 4242, "boot:123", lock="/run/é.lock", journal="/j")
    taken = Claim(tmp_path / "a.pdf", Path(source), owner, T0)
    expected = {
        "kind": "kompliant-agent claim",
        "source": source,
        "instance_id": "id",
        "host": 'host "x"',
        "pid": 4242,
        "process_start": "boot:123",
        "lock": "/run/é.lock",
        "journal": "/j",
        "claimed_at": T0.isoformat(),
    }
    assert record_text(taken) == json.dumps(expected, indent=2) + "\n"
    other = ClaimOwner("id2", "h", 1, "")  # each owner's own members, not the first one's
    assert json.loads(record_text(Claim(taken.path, taken.source, other, T0)))["pid"] == 1
