from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db import models
from django.http import HttpRequest

from playground.admin_mixins import OwnedAdmin
from providers import services
from providers.models import Provider


def _formfield(field: Any, **kwargs: Any) -> Any:
    if isinstance(field, models.URLField):
        kwargs["assume_scheme"] = "https"  # Django 6's default, and what a provider URL means without one
    return field.formfield(**kwargs)


class ProviderForm(forms.ModelForm):
    # Write-only: never rendered back (PasswordInput without render_value), shown only by its last 4.
    api_key = forms.CharField(
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False),
        help_text="Write-only; leave empty to keep the current key.",
    )
    clear_key = forms.BooleanField(required=False, help_text="Remove the stored key.")

    class Meta:
        model = Provider
        fields = ("owner", "name", "kind", "base_url", "api_version", "shared")
        formfield_callback = _formfield

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        base_url = cleaned.get("base_url")
        if base_url:
            try:
                services.check_endpoint(base_url)
            except ValueError as exc:
                self.add_error("base_url", str(exc))
        return cleaned


@admin.register(Provider)
class ProviderAdmin(OwnedAdmin):
    form = ProviderForm
    list_display = ("id", "name", "kind", "endpoint", "owner", "shared", "key_last4", "updated_at")
    list_filter = ("kind", "shared")
    search_fields = ("name", "base_url", "owner__username")
    readonly_fields = ("key_last4", "created_at", "updated_at")
    raw_id_fields = ("owner",)
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return [
            *ProviderForm.Meta.fields[:5],
            "api_key",
            "clear_key",
            "key_last4",
            "shared",
            "created_at",
            "updated_at",
        ]

    def save_model(self, request: HttpRequest, obj: Provider, form: Any, change: bool) -> None:
        if form.cleaned_data.get("clear_key"):
            obj.set_api_key("")
        elif form.cleaned_data.get("api_key"):
            obj.set_api_key(form.cleaned_data["api_key"])
        super().save_model(request, obj, form, change)
