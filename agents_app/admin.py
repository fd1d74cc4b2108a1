from django.contrib import admin

from agents_app.models import Team
from playground.admin_mixins import OwnedAdmin


@admin.register(Team)
class TeamAdmin(OwnedAdmin):
    list_display = ("name", "owner", "shared", "gallery_name", "updated_at")
    list_filter = ("shared", "updated_at")
    search_fields = ("name", "description", "owner__username")
    readonly_fields = ("created_at", "updated_at")
