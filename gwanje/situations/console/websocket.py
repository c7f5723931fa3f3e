"""`/ws/console/?since=<seq>`: the live incident feed of the operator console (a plain ASGI
WebSocket application, like the live-video socket).

Handshake: same-origin only; a session a page would accept (gwanje.video.live.auth rules) whose
user may `incidents.view`; else the socket is accepted and closed at once with 4401 (not signed in)
or 4403 (not allowed). Then: `{"type": "hello", "seq": N}`, every feed row after `since` (at most
REPLAY_LIMIT; more missed, or a `since` beyond the end of the feed → `{"type": "reset"}`: reload
the queue over HTTP), then live rows as `{"type": "incident", "seq", "event", "incident"}`.
Contractors get only incidents routed to maintenance. The session is re-checked every
RECHECK_SECONDS."""

from __future__ import annotations

import asyncio
import contextlib
import json
from urllib.parse import parse_qs

from asgiref.sync import sync_to_async

from gwanje.core import permissions
from gwanje.situations.console.hub import REPLAY_LIMIT, Listener, frame, get_hub, latest_seq, rows_after
from gwanje.video.live import auth as live_auth
from gwanje.video.live.websocket import same_origin

PATH = "/ws/console/"
RECHECK_SECONDS = 5.0
NOT_SIGNED_IN, FORBIDDEN = 4401, 4403


def matches(path: str) -> bool:
    return path == PATH


def _decide(scope: dict, *, idle_counts: bool) -> tuple[int, object | None]:
    live_auth._fresh_connection()
    try:
        request = live_auth.request_from_scope(scope)
        user, _why = live_auth._signed_in_user(request, idle_counts=idle_counts)
        if user is None:
            return NOT_SIGNED_IN, None
        if not permissions.allowed(user, "incidents.view"):
            return FORBIDDEN, None
        return 0, user
    finally:
        live_auth._fresh_connection()


def _since(scope: dict) -> int | None:
    raw = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("since", [""])[0]
    return int(raw) if raw.isdigit() and len(raw) < 19 else None


async def console_socket(scope: dict, receive, send) -> None:
    message = await receive()
    if message["type"] != "websocket.connect":
        return
    if not same_origin(scope):
        await send({"type": "websocket.close", "code": 1008})
        return
    code, user = await sync_to_async(_decide)(scope, idle_counts=True)
    await send({"type": "websocket.accept"})
    if code:
        await _close(send, code)
        return
    from gwanje.situations.scopes import is_maintenance_only

    listener = Listener(maintenance_only=await sync_to_async(is_maintenance_only)(user))
    hub = get_hub()
    seq = await hub.join(listener)
    tasks = []
    try:
        await send({"type": "websocket.send", "text": json.dumps({"type": "hello", "seq": seq})})
        since = _since(scope)
        sent = seq
        if since is not None and since < seq:
            rows = await sync_to_async(rows_after)(since, REPLAY_LIMIT + 1)
            rows = [r for r in rows if r[0] <= seq]
            if len(rows) > REPLAY_LIMIT:
                await send({"type": "websocket.send", "text": json.dumps({"type": "reset", "seq": seq})})
            else:
                for row_id, event, payload in rows:
                    if listener.sees(payload):
                        await send({"type": "websocket.send", "text": frame(row_id, event, payload)})
        elif since is not None and since > seq and since > await sync_to_async(latest_seq)():
            # the client saw rows this database does not have (restored, or another database):
            # what it holds cannot be trusted, so it reloads
            await send({"type": "websocket.send", "text": json.dumps({"type": "reset", "seq": seq})})
        tasks = [
            asyncio.create_task(_pump(listener, send, sent), name="console pump"),
            asyncio.create_task(_until_disconnect(receive), name="console receive"),
            asyncio.create_task(_recheck(scope), name="console recheck"),
        ]
        done, _pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            if task.get_name() == "console recheck" and not task.cancelled() and task.exception() is None:
                await _close(send, task.result())
    finally:
        hub.leave(listener)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


async def _pump(listener: Listener, send, after: int) -> None:
    while True:
        seq, text = await listener.queue.get()
        if listener.overflowed:
            listener.overflowed = False
            while not listener.queue.empty():
                seq, _ = listener.queue.get_nowait()
            await send({"type": "websocket.send", "text": json.dumps({"type": "reset", "seq": seq})})
            after = seq
            continue
        if seq > after:
            await send({"type": "websocket.send", "text": text})
            after = seq


async def _until_disconnect(receive) -> None:
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            return


async def _recheck(scope: dict) -> int:
    while True:
        await asyncio.sleep(RECHECK_SECONDS)
        code, _user = await sync_to_async(_decide)(scope, idle_counts=False)
        if code:
            return code


async def _close(send, code: int) -> None:
    with contextlib.suppress(Exception):
        await send({"type": "websocket.close", "code": code})
