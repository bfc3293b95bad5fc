"""Which keyring backends may hold the secrets, and what the refusal tells the user."""

from __future__ import annotations

from keyring.backends import SecretService, chainer, fail, null

from agent.credentials.policy import BackendKind, choose, classify, refusal
from tests.credentials.conftest import (
    HomeMadeKeyring,
    MemorySecretService,
    PlaintextKeyring,
    not_discoverable,
)


@not_discoverable
class FakeChainer(chainer.ChainerBackend):
    def __init__(self, *members: object) -> None:
        super().__init__()
        self._members = list(members)

    @property
    def backends(self) -> list[object]:  # type: ignore[override]
        return self._members


def test_os_stores_are_secure() -> None:
    assert classify(SecretService.Keyring()) is BackendKind.SECURE
    assert classify(MemorySecretService()) is BackendKind.SECURE  # a subclass counts


def test_fail_and_null_store_nothing() -> None:
    assert classify(fail.Keyring()) is BackendKind.MISSING
    assert classify(null.Keyring()) is BackendKind.MISSING


def test_keyrings_alt_is_plaintext_and_unknown_is_untrusted() -> None:
    assert classify(PlaintextKeyring()) is BackendKind.PLAINTEXT
    assert classify(HomeMadeKeyring()) is BackendKind.UNTRUSTED


def test_a_single_backend_is_used_only_when_secure() -> None:
    secure = MemorySecretService()
    assert choose(secure).backend is secure
    choice = choose(PlaintextKeyring())
    assert (choice.kind, choice.backend) == (BackendKind.PLAINTEXT, None)
    assert choice.name == "keyrings.alt.file.PlaintextKeyring"


def test_chainer_uses_its_secure_member_directly() -> None:
    secure = MemorySecretService()
    choice = choose(FakeChainer(PlaintextKeyring(), secure))
    assert choice.kind is BackendKind.SECURE
    assert choice.backend is secure  # never the chainer, which could fall through


def test_chainer_of_only_plaintext_or_nothing_is_refused() -> None:
    assert choose(FakeChainer(PlaintextKeyring(), fail.Keyring())).kind is BackendKind.PLAINTEXT
    assert choose(FakeChainer(HomeMadeKeyring())).kind is BackendKind.UNTRUSTED
    assert choose(FakeChainer()).kind is BackendKind.MISSING


def test_refusal_without_keyring_on_linux_says_what_to_install_and_start() -> None:
    error = refusal(
        choose(fail.Keyring()),
        reason="The Secret Service daemon is neither running nor activatable through D-Bus",
        platform="linux",
    )
    text = error.describe()
    assert error.code == "NO_SECURE_KEYRING"
    assert "No secure keyring" in text
    assert "neither running nor activatable" in text
    for fix in ("gnome-keyring", "KeePassXC", "D-Bus", "unlock", "--allow-plaintext"):
        assert fix in text


def test_refusal_of_plaintext_backend_names_it_and_how_to_remove_it() -> None:
    text = refusal(choose(PlaintextKeyring()), platform="linux").describe()
    assert "keyrings.alt.file.PlaintextKeyring" in text
    assert "plain file" in text
    assert "pip uninstall keyrings.alt" in text


def test_refusal_hint_follows_the_platform() -> None:
    assert "Keychain" in refusal(choose(fail.Keyring()), platform="darwin").describe()
    assert "Credential Locker" in refusal(choose(fail.Keyring()), platform="win32").describe()
