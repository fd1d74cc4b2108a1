"""Owner scoping for the admin: staff see and pick only their own objects, superusers see all."""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.contrib import admin
from django.contrib.admin.exceptions import NotRegistered
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.db.models import ForeignKey, QuerySet
from django.forms import ModelChoiceField
from django.http import HttpRequest


class OwnedAdmin(admin.ModelAdmin):
    owner_field = "owner"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        qs = super().get_queryset(request)
        if request.user.is_superuser:
            return qs
        return qs.filter(**{self.owner_field: request.user})

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        # Staff own what they create: the owner is not theirs to choose.
        fields = super().get_readonly_fields(request, obj)
        if request.user.is_superuser or "__" in self.owner_field or self.owner_field in fields:
            return fields
        return (*fields, self.owner_field)

    def formfield_for_foreignkey(self, db_field: ForeignKey[Any, Any], request: HttpRequest, **kwargs: Any) -> Any:
        """A staff user's choices (and what a raw id may name) are their own objects only."""
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if request.user.is_superuser or not isinstance(field, ModelChoiceField) or field.queryset is None:
            return field
        field.queryset = scoped_choices(db_field.related_model, request, field.queryset)
        return field

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if not change and "__" not in self.owner_field and not getattr(obj, f"{self.owner_field}_id", None):
            setattr(obj, self.owner_field, request.user)
        super().save_model(request, obj, form, change)


def scoped_choices(model: Any, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
    """The objects of `model` a staff user may point at: themself, or what its own admin shows them."""
    if model is get_user_model():
        return queryset.filter(pk=request.user.pk)
    try:
        model_admin = admin.site.get_model_admin(model)
    except NotRegistered:
        return queryset
    if isinstance(model_admin, OwnedAdmin):
        return queryset.filter(pk__in=model_admin.get_queryset(request).values("pk"))
    return queryset


def owned_model_permissions() -> QuerySet[Permission]:
    """Every permission on the models whose admin is an OwnedAdmin: what a staff user needs to manage their own
    objects there, and nothing on users, groups or anyone else's records."""
    owned = [
        m
        for m in apps.get_models()
        if admin.site.is_registered(m) and isinstance(admin.site.get_model_admin(m), OwnedAdmin)
    ]
    types = ContentType.objects.get_for_models(*owned).values()
    return Permission.objects.filter(content_type__in=list(types))
