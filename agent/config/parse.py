"""TOML data → :class:`Config`, with validation errors that name the key.

Every problem is collected before raising, so one run of the agent lists all of them:
``workflows[0].inbox_rules[2].pattern: not a valid regular expression: …``. Unknown keys
are errors too: a misspelt ``quiet_second`` would otherwise be ignored without a word.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path, PurePosixPath
from typing import Any, TypeVar

from agent.config.model import (
    AgentSettings,
    CombinedFolder,
    Config,
    FolderOverride,
    InboxRule,
    WorkflowConfig,
)
from agent.errors import CannotSucceed
from agent.watch.stability import StabilitySettings

T = TypeVar("T")

WORKFLOW_ID = re.compile(r"^w_[A-Za-z0-9]+$")
REQUIRED_DOCUMENT_ID = re.compile(r"^rd_[A-Za-z0-9]+$")
PROFILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")

TOP_KEYS = ("agent", "stability", "folders", "workflows")
AGENT_KEYS = (
    "profile",
    "root",
    "workers",
    "upload_processes",
    "refresh_interval",
    "review_interval",
    "review_calls_per_minute",
    "upload_duplicates",
    "ignore",
    "claim_lease",
)
STABILITY_NUMBERS = (
    "quiet_seconds",
    "close_confirm_seconds",
    "whole_confirm_seconds",
    "max_wait_seconds",
    "poll_interval",
    "incomplete_seconds",
)
STABILITY_KEYS = (*STABILITY_NUMBERS, "polling")
FOLDER_KEYS = ("path", *STABILITY_KEYS, "join_images", "join_window")
WORKFLOW_KEYS = ("workflow_id", "label", "combined", "inbox_rules")
COMBINED_KEYS = ("folder", "required_document_ids")
RULE_KEYS = ("pattern", "regex", "required_document_ids")
FOLDER_NAME_FORBIDDEN = re.compile(r'[<>:"/\\|?*\x00-\x1f]')


class ConfigError(CannotSucceed):
    """The config file cannot be used as it is; ``problems`` names each bad key."""

    def __init__(self, problems: Sequence[str], *, source: Path | None = None) -> None:
        where = f"The config file {source}" if source else "The configuration"
        count = "a problem" if len(problems) == 1 else f"{len(problems)} problems"
        super().__init__(
            f"{where} has {count}: " + "; ".join(problems),
            code="CONFIG_INVALID",
            hint="Fix the named keys (the format is described in docs/folders.md) and run "
            "the command again.",
        )
        self.problems = tuple(problems)
        self.source = source


class _Reader:
    """Reads typed values out of TOML tables and collects what is wrong with them."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def problem(self, key: str, what: str) -> None:
        self.problems.append(f"{key}: {what}")

    def known_keys(self, table: Mapping[str, Any], where: str, known: Sequence[str]) -> None:
        for key in table:
            if key not in known:
                self.problem(_join(where, key), f"unknown key (known keys: {', '.join(known)})")

    def table(self, raw: Mapping[str, Any], key: str, where: str = "") -> Mapping[str, Any]:
        value = raw.get(key, {})
        if not isinstance(value, Mapping):
            self.problem(_join(where, key), f"must be a table ([{key}]), not {_kind(value)}")
            return {}
        return value

    def tables(
        self, raw: Mapping[str, Any], key: str, where: str = ""
    ) -> list[tuple[str, Mapping[str, Any]]]:
        value = raw.get(key, [])
        name = _join(where, key)
        if not isinstance(value, list):
            self.problem(name, f"must be an array of tables ([[{key}]]), not {_kind(value)}")
            return []
        found = []
        for index, item in enumerate(value):
            if isinstance(item, Mapping):
                found.append((f"{name}[{index}]", item))
            else:
                self.problem(f"{name}[{index}]", f"must be a table, not {_kind(item)}")
        return found

    def value(
        self,
        raw: Mapping[str, Any],
        key: str,
        where: str,
        kind: type[T] | tuple[type, ...],
        expected: str,
        default: T,
        *,
        required: bool = False,
        check: Callable[[Any], str | None] | None = None,
    ) -> T:
        name = _join(where, key)
        if key not in raw:
            if required:
                self.problem(name, f"missing; expected {expected}")
            return default
        value = raw[key]
        if isinstance(value, bool) and bool not in _as_tuple(kind):
            self.problem(name, f"expected {expected}, not {_kind(value)}")
            return default
        if not isinstance(value, kind):
            self.problem(name, f"expected {expected}, not {_kind(value)}")
            return default
        if check is not None:
            wrong = check(value)
            if wrong:
                self.problem(name, wrong)
                return default
        return value  # type: ignore[return-value]

    def string(
        self,
        raw: Mapping[str, Any],
        key: str,
        where: str,
        default: str = "",
        *,
        required: bool = False,
        check: Callable[[Any], str | None] | None = None,
    ) -> str:
        return self.value(raw, key, where, str, "a string", default, required=required, check=check)

    def number(
        self, raw: Mapping[str, Any], key: str, where: str, default: float | None, minimum: float
    ) -> float | None:
        value = self.value(
            raw,
            key,
            where,
            (int, float),
            "a number",
            default,
            check=lambda v: None if v >= minimum else f"must be at least {minimum:g}, not {v}",
        )
        return None if value is None else float(value)

    def strings(
        self,
        raw: Mapping[str, Any],
        key: str,
        where: str,
        *,
        required: bool = False,
        check: Callable[[str], str | None] | None = None,
    ) -> tuple[str, ...]:
        items = self.value(raw, key, where, list, "an array of strings", [], required=required)
        found: list[str] = []
        for index, item in enumerate(items):
            name = f"{_join(where, key)}[{index}]"
            if not isinstance(item, str):
                self.problem(name, f"expected a string, not {_kind(item)}")
            elif check is not None and (wrong := check(item)):
                self.problem(name, wrong)
            else:
                found.append(item)
        return tuple(found)


