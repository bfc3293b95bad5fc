"""Config data → the user's TOML file, edited in place so their comments and layout stay.

:func:`edited` takes the file's text as it is and the data of the config to write
(:func:`agent.config.dump.config_to_data`), and changes only what differs: a changed
value is replaced where it stands (a comment at the end of its line stays), a key the
config no longer has is removed, an array of tables (``[[workflows]]``, ``[[folders]]``)
keeps its entries in place — matched by their first key, the workflow id or the folder
path — and gets new ones at its end. Values that did not change are not touched.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping, Sequence
from typing import Any

import tomlkit
from tomlkit.container import Container
from tomlkit.items import AoT, Item, Table


def edited(existing: str, data: Mapping[str, Any]) -> str:
    """``existing`` (TOML text) changed to hold exactly ``data``."""
    document = tomlkit.parse(existing)
    _merge(document, data)
    return tomlkit.dumps(document)


def _plain(value: Any) -> Any:
    return value.unwrap() if isinstance(value, Item) else value


def _merge(table: MutableMapping[str, Any], data: Mapping[str, Any]) -> None:
    for key in [k for k in table if k not in data]:
        del table[key]
    for key, value in data.items():
        current = table.get(key)
        if current is not None and _plain(current) == value:
            continue  # unchanged: left as the user wrote it
        if isinstance(value, Mapping) and isinstance(current, Table):
            _merge(current, value)
        elif _is_table_list(value) and isinstance(current, AoT):
            _merge_tables(current, value)
        elif current is not None:
            table[key] = value
        else:
            _add(table, key, value)


def _add(table: MutableMapping[str, Any], key: str, value: Any) -> None:
    """Add ``key`` after the table's last key, before the comments and blank lines that end
    it: those belong to what follows (a comment above the next ``[table]``)."""
    container = table if isinstance(table, Container) else getattr(table, "value", None)
    if not isinstance(container, Container):
        table[key] = value
        return
    body = container.body
    last = max((i for i, (k, _) in enumerate(body) if k is not None), default=-1)
    trailing = body[last + 1 :] if last >= 0 else []
    del body[len(body) - len(trailing) :]
    table[key] = value
    body.extend(trailing)


def _is_table_list(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, Mapping) for v in value)


def _merge_tables(tables: AoT, items: Sequence[Mapping[str, Any]]) -> None:
    """Keep the entries whose identity (first key and value) is still wanted, in place;
    drop the others; append the new ones."""
    wanted = {_identity(item): item for item in items}
    for index in reversed(range(len(tables))):
        identity = _identity(tables[index])
        if identity in wanted:
            _merge(tables[index], wanted.pop(identity))
        else:
            del tables[index]
    for item in items:
        if _identity(item) in wanted:
            table = tomlkit.table()
            _merge(table, item)
            tables.append(table)


def _identity(item: Mapping[str, Any]) -> tuple[str, Any]:
    for key, value in item.items():
        return key, _plain(value)
    return "", None
