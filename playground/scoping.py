"""Owner scoping, written once: users see their own objects; superusers read everyone's."""

from __future__ import annotations

from typing import Any, TypeVar

from django.db.models import Model, QuerySet

M = TypeVar("M", bound=Model)


def readable_by(qs: QuerySet[M], user: Any, owner_field: str = "owner") -> QuerySet[M]:
    if getattr(user, "is_superuser", False):
        return qs
    return qs.filter(**{owner_field: user})


def writable_by(qs: QuerySet[M], user: Any, owner_field: str = "owner") -> QuerySet[M]:
    # Superusers read everything through the API but change only their own; the admin is
    # where they manage other people's objects.
    return qs.filter(**{owner_field: user})
