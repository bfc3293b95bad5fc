"""Signing in and out from the tray alone, with no terminal: the agent starts with no
credentials (an error icon and a "Sign in…" entry), the Sign in window takes the four
keys and checks them with Kompliant, the engine starts with them; Sign out asks first,
then removes them from the keyring and stops the agent."""

from __future__ import annotations

from agent.engine.state import AgentState
from agent.tray.menu import Action
from tests.engine.conftest import AgentHome, drop
from tests.tray.conftest import start_on
from tests.tray.desktops import Desktop, stays, wait_until

SIGN_IN = "Kompliant agent: sign in"
CREDENTIAL_VARIABLES = (
    "KOMPLIANT_API_URL",
    "KOMPLIANT_API_KEY",
    "KOMPLIANT_SECRET_KEY",
    "KOMPLIANT_AUTH_TOKEN",
)


def test_sign_in_and_sign_out_from_the_tray(
    agent_home: AgentHome, xfce_with_keyring: Desktop
) -> None:
    desktop = xfce_with_keyring
    agent_home.write_config()
    agent_home.add_workflow()
    for name in CREDENTIAL_VARIABLES:  # nothing but the keyring from now on
        agent_home.env.pop(name)
    agent_home.env.update({k: v for k, v in desktop.env.items() if k.startswith("GNOME_KEY")})
    tray = start_on(agent_home, desktop, wait=False, configure=False)
    tray.icon(AgentState.ERROR)
    wait_until(lambda: tray.snapshot().sign_in_needed, what="the agent to ask for a sign-in")
    told = wait_until(
        lambda: [t for t in desktop.notifications() if "sign in again" in t],
        what="the sign-in notification",
    )
    assert "Sign in…" in told[0]

    tray.choose(Action.SIGN_IN, window=SIGN_IN)
    desktop.focus(SIGN_IN)
    keys = agent_home.credentials
    for value in (keys.api_url, keys.api_key, keys.secret_key, keys.auth_token[:-1] + "x"):
        desktop.type_text(value)
        desktop.keys("Tab")
    desktop.keys("Return")  # wrong token: the window stays, with Kompliant's answer
    stays(lambda: desktop.window_shown(SIGN_IN), seconds=3, what="the window closed")
    assert "watching" not in tray.agent.output()
    desktop.focus(SIGN_IN)
    desktop.keys("shift+Tab", "ctrl+a", "BackSpace")  # back into the token field
    desktop.type_text(keys.auth_token)
    desktop.keys("Return")

    wait_until(lambda: not desktop.window_shown(SIGN_IN), what="the window to close")
    wait_until(lambda: "watching" in tray.agent.output(), what="the engine to start")
    tray.icon(AgentState.IDLE)
    whoami = agent_home.cli("whoami")
    assert keys.api_key in whoami.stdout and "system keyring" in whoami.stdout
    bank = agent_home.folder("Bank statements")
    drop(bank, "signed.pdf", b"%PDF-1.4 after signing in from the tray\n%%EOF\n")
    wait_until(lambda: (bank / "done" / "signed.pdf").exists(), what="the file to be sent")
    assert agent_home.secrets_found() == []

    tray.choose(Action.SIGN_OUT, window="Kompliant agent")
    desktop.focus("Kompliant agent")
    desktop.keys("Escape")  # Cancel: nothing happens
    stays(lambda: tray.agent.process.poll() is None, seconds=2, what="the agent stopped")
    assert agent_home.cli("whoami").returncode == 0

    tray.choose(Action.SIGN_OUT, window="Kompliant agent")
    desktop.focus("Kompliant agent")
    desktop.keys("Tab", "Return")  # from Cancel to "Sign out"
    assert tray.agent.process.wait(timeout=60) == 0
    assert agent_home.cli("whoami").returncode != 0  # nothing stored any more


def test_revoked_credentials_show_the_error_icon_and_ask_to_sign_in_again(
    agent_home: AgentHome, xfce: Desktop
) -> None:
    good_token = agent_home.env["KOMPLIANT_AUTH_TOKEN"]
    agent_home.write_config()
    agent_home.add_workflow()
    agent_home.env["KOMPLIANT_AUTH_TOKEN"] = "revoked-" + good_token[8:]
    tray = start_on(agent_home, xfce, configure=False)

    tray.icon(AgentState.ERROR)  # at start, with no file dropped

    told = wait_until(
        lambda: [t for t in xfce.notifications() if "sign in again" in t],
        what="the notification to sign in again",
    )
    assert "refused the credentials" in told[0] and "Sign in…" in told[0]
    items = xfce.sni_items()
    assert items and xfce.sni_status(items[0]) == "NeedsAttention"
    assert tray.snapshot().sign_in_needed
    assert tray.agent.stop() == 0
