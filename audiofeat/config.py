"""TOML configuration files mapped onto frozen dataclasses.

A config file is a TOML document whose tables map one to one onto nested frozen dataclasses.
:func:`load_config` does three things, in this order:

1. ``extends = "other.toml"`` at the top of a file (a path relative to that file, or a list of
   paths merged left to right) pulls in a base config; the file's own values are deep-merged on top.
2. Each override ``"a.b=value"`` (the CLIs' repeatable ``--set``) replaces one key. The value is
   parsed as a TOML value (``3``, ``1e-4``, ``true``, ``[1, 2]``, ``"text"``); anything that does
   not parse as TOML is taken as a plain string, so ``--set model.name=cgan`` works unquoted.
3. The merged table is converted into the dataclass. Unknown keys are an error that lists the
   allowed keys; values are checked against the field types (int, float, bool, str, Literal,
   tuples, ``X | None``, nested dataclasses and free-form ``dict[str, Any]`` tables).

The resolved config is returned as a dataclass; :func:`config_to_dict` and :func:`config_hash`
turn it into the JSON that is written into every output produced from it.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import tomllib
import types
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from audiofeat.exceptions import ConfigError

__all__ = [
    "apply_overrides",
    "config_from_dict",
    "config_hash",
    "config_to_dict",
    "load_config",
    "read_toml",
]

T = TypeVar("T")


def read_toml(path: str | os.PathLike, _seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    """Reads a TOML file and resolves its ``extends`` chain into one merged table."""
    path = Path(path).resolve()
    if path in _seen:
        chain = " -> ".join(str(p) for p in (*_seen, path))
        raise ConfigError(f"circular 'extends' in config files: {chain}")
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: invalid TOML: {error}") from None
    bases = data.pop("extends", [])
    if isinstance(bases, str):
        bases = [bases]
    if not isinstance(bases, list) or not all(isinstance(b, str) for b in bases):
        raise ConfigError(f"{path}: 'extends' must be a path or a list of paths, got {bases!r}")
    merged: dict[str, Any] = {}
    for base in bases:
        merged = _deep_merge(merged, read_toml(path.parent / base, (*_seen, path)))
    return _deep_merge(merged, data)


def _deep_merge(base: Mapping[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in top.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def _parse_value(text: str) -> Any:
    try:
        return tomllib.loads("v = " + text)["v"]
    except tomllib.TOMLDecodeError:
        return text


def apply_overrides(data: Mapping[str, Any], overrides: Sequence[str]) -> dict[str, Any]:
    """Applies ``"a.b.c=value"`` overrides to a nested table (values parsed as TOML, see module doc)."""
    out = _deep_merge({}, data)
    for item in overrides:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key or any(not part for part in key.split(".")):
            raise ConfigError(f"override {item!r} must look like 'section.key=value'")
        *parents, leaf = key.split(".")
        node = out
        for i, part in enumerate(parents):
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            elif not isinstance(child, dict):
                raise ConfigError(f"override {item!r}: {'.'.join(parents[:i + 1])} is a value, not a table")
            else:
                child = node[part] = dict(child)
            node = child
        node[leaf] = _parse_value(text.strip())
    return out


def load_config(path: str | os.PathLike | None, schema: type[T], overrides: Sequence[str] = ()) -> T:
    """Loads ``path`` (with ``extends``), applies ``overrides`` and builds the ``schema`` dataclass.

    ``path=None`` starts from the dataclass defaults, so overrides alone make a config.

    Raises:
        ConfigError: missing file, bad TOML, circular ``extends``, malformed override, unknown key
            (the message lists the allowed keys) or a value of the wrong type.
    """
    data = apply_overrides({} if path is None else read_toml(path), overrides)
    return config_from_dict(schema, data, source="defaults and --set" if path is None else os.fspath(path))


def config_from_dict(schema: type[T], data: Mapping[str, Any], *, source: str = "<config>") -> T:
    """Builds a (nested) frozen dataclass from a table, checking keys and types."""
    return _build(schema, data, source, "")


def _build(schema: Any, data: Any, source: str, where: str) -> Any:
    label = where or "top level"
    if not isinstance(data, Mapping):
        raise ConfigError(f"{source}: {label} must be a table, got {data!r}")
    fields = {f.name: f for f in dataclasses.fields(schema) if f.init}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ConfigError(
            f"{source}: unknown key(s) {', '.join(_join(where, k) for k in unknown)} in {label}; "
            f"allowed keys: {', '.join(sorted(fields))}"
        )
    hints = typing.get_type_hints(schema)
    kwargs = {}
    for name, value in data.items():
        kwargs[name] = _convert(hints[name], value, source, _join(where, name))
    missing = [n for n, f in fields.items() if n not in kwargs
               and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
    if missing:
        raise ConfigError(f"{source}: missing required key(s) {', '.join(_join(where, m) for m in missing)}")
    return schema(**kwargs)


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _convert(tp: Any, value: Any, source: str, key: str) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is Any:
        return value
    if dataclasses.is_dataclass(tp):
        return _build(tp, value, source, key)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:  # TOML has no null, but JSON round trips do
            return None
        errors = []
        for option in args:
            if option is type(None):
                continue
            try:
                return _convert(option, value, source, key)
            except ConfigError as error:
                errors.append(str(error))
        raise ConfigError(errors[-1] if len(errors) == 1 else f"{source}: {key}: {value!r} matches none of {tp}")
    if origin is typing.Literal:
        if value not in args:
            raise ConfigError(f"{source}: {key} must be one of {', '.join(map(repr, args))}; got {value!r}")
        return value
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{source}: {key} must be a list, got {value!r}")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_convert(args[0], v, source, f"{key}[{i}]") for i, v in enumerate(value))
        if len(args) != len(value):
            raise ConfigError(f"{source}: {key} must be a list of {len(args)} values, got {value!r}")
        return tuple(_convert(a, v, source, f"{key}[{i}]") for i, (a, v) in enumerate(zip(args, value)))
    if origin is dict or tp is dict:
        if not isinstance(value, Mapping):
            raise ConfigError(f"{source}: {key} must be a table, got {value!r}")
        return dict(value)
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{source}: {key} must be true or false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{source}: {key} must be an integer, got {value!r}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{source}: {key} must be a number, got {value!r}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{source}: {key} must be a string, got {value!r}")
        return value
    raise TypeError(f"unsupported config field type {tp!r} for {key}")


def config_to_dict(config: Any) -> dict[str, Any]:
    """The dataclass as a JSON-ready dict (tuples become lists)."""
    return json.loads(json.dumps(dataclasses.asdict(config)))


def config_hash(config: Any) -> str:
    """SHA-1 of the canonical JSON of a config (sorted keys); equal configs give equal hashes."""
    canonical = json.dumps(config_to_dict(config), sort_keys=True, separators=(",", ":"))
    return hashlib.sha1(canonical.encode()).hexdigest()
