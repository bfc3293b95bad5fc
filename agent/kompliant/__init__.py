"""The Kompliant Web API client: KSig1 signing, the answer envelope, retries, typed methods."""

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
