"""Shared pieces of the crash and two-agents tests: real agent processes, real folders.

- :class:`Install`: one agent installation (its own ``KOMPLIANT_AGENT_HOME``, config,
  journal and lock) pointed at a sandbox and at a root folder that may be shared;
- :class:`tests.kit.agent.AgentProcess`: a ``python -m agent run`` process that can be
  SIGKILLed;
- :func:`make_batch` / :class:`Dropped`: files with unique, seeded content;
- :func:`journal_steps`: the unsettled steps of a journal, read-only from outside;
- :func:`check_settled_once`: the end state every file must reach, on disk and on the
  sandbox, however often the agents were killed on the way.

Waiting is always a bounded poll for a condition (:func:`tests.kit.wait.wait_for`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
import sqlite3
import subprocess
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.journal import JOURNAL_FILE
from agent.kompliant.auth import Credentials
from agent.owned_names import AGENT_OWNED
from tests.conftest import DEMO_WORKFLOW, RD_ADDRESS, RD_BANK
from tests.kit.agent import AgentProcess, agent_cli, agent_env, start_agent

LABEL = "Crash Ltd"
WORKFLOW_FOLDER = f"{LABEL} ({DEMO_WORKFLOW})"
COMBINED = "Statement and address"

#: Folder (inside the workflow folder) → the required documents its files fulfil.
FOLDERS: dict[str, tuple[str, ...]] = {
    "Bank statements": (RD_BANK,),
    "Proof of address": (RD_ADDRESS,),
    COMBINED: (RD_BANK, RD_ADDRESS),
}


# -- installations and processes ------------------------------------------------------------


@dataclass
class Install:
    """One agent installation: its home, environment and the root folder it watches."""

    home: Path
    root: Path
    env: dict[str, str]
    started: list[AgentProcess] = field(default_factory=list)

    @classmethod
    def create(
        cls,
        home: Path,
        root: Path,
        credentials: Credentials,
        *,
        workers: int = 4,
        claim_lease: float | None = None,
    ) -> Install:
        home.mkdir(parents=True, exist_ok=True)
        install = cls(home=home, root=root, env=agent_env(home, credentials))
        install.write_config(workers=workers, claim_lease=claim_lease)
        return install

    @property
    def journal(self) -> Path:
        return self.home / "state" / "profiles" / "default" / JOURNAL_FILE

    @property
    def workflow(self) -> Path:
        return self.root / WORKFLOW_FOLDER

    def write_config(self, *, workers: int, claim_lease: float | None = None) -> None:
        """Small stability settings, the shared root, and the combined folder."""
        combined = ", ".join(json.dumps(rd) for rd in FOLDERS[COMBINED])
        lease = "" if claim_lease is None else f"claim_lease = {claim_lease}\n"
        text = f"""
[agent]
root = {json.dumps(str(self.root))}
workers = {workers}
{lease}
[stability]
quiet_seconds = 0.3
close_confirm_seconds = 0.05
max_wait_seconds = 10.0
poll_interval = 0.2

[[workflows]]
workflow_id = "{DEMO_WORKFLOW}"
label = "{LABEL}"

[[workflows.combined]]
folder = "{COMBINED}"
required_document_ids = [{combined}]
"""
        config = self.home / "config" / "config.toml"
        config.parent.mkdir(parents=True, exist_ok=True)
        config.write_text(text.lstrip(), encoding="utf-8")

    def cli(self, *args: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
        return agent_cli(self.env, *args, timeout=timeout)

    def add_workflow(self) -> None:
        done = self.cli("add-workflow", DEMO_WORKFLOW, "--label", LABEL)
        assert done.returncode == 0, done.stderr
        for name in FOLDERS:
            assert (self.workflow / name).is_dir(), f"add-workflow made no {name!r} folder"

    def start(self, *, host: str | None = None) -> AgentProcess:
        """``run`` in the background; with ``host``, in a UTS namespace of its own whose
        host name is ``host`` (needs root): to other agents it looks like another machine.
        ``unshare`` and the shell exec the agent in place, so its pid is the process's."""
        prefix: list[str] = []
        if host is not None:
            prefix = ["unshare", "--uts", "sh", "-c", f'hostname "{host}" && exec "$@"', "-"]
        log = self.home / f"run-{len(self.started):02d}.log"
        agent = start_agent(self.env, log, prefix=prefix)
        self.started.append(agent)
        return agent

    def kill_all(self) -> None:
        for agent in self.started:
            with contextlib.suppress(Exception):
                agent.kill()

    def logs(self, last: int = 3) -> str:
        return "\n".join(f"--- {a.log.name}\n{a.output()}" for a in self.started[-last:])


