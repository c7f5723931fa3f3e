"""Live view: the fMP4 relay against the real camera simulator and ffmpeg, the live socket's
authorization (session, second factor, police grants, access log), the wall pages and the
wall-layout API.

The socket tests drive gwanje.asgi.application in-process (an ASGI WebSocket conversation), inside
`async_to_sync` so that the handler's database calls run on the test's own connection."""

from __future__ import annotations

import asyncio
import contextlib
import os
import struct
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.conf import settings
from django.test import Client

from gwanje.accounts.roles import Role
from gwanje.audit.models import AccessLog
from gwanje.registry import services as registry
from gwanje.registry.models import Camera
from gwanje.video.live import command, mp4
from gwanje.video.live import websocket as live_ws
from gwanje.video.live.relay import Relay, Viewer, get_relay
from gwanje.video.models import WallLayout

TIMEOUT = 20.0  # seconds to wait for the first video from a simulated camera


# --- helpers ----------------------------------------------------------------------------------------
def ffmpeg_children() -> list[tuple[int, str]]:
    """(pid, state) of this process's ffmpeg children (the relay's upstreams)."""
    me = os.getpid()
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        if comm == "ffmpeg" and int(fields[1]) == me:
            out.append((int(entry.name), fields[0]))
    return out


async def wait_for(predicate, timeout: float, step: float = 0.1) -> bool:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        if predicate():
            return True
        await asyncio.sleep(step)
    return predicate()


async def first_fragments(viewer: Viewer, count: int) -> tuple[str, bytes, list]:
    """Read (codec, init, [fragment messages]) from a viewer."""
    codec, init, fragments = "", b"", []
    async with asyncio.timeout(TIMEOUT):
        while len(fragments) < count:
            message = await viewer.get()
            if message.kind == "text" and not message.payload.startswith("status:"):
                codec, init, fragments = message.payload, b"", []
            elif message.kind == "init":
                init = message.payload
            elif message.kind == "fragment":
                fragments.append(message)
    return codec, init, fragments


def box_types(data: bytes) -> list[bytes]:
    return [kind for kind, _start, _end in mp4.iter_boxes(data)]


class Socket:
    """One in-process WebSocket conversation with the ASGI application."""

    def __init__(self, path: str, *, cookie: str = "", origin: str = "http://testserver") -> None:
        headers = [(b"host", b"testserver"), (b"user-agent", b"pytest")]
        if origin:
            headers.append((b"origin", origin.encode()))
        if cookie:
            headers.append((b"cookie", cookie.encode()))
        self.scope = {
            "type": "websocket",
            "asgi": {"version": "3.0"},
            "scheme": "ws",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "headers": headers,
            "client": ("127.0.0.1", 50000),
            "server": ("testserver", 80),
            "subprotocols": [],
        }
        self.incoming: asyncio.Queue = asyncio.Queue()
        self.outgoing: asyncio.Queue = asyncio.Queue()
        self.task: asyncio.Task | None = None

    async def connect(self) -> dict:
        from gwanje.asgi import application

        self.task = asyncio.create_task(application(self.scope, self.incoming.get, self.outgoing.put))
        await self.incoming.put({"type": "websocket.connect"})
        return await self.receive()

    async def receive(self, timeout: float = TIMEOUT) -> dict:
        return await asyncio.wait_for(self.outgoing.get(), timeout)

    async def until_video(self, fragments: int = 2) -> tuple[str, bytes, list[bytes]]:
        codec, init, frags = "", b"", []
        async with asyncio.timeout(TIMEOUT):
            while len(frags) < fragments:
                message = await self.receive()
                assert message["type"] == "websocket.send", message
                if message.get("text") is not None:
                    if not message["text"].startswith("status:"):
                        codec = message["text"]
                elif not init:
                    init = message["bytes"]
                else:
                    frags.append(message["bytes"])
        return codec, init, frags

    async def until_closed(self, timeout: float) -> dict:
        async with asyncio.timeout(timeout):
            while True:
                message = await self.receive(timeout)
                if message["type"] == "websocket.close":
                    return message

    async def disconnect(self) -> None:
        await self.incoming.put({"type": "websocket.disconnect", "code": 1000})
        if self.task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(self.task, 10)


def session_cookie(client: Client) -> str:
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


def in_new_loop(coro_fn):
    """asyncio.run in a thread of its own (the test thread may already run a loop: Playwright's)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro_fn()).result()


def run(coro_fn, *args):
    """Run an async scenario and stop the relay's upstreams of its loop afterwards."""

    async def scenario():
        try:
            return await coro_fn(*args)
        finally:
            await get_relay().close()

    return async_to_sync(scenario)()


