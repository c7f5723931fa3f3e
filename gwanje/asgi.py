"""The ASGI application `gwanje run` serves (uvicorn): Django for HTTP, and the live-video relay's
WebSocket handler for `/ws/live/<camera id>/<main|sub>/` (gwanje.video.live), and the consoles'
incident feed at `/ws/console/` (gwanje.situations.console). Any other WebSocket path is refused.
On a lifespan shutdown the relay's ffmpeg processes and the console hub are stopped."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gwanje.settings")
django_application = get_asgi_application()  # sets Django up before the imports below

from gwanje.situations.console import websocket as console  # noqa: E402
from gwanje.situations.console.hub import get_hub  # noqa: E402
from gwanje.video.live import websocket as live  # noqa: E402
from gwanje.video.live.relay import get_relay  # noqa: E402


async def application(scope, receive, send):
    kind = scope["type"]
    if kind == "http":
        await django_application(scope, receive, send)
    elif kind == "websocket":
        if live.matches(scope.get("path", "")):
            await live.live_socket(scope, receive, send)
        elif console.matches(scope.get("path", "")):
            await console.console_socket(scope, receive, send)
        else:
            await receive()  # websocket.connect
            await send({"type": "websocket.close", "code": 1008})  # HTTP 403 before accept
    elif kind == "lifespan":
        await _lifespan(receive, send)


async def _lifespan(receive, send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await get_relay().close()
            await get_hub().close()
            await send({"type": "lifespan.shutdown.complete"})
            return