def claims_held(workflow: Path, pid: int) -> list[Path]:
    """The claim records (in some ``.processing/`` under ``workflow``) of process ``pid``.

    The agents change the tree while it is walked: ``os.walk`` passes over a folder that
    goes meanwhile (a stack's work folder, say), where ``Path.rglob`` raises."""
    held = []
    for folder, _, names in os.walk(workflow):
        for name in names:
            if not name.endswith(AGENT_OWNED.claim_suffix):
                continue
            record = Path(folder) / name
            try:
                data = json.loads(record.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if data.get("pid") == pid:
                held.append(record)
    return held


def journal_steps(journal: Path) -> Counter[str]:
    """How many unsettled entries are at each step (read-only; empty when not there)."""
    if not journal.exists():
        return Counter()
    try:
        conn = sqlite3.connect(journal.resolve().as_uri() + "?mode=ro", uri=True, timeout=1.0)
    except sqlite3.Error:
        return Counter()
    try:
        rows = conn.execute(
            "SELECT step, COUNT(*) FROM entries WHERE step <> 'settled' GROUP BY step"
        ).fetchall()
    except sqlite3.Error:
        return Counter()
    finally:
        conn.close()
    return Counter({str(step): int(count) for step, count in rows})


def journal_outcomes(journal: Path) -> Counter[tuple[str, str]]:
    """(file name, outcome or step) of every entry in a journal, counted (read-only)."""
    conn = sqlite3.connect(journal.resolve().as_uri() + "?mode=ro", uri=True, timeout=5.0)
    try:
        rows = conn.execute("SELECT file_name, COALESCE(outcome, step) FROM entries").fetchall()
    finally:
        conn.close()
    return Counter((str(name), str(state)) for name, state in rows)


# -- files ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Dropped:
    """A file put into a requirement folder: where, its name and content hash."""

    folder: str
    name: str
    sha256: str
    size: int

    @property
    def required_document_ids(self) -> tuple[str, ...]:
        return FOLDERS[self.folder]


def make_batch(rng: random.Random, count: int, *, tag: str) -> list[tuple[str, str, bytes]]:
    """``count`` (folder, name, content) spread over :data:`FOLDERS`, each content unique."""
    folders = list(FOLDERS)
    batch = []
    for index in range(count):
        folder = folders[index % len(folders)]
        size = rng.randint(2_000, 60_000)
        body = rng.randbytes(size)
        content = b"%PDF-1.4\n% " + f"{tag}-{index}".encode() + b"\n" + body + b"\n%%EOF\n"
        batch.append((folder, f"{tag}-{index:03d}.pdf", content))
    return batch


def drop(workflow: Path, batch: Iterable[tuple[str, str, bytes]]) -> list[Dropped]:
    """Write each file beside its folder, then rename it in: it appears finished."""
    dropped = []
    for folder, name, content in batch:
        target = workflow / folder / name
        staging = workflow.parent / f".staging-{name}"
        staging.write_bytes(content)
        os.replace(staging, target)
        dropped.append(Dropped(folder, name, hashlib.sha256(content).hexdigest(), len(content)))
    return dropped


# -- the end state -------------------------------------------------------------------------


def visible_files(folder: Path) -> list[str]:
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))


def settled_names(workflow: Path) -> Counter[str]:
    """How often each dropped file's name appears in any done/ folder (receipts aside)."""
    seen: Counter[str] = Counter()
    for name in FOLDERS:
        for found in visible_files(workflow / name / AGENT_OWNED.done_dir):
            if not found.endswith(AGENT_OWNED.receipt_suffix):
                seen[found] += 1
    return seen


def all_settled(workflow: Path, dropped: Sequence[Dropped]) -> bool:
    """Every dropped file is in a done/ folder and none is left anywhere else."""
    names = settled_names(workflow)
    if any(names[d.name] < 1 for d in dropped):
        return False
    for name in FOLDERS:
        folder = workflow / name
        if _documents_in(folder) or _documents_in(folder / AGENT_OWNED.processing_dir):
            return False
    return True