@pytest.fixture
def camera(db, simulator):
    cam = Camera.objects.select_related("site").order_by("pk").first()
    cam.main_stream_url = simulator.url(1)
    cam.sub_stream_url = simulator.url(1, stream="sub")
    return registry.save_camera(cam)


def live_records(user) -> list[tuple[str, str]]:
    records = AccessLog.objects.filter(username=user.username, subject_type="camera")
    return list(records.values_list("result", "reason"))


# --- the box parser and the command ------------------------------------------------------------------
def test_box_reader_splits_any_chunking_and_refuses_garbage():
    boxes = b"".join(struct.pack(">I4s", 8 + n, kind) + bytes(n) for kind, n in [(b"ftyp", 4), (b"moov", 20)])
    boxes += struct.pack(">I4sQ", 1, b"mdat", 16 + 3) + b"abc"  # 64-bit size
    for size in (1, 3, 7, 100):
        reader = mp4.BoxReader()
        got = [b.type for i in range(0, len(boxes), size) for b in reader.feed(boxes[i : i + size])]
        assert got == [b"ftyp", b"moov", b"mdat"] and reader.pending == 0
    with pytest.raises(mp4.Mp4Error):
        list(mp4.BoxReader().feed(struct.pack(">I4s", 3, b"moof")))
    with pytest.raises(mp4.Mp4Error):
        list(mp4.BoxReader(max_box=1000).feed(struct.pack(">I4s", 5000, b"mdat")))
    with pytest.raises(mp4.Mp4Error):
        mp4.codec_string(struct.pack(">I4s", 8, b"moov"))
    trun = struct.pack(">I4sI", 12, b"trun", 0x04)  # says first-sample flags follow; they do not
    traf = struct.pack(">I4s", 8 + len(trun), b"traf") + trun
    with pytest.raises(mp4.Mp4Error):
        mp4.starts_with_sync_sample(struct.pack(">I4s", 8 + len(traf), b"moof") + traf)


def test_live_argv_copies_the_video_and_refuses_other_urls():
    argv = command.live_argv(command.LiveConfig(url="rtsp://admin:s3cret@10.0.0.5/stream1", fragment_ms=200))
    assert argv[0] == "ffmpeg" and argv[argv.index("-i") + 1] == "rtsp://admin:s3cret@10.0.0.5/stream1"
    assert argv[argv.index("-c") + 1] == "copy" and argv[argv.index("-map") + 1] == "0:v:0"
    assert (
        argv[argv.index("-rtsp_transport") + 1] == "tcp"
        and argv[argv.index("-frag_duration") + 1] == "200000"
    )
    assert "+frag_keyframe+empty_moov+default_base_moof" in argv and argv[-1] == "pipe:1"
    for bad in ["", "file:///etc/passwd", "-i", "http://cam/x", "rtsp://", "rtsp://host/a b"]:
        with pytest.raises(command.BadStreamURL):
            command.live_argv(command.LiveConfig(url=bad))
    redact = command.redactor("rtsp://admin:s3cret@10.0.0.5/stream1")
    line = redact("rtsp://admin:s3cret@10.0.0.5/stream1: 401 Unauthorized (s3cret)")
    assert "s3cret" not in line and "admin:***@10.0.0.5" in line


def test_a_slow_viewer_is_skipped_ahead_to_a_keyframe_not_buffered_without_bound():
    async def scenario():
        viewer = Viewer(max_bytes=10_000, max_fragments=3)
        viewer.start("avc1.640028", b"init")
        viewer.fragment(b"p" * 10, key=False)  # a new viewer waits for a keyframe
        for i in range(21):  # keyframes at 0, 5, 10, 15, 20; the queue overflows at 3, 8, 13, 18
            viewer.fragment(bytes([i]) * 100, key=i % 5 == 0)
            assert viewer.queued_bytes <= 10_000 and viewer._fragments <= 3
        assert viewer.skips > 0
        got = [await asyncio.wait_for(viewer.get(), 1) for _ in range(3)]
        assert [m.kind for m in got] == ["text", "init", "fragment"]
        assert got[2].key and got[2].payload == bytes([20]) * 100

    in_new_loop(scenario)


