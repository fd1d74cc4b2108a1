"""Page routes of the browser UI. The pages are shells: their ES modules (static/js/) talk to /api
and the run WebSocket, so every page works through the same API a script would use."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import ensure_csrf_cookie

from providers.selectors import needs_first_model
from runs.models import Run
from runs.selectors import owned_runs, run_get_writable


def demo_login() -> dict[str, str] | None:
    """The demo login `make run` created, for the login page's first-run hint (DEBUG only).

    The password is PLAYGROUND_DEMO_PASSWORD or the one setup_demo generated into var/demo_password.
    """
    if not settings.DEBUG:
        return None
    username = settings.PLAYGROUND_DEMO_USERNAME
    password = settings.PLAYGROUND_DEMO_PASSWORD
    if not password:
        path = Path(settings.BASE_DIR) / "var" / "demo_password"
        try:
            password = path.read_text().strip()
        except OSError:
            return None
    if not password or not get_user_model().objects.filter(username=username).exists():
        return None
    return {"username": username, "password": password}


class LoginView(auth_views.LoginView):
    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["demo_login"] = demo_login()
        return context


@login_required
@ensure_csrf_cookie
def home(request: HttpRequest) -> HttpResponse:
    first_run = needs_first_model(request.user)
    # Without a key or a provider only the offline teams can run: preselect one, show the first-run banner.
    return render(
        request,
        "playground.html",
        {"page": "playground", "model_key_configured": not first_run, "first_run": first_run},
    )


@login_required
@ensure_csrf_cookie
def teams(request: HttpRequest) -> HttpResponse:
    return render(request, "teams.html", {"page": "teams"})


@login_required
@ensure_csrf_cookie
def tokens(request: HttpRequest) -> HttpResponse:
    return render(request, "tokens.html", {"page": "tokens"})


@login_required
@ensure_csrf_cookie
def providers(request: HttpRequest) -> HttpResponse:
    return render(request, "providers.html", {"page": "providers"})


@login_required
@ensure_csrf_cookie
def usage(request: HttpRequest) -> HttpResponse:
    return render(request, "usage.html", {"page": "usage"})


@login_required
@ensure_csrf_cookie
def run_page(request: HttpRequest, run_id: int) -> HttpResponse:
    # The page drives the run over its socket, which only the owner may open.
    try:
        run = run_get_writable(user=request.user, run_id=run_id)
    except Run.DoesNotExist:
        raise Http404("No such run.") from None
    return render(request, "run.html", {"page": "run", "run": run})


@login_required
@ensure_csrf_cookie
def compare(request: HttpRequest) -> HttpResponse:
    """Runs side by side. `?runs=7,9` is the shareable address; a run that is not yours is a 404."""
    ids = [part for part in request.GET.get("runs", "").split(",") if part.strip()]
    if not all(part.strip().isdigit() for part in ids):
        raise Http404("No such run.")
    wanted = {int(part) for part in ids}
    if len(wanted) != owned_runs(request.user).filter(id__in=wanted).count():
        raise Http404("No such run.")
    in_order = list(dict.fromkeys(int(part) for part in ids))
    return render(request, "compare.html", {"page": "compare", "run_ids": in_order})
