"""Teams in the admin. A change of config made here is a new team version, like any other change."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from agents_app import services
from agents_app.config import TeamConfig, TeamConfigError, validate_team_config
from agents_app.models import Team, TeamVersion, VersionOrigin
from playground.admin_mixins import OwnedAdmin


class TeamAdminForm(forms.ModelForm):
    version_note = forms.CharField(
        max_length=500, required=False, help_text="Kept with the version this change makes, if it changes the config."
    )

    class Meta:
        model = Team
        fields = ("owner", "name", "description", "config", "shared", "gallery_name")

    def clean_config(self) -> Any:
        try:
            self.team_config = validate_team_config(self.cleaned_data["config"])
        except TeamConfigError as exc:
            raise forms.ValidationError([f"{e.path or '(config)'}: {e.message}" for e in exc.errors]) from None
        return self.cleaned_data["config"]


class TeamVersionInline(admin.TabularInline):
    model = TeamVersion
    fields = ("number", "origin", "author", "note", "restored_from", "created_at")
    readonly_fields = fields
    ordering = ("-number",)
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Team)
class TeamAdmin(OwnedAdmin):
    form = TeamAdminForm
    list_display = ("name", "owner", "shared", "gallery_name", "version", "updated_at")
    list_filter = ("shared", "updated_at")
    search_fields = ("name", "description", "owner__username")
    readonly_fields = ("version", "created_at", "updated_at")
    inlines = [TeamVersionInline]

    def save_model(self, request: HttpRequest, obj: Team, form: TeamAdminForm, change: bool) -> None:
        """Through the services, so an admin edit numbers a version with its author like the API does."""
        config: TeamConfig = form.team_config
        note = form.cleaned_data.get("version_note") or ""
        if not change:
            owner = obj.owner if obj.owner_id else request.user
            saved = services.team_create(
                owner=owner,
                config=config,
                name=obj.name,
                description=obj.description,
                shared=obj.shared,
                gallery_name=obj.gallery_name,
                note=note,
            )
        else:
            Team.objects.filter(id=obj.id).update(owner=obj.owner, gallery_name=obj.gallery_name)
            saved = services.team_update(
                team=obj,
                author=request.user,
                config=config,
                name=obj.name,
                description=obj.description,
                shared=obj.shared,
                note=note,
                origin=VersionOrigin.ADMIN,
            )
        obj.pk, obj.version, obj.config = saved.pk, saved.version, saved.config
