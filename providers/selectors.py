"""Which providers a user may use: their own and the shared ones; their own wins a name clash."""

from __future__ import annotations

import os
from typing import Any

from django.db.models import Q, QuerySet

from providers.models import Provider


def usable_providers(user: Any) -> QuerySet[Provider]:
    return Provider.objects.filter(Q(owner_id=user.pk) | Q(shared=True))


def usable_provider(user: Any, provider_id: int) -> Provider:
    """DoesNotExist (a 404) for another user's private provider, the same as for a missing one."""
    return usable_providers(user).get(id=provider_id)


def owned_provider(user: Any, provider_id: int) -> Provider:
    return Provider.objects.get(id=provider_id, owner_id=user.pk)


def provider_named(owner_id: int, name: str) -> Provider | None:
    """What `provider_ref: name` means for a run of `owner_id`'s: their own, else a shared one."""
    found = list(Provider.objects.filter(Q(owner_id=owner_id) | Q(shared=True), name=name))
    found.sort(key=lambda p: (p.owner_id != owner_id, p.id))
    return found[0] if found else None


def has_server_key() -> bool:
    """Whether the server's environment holds any model key (then real models run without a provider)."""
    return any(value for name, value in os.environ.items() if name.endswith("_API_KEY"))


def needs_first_model(user: Any) -> bool:
    """The playground's first-run case: no provider the user could use and no key on the server."""
    return not has_server_key() and not usable_providers(user).exists()
