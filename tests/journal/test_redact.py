"""Credentials are masked in stored text; ordinary messages and ids stay readable."""

from __future__ import annotations

from agent.journal.redact import redact

SECRET = "s6MgmwW+DXGP5vyN1K5VbqFjAxc8FF4XqtnRkzs172Fv"
TOKEN = "snyemajLjsUj3H6Y3AnZp3JbTlLBeDYLoV18w1VMKuXoWo8dwTevCa37"
SIG = "iWEh4jjK9wfjTXd/3GzImPLL1swTZiCPpDbj62vFo2Q="


def test_headers_and_form_fields_are_masked() -> None:
    text = (
        f"Authorization: KSig1-HMAC-SHA256 {SIG}\n"
        f'{{"X-API-Auth-Token": "{TOKEN}", "secret_key": "{SECRET}"}}\n'
        f"upload?X-Amz-Signature={SIG}&X-Amz-Security-Token={TOKEN}&key=sr_1/d_1.pdf\n"
        f"bare KSig1-HMAC-SHA256 {SIG}"
    )
    masked = redact(text)
    for secret in (SECRET, TOKEN, SIG):
        assert secret not in masked
    assert "key=sr_1/d_1.pdf" in masked


def test_ordinary_messages_are_untouched() -> None:
    for text in (
        "Invalid according to Policy: Policy expired.",
        "ENTITY_NOT_FOUND: document d_123 for rd_BankStatements00000001 (trace id t-9)",
        "Kompliant had a problem (HTTP 503)",
    ):
        assert redact(text) == text


def test_spellings_the_patterns_match_are_masked_whatever_their_case() -> None:
    # ſ (long s) and K (the Kelvin sign) match s and k under the patterns' IGNORECASE
    for text in (
        f"AUTHORIZATION: {SIG}",
        f"x-AMZ-signature={SIG}",
        f"\u017fecret-key: {SECRET}",
        f"\u212aSig1-HMAC-\u017fHA256 {SIG}",
        f"Auth_Token={TOKEN}",
    ):
        masked = redact(text)
        assert SIG not in masked and SECRET not in masked and TOKEN not in masked, text