# --- the relay against the simulator ------------------------------------------------------------------
def test_relay_sends_codec_and_init_then_fragments_starting_at_a_keyframe(simulator, tmp_path):
    async def scenario():
        relay = Relay(linger=1)
        viewer = relay.subscribe(1, "main", simulator.url(1))
        try:
            codec, init, fragments = await first_fragments(viewer, 6)
        finally:
            relay.unsubscribe(viewer)
            await relay.close()
        return codec, init, fragments

    codec, init, fragments = in_new_loop(scenario)
    assert codec.startswith(("avc1.", "avc3.")) and len(codec) == 11
    assert box_types(init) == [b"ftyp", b"moov"] and mp4.codec_string(init) == codec
    assert fragments[0].key
    for message in fragments:
        assert box_types(message.payload) == [b"moof", b"mdat"]
    # What a browser receives is decodable video: ffprobe reads frames from init + fragments.
    path = tmp_path / "live.mp4"
    path.write_bytes(init + b"".join(m.payload for m in fragments))
    probe = subprocess.run(
        ["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries",
         "stream=codec_name,nb_read_frames", "-of", "csv=p=0", str(path)],
        capture_output=True, text=True, check=True, timeout=30,
    )  # fmt: skip
    name, frames = probe.stdout.strip().split(",")
    assert name == "h264" and int(frames) > 0


def test_one_upstream_for_two_viewers_stopped_after_the_last_leaves(simulator):
    async def scenario():
        relay = Relay(linger=1)
        url = simulator.url(2)
        try:
            a = relay.subscribe(2, "main", url)
            b = relay.subscribe(2, "main", url)
            await first_fragments(a, 2)
            await first_fragments(b, 2)
            assert len(ffmpeg_children()) == 1 and len(relay.upstreams) == 1
            late = relay.subscribe(2, "main", url)  # joins the running upstream: init and the
            assert late.started and late._fragments >= 1  # fragments since the last keyframe at once
            codec, _init, frags = await first_fragments(late, 1)
            assert codec and frags[0].key and len(ffmpeg_children()) == 1
            relay.unsubscribe(a)
            relay.unsubscribe(late)
            await first_fragments(b, 2)  # the remaining viewer still gets video
            relay.unsubscribe(b)
            assert len(ffmpeg_children()) == 1  # lingers for a reload
            assert await wait_for(lambda: not ffmpeg_children(), timeout=10)
            assert not relay.upstreams
        finally:
            await relay.close()

    in_new_loop(scenario)
    assert ffmpeg_children() == []  # reaped: no zombie left behind


# --- the live socket: who may watch --------------------------------------------------------------------
def test_an_agent_watches_live_video_and_the_view_is_logged(agent, client_for, camera):
    cookie = session_cookie(client_for(agent))

    async def scenario():
        socket = Socket(f"/ws/live/{camera.pk}/sub/", cookie=cookie)
        assert (await socket.connect())["type"] == "websocket.accept"
        codec, init, frags = await socket.until_video(2)
        await socket.disconnect()
        return codec, init, frags

    codec, init, frags = run(scenario)
    assert mp4.codec_string(init) == codec and box_types(frags[0]) == [b"moof", b"mdat"]
    assert live_records(agent) == [("allowed", "video.live (role)")]
    record = AccessLog.objects.get(username=agent.username, subject_type="camera")
    assert (record.ip, record.user_agent, record.action) == ("127.0.0.1", "pytest", "view")


def test_logging_out_closes_an_open_socket(agent, client_for, camera):
    client = client_for(agent)
    cookie = session_cookie(client)

    async def scenario():
        socket = Socket(f"/ws/live/{camera.pk}/sub/", cookie=cookie)
        assert (await socket.connect())["type"] == "websocket.accept"
        await socket.until_video(1)
        await sync_to_async(client.post)("/accounts/logout/")
        closed = await socket.until_closed(live_ws.RECHECK_SECONDS + 3)
        await socket.disconnect()
        return closed

    assert run(scenario)["code"] == 4401


@pytest.mark.parametrize("who", ["anonymous", "unverified"])
def test_anonymous_and_unverified_sessions_are_refused(who, agent, camera):
    client = Client()
    if who == "unverified":
        client.force_login(agent)  # password given, second factor not
    cookie = session_cookie(client) if who == "unverified" else ""

    async def scenario():
        socket = Socket(f"/ws/live/{camera.pk}/main/", cookie=cookie)
        assert (await socket.connect())["type"] == "websocket.accept"
        closed = await socket.receive()
        await socket.disconnect()
        return closed

    closed = run(scenario)
    assert closed["type"] == "websocket.close" and closed["code"] == 4401
    assert AccessLog.objects.filter(subject_type="camera").count() == 0
    assert ffmpeg_children() == []


def test_a_handshake_from_another_site_is_refused(agent, client_for, camera):
    cookie = session_cookie(client_for(agent))

    async def scenario():
        results = []
        for origin in ["https://evil.example", ""]:
            socket = Socket(f"/ws/live/{camera.pk}/main/", cookie=cookie, origin=origin)
            results.append(await socket.connect())
            await socket.disconnect()
        return results

    for message in run(scenario):
        assert message["type"] == "websocket.close"  # before accept: HTTP 403
    assert AccessLog.objects.filter(subject_type="camera").count() == 0


