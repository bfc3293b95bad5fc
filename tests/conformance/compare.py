"""Whether an answer matches a seed page's example: the rules, and the list of differences.

Same keys (and, in ``presign_values``, the same order: the guide says the order of the
form fields matters), same value types, and the same values — statuses, codes,
messages, counts, versions, names — except where the example cannot be repeated:

- ids (``sr_``, ``d_``, ``w_``, ``rd_``, ``f_`` …) may differ, but consistently: each id
  of the example stands for one id of the answer, also inside longer strings (a key
  ``sr_…/d_….pdf``);
- ``trace_id``: a ``trc_`` id;
- timestamps (ISO 8601, or S3's ``20251003T220920Z``): any time in the same form;
- what belongs to the upload store and its signing credentials (``upload_url``,
  ``policy``, ``X-Amz-Credential``, ``X-Amz-Security-Token``, ``X-Amz-Signature``): a
  string of the same shape.

``shape=True`` compares an answer to an example of another request of the same method:
lists may differ in length, and every item is compared with the example's first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from tests.conformance.pages import ID, is_id

_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
_AMZ_DATE = re.compile(r"^\d{8}T\d{6}Z$")
#: Values bound to where and by whom the upload form was signed.
STORE_BOUND = frozenset(
    {"upload_url", "policy", "X-Amz-Credential", "X-Amz-Security-Token", "X-Amz-Signature"}
)
#: Objects whose key order is part of the contract.
ORDERED = frozenset({"presign_values"})


@dataclass
class IdMap:
    """Which id of the answer each id of the example stands for (one to one)."""

    forward: dict[str, str] = field(default_factory=dict)

    def bind(self, example: str, actual: str) -> str | None:
        """Bind ``example`` to ``actual``; a problem when it contradicts an earlier binding."""
        if example.split("_", 1)[0] != actual.split("_", 1)[0]:
            return f"id {actual!r} has another prefix than the example's {example!r}"
        known = self.forward.get(example)
        if known is not None:
            return None if known == actual else f"{actual!r}, but {example!r} was {known!r} before"
        taken = {v: k for k, v in self.forward.items()}.get(actual)
        if taken is not None:
            return f"{actual!r} stands for both {taken!r} and {example!r}"
        self.forward[example] = actual
        return None

    def substitute(self, value: Any) -> Any:
        """``value`` with every bound example id replaced by its answer's id."""
        if isinstance(value, dict):
            return {k: self.substitute(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.substitute(v) for v in value]
        if isinstance(value, str):
            return ID.sub(lambda m: self.forward.get(m.group(0), m.group(0)), value)
        return value


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _timestamp(value: str) -> bool:
    if _AMZ_DATE.match(value):
        return True
    if not _ISO.match(value):
        return False
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _store_bound(key: str, expected: str, actual: str) -> str | None:
    if not actual:
        return "is empty"
    if key == "upload_url":
        parts = urlsplit(actual)
        return None if parts.scheme in ("http", "https") and parts.netloc else "is not a URL"
    if key == "X-Amz-Credential":
        want, got = expected.split("/"), actual.split("/")
        if len(want) != len(got) or want[2:] != got[2:] or not re.fullmatch(r"\d{8}", got[1]):
            return f"is not shaped like {expected!r} (<key id>/<date>/{'/'.join(want[2:])})"
    return None


@dataclass
class Comparison:
    ids: IdMap = field(default_factory=IdMap)
    problems: list[str] = field(default_factory=list)

    def check(self, expected: Any, actual: Any, path: str = "", *, shape: bool = False) -> None:
        where = path or "(top)"
        key = path.rsplit(".", 1)[-1].split("[", 1)[0]
        if _kind(expected) != _kind(actual):
            self.problems.append(
                f"{where}: a {_kind(actual)} ({_short(actual)}) where the page has a "
                f"{_kind(expected)} ({_short(expected)})"
            )
            return
        if isinstance(expected, dict):
            self._object(expected, actual, path, key, shape)
        elif isinstance(expected, list):
            self._array(expected, actual, path, shape)
        elif isinstance(expected, str):
            self._string(expected, actual, where, key, shape)
        elif expected != actual:
            self.problems.append(f"{where}: {actual!r} where the page has {expected!r}")

    def _object(
        self, expected: dict[str, Any], actual: dict[str, Any], path: str, key: str, shape: bool
    ) -> None:
        where = path or "(top)"
        missing = [k for k in expected if k not in actual]
        extra = [k for k in actual if k not in expected]
        if missing:
            self.problems.append(f"{where}: missing {', '.join(missing)}")
        if extra:
            self.problems.append(f"{where}: has {', '.join(extra)}, which the page does not")
        if key in ORDERED and not missing and not extra and list(expected) != list(actual):
            self.problems.append(
                f"{where}: keys in the order {list(actual)}; the page's order is {list(expected)}"
            )
        for name, value in expected.items():
            if name in actual:
                self.check(value, actual[name], f"{path}.{name}" if path else name, shape=shape)

    def _array(self, expected: list[Any], actual: list[Any], path: str, shape: bool) -> None:
        if shape:
            if expected:
                for i, item in enumerate(actual):
                    self.check(expected[0], item, f"{path}[{i}]", shape=shape)
            return
        if len(expected) != len(actual):
            self.problems.append(f"{path}: {len(actual)} items where the page has {len(expected)}")
            return
        for i, (want, got) in enumerate(zip(expected, actual, strict=True)):
            self.check(want, got, f"{path}[{i}]", shape=shape)

    def _string(self, expected: str, actual: str, where: str, key: str, shape: bool) -> None:
        if key == "trace_id":
            if not actual.startswith("trc_") or not is_id(actual):
                self.problems.append(f"{where}: {actual!r} is not a trc_ trace id")
            return
        if key in STORE_BOUND:
            why = _store_bound(key, expected, actual)
            if why:
                self.problems.append(f"{where}: {actual!r} {why}")
            return
        if _timestamp(expected):
            same_form = bool(_AMZ_DATE.match(expected)) == bool(_AMZ_DATE.match(actual))
            if not _timestamp(actual) or not same_form:
                self.problems.append(f"{where}: {actual!r} is not a timestamp like {expected!r}")
            return
        if is_id(expected):
            if not is_id(actual):
                self.problems.append(f"{where}: {actual!r} is not an id like {expected!r}")
                return
            if shape and expected not in self.ids.forward:
                # Another request's answer: its ids need only be ids of the same kind.
                same = expected.split("_", 1)[0] == actual.split("_", 1)[0]
                problem = None if same else f"{actual!r} is not an id like {expected!r}"
            else:
                problem = self.ids.bind(expected, actual)
            if problem:
                self.problems.append(f"{where}: {problem}")
            return
        want = self.ids.substitute(expected)
        if want != actual:
            self.problems.append(f"{where}: {actual!r} where the page has {want!r}")


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
