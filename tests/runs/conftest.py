from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection

from agents_app.gallery import load_gallery
from agents_app.models import Team
from runs import services


def gallery_config(name: str, tokens_per_second: float = 0) -> dict[str, Any]:
    """A gallery team with every scripted model set to the given pace (0 = unpaced)."""
    data = load_gallery()[name].model_dump(mode="json")
    for agent in data["participants"]:
        if agent.get("model", {}).get("provider") == "scripted":
            agent["model"]["tokens_per_second"] = tokens_per_second
    if data.get("selector") and data["selector"]["model"]["provider"] == "scripted":
        data["selector"]["model"]["tokens_per_second"] = tokens_per_second
    return data


def create_run(owner: Any, config: dict[str, Any]) -> int:
    team = Team.objects.create(owner=owner, name=config["name"], config=config)
    return services.run_create(owner=owner, team=team, team_config=config).id


@pytest.fixture
def embedded_runtime(settings: Any) -> Any:
    """The in-memory layer and the inline executor, whatever the pass (consumer tests use them by design)."""
    from channels.layers import channel_layers

    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    settings.RUN_EXECUTOR = "inline"
    channel_layers.backends = {}
    yield settings
    channel_layers.backends = {}


def in_threads(n: int, target: Any) -> list[Any]:
    """Call target(i) in n threads released at once (a barrier); each result, or the exception raised."""
    results: list[Any] = [None] * n
    barrier = threading.Barrier(n)

    def worker(i: int) -> None:
        try:
            barrier.wait()
            results[i] = target(i)
        except Exception as exc:  # noqa: BLE001 - reported to the test
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results