def parse_config(data: Mapping[str, Any], *, source: Path | None = None) -> Config:
    """Build a :class:`Config` from TOML data; raise :class:`ConfigError` naming every bad key."""
    reader = _Reader()
    reader.known_keys(data, "", TOP_KEYS)
    config = Config(
        agent=_agent(reader, reader.table(data, "agent")),
        stability=_stability(reader, reader.table(data, "stability")),
        folders=tuple(_folder(reader, where, t) for where, t in reader.tables(data, "folders")),
        workflows=tuple(
            _workflow(reader, where, t) for where, t in reader.tables(data, "workflows")
        ),
    )
    _check_unique(
        reader,
        [(f"workflows[{i}]", w.workflow_id) for i, w in enumerate(config.workflows)],
        "workflow_id",
        "the same workflow is listed twice",
    )
    _check_unique(
        reader,
        [(f"folders[{i}]", f.path.casefold()) for i, f in enumerate(config.folders)],
        "path",
        "the same folder is listed twice",
    )
    if reader.problems:
        raise ConfigError(reader.problems, source=source)
    return config


def _agent(reader: _Reader, table: Mapping[str, Any]) -> AgentSettings:
    reader.known_keys(table, "agent", AGENT_KEYS)
    defaults = AgentSettings()
    root = reader.string(table, "root", "agent", check=_non_empty)
    return AgentSettings(
        profile=reader.string(table, "profile", "agent", defaults.profile, check=_profile),
        root=Path(root).expanduser() if root else None,
        workers=reader.value(
            table,
            "workers",
            "agent",
            int,
            "a whole number",
            defaults.workers,
            check=lambda v: None if 1 <= v <= 64 else f"must be between 1 and 64, not {v}",
        ),
        upload_processes=reader.value(
            table,
            "upload_processes",
            "agent",
            int,
            "a whole number",
            defaults.upload_processes,
            check=lambda v: None if 0 <= v <= 16 else f"must be between 0 and 16, not {v}",
        ),
        refresh_interval=_float(
            reader.number(table, "refresh_interval", "agent", None, minimum=10),
            defaults.refresh_interval,
        ),
        review_interval=_float(
            reader.number(table, "review_interval", "agent", None, minimum=10),
            defaults.review_interval,
        ),
        review_calls_per_minute=reader.value(
            table,
            "review_calls_per_minute",
            "agent",
            int,
            "a whole number",
            defaults.review_calls_per_minute,
            check=lambda v: None if 1 <= v <= 600 else f"must be between 1 and 600, not {v}",
        ),
        upload_duplicates=reader.value(
            table, "upload_duplicates", "agent", bool, "true or false", defaults.upload_duplicates
        ),
        ignore=reader.strings(table, "ignore", "agent", check=_non_empty),
        claim_lease=_float(
            reader.number(table, "claim_lease", "agent", None, minimum=10),
            defaults.claim_lease,
        ),
    )


def _stability(reader: _Reader, table: Mapping[str, Any]) -> StabilitySettings:
    reader.known_keys(table, "stability", STABILITY_KEYS)
    base = StabilitySettings()
    override = _stability_override(reader, "stability", table, path="")
    return override.apply_to(base)


def _stability_override(
    reader: _Reader, where: str, table: Mapping[str, Any], path: str
) -> FolderOverride:
    numbers = {
        key: reader.number(table, key, where, None, minimum=0.0 if key != "poll_interval" else 0.05)
        for key in STABILITY_NUMBERS
    }
    polling = reader.value(table, "polling", where, bool, "true or false", None)
    return FolderOverride(
        path=path,
        polling=polling,
        quiet_seconds=numbers["quiet_seconds"],
        close_confirm_seconds=numbers["close_confirm_seconds"],
        whole_confirm_seconds=numbers["whole_confirm_seconds"],
        max_wait_seconds=numbers["max_wait_seconds"],
        poll_interval=numbers["poll_interval"],
        incomplete_seconds=numbers["incomplete_seconds"],
    )


