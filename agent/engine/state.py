"""The agent's overall state, as the tray and ``status --json`` name it."""

from __future__ import annotations

import enum


class AgentState(enum.Enum):
    IDLE = "idle"  # everything settled
    WORKING = "working"  # files waiting or in progress
    PAUSED = "paused"  # the user paused uploads
    OFFLINE = "offline"  # the API is unreachable; retrying by itself
    ATTENTION = "attention"  # failed files or files that need routing
    ERROR = "error"  # no or rejected credentials, keyring locked, a watched folder missing


def overall_state(
    *,
    paused: bool,
    offline: bool,
    error: bool,
    busy: bool,
    needs_user: bool,
) -> AgentState:
    """One state from the facts, most urgent first."""
    if error:
        return AgentState.ERROR
    if paused:
        return AgentState.PAUSED
    if offline:
        return AgentState.OFFLINE
    if busy:
        return AgentState.WORKING
    if needs_user:
        return AgentState.ATTENTION
    return AgentState.IDLE
