"""Limit/offset pagination for every list: `{"items": [...], "count": N}`.

Default 50, maximum 200 (a larger limit is a 422): the biggest page a playground view
needs, small enough that one request cannot make the server serialize a whole table.
"""

from __future__ import annotations

from ninja import Field, Schema
from ninja.pagination import LimitOffsetPagination

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


class LimitOffset(LimitOffsetPagination):
    class Input(Schema):
        limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description=f"page size, at most {MAX_LIMIT}")
        offset: int = Field(0, ge=0, le=2**31 - 1)

    def __init__(self, **kwargs: object) -> None:
        super().__init__(max_limit=MAX_LIMIT, **kwargs)  # type: ignore[arg-type]
