"""Base for request bodies: unknown fields, type coercion and unstorable text are all refused.

`extra="forbid"` turns a misspelt field into a 422 instead of a silently ignored setting;
`strict=True` keeps JSON types honest (`0` is not `false`, `"5"` is not `5`), which is what
the OpenAPI schema promises clients. Query and path parameters arrive as strings and stay lax.
A NUL character anywhere in a field (nested JSON included) is a 422 naming the field, in every
database mode (agents_app.text).
"""

from __future__ import annotations

from typing import Any

from ninja import Schema
from pydantic import ConfigDict, field_validator

from agents_app.text import refuse_nul


class InputSchema(Schema):
    model_config = ConfigDict(extra="forbid", strict=True)

    @field_validator("*")
    @classmethod
    def _storable_text(cls, value: Any) -> Any:
        return refuse_nul(value)
