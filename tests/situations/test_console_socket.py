"""The consoles' feed socket, in-process against the ASGI application: who may open it, the hello,
live rows, replay from `since`, reset when too far behind, contractors' scope, logout closing it."""

from __future__ import annotations

import asyncio
import datetime as dt
import json

import pytest
from asgiref.sync import async_to_sync, sync_to_async

from gwanje.accounts.roles import Role
from gwanje.situations.console import hub as hub_module
from gwanje.situations.console.hub import get_hub
from gwanje.situations.models import ConsoleEvent, DutyRule
from tests.situations.events import device, payload, send
from tests.video.test_live import Socket, session_cookie

pytestmark = pytest.mark.django_db


def run(coro_fn):
    async def scenario():
        try:
            return await coro_fn()
        finally:
            await get_hub().close()

    return async_to_sync(scenario)()


def opened(client, since: int | None = None, **kw) -> Socket:
    socket = Socket("/ws/console/", cookie=session_cookie(client) if client else "", **kw)
    if since is not None:
        socket.scope["query_string"] = f"since={since}".encode()
    return socket


async def texts(socket: Socket, n: int, timeout: float = 5) -> list[dict]:
    out = []
    async with asyncio.timeout(timeout):
        while len(out) < n:
            message = await socket.receive(timeout)
            assert message["type"] == "websocket.send", message
            out.append(json.loads(message["text"]))
    return out


def night():
    rule = DutyRule.objects.get(kind="bell")
    rule.day_starts = rule.day_ends = dt.time(0, 0)
    rule.save()


def test_an_agent_gets_hello_then_new_incidents_live(make_user, client_for):
    client = client_for(make_user(Role.MONITORING_AGENT))

    async def scenario():
        socket = opened(client)
        assert (await socket.connect())["type"] == "websocket.accept"
        (hello,) = await texts(socket, 1)
        assert hello["type"] == "hello"
        incident = (
            await sync_to_async(send)("bell", (await sync_to_async(device)("bell")).device_id, payload())
        )[1]
        get_hub().poke()
        (msg,) = await texts(socket, 1)
        assert msg["type"] == "incident" and msg["event"] == "created" and msg["seq"] > hello["seq"]
        assert msg["incident"]["number"] == incident.number and msg["incident"]["kind"] == "bell"
        assert "plate" not in msg["incident"] and "subject_ref" not in msg["incident"]
        await socket.disconnect()

    run(scenario)


def test_replay_from_since_and_reset_when_too_far_behind(make_user, client_for, monkeypatch):
    client = client_for(make_user(Role.POLICE_STATIONED))  # police see the same incidents (Art. 9⑤)
    first = send("bell", device("bell", 1).device_id, payload())[1]
    since = ConsoleEvent.objects.filter(incident=first).last().pk
    for n in (2, 3):
        send("bell", device("bell", n).device_id, payload())

    async def scenario():
        socket = opened(client, since=since)
        await socket.connect()
        hello, *replayed = await texts(socket, 3)
        assert hello["type"] == "hello" and [m["seq"] for m in replayed] == sorted(m["seq"] for m in replayed)
        assert all(m["seq"] > since for m in replayed) and len(replayed) == 2
        await socket.disconnect()
        monkeypatch.setattr("gwanje.situations.console.websocket.REPLAY_LIMIT", 1)
        behind = opened(client, since=since)
        await behind.connect()
        hello, reset = await texts(behind, 2)
        assert reset["type"] == "reset"
        await behind.disconnect()

    run(scenario)


def test_a_since_beyond_the_end_of_the_feed_resets(make_user, client_for):
    """A console that saw rows this database does not have (restored from a backup) reloads."""
    client = client_for(make_user(Role.MONITORING_AGENT))
    send("bell", device("bell", 5).device_id, payload())
    latest = ConsoleEvent.objects.order_by("-id").values_list("id", flat=True).first()

    async def scenario():
        ahead = opened(client, since=latest + 1000)
        await ahead.connect()
        hello, reset = await texts(ahead, 2)
        assert hello == {"type": "hello", "seq": latest} and reset["type"] == "reset"
        await ahead.disconnect()
        current = opened(client, since=latest)  # up to date: nothing to replay, no reset
        await current.connect()
        assert (await texts(current, 1))[0]["type"] == "hello"
        with pytest.raises(TimeoutError):
            await current.receive(0.5)
        await current.disconnect()

    run(scenario)


@pytest.mark.parametrize("role", [None, Role.DEPARTMENT_MANAGER])
def test_anonymous_and_roles_without_incidents_are_refused(role, make_user, client_for):
    client = client_for(make_user(role)) if role else None

    async def scenario():
        socket = opened(client)
        assert (await socket.connect())["type"] == "websocket.accept"
        closed = await socket.until_closed(5)
        assert closed["code"] == (4403 if role else 4401)

    run(scenario)


def test_another_site_cannot_open_it(make_user, client_for):
    client = client_for(make_user(Role.MONITORING_AGENT))

    async def scenario():
        socket = opened(client, origin="http://evil.example")
        closed = await socket.connect()
        assert closed == {"type": "websocket.close", "code": 1008}

    run(scenario)


def test_contractors_get_only_incidents_routed_to_maintenance(make_user, client_for):
    client = client_for(make_user(Role.CONTRACTOR))
    night()

    async def scenario():
        socket = opened(client)
        await socket.connect()
        await texts(socket, 1)
        await sync_to_async(send)(
            "bell", (await sync_to_async(device)("bell", 4)).device_id, payload()
        )  # agents
        cam = await sync_to_async(lambda: device("analytics").camera.label)()
        fault = (
            await sync_to_async(send)(
                "fault", "gwanje-recorder", payload(camera=cam, state="down", reason="timeout")
            )
        )[1]
        get_hub().poke()
        (msg,) = await texts(socket, 1)
        assert msg["incident"]["number"] == fault.number  # the night bell was not sent
        await socket.disconnect()

    run(scenario)


def test_logging_out_closes_the_feed(make_user, client_for, monkeypatch):
    monkeypatch.setattr("gwanje.situations.console.websocket.RECHECK_SECONDS", 0.2)
    client = client_for(make_user(Role.MONITORING_AGENT))

    async def scenario():
        socket = opened(client)
        await socket.connect()
        await texts(socket, 1)
        await sync_to_async(client.post)("/accounts/logout/")
        closed = await socket.until_closed(5)
        assert closed["code"] == 4401

    run(scenario)


def test_the_hub_polls_without_a_wake_up(make_user, client_for, monkeypatch):
    monkeypatch.setattr(hub_module, "POLL_SECONDS", 0.1)
    client = client_for(make_user(Role.MONITORING_AGENT))

    async def scenario():
        socket = opened(client)
        await socket.connect()
        await texts(socket, 1)
        await sync_to_async(send)("bell", (await sync_to_async(device)("bell", 6)).device_id, payload())
        (msg,) = await texts(socket, 1, timeout=3)  # no poke: the poll finds it
        assert msg["event"] == "created"
        await socket.disconnect()

    run(scenario)
