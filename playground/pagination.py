"""Pagination for every list: `{"items": [...], "count": N, "next": cursor | null}`.

Default 50, maximum 200 (a larger limit is a 422): the biggest page a playground view
needs, small enough that one request cannot make the server serialize a whole table.

Two ways through a list. `offset` skips rows, which the database must still walk: the
last page of 10,000 runs cost about 100 ms where the first cost 10. `after` takes the
`next` cursor of the page before and starts right after its last item, by the list's own
order (an index seek, the same cost on every page); it wins over `offset`. A cursor is
the order's values of that item, opaque to clients (base64 of JSON).
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from django.db.models import Model, Q, QuerySet
from django.http import HttpRequest
from ninja import Field, Schema
from ninja.pagination import LimitOffsetPagination

from playground.errors import ApiError

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


class LimitOffset(LimitOffsetPagination):
    class Input(Schema):
        limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description=f"page size, at most {MAX_LIMIT}")
        offset: int = Field(0, ge=0, le=2**31 - 1)
        after: str | None = Field(
            None, max_length=500, description="the `next` cursor of the page before: the page after it, by keyset"
        )

    class Output(Schema):
        items: list[Any]
        count: int
        next: str | None = Field(None, description="pass as `after` for the next page; null on the last page")

    def __init__(self, **kwargs: object) -> None:
        super().__init__(max_limit=MAX_LIMIT, **kwargs)  # type: ignore[arg-type]

    def paginate_queryset(self, queryset: QuerySet, pagination: Any, request: HttpRequest, **params: Any) -> Any:
        limit = min(pagination.limit, MAX_LIMIT)
        count = self._items_count(queryset)
        order = ordering(queryset) if isinstance(queryset, QuerySet) else []
        if order:
            queryset = queryset.order_by(*order)  # with its tie-breaker: pages that neither skip nor repeat
        if pagination.after is not None:
            if not order:
                raise ApiError(400, "This list has no cursor order.", [{"path": "after", "message": "use offset"}])
            after = after_filter(queryset.model, order, decode_cursor(pagination.after, order))
            page = list(queryset.filter(after)[: limit + 1])
        else:
            page = list(queryset[pagination.offset : pagination.offset + limit + 1])
        more = len(page) > limit
        page = page[:limit]
        cursor = encode_cursor(page[-1], order) if more and order else None
        return {"items": page, "count": count, "next": cursor}


def ordering(queryset: QuerySet) -> list[str]:
    """The queryset's order as field names ("-" for descending), ending with the primary key so that it is
    total; [] if it has none or orders by expressions or across relations."""
    given = list(queryset.query.order_by) or list(queryset.model._meta.ordering or [])
    if not given or (not queryset.query.default_ordering and not queryset.query.order_by):
        return []
    order = [f for f in given if isinstance(f, str) and "__" not in f and f != "?"]
    if len(order) != len(given):
        return []
    pk = queryset.model._meta.pk.name
    if not any(f.lstrip("-") in (pk, "pk") for f in order):
        order.append(f"-{pk}" if order[-1].startswith("-") else pk)
    return order


def _field(model: type[Model], name: str) -> Any:
    return model._meta.pk if name.lstrip("-") == "pk" else model._meta.get_field(name.lstrip("-"))


def encode_cursor(item: Model, order: list[str]) -> str:
    values = [_field(type(item), name).value_to_string(item) for name in order]
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, order: list[str]) -> list[str]:
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        values = None
    if not isinstance(values, list) or len(values) != len(order) or not all(isinstance(v, str) for v in values):
        raise ApiError(400, "Invalid cursor.", [{"path": "after", "message": "pass a `next` value from this list"}])
    return values


def after_filter(model: type[Model], order: list[str], values: list[str]) -> Q:
    """Rows after the cursor in `order`: (a > x) or (a = x and b > y) or ..., each by its direction."""
    parsed = []
    for name, raw in zip(order, values, strict=True):
        try:
            parsed.append(_field(model, name).to_python(raw))
        except Exception:  # a tampered cursor: same answer as one that does not decode
            raise ApiError(400, "Invalid cursor.", [{"path": "after", "message": "pass a `next` value"}]) from None
    condition = Q(pk__in=[])
    for i, name in enumerate(order):
        step = Q(**{f"{name.lstrip('-')}__{'lt' if name.startswith('-') else 'gt'}": parsed[i]})
        for earlier, value in zip(order[:i], parsed[:i], strict=True):
            step &= Q(**{earlier.lstrip("-"): value})
        condition |= step
    return condition
