"""The copy of the seed pages kept in the repository is the shared spec, word for word.

The suite reads ``../shared/seeds/`` when it is beside the checkout and the copy in
``tests/conformance/seeds/`` otherwise; this test says when the two have drifted apart.
"""

from __future__ import annotations

import pytest

from tests.conformance.pages import SHARED, VENDORED, page_names


def test_the_copy_in_the_repository_is_the_shared_spec() -> None:
    if not SHARED.is_dir():
        pytest.skip(f"no {SHARED} beside the checkout: the suite reads the copy in {VENDORED}")
    shared = {name: (SHARED / name).read_bytes() for name in page_names(SHARED)}
    vendored = {name: (VENDORED / name).read_bytes() for name in page_names(VENDORED)}
    differ = sorted(n for n in shared.keys() | vendored.keys() if shared.get(n) != vendored.get(n))
    assert not differ, (
        f"The seed pages changed: {', '.join(differ)} in {SHARED} differ from the copy in "
        f"{VENDORED}. Copy the new pages in (cp {SHARED}/*.txt {VENDORED}/), then make the "
        "sandbox and the client follow what the conformance suite reports."
    )
