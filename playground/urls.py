from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import path, re_path

from metrics.views import metrics
from playground import views
from playground.api import api, unknown_endpoint

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    path("metrics", metrics, name="metrics"),
    re_path(r"^api/(?P<path>.*)$", unknown_endpoint),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    # Pages. `/runs/<id>` without the slash is the run's WebSocket (runs/routing.py).
    path("", views.home, name="home"),
    path("teams/", views.teams, name="teams"),
    path("tokens/", views.tokens, name="tokens"),
    path("providers/", views.providers, name="providers"),
    path("usage/", views.usage, name="usage"),
    path("runs/<int:run_id>/", views.run_page, name="run-page"),
    path("compare/", views.compare, name="compare"),
]
