"""Create the demo login and install the gallery teams for it. Safe to run again.

The demo user is staff, not superuser: the admin shows them their own runs, teams and tokens, and nobody else's.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from agents_app.services import gallery_install_all
from playground.admin_mixins import owned_model_permissions


def demo_password_file() -> Path:
    return Path(settings.BASE_DIR) / "var" / "demo_password"


class Command(BaseCommand):
    help = "Create the demo user (PLAYGROUND_DEMO_PASSWORD or a generated password) and load the demo teams."

    def handle(self, *args: Any, **options: Any) -> None:
        username = settings.PLAYGROUND_DEMO_USERNAME
        password = settings.PLAYGROUND_DEMO_PASSWORD or self._stored_or_new_password()
        User = get_user_model()
        user, created = User.objects.get_or_create(username=username, defaults={"is_staff": True})
        if created or not user.check_password(password) or not user.is_staff:
            user.is_staff = True
            user.set_password(password)
            user.save()
        user.user_permissions.add(*owned_model_permissions())
        installed = gallery_install_all(owner=user)
        self.stdout.write(
            self.style.SUCCESS(f"Demo login: username {username!r}, password {password!r}")
            + f"  ({installed} new demo team(s) installed)"
        )

    def _stored_or_new_password(self) -> str:
        path = demo_password_file()
        if path.exists():
            return path.read_text().strip()
        path.parent.mkdir(parents=True, exist_ok=True)
        password = secrets.token_urlsafe(9)
        path.write_text(password + "\n")
        path.chmod(0o600)
        return password
