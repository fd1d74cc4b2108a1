"""Owner scoping for the admin: staff see their own objects, superusers see all."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest


class OwnedAdmin(admin.ModelAdmin):
    owner_field = "owner"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        qs = super().get_queryset(request)
        if request.user.is_superuser:
            return qs
        return qs.filter(**{self.owner_field: request.user})

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if not change and self.owner_field == "owner" and not getattr(obj, "owner_id", None):
            obj.owner = request.user
        super().save_model(request, obj, form, change)
