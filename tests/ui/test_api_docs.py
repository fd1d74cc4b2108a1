"""/api/docs renders every operation with the network closed to anything but this server."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from playwright.sync_api import expect

from tests.ui.conftest import Server, screenshot


def test_api_docs_render_offline_from_vendored_files(page: Any, server: Server) -> None:
    outside: list[str] = []

    def local_only(route: Any) -> None:
        if urlsplit(route.request.url).hostname in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", local_only)
    page.goto("/api/docs")
    expect(page.locator(".opblock-summary-path[data-path='/api/runs']").first).to_be_visible()
    rendered = page.eval_on_selector_all(
        ".opblock-summary",
        "blocks => blocks.map(b => [b.querySelector('.opblock-summary-method').textContent.toLowerCase(),"
        " b.querySelector('.opblock-summary-path').dataset.path])",
    )
    assert {tuple(op) for op in rendered} == set(
        server_schema_operations(page)
    )  # an operation under two tags shows twice
    screenshot(page, "api-docs")
    assert outside == [], f"the docs page reached outside this server: {outside}"


def server_schema_operations(page: Any) -> list[tuple[str, str]]:
    schema = page.request.get("/api/openapi.json").json()
    return [(method, path) for path, item in schema["paths"].items() for method in item]
