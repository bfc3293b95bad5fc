"""Fault injection — what goes wrong with a request before or after the sandbox answers it.

Two sources, checked in this order for every request:

- a *script*: steps consumed in order, each for one method (or ``*``) and a count — for
  deterministic tests ("drop the next document.create after processing it");
- *rates*: random 5xx, 429 and dropped connections, drawn from a seeded RNG so that a run
  can be repeated.

``FaultPlan.decide(method)`` is the whole policy; the server carries the decision out.
The pseudo-method ``upload`` names the presigned-POST endpoint.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

UPLOAD = "upload"


class FaultAction(StrEnum):
    HTTP_500 = "http_500"  # answered before processing
    HTTP_500_AFTER_PROCESSING = "http_500_after_processing"
    HTTP_503 = "http_503"
    HTTP_429 = "http_429"
    DROP_BEFORE_PROCESSING = "drop_before_processing"
    DROP_AFTER_PROCESSING = "drop_after_processing"
    NON_JSON_502 = "non_json_502"
    HANG = "hang"  # answered as usual, after ``seconds`` (a server that does not answer)

    @property
    def after_processing(self) -> bool:
        return self in (FaultAction.HTTP_500_AFTER_PROCESSING, FaultAction.DROP_AFTER_PROCESSING)


@dataclass(frozen=True)
class ScriptStep:
    method: str  # a Kompliant method, ``upload``, or ``*``
    action: FaultAction
    count: int = 1
    retry_after: float | None = None
    seconds: float | None = None  # how long a ``hang`` holds the answer back

    def matches(self, method: str) -> bool:
        return self.method in ("*", method) and not (self.method == "*" and method == UPLOAD)


#: How long a ``hang`` holds an answer back when its step names no ``seconds``.
HANG_SECONDS = 30.0


@dataclass(frozen=True)
class Fault:
    action: FaultAction
    retry_after: float | None = None
    seconds: float = HANG_SECONDS


@dataclass(frozen=True)
class FaultSettings:
    """Random faults; every rate is a probability in [0, 1]."""

    rate_5xx: float = 0.0
    rate_429: float = 0.0
    retry_after: float = 1.0
    drop_rate: float = 0.0
    latency_ms: float = 0.0
    seed: int | None = None
    #: Whether the rates and latency also hit the upload endpoint (scripts name it explicitly).
    on_upload: bool = False


class FaultSettingsError(ValueError):
    """A fault setting or script step that makes no sense; the message says which."""


def _rate(raw: Mapping[str, Any], name: str, default: float) -> float:
    value = raw.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise FaultSettingsError(f"{name} must be a number between 0 and 1")
    return float(value)


def _non_negative(raw: Mapping[str, Any], name: str, default: float) -> float:
    value = raw.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise FaultSettingsError(f"{name} must be a number of at least 0")
    return float(value)


def settings_from_json(raw: Mapping[str, Any], base: FaultSettings) -> FaultSettings:
    """``base`` with the fields present in ``raw`` (the body of POST /_sandbox/faults)."""
    seed = raw.get("seed", base.seed)
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise FaultSettingsError("seed must be an integer or null")
    on_upload = raw.get("on_upload", base.on_upload)
    if not isinstance(on_upload, bool):
        raise FaultSettingsError("on_upload must be true or false")
    return replace(
        base,
        rate_5xx=_rate(raw, "rate_5xx", base.rate_5xx),
        rate_429=_rate(raw, "rate_429", base.rate_429),
        drop_rate=_rate(raw, "drop_rate", base.drop_rate),
        retry_after=_non_negative(raw, "retry_after", base.retry_after),
        latency_ms=_non_negative(raw, "latency_ms", base.latency_ms),
        seed=seed,
        on_upload=on_upload,
    )


def script_from_json(raw: Sequence[Any]) -> list[ScriptStep]:
    steps = []
    for index, item in enumerate(raw):
        if not isinstance(item, Mapping):
            raise FaultSettingsError(f"script[{index}] must be an object")
        method = item.get("method", "*")
        if not isinstance(method, str) or not method:
            raise FaultSettingsError(f"script[{index}].method must be a method name or '*'")
        try:
            action = FaultAction(str(item.get("action")))
        except ValueError:
            names = ", ".join(a.value for a in FaultAction)
            raise FaultSettingsError(f"script[{index}].action must be one of {names}") from None
        count = item.get("count", 1)
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise FaultSettingsError(f"script[{index}].count must be a positive integer")
        retry_after = item.get("retry_after")
        if retry_after is not None and (
            isinstance(retry_after, bool) or not isinstance(retry_after, int | float)
        ):
            raise FaultSettingsError(f"script[{index}].retry_after must be a number")
        seconds = item.get("seconds")
        if seconds is not None and (
            isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0
        ):
            raise FaultSettingsError(f"script[{index}].seconds must be a number of at least 0")
        steps.append(ScriptStep(method, action, count, retry_after, seconds))
    return steps


@dataclass
class FaultPlan:
    """The faults in force; thread-safe. ``decide`` is called once per request."""

    settings: FaultSettings = field(default_factory=FaultSettings)
    _script: list[ScriptStep] = field(default_factory=list)
    _rng: random.Random = field(default_factory=random.Random)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._rng.seed(self.settings.seed)

    def configure(self, settings: FaultSettings, script: list[ScriptStep] | None = None) -> None:
        """Replace the settings (re-seeding the RNG) and, when given, the script."""
        with self._lock:
            self.settings = settings
            self._rng.seed(settings.seed)
            if script is not None:
                self._script = list(script)

    def script(self) -> list[ScriptStep]:
        with self._lock:
            return list(self._script)

    def latency_s(self, method: str) -> float:
        if method == UPLOAD and not self.settings.on_upload:
            return 0.0
        return self.settings.latency_ms / 1000.0

    def decide(self, method: str) -> Fault | None:
        s = self.settings
        if not self._script and not (s.rate_5xx or s.rate_429 or s.drop_rate):
            return None  # nothing planned: no lock, no draw
        with self._lock:
            for index, step in enumerate(self._script):
                if step.matches(method):
                    if step.count > 1:
                        self._script[index] = replace(step, count=step.count - 1)
                    else:
                        del self._script[index]
                    retry_after = step.retry_after
                    if step.action is FaultAction.HTTP_429 and retry_after is None:
                        retry_after = self.settings.retry_after
                    seconds = HANG_SECONDS if step.seconds is None else float(step.seconds)
                    return Fault(step.action, retry_after, seconds)
            s = self.settings
            if method == UPLOAD and not s.on_upload:
                return None
            if s.rate_5xx and self._rng.random() < s.rate_5xx:
                return Fault(self._rng.choice((FaultAction.HTTP_500, FaultAction.HTTP_503)))
            if s.rate_429 and self._rng.random() < s.rate_429:
                return Fault(FaultAction.HTTP_429, s.retry_after)
            if s.drop_rate and self._rng.random() < s.drop_rate:
                return Fault(
                    self._rng.choice(
                        (FaultAction.DROP_BEFORE_PROCESSING, FaultAction.DROP_AFTER_PROCESSING)
                    )
                )
            return None


class Stats:
    """Request counts per method and per HTTP status (``dropped`` for closed connections)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            #: Requests per (method, status), in the order each pair was first seen: the
            #: counts per method and per status are read from it.
            self._pairs: dict[tuple[str, str], int] = {}
            self._faults: dict[str, int] = {}

    def count(self, method: str, status: str, fault: Fault | None) -> None:
        pair = (method, status)
        with self._lock:
            self._pairs[pair] = self._pairs.get(pair, 0) + 1
            if fault is not None:
                self._faults[fault.action.value] = self._faults.get(fault.action.value, 0) + 1

    def to_json(self) -> dict[str, Any]:
        with self._lock:
            pairs = dict(self._pairs)
            faults = dict(self._faults)
        methods: dict[str, int] = {}
        statuses: dict[str, int] = {}
        by_method: dict[str, dict[str, int]] = {}
        for (method, status), count in pairs.items():
            methods[method] = methods.get(method, 0) + count
            statuses[status] = statuses.get(status, 0) + count
            by_method.setdefault(method, {})[status] = count
        return {
            "methods": methods,
            "statuses": statuses,
            "by_method": by_method,
            "faults": faults,
        }