def _folder(reader: _Reader, where: str, table: Mapping[str, Any]) -> FolderOverride:
    reader.known_keys(table, where, FOLDER_KEYS)
    path = reader.string(table, "path", where, required=True, check=_relative_path)
    override = _stability_override(reader, where, table, path=_normal_relative(path))
    join = reader.value(table, "join_images", where, bool, "true or false", None)
    window = reader.number(table, "join_window", where, None, minimum=0.5)
    return replace(override, join_images=join, join_window=window)


def _workflow(reader: _Reader, where: str, table: Mapping[str, Any]) -> WorkflowConfig:
    reader.known_keys(table, where, WORKFLOW_KEYS)
    combined = tuple(
        _combined(reader, w, t)
        for w, t in _checked_tables(reader, table, "combined", where, COMBINED_KEYS)
    )
    _check_unique(
        reader,
        [(f"{where}.combined[{i}]", c.folder.casefold()) for i, c in enumerate(combined)],
        "folder",
        "two combined folders have the same name",
    )
    return WorkflowConfig(
        workflow_id=reader.string(table, "workflow_id", where, required=True, check=_workflow_id),
        label=reader.string(table, "label", where, check=_label),
        combined=combined,
        inbox_rules=tuple(
            _rule(reader, w, t)
            for w, t in _checked_tables(reader, table, "inbox_rules", where, RULE_KEYS)
        ),
    )


def _combined(reader: _Reader, where: str, table: Mapping[str, Any]) -> CombinedFolder:
    folder = reader.string(table, "folder", where, required=True, check=_folder_name)
    ids = reader.strings(table, "required_document_ids", where, required=True, check=_rd_id)
    if "required_document_ids" in table and table["required_document_ids"] == []:
        reader.problem(f"{where}.required_document_ids", "must name at least one rd_… id")
    return CombinedFolder(folder=folder.strip(), required_document_ids=ids)


def _rule(reader: _Reader, where: str, table: Mapping[str, Any]) -> InboxRule:
    regex = reader.value(table, "regex", where, bool, "true or false", False)
    pattern = reader.string(
        table, "pattern", where, required=True, check=_regex if regex else _non_empty
    )
    ids = reader.strings(table, "required_document_ids", where, required=True, check=_rd_id)
    return InboxRule(pattern=pattern, required_document_ids=ids, regex=regex)


def _checked_tables(
    reader: _Reader, table: Mapping[str, Any], key: str, where: str, known: Sequence[str]
) -> list[tuple[str, Mapping[str, Any]]]:
    found = reader.tables(table, key, where)
    for name, item in found:
        reader.known_keys(item, name, known)
    return found


def _check_unique(reader: _Reader, items: list[tuple[str, str]], key: str, what: str) -> None:
    seen: dict[str, str] = {}
    for where, value in items:
        if not value:
            continue
        if value in seen:
            reader.problem(f"{where}.{key}", f"{what} (also at {seen[value]})")
        else:
            seen[value] = where


# -- checks: each returns what is wrong, or None -------------------------------------------------


def _non_empty(value: str) -> str | None:
    return None if value.strip() else "must not be empty"


def _profile(value: str) -> str | None:
    if PROFILE_NAME.match(value):
        return None
    return "must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit"


def _workflow_id(value: str) -> str | None:
    return None if WORKFLOW_ID.match(value) else f"not a workflow id (w_…): {value!r}"


def _rd_id(value: str) -> str | None:
    return (
        None
        if REQUIRED_DOCUMENT_ID.match(value)
        else f"not a required document id (rd_…): {value!r}"
    )


def _label(value: str) -> str | None:
    return None if len(value) <= 80 else "must be at most 80 characters"


def _folder_name(value: str) -> str | None:
    if not value.strip():
        return "must not be empty"
    if FOLDER_NAME_FORBIDDEN.search(value):
        return 'must not contain any of < > : " / \\ | ? * (it names one folder)'
    if value.strip() in (".", ".."):
        return "must be a folder name"
    return None


def _regex(value: str) -> str | None:
    try:
        re.compile(value)
    except re.error as error:
        return f"not a valid regular expression: {error}"
    return None


def _relative_path(value: str) -> str | None:
    text = value.replace("\\", "/")
    if not text.strip():
        return "must not be empty"
    if text.startswith("/") or re.match(r"^[A-Za-z]:", text):
        return "must be relative to the root folder, not absolute"
    if ".." in PurePosixPath(text).parts:
        return "must stay inside the root folder (no '..')"
    return None


def _normal_relative(value: str) -> str:
    parts = [p for p in PurePosixPath(value.replace("\\", "/")).parts if p not in ("", ".")]
    return "/".join(parts)


def _float(value: float | None, default: float) -> float:
    return default if value is None else value


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _kind(value: object) -> str:
    names = {bool: "true/false", int: "a whole number", float: "a decimal number", str: "a string"}
    for kind, name in names.items():
        if type(value) is kind:
            return name
    if isinstance(value, list):
        return "an array"
    if isinstance(value, Mapping):
        return "a table"
    return type(value).__name__


def _as_tuple(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)
