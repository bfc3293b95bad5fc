"""Record ids: Kompliant's form, random, and a forked process's its own."""

from __future__ import annotations

import os
import re
import sys
from collections import Counter

import pytest

from agent.sandbox.state import BASE62, new_id


def test_ids_have_kompliants_form_and_do_not_repeat() -> None:
    ids = [new_id("d") for _ in range(20_000)]
    assert all(re.fullmatch(r"d_[A-Za-z0-9]{22}", i) for i in ids)
    assert len(set(ids)) == len(ids)
    # Every base62 character comes up about as often (440,000 draws, ~7,100 each).
    counts = Counter("".join(i[2:] for i in ids))
    assert set(counts) == set(BASE62)
    assert max(counts.values()) < 1.1 * min(counts.values())


@pytest.mark.skipif(sys.platform == "win32", reason="no fork")
def test_a_forked_process_draws_its_own_ids() -> None:
    new_id("d")  # random characters are waiting in this process
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: the id it would make next
        os.write(write, new_id("d").encode())
        os._exit(0)
    os.close(write)
    try:
        child = os.read(read, 100).decode()
    finally:
        os.close(read)
        os.waitpid(pid, 0)
    assert child and child != new_id("d")
