"""A finished file that waits for a free worker keeps the decision it got, while the
folder tree it was decided by is the one the agent knows; after the tree is read again
it is decided again.

The engine runs in this process (one worker, upload processes off, so that the loop's
calls can be counted) against the sandbox over real HTTP on loopback.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from agent.config import Config
from agent.decide import FolderTree, route
from agent.engine.runner import Engine, EngineOptions
from agent.kompliant.client import KompliantClient
from tests.engine.conftest import SHORT, bank

NAMES = [f"statement-{n}.pdf" for n in range(4)]


def dropped(config: Config) -> Path:
    folder = bank(config)
    for name in NAMES:
        (folder / name).write_bytes(b"%PDF-1.4 " + name.encode() + b"\n%%EOF\n")
    return folder


def routed(
    monkeypatch: pytest.MonkeyPatch, config: Config, client: KompliantClient, *, rescan: bool
) -> tuple[Counter[str], int]:
    """Run the engine once over the dropped files: (routing decisions per file, files done)."""
    folder = dropped(config)
    engine = Engine(
        config, client, options=EngineOptions(once=True, retry_policy=SHORT, upload_processes=0)
    )
    counts: Counter[str] = Counter()

    def counting(path: Path, tree: FolderTree) -> object:
        if path.parent == folder:
            counts[path.name] += 1
            if rescan:  # the tree is read again after every decision
                engine._folders.rescan()
        return route(path, tree)

    monkeypatch.setattr("agent.engine.arrival.route", counting)
    summary = engine.run()
    return counts, summary.done


def test_a_file_waiting_for_a_worker_is_decided_once(
    monkeypatch: pytest.MonkeyPatch, config: Config, client: KompliantClient
) -> None:
    assert config.agent.workers == 1

    counts, done = routed(monkeypatch, config, client, rescan=False)

    assert done == len(NAMES)
    assert counts == Counter({name: 1 for name in NAMES})


def test_a_file_waiting_while_the_tree_is_read_again_is_decided_again(
    monkeypatch: pytest.MonkeyPatch, config: Config, client: KompliantClient
) -> None:
    counts, done = routed(monkeypatch, config, client, rescan=True)

    assert done == len(NAMES)
    # One worker: the files finished together, so those after the first waited for it,
    # and each of those was decided again by the tree read since.
    assert set(counts) == set(NAMES)
    assert set(counts.values()) == {1, 2}