def test_unknown_camera_or_path_or_camera_without_stream(agent, client_for, camera):
    cookie = session_cookie(client_for(agent))
    bare = Camera.objects.exclude(pk=camera.pk).filter(main_stream_url="", sub_stream_url="").first()

    async def scenario():
        codes = []
        for path in [f"/ws/live/{10**12}/main/", f"/ws/live/{bare.pk}/main/"]:
            socket = Socket(path, cookie=cookie)
            assert (await socket.connect())["type"] == "websocket.accept"
            codes.append((await socket.receive())["code"])
            await socket.disconnect()
        for path in [f"/ws/live/{camera.pk}/hd/", "/ws/other/"]:
            socket = Socket(path, cookie=cookie)
            codes.append((await socket.connect())["type"])
            await socket.disconnect()
        return codes

    assert run(scenario) == [4404, 4404, "websocket.close", "websocket.close"]


def test_police_without_a_grant_are_refused_and_logged(police_officer, client_for, camera):
    cookie = session_cookie(client_for(police_officer))

    async def scenario():
        socket = Socket(f"/ws/live/{camera.pk}/main/", cookie=cookie)
        assert (await socket.connect())["type"] == "websocket.accept"
        closed = await socket.receive()
        await socket.disconnect()
        return closed

    closed = run(scenario)
    assert closed["type"] == "websocket.close" and closed["code"] == 4403
    assert live_records(police_officer) == [("denied", "video.live (no_grant)")]
    assert ffmpeg_children() == []


def test_police_with_a_grant_watch_until_the_grant_is_revoked(police_officer, agent, client_for, camera):
    from gwanje.situations import services as situations

    lon, lat = camera.point.coords
    incident = situations.open_incident(user=agent, title="비상벨 호출", lon=lon, lat=lat)
    grant = situations.create_grant(user=police_officer, incident=incident, reason="112 신고 현장 확인")
    assert grant.cameras.filter(pk=camera.pk).exists()
    cookie = session_cookie(client_for(police_officer))

    async def scenario():
        socket = Socket(f"/ws/live/{camera.pk}/main/", cookie=cookie)
        assert (await socket.connect())["type"] == "websocket.accept"
        await socket.until_video(1)
        await sync_to_async(situations.revoke_grant)(actor=police_officer, grant=grant, reason="종결")
        closed = await socket.until_closed(live_ws.RECHECK_SECONDS + 3)
        await socket.disconnect()
        return closed

    closed = run(scenario)
    assert closed["code"] == 4403
    records = AccessLog.objects.filter(username=police_officer.username, subject_type="camera")
    assert [(r.result, r.reason) for r in records] == [("allowed", "video.live (grant)")]
    assert f"grant:{grant.pk}" in records[0].legal_basis and f"camera:{camera.pk}" in records[0].subject


# --- pages and the wall-layout API ------------------------------------------------------------------------
def test_wall_and_live_pages(agent, client_for, make_user, camera):
    client = client_for(agent)
    page = client.get(f"/video/wall/?camera={camera.pk}")
    assert page.status_code == 200
    config = page.context["config"]
    assert config["addCamera"]["id"] == camera.pk and config["addCamera"]["live"] is True
    assert config["layoutsUrl"] == "/api/v1/wall-layouts/"
    assert client.get("/video/wall/?camera=abc").status_code == 200  # ignored, no 500
    assert client.get(f"/video/wall/?camera={10**12}").context["missing_camera"]
    live = client.get(f"/video/live/{camera.pk}/")
    assert live.status_code == 200 and f'data-camera="{camera.pk}"' in live.content.decode()
    assert client.get(f"/video/live/{10**12}/").status_code == 404
    contractor = client_for(make_user(Role.CONTRACTOR))
    assert contractor.get("/video/wall/").status_code == 403
    assert contractor.get(f"/video/live/{camera.pk}/").status_code == 403
    card = client.get(f"/registry/cameras/{camera.pk}/").content.decode()
    assert f'href="/video/wall/?camera={camera.pk}"' in card and f'href="/video/live/{camera.pk}/"' in card


