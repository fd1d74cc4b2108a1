"""A model provider: an OpenAI-compatible or Azure OpenAI endpoint and the key to call it with.

The key is stored only encrypted (providers.crypto) and only its last four characters are ever shown.
A provider belongs to its owner; staff may mark one `shared`, which makes it usable (never readable
beyond its public fields) by everyone.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from providers import crypto


class ProviderKind(models.TextChoices):
    OPENAI = "openai", "OpenAI"
    AZURE_OPENAI = "azure_openai", "Azure OpenAI"
    OPENAI_COMPATIBLE = "openai_compatible", "OpenAI-compatible (Ollama, vLLM, LM Studio, llama.cpp, ...)"


OPENAI_BASE_URL = "https://api.openai.com/v1"


class Provider(models.Model):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="providers")
    name = models.CharField(max_length=64, help_text="What team configs call it: model.provider_ref.")
    kind = models.CharField(max_length=20, choices=ProviderKind.choices)
    base_url = models.URLField(
        max_length=2000,
        blank=True,
        default="",
        help_text="The OpenAI-compatible base URL (…/v1), or the Azure OpenAI endpoint. Empty: OpenAI's own.",
    )
    api_version = models.CharField(max_length=40, blank=True, default="", help_text="Azure OpenAI only.")
    api_key_encrypted = models.TextField(blank=True, default="", help_text="Fernet token; never shown.")
    key_last4 = models.CharField(max_length=4, blank=True, default="")
    shared = models.BooleanField(default=False, help_text="Usable by every user (set by staff only).")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [models.UniqueConstraint(fields=["owner", "name"], name="unique_provider_name_per_owner")]

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return f"<Provider {self.id} {self.name!r} {self.kind}>"

    @property
    def endpoint(self) -> str:
        """Where requests go (and the only place this provider's key is sent)."""
        if self.kind == ProviderKind.OPENAI:
            return self.base_url or OPENAI_BASE_URL
        return self.base_url

    @property
    def has_key(self) -> bool:
        return bool(self.api_key_encrypted)

    def set_api_key(self, key: str) -> None:
        self.api_key_encrypted = crypto.encrypt(key) if key else ""
        self.key_last4 = key[-4:] if len(key) >= 8 else ""  # a short key would be half shown

    def api_key(self) -> str:
        return crypto.decrypt(self.api_key_encrypted) if self.api_key_encrypted else ""
