"""`kompliant-agent doctor`: checks of this installation, each with the fix when it fails."""

from agent.doctor.checks import Probes, run_checks
from agent.doctor.findings import Finding, Outcome, TrayFacts

__all__ = ["Finding", "Outcome", "Probes", "TrayFacts", "run_checks"]
