from __future__ import annotations

from django.contrib import admin
from django.db import models

from playground.admin_mixins import OwnedAdmin
from webhooks.models import HookCall, RunNotice, Webhook, WebhookDelivery


class DeliveryInline(admin.TabularInline):
    model = WebhookDelivery
    extra = 0
    can_delete = False
    fields = ("created_at", "run", "attempt", "success", "status_code", "error", "duration_ms")
    readonly_fields = fields
    ordering = ("-created_at",)
    show_change_link = True

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(Webhook)
class WebhookAdmin(OwnedAdmin):
    list_display = ("id", "url", "team", "owner", "active", "secret_prefix", "created_at")
    list_filter = ("active",)
    search_fields = ("url", "team__name", "owner__username")
    # The secret is write-only here too: settable on the form, shown only by its prefix.
    fields = ("owner", "team", "url", "secret", "active", "secret_prefix", "created_at")
    readonly_fields = ("secret_prefix", "created_at")
    raw_id_fields = ("owner", "team")
    inlines = [DeliveryInline]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def get_form(self, request, obj=None, change=False, **kwargs):  # type: ignore[no-untyped-def]
        from django import forms

        form = super().get_form(request, obj, change=change, **kwargs)
        form.base_fields["secret"].widget = forms.PasswordInput(render_value=False)
        form.base_fields["secret"].required = obj is None
        form.base_fields["secret"].help_text = "Write-only; leave empty to keep the current secret."
        return form

    def save_model(self, request, obj, form, change):  # type: ignore[no-untyped-def]
        if change and not form.cleaned_data.get("secret"):
            obj.secret = Webhook.objects.get(pk=obj.pk).secret
        super().save_model(request, obj, form, change)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(OwnedAdmin):
    owner_field = "webhook__owner"
    list_display = ("created_at", "webhook", "run", "attempt", "success", "status_code", "error", "duration_ms")
    list_filter = ("success", "status_code")
    search_fields = ("delivery_id", "webhook__url")
    readonly_fields = [f.name for f in WebhookDelivery._meta.fields]

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(HookCall)
class HookCallAdmin(OwnedAdmin):
    owner_field = "run__owner"
    list_display = ("created_at", "hook", "run", "status", "error", "duration_ms")
    list_filter = ("status", "hook")
    search_fields = ("hook", "error")
    readonly_fields = [f.name for f in HookCall._meta.fields]

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False


@admin.register(RunNotice)
class RunNoticeAdmin(OwnedAdmin):
    owner_field = "run__owner"
