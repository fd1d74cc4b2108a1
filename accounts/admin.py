from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.http import HttpRequest

from accounts import services
from accounts.models import ApiToken
from playground.admin_mixins import OwnedAdmin


@admin.register(ApiToken)
class ApiTokenAdmin(OwnedAdmin):
    owner_field = "user"
    list_display = ("name", "user", "prefix", "created_at", "last_used_at", "revoked_at")
    list_filter = ("revoked_at", "created_at")
    search_fields = ("name", "prefix", "user__username")
    fields = ("user", "name", "prefix", "created_at", "last_used_at", "revoked_at")
    readonly_fields = ("prefix", "created_at", "last_used_at", "revoked_at")
    actions = ["revoke"]

    def save_model(self, request: HttpRequest, obj: ApiToken, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        token, raw = services.token_create(user=obj.user if obj.user_id else request.user, name=obj.name)
        obj.pk = token.pk
        self.message_user(request, f"New token (shown once): {raw}", messages.WARNING)

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request: HttpRequest, queryset: Any) -> None:
        for token in queryset:
            services.token_revoke(token=token)
