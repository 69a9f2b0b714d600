# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""TOML in and out with the standard library only (hosts have python3 and nothing else).

Reading is `tomllib` (Python 3.11+).  Writing is a small emitter for the documents container engines
use: tables, strings, integers, floats, booleans, arrays of those, inline tables inside arrays and
arrays of tables.  Comments in the source are not kept: the file is rewritten from its data.
"""

from __future__ import annotations

import math
import re
from typing import Any

try:
    import tomllib
except ImportError:  # Python < 3.11 on the host
    tomllib = None  # type: ignore[assignment]

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


class TomlError(ValueError):
    """The text is not TOML, or the data cannot be written as TOML."""


def loads(text: str) -> dict[str, Any]:
    if tomllib is None:
        raise TomlError("reading TOML needs Python 3.11 or later on the host (tomllib)")
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise TomlError(f"not valid TOML: {exc}") from exc


def _key(key: str) -> str:
    if not isinstance(key, str):
        raise TomlError(f"TOML keys must be strings, not {key!r}")
    return key if _BARE_KEY.match(key) else _string(key)


def _string(value: str) -> str:
    out = []
    for ch in value:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _value(value: Any, path: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_value(v, f"{path}[]") for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_key(k)} = {_value(v, f'{path}.{k}')}" for k, v in value.items()) + "}"
    if value is None:
        raise TomlError(f"{path}: TOML has no null; remove the key instead")
    raise TomlError(f"{path}: cannot write {type(value).__name__} {value!r} as TOML")


def _is_table_array(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def _emit(table: dict[str, Any], prefix: list[str], out: list[str]) -> None:
    scalars = [(k, v) for k, v in table.items() if not isinstance(v, dict) and not _is_table_array(v)]
    for key, value in scalars:
        out.append(f"{_key(key)} = {_value(value, '.'.join([*prefix, key]))}")
    for key, value in table.items():
        if isinstance(value, dict):
            path = [*prefix, key]
            has_scalars = any(not isinstance(v, dict) and not _is_table_array(v) for v in value.values())
            if has_scalars or not value:
                if out:
                    out.append("")
                out.append("[" + ".".join(_key(p) for p in path) + "]")
            _emit(value, path, out)
        elif _is_table_array(value):
            for item in value:
                if out:
                    out.append("")
                out.append("[[" + ".".join(_key(p) for p in [*prefix, key]) + "]]")
                _emit(item, [*prefix, key], out)


def dumps(data: dict[str, Any]) -> str:
    """Data -> TOML text; `loads(dumps(d)) == d` for the supported types."""
    out: list[str] = []
    _emit(data, [], out)
    return "\n".join(out) + "\n" if out else ""
