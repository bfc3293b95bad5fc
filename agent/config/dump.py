"""Config → TOML data, the inverse of :func:`agent.config.parse.parse_config`."""

from __future__ import annotations

from typing import Any

from agent.config.model import Config, FolderOverride, WorkflowConfig
from agent.config.parse import STABILITY_KEYS


def config_to_data(config: Config) -> dict[str, Any]:
    """The TOML data for ``config``: defaults are written out, unset optional keys left out."""
    agent: dict[str, Any] = {"profile": config.agent.profile}
    if config.agent.root is not None:
        agent["root"] = str(config.agent.root)
    agent.update(
        workers=config.agent.workers,
        upload_processes=config.agent.upload_processes,
        refresh_interval=config.agent.refresh_interval,
        review_interval=config.agent.review_interval,
        review_calls_per_minute=config.agent.review_calls_per_minute,
        upload_duplicates=config.agent.upload_duplicates,
        ignore=list(config.agent.ignore),
        claim_lease=config.agent.claim_lease,
    )
    stability = config.stability
    data: dict[str, Any] = {
        "agent": agent,
        "stability": {
            "quiet_seconds": stability.quiet_seconds,
            "close_confirm_seconds": stability.close_confirm_seconds,
            "whole_confirm_seconds": stability.whole_confirm_seconds,
            "max_wait_seconds": stability.max_wait_seconds,
            "poll_interval": stability.poll_interval,
            "incomplete_seconds": stability.incomplete_seconds,
        },
    }
    if stability.polling is not None:  # unset: network folders are polled, others not
        data["stability"]["polling"] = stability.polling
    if config.folders:
        data["folders"] = [_folder_data(f) for f in config.folders]
    if config.workflows:
        data["workflows"] = [_workflow_data(w) for w in config.workflows]
    return data


def _folder_data(folder: FolderOverride) -> dict[str, Any]:
    data: dict[str, Any] = {"path": folder.path}
    for key in (*STABILITY_KEYS, "join_images", "join_window"):
        value = getattr(folder, key)
        if value is not None:
            data[key] = value
    return data


def _workflow_data(workflow: WorkflowConfig) -> dict[str, Any]:
    data: dict[str, Any] = {"workflow_id": workflow.workflow_id}
    if workflow.label:
        data["label"] = workflow.label
    if workflow.combined:
        data["combined"] = [
            {"folder": c.folder, "required_document_ids": list(c.required_document_ids)}
            for c in workflow.combined
        ]
    if workflow.inbox_rules:
        data["inbox_rules"] = [
            {
                "pattern": r.pattern,
                "regex": r.regex,
                "required_document_ids": list(r.required_document_ids),
            }
            for r in workflow.inbox_rules
        ]
    return data
