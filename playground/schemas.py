"""Base for request bodies: unknown fields and type coercion are both refused.

`extra="forbid"` turns a misspelt field into a 422 instead of a silently ignored setting;
`strict=True` keeps JSON types honest (`0` is not `false`, `"5"` is not `5`), which is what
the OpenAPI schema promises clients. Query and path parameters arrive as strings and stay lax.
"""

from __future__ import annotations

from ninja import Schema
from pydantic import ConfigDict


class InputSchema(Schema):
    model_config = ConfigDict(extra="forbid", strict=True)