def test_wall_camera_lookup(agent, client_for, camera):
    client = client_for(agent)
    rows = client.get("/video/wall/cameras/", {"q": camera.site.code}).json()["results"]
    assert rows[0]["id"] == camera.pk and rows[0]["live"] and rows[0]["label"] == str(camera)
    assert all(camera.site.code in r["label"] for r in rows)
    assert client.get("/video/wall/cameras/", {"ids": f"{camera.pk},x"}).status_code == 400
    assert client.get("/video/wall/cameras/", {"ids": ",".join(["1"] * 17)}).status_code == 400
    got = client.get("/video/wall/cameras/", {"ids": f"{camera.pk}"}).json()["results"]
    assert [r["id"] for r in got] == [camera.pk]


def test_wall_layouts_are_per_user(agent, make_user, client_for, camera):
    client = client_for(agent)
    url = "/api/v1/wall-layouts/"
    made = client.post(
        url, {"name": " 야간  감시 ", "grid": 4, "cells": [camera.pk, None]}, "application/json"
    )
    assert made.status_code == 201, made.json()
    body = made.json()
    assert body["name"] == "야간 감시" and body["cells"] == [camera.pk, None, None, None]
    layout_id = body["id"]
    other = client_for(make_user(Role.MONITORING_AGENT))
    assert other.get(url).json() == []
    assert other.get(f"{url}{layout_id}/").status_code == 404
    assert other.delete(f"{url}{layout_id}/").status_code == 404
    changed = client.patch(f"{url}{layout_id}/", {"grid": 1}, "application/json")
    assert changed.status_code == 200 and changed.json()["cells"] == [camera.pk]
    replaced = client.put(
        f"{url}{layout_id}/", {"name": "야간 감시", "grid": 9, "cells": [None, camera.pk]}, "application/json"
    )
    assert replaced.status_code == 200 and replaced.json()["cells"][1] == camera.pk
    assert [row["name"] for row in client.get(url).json()] == ["야간 감시"]
    assert client.delete(f"{url}{layout_id}/").status_code == 204
    assert not WallLayout.objects.filter(pk=layout_id).exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "a", "grid": 6, "cells": []}, "grid"),
        ({"name": "a", "grid": 1, "cells": [1, 2]}, "cells"),
        ({"name": "a", "grid": 4, "cells": [10**12]}, "cells"),
        ({"name": "a", "grid": 4, "cells": ["x"]}, "cells"),
        ({"name": "", "grid": 4, "cells": []}, "name"),
        ({"name": "a" * 61, "grid": 4, "cells": []}, "name"),
        ({"grid": 4}, "name"),
    ],
)
def test_wall_layout_bad_input_is_a_clear_400(agent, client_for, body, field):
    response = client_for(agent).post("/api/v1/wall-layouts/", body, "application/json")
    assert response.status_code == 400
    assert field in [e["field"] for e in response.json()["errors"]]


def test_wall_layout_names_are_unique_per_user_and_contractors_have_none(agent, make_user, client_for):
    client = client_for(agent)
    body = {"name": "주간", "grid": 4, "cells": []}
    assert client.post("/api/v1/wall-layouts/", body, "application/json").status_code == 201
    again = client.post("/api/v1/wall-layouts/", body, "application/json")
    assert again.status_code == 400 and again.json()["errors"][0]["field"] == "name"
    someone_else = client_for(make_user(Role.MONITORING_AGENT))
    assert someone_else.post("/api/v1/wall-layouts/", body, "application/json").status_code == 201
    contractor = client_for(make_user(Role.CONTRACTOR))
    assert contractor.get("/api/v1/wall-layouts/").status_code == 403
    assert Client().get("/api/v1/wall-layouts/").status_code == 401


def test_a_camera_that_drops_out_is_reported_and_its_video_resumes(simulator):
    async def scenario():
        relay = Relay(linger=1)
        viewer = relay.subscribe(3, "sub", simulator.url(3, "sub"))
        try:
            await first_fragments(viewer, 1)
            await asyncio.to_thread(simulator.stop, 3)
            words = set()
            async with asyncio.timeout(TIMEOUT):
                while "unavailable" not in words:  # the session ended, reconnects are refused (404)
                    message = await viewer.get()
                    if message.kind == "text" and message.payload.startswith("status:"):
                        words.add(message.payload[7:])
            await asyncio.to_thread(simulator.resume, 3)
            codec, init, fragments = await first_fragments(viewer, 2)  # a new codec + init, then video
            upstream = relay.upstream_for(3, "sub")
            return words, codec, init, fragments, upstream.stats.runs, list(upstream.stats.stderr)
        finally:
            relay.unsubscribe(viewer)
            await relay.close()

    words, codec, init, fragments, runs, stderr = in_new_loop(scenario)
    assert "reconnecting" in words and runs >= 3
    assert mp4.codec_string(init) == codec and fragments[0].key
    assert stderr and not any(simulator.password in line for line in stderr)  # credentials redacted