def _documents_in(folder: Path) -> list[str]:
    """Files in ``folder`` other than the agent's own (markers, notes, claim records)."""
    if not folder.is_dir():
        return []
    return sorted(
        p.name
        for p in folder.iterdir()
        if p.is_file()
        and not p.name.startswith(".")
        and not p.name.startswith("_")
        and not p.name.endswith(".claim.json")
    )


@dataclass(frozen=True)
class Receipt:
    document_id: str
    fulfillments: Mapping[str, str]  # rd → fulfillment id
    sha256: str


def read_receipt(path: Path) -> Receipt:
    document_id = sha = ""
    fulfillments: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("Uploaded to Kompliant as document "):
            document_id = line.removeprefix("Uploaded to Kompliant as document ").rstrip(".")
        elif line.startswith("SHA-256: "):
            sha = line.removeprefix("SHA-256: ")
        elif "): fulfillment " in line:
            head, fulfillment = line.rsplit("): fulfillment ", 1)
            fulfillments[head.rsplit("(", 1)[1]] = fulfillment.strip()
    return Receipt(document_id, fulfillments, sha)


def check_settled_once(
    workflow: Path, dropped: Sequence[Dropped], state: Mapping[str, Any]
) -> None:
    """Every file settled exactly once, and Kompliant holds exactly what the receipts say.

    On disk: each file is in its own folder's done/ exactly once with a receipt; nothing
    is left in the folders, in .processing/ or in failed/. On the sandbox: one COMPLETED,
    not deleted document per content; one live fulfillment per (file, required document);
    no pending document left undeleted; nothing else.
    """
    problems: list[str] = []
    names = settled_names(workflow)
    for d in dropped:
        if names[d.name] != 1:
            problems.append(f"{d.name} is in done/ {names[d.name]} times")
    for name in FOLDERS:
        folder = workflow / name
        for where, left in (
            ("its folder", _documents_in(folder)),
            (".processing/", _documents_in(folder / AGENT_OWNED.processing_dir)),
            ("failed/", visible_files(folder / AGENT_OWNED.failed_dir)),
        ):
            if left:
                problems.append(f"{name}: left in {where}: {left}")

    documents = state["documents"]
    live = [d for d in documents if d["deleted_at"] is None]
    by_hash: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for doc in live:
        if doc["upload_status"] == "COMPLETED":
            by_hash[str(doc["hash"])].append(doc)
    pending = [d["document_id"] for d in live if d["upload_status"] != "COMPLETED"]
    if pending:
        problems.append(f"pending documents left undeleted: {pending}")
    fulfillments = [f for f in state["fulfillments"] if f["deleted_at"] is None]
    links = Counter((f["document_id"], f["required_document_id"]) for f in fulfillments)
    expected_links: set[tuple[str, str]] = set()

    for d in dropped:
        docs = by_hash.get(d.sha256, [])
        if len(docs) != 1:
            problems.append(f"{d.name}: {len(docs)} completed documents on Kompliant")
            continue
        document_id = docs[0]["document_id"]
        for rd in d.required_document_ids:
            expected_links.add((document_id, rd))
            if links[(document_id, rd)] != 1:
                problems.append(f"{d.name}: {links[(document_id, rd)]} fulfillments of {rd}")
        receipt_path = (
            workflow / d.folder / AGENT_OWNED.done_dir / (d.name + AGENT_OWNED.receipt_suffix)
        )
        if not receipt_path.exists():
            problems.append(f"{d.name}: no receipt in {d.folder}/done")
            continue
        receipt = read_receipt(receipt_path)
        live_ids = {
            f["required_document_id"]: f["fulfillment_id"]
            for f in fulfillments
            if f["document_id"] == document_id
        }
        if (receipt.document_id, receipt.sha256) != (document_id, d.sha256):
            problems.append(f"{d.name}: receipt names {receipt.document_id}, not {document_id}")
        if dict(receipt.fulfillments) != live_ids:
            problems.append(
                f"{d.name}: receipt fulfillments {dict(receipt.fulfillments)} != {live_ids}"
            )

    wanted = {d.sha256 for d in dropped}
    extra_docs = [h for h in by_hash if h not in wanted]
    if extra_docs:
        problems.append(f"completed documents of no dropped file: {extra_docs}")
    extra_links = set(links) - expected_links
    if extra_links:
        problems.append(f"fulfillments of no dropped file: {sorted(extra_links)}")
    assert not problems, "\n".join(problems)
