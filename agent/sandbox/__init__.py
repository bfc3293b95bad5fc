"""A strict local Kompliant API and presigned-POST emulator, for the demo and the tests.

``start_sandbox(data_dir)`` runs it on a background thread; ``kompliant-agent sandbox``
runs it in the foreground. docs/sandbox.md describes the fixture format, the faults and
the admin endpoints.
"""

from agent.sandbox.faults import FaultAction, FaultSettings
from agent.sandbox.server import DEMO_FIXTURE, RunningSandbox, SandboxSettings, start_sandbox

__all__ = [
    "DEMO_FIXTURE",
    "FaultAction",
    "FaultSettings",
    "RunningSandbox",
    "SandboxSettings",
    "start_sandbox",
]
