"""The Kompliant Web API client: KSig1 signing, the answer envelope, retries, typed methods.

The names below load their module when first used, so that reading a model (the
requirements cache does, and ``kompliant-agent status`` with it) does not load the HTTP
client.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from agent.lazy import lazy_names

if TYPE_CHECKING:
    from agent.kompliant.auth import API_VERSION, Credentials, KSig1Auth
    from agent.kompliant.client import KompliantClient
    from agent.kompliant.models import (
        BatchItemResult,
        CreatedDocument,
        Document,
        Fulfillment,
        PresignedForm,
        RequiredDocument,
        VersionInfo,
        Workflow,
    )
    from agent.kompliant.pacer import Pacer, PacerPolicy

_WHERE = {
    "API_VERSION": "agent.kompliant.auth",
    "Credentials": "agent.kompliant.auth",
    "KSig1Auth": "agent.kompliant.auth",
    "KompliantClient": "agent.kompliant.client",
    "BatchItemResult": "agent.kompliant.models",
    "CreatedDocument": "agent.kompliant.models",
    "Document": "agent.kompliant.models",
    "Fulfillment": "agent.kompliant.models",
    "PresignedForm": "agent.kompliant.models",
    "RequiredDocument": "agent.kompliant.models",
    "VersionInfo": "agent.kompliant.models",
    "Workflow": "agent.kompliant.models",
    "Pacer": "agent.kompliant.pacer",
    "PacerPolicy": "agent.kompliant.pacer",
}


__getattr__ = lazy_names(__name__, _WHERE)


__all__ = [
    "API_VERSION",
    "BatchItemResult",
    "CreatedDocument",
    "Credentials",
    "Document",
    "Fulfillment",
    "KSig1Auth",
    "KompliantClient",
    "Pacer",
    "PacerPolicy",
    "PresignedForm",
    "RequiredDocument",
    "VersionInfo",
    "Workflow",
]
