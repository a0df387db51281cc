"""The published JSON Schema, generated from the pydantic models (editors complete and check YAML with it)."""

from __future__ import annotations

import json
from typing import Any

from hotline_merge.models import SCHEMA_FILE_NAME, Dialplan


def json_schema() -> dict[str, Any]:
    schema = Dialplan.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = SCHEMA_FILE_NAME
    schema["title"] = "12345 hotline dialplan (one file of a dialplan folder)"
    return schema


def render_schema() -> str:
    return json.dumps(json_schema(), ensure_ascii=False, indent=2, sort_keys=True) + "\n"
