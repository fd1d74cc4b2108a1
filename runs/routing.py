from django.urls import path

from runs.consumers import RunConsumer

websocket_urlpatterns = [
    path("runs/<int:run_id>", RunConsumer.as_asgi()),
    path("api/ws/runs/<int:run_id>", RunConsumer.as_asgi()),
]
