"""Re-encrypt every provider API key under the first of PROVIDER_KEY_SECRETS (see providers.crypto)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from providers.services import rotate_keys


class Command(BaseCommand):
    help = "Re-encrypt stored provider API keys with the first secret in PROVIDER_KEY_SECRETS."

    def handle(self, *args: Any, **options: Any) -> None:
        done, unreadable = rotate_keys()
        self.stdout.write(f"re-encrypted {done} provider key(s)")
        if unreadable:
            ids = ", ".join(str(i) for i in unreadable)
            raise CommandError(
                f"no configured secret decrypts the key of provider(s) {ids}: keep the old secret in "
                "PROVIDER_KEY_SECRETS until they are re-entered"
            )
