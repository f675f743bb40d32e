"""The config reference: every key with its default and meaning, from the schema (the README's
table and the example config are checked against it)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from enum import StrEnum
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from gateway.core.config.schema import Config


def schema_fields(
    model: type[BaseModel] = Config, prefix: str = ""
) -> Iterator[tuple[str, FieldInfo]]:
    """Every leaf of the schema with its dotted key (list items as ``people[].name``)."""
    for name, field in model.model_fields.items():
        key = f"{prefix}{name}"
        ann = field.annotation
        args = getattr(ann, "__args__", ())
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            yield from schema_fields(ann, key + ".")
        elif args and isinstance(args[0], type) and issubclass(args[0], BaseModel):
            yield from schema_fields(args[0], key + "[].")
        else:
            yield key, field


def schema_keys() -> Iterator[str]:
    """Every dotted key of the schema."""
    return (key for key, _ in schema_fields())


def toml_value(value: Any) -> str:
    """A default as it is written in the config file (TOML), or "(unset)"."""
    if value is None:
        return "(unset)"
    if isinstance(value, StrEnum):
        value = value.value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a TOML basic string
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, BaseModel):
        return toml_value(value.model_dump(mode="json"))
    return json.dumps(str(value))


def reference_table() -> str:
    """The config reference as a Markdown table (the README's is this output)."""
    rows = ["| key | default | meaning |", "|---|---|---|"]
    for key, field in schema_fields():
        if field.is_required():
            default = "(required)"
        elif field.default_factory is not None:
            default = toml_value(field.default_factory())  # type: ignore[call-arg]
        else:
            default = toml_value(field.default)
        default = default.replace("|", "\\|")
        text = (field.description or "").replace("|", "/")
        rows.append(f"| `{key}` | `{default}` | {text} |")
    return "\n".join(rows)
