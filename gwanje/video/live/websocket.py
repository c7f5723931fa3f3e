"""The live socket: `/ws/live/<camera id>/<main|sub>/`, a plain ASGI WebSocket application.

Handshake: the Origin must be this site (else the handshake is refused, HTTP 403); then the session
and the choke point decide (auth.py). A refused socket is accepted and closed at once with a code
the player can show: 4401 not signed in / second factor missing, 4403 not allowed (police without a
grant), 4404 no such camera or no stream, 4422 bad stream URL in the registry.

Open socket: the relay's messages for the camera stream (relay.py: codec text, init, fragments,
"status:…" texts); every RECHECK_SECONDS the decision is taken again and the socket closed with 4403
(4401 for an ended session) when it no longer holds. Messages from the browser are ignored.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from urllib.parse import urlsplit

from asgiref.sync import sync_to_async
from django.conf import settings
from django.http.request import split_domain_port, validate_host

from gwanje.video.live import auth
from gwanje.video.live.relay import Viewer, get_relay

log = logging.getLogger(__name__)

PATH = re.compile(r"^/ws/live/(?P<camera_id>[0-9]{1,18})/(?P<stream>main|sub)/$")
RECHECK_SECONDS = 5.0


def matches(path: str) -> bool:
    return PATH.match(path) is not None


def _header(scope: dict, name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value.decode("latin-1")
    return ""


def same_origin(scope: dict) -> bool:
    """The handshake's Origin is this site: its host:port is the Host header (an allowed host), or it
    is one of CSRF_TRUSTED_ORIGINS (a proxy in front)."""
    origin = _header(scope, b"origin")
    host = _header(scope, b"host")
    if not origin or not host:
        return False
    if origin in settings.CSRF_TRUSTED_ORIGINS:
        return True
    try:
        parts = urlsplit(origin)
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or parts.netloc.lower() != host.lower():
        return False
    domain, _port = split_domain_port(host)
    allowed = settings.ALLOWED_HOSTS
    if settings.DEBUG and not allowed:
        allowed = [".localhost", "127.0.0.1", "[::1]"]
    return bool(domain) and validate_host(domain, allowed)


async def live_socket(scope: dict, receive, send) -> None:
    message = await receive()
    if message["type"] != "websocket.connect":
        return
    match = PATH.match(scope.get("path", ""))
    if match is None or not same_origin(scope):
        await send({"type": "websocket.close", "code": 1008})  # before accept: HTTP 403
        return
    camera_id, stream = int(match["camera_id"]), match["stream"]
    outcome = await sync_to_async(auth.authorize)(scope, camera_id, stream)
    await send({"type": "websocket.accept"})
    if not outcome.allowed:
        await _close(send, outcome.code, outcome.reason)
        return

    relay = get_relay()
    viewer = relay.subscribe(camera_id, stream, outcome.url, Viewer())
    tasks = [
        asyncio.create_task(_pump(viewer, send), name="live pump"),
        asyncio.create_task(_until_disconnect(receive), name="live receive"),
        asyncio.create_task(_recheck(scope, camera_id), name="live recheck"),
    ]
    close: tuple[int, str] | None = None
    try:
        done, _pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            if task.get_name() == "live recheck" and not task.cancelled() and task.exception() is None:
                close = task.result()
            elif not task.cancelled() and task.exception() is not None:
                log.warning("live socket %s/%s: %r", camera_id, stream, task.exception())
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        relay.unsubscribe(viewer)
    if close is not None:
        await _close(send, *close)


async def _close(send, code: int, reason: str = "") -> None:
    with contextlib.suppress(Exception):
        await send({"type": "websocket.close", "code": code, "reason": reason[:120]})


async def _pump(viewer: Viewer, send) -> None:
    while True:
        message = await viewer.get()
        if message.kind == "text":
            await send({"type": "websocket.send", "text": message.payload})
        else:
            await send({"type": "websocket.send", "bytes": message.payload})


async def _until_disconnect(receive) -> None:
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            return


async def _recheck(scope: dict, camera_id: int) -> tuple[int, str]:
    """Returns (close code, reason) once the socket may no longer stay open."""
    while True:
        await asyncio.sleep(RECHECK_SECONDS)
        outcome = await sync_to_async(auth.still_allowed)(scope, camera_id)
        if not outcome.allowed:
            return outcome.code, outcome.reason
