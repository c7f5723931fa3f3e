"""Playback of recorded video: the HLS VOD playlist built from the segment index, segment serving
with byte ranges, the recordings API (ranges and gaps), access control and the access log (police
only under a grant, for its window), snapshots and clip downloads — over real fMP4 segments made
with ffmpeg (tests/video/segments.py)."""

from __future__ import annotations

import datetime as dt
import json
import re
import socket
import subprocess
import threading
from pathlib import Path

import pytest
from django.utils import timezone, translation

from gwanje.accounts.roles import Role
from gwanje.audit.models import AccessLog
from gwanje.registry.models import Camera
from gwanje.situations import services as situations
from gwanje.video import playback, snapshots
from gwanje.video.models import RecordingGap, Segment
from gwanje.video.storage import default_store
from gwanje.video.views_playback import parse_range
from tests.video.segments import index_clip, probe_duration, shared_clip

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.video.urls_playback_test")]
API = "/api/v1/cameras/{}/recordings/"
UTC = dt.UTC
S = dt.timedelta(seconds=1)


@pytest.fixture(autouse=True)
def english():
    """Messages are asserted in English (the msgids): pages and API answer in English here."""
    with translation.override("en"):
        yield


@pytest.fixture
def client_for(client_for):
    def make(user):
        client = client_for(user)
        client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
        return client

    return make


def iso(t: dt.datetime) -> str:
    return t.astimezone(dt.timezone(dt.timedelta(hours=9))).isoformat()


def body(response) -> bytes:
    """The whole body (the test client closes a streamed response once it is read to the end)."""
    return b"".join(response.streaming_content) if response.streaming else response.content


# --- a recorded camera ----------------------------------------------------------------------------


class Recorded:
    """Camera 1: session A [t0, t0+10 s), session B [t0+10, t0+20) (a session break without a gap),
    then B again [t0+40, t0+50) after a 20 s gap the recorder noted as a stall. 2 s segments."""

    def __init__(self, camera, t0):
        self.camera, self.t0 = camera, t0
        clip = shared_clip()
        self.clip = clip
        self.a, self.seg_a = index_clip(camera, clip, start=t0, first=0, count=5)
        self.b, self.seg_b1 = index_clip(camera, clip, start=t0 + 10 * S, first=5, count=5)
        _b, self.seg_b2 = index_clip(camera, clip, start=t0 + 40 * S, first=10, count=5, session=self.b)
        RecordingGap.objects.create(camera=camera, start=t0 + 20 * S, end=t0 + 40 * S, reason="stalled")
        self.segments = [*self.seg_a, *self.seg_b1, *self.seg_b2]

    @property
    def end(self):
        return self.segments[-1].end


@pytest.fixture
def recorded(settings, tmp_path):
    settings.VIDEO_DIR = tmp_path
    camera = Camera.objects.select_related("site").order_by("pk").first()
    t0 = (timezone.now() - dt.timedelta(hours=1)).replace(microsecond=0)
    return Recorded(camera, t0)


@pytest.fixture
def supervisor(make_user):
    return make_user(Role.SUPERVISOR)


def playlist_url(rec, start, end):
    return f"/video/playback/{rec.camera.pk}/index.m3u8?start={iso(start)}&end={iso(end)}".replace("+", "%2B")


def parse_m3u8(text: str) -> list[dict]:
    """The playlist's media entries: uri, duration, pdt, map (init URI in force), discontinuity before."""
    entries, pending, current_map = [], {}, None
    for line in text.splitlines():
        if line.startswith("#EXT-X-MAP:"):
            current_map = re.search(r'URI="([^"]+)"', line).group(1)
        elif line == "#EXT-X-DISCONTINUITY":
            pending["discontinuity"] = True
        elif line.startswith("#EXT-X-PROGRAM-DATE-TIME:"):
            pending["pdt"] = dt.datetime.fromisoformat(line.split(":", 1)[1].replace("Z", "+00:00"))
        elif line.startswith("#EXTINF:"):
            pending["duration"] = float(line[8:].rstrip(","))
        elif line and not line.startswith("#"):
            entries.append({"uri": line, "map": current_map, "discontinuity": False, **pending})
            pending = {}
    return entries


# --- pure parts -----------------------------------------------------------------------------------


def test_times_need_an_offset_and_a_lost_plus_is_taken_back():
    t = playback.parse_time("2026-11-24T09:30:00+09:00", "t")
    assert t == dt.datetime(2026, 11, 24, 0, 30, tzinfo=UTC)
    assert playback.parse_time("2026-11-24T00:30:00Z", "t") == t
    assert playback.parse_time("2026-11-24T09:30:00 09:00", "t") == t  # "+" unescaped in a query
    for bad, words in [
        ("2026-11-24T09:30:00", "offset"),
        ("yesterday", "ISO 8601"),
        ("", "Give a time"),
        ("1900-01-01T00:00:00Z", "out of range"),
    ]:
        with pytest.raises(playback.WindowError, match=words) as err:
            playback.parse_time(bad, "start")
        assert err.value.field == "start"


def test_windows_default_and_limits():
    now = dt.datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
    day, week = playback.API_DEFAULT_RANGE, playback.API_MAX_RANGE
    assert playback.window(None, None, default=day, maximum=week, now=now) == (now - day, now)
    start = now - dt.timedelta(days=3)
    assert playback.window(iso(start), None, default=day, maximum=week, now=now) == (start, start + day)
    with pytest.raises(playback.WindowError, match="after the start"):
        playback.window(iso(now), iso(now), default=day, maximum=week)
    with pytest.raises(playback.WindowError, match="7 days"):
        playback.window(iso(now - 8 * day), iso(now), default=day, maximum=week)
    with pytest.raises(playback.WindowError, match="Give a time") as err:
        playback.window(iso(now), None, default=day, maximum=week, required=True)
    assert err.value.field == "end"


def test_ranges_merge_within_half_a_second_and_gaps_take_the_recorders_reason():
    t = dt.datetime(2026, 1, 1, tzinfo=UTC)
    ranges = playback.merge_ranges(
        [(t + 2.3 * S, t + 4 * S), (t, t + 2 * S), (t + 10 * S, t + 12 * S), (t + 11 * S, t + 13 * S)]
    )
    assert [(r.start, r.end) for r in ranges] == [(t, t + 4 * S), (t + 10 * S, t + 13 * S)]
    known = [playback.Span(t + 5 * S, t + 9 * S, "timeout")]
    gaps = playback.find_gaps(ranges, t - 5 * S, t + 20 * S, known)
    assert [(g.start, g.end, g.reason) for g in gaps] == [
        (t - 5 * S, t, ""),
        (t + 4 * S, t + 10 * S, "timeout"),
        (t + 13 * S, t + 20 * S, ""),
    ]


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("bytes=0-99", (0, 99)),
        ("bytes=100-", (100, 999)),
        ("bytes=-10", (990, 999)),
        ("bytes=990-5000", (990, 999)),
        ("bytes=1000-", False),
        ("bytes=5-2", None),
        ("bytes=0-1,5-6", None),
        ("items=0-1", None),
        ("", None),
    ],
)
def test_range_headers(header, expected):
    assert parse_range(header, 1000) == expected


# --- the playlist ---------------------------------------------------------------------------------


def test_playlist_maps_sessions_marks_breaks_and_gaps_and_carries_stream_time(recorded, client_for, agent):
    rec = recorded
    before = AccessLog.objects.count()
    r = client_for(agent).get(playlist_url(rec, rec.t0 - 5 * S, rec.end + 5 * S))
    assert r.status_code == 200, r.content
    assert r["Content-Type"] == "application/vnd.apple.mpegurl"
    text = r.content.decode()
    lines = text.splitlines()
    assert lines[:2] == ["#EXTM3U", "#EXT-X-VERSION:7"] and lines[-1] == "#EXT-X-ENDLIST"
    assert "#EXT-X-PLAYLIST-TYPE:VOD" in lines
    target = int(next(ln for ln in lines if ln.startswith("#EXT-X-TARGETDURATION:")).split(":")[1])
    entries = parse_m3u8(text)
    assert [e["uri"] for e in entries] == [f"seg/{s.pk}.m4s" for s in rec.segments]
    for entry, seg in zip(entries, rec.segments, strict=True):
        assert entry["pdt"] == seg.start  # stream time of each segment
        assert entry["duration"] == pytest.approx((seg.end - seg.start).total_seconds(), abs=0.001)
        assert round(entry["duration"]) <= target
    # one EXT-X-MAP per session, with its init segment
    assert text.count("#EXT-X-MAP:") == 2
    assert entries[0]["map"].startswith(f"init/{rec.a.pk}.mp4?") and entries[5]["map"].startswith(
        f"init/{rec.b.pk}.mp4?"
    )
    # discontinuities exactly at the session break (A→B) and at the gap inside B
    assert [i for i, e in enumerate(entries) if e["discontinuity"]] == [5, 10]
    # opening the playback is one access-log record
    assert AccessLog.objects.count() == before + 1
    log = AccessLog.objects.latest("seq")
    assert (log.action, log.result, log.subject_type) == ("view", "allowed", "camera")
    assert f"camera:{rec.camera.pk}" in log.subject and "video.playback" in log.reason


def test_playlist_window_clips_and_refuses_bad_input(recorded, client_for, agent):
    rec = recorded
    client = client_for(agent)
    r = client.get(playlist_url(rec, rec.t0 + 41 * S, rec.t0 + 45 * S))
    entries = parse_m3u8(r.content.decode())
    assert [e["uri"] for e in entries] == [f"seg/{s.pk}.m4s" for s in rec.seg_b2[:3]]  # overlapping ones
    assert not any(e["discontinuity"] for e in entries)
    assert client.get(playlist_url(rec, rec.t0 + 21 * S, rec.t0 + 39 * S)).status_code == 404  # the gap
    bad = client.get(f"/video/playback/{rec.camera.pk}/index.m3u8?start=soon")
    assert bad.status_code == 400 and "ISO 8601" in bad.content.decode()
    too_long = client.get(playlist_url(rec, rec.t0 - dt.timedelta(days=2), rec.t0))
    assert too_long.status_code == 400
    future = client.get(playlist_url(rec, timezone.now() + S * 60, timezone.now() + S * 120))
    assert future.status_code == 400
    assert (
        client.get(playlist_url(rec, rec.t0, rec.end).replace(f"/{rec.camera.pk}/", "/99999999/")).status_code
        == 404
    )


# --- init and media segments ----------------------------------------------------------------------


def test_segments_are_served_whole_and_by_range_without_a_log_record(recorded, client_for, agent):
    rec = recorded
    client = client_for(agent)
    store = default_store()
    seg = rec.seg_b1[1]
    data = store.local_path(seg.key).read_bytes()
    before = AccessLog.objects.count()
    base = f"/video/playback/{rec.camera.pk}/seg/{seg.pk}.m4s"

    r = client.get(base)
    assert r.status_code == 200 and r["Accept-Ranges"] == "bytes" and body(r) == data
    assert int(r["Content-Length"]) == len(data) == seg.bytes

    r = client.get(base, HTTP_RANGE="bytes=100-299")
    assert r.status_code == 206 and r["Content-Range"] == f"bytes 100-299/{len(data)}"
    assert r["Content-Length"] == "200" and body(r) == data[100:300]
    r = client.get(base, HTTP_RANGE="bytes=-50")
    assert r.status_code == 206 and body(r) == data[-50:]
    r = client.get(base, HTTP_RANGE=f"bytes={len(data)}-")
    assert r.status_code == 416 and r["Content-Range"] == f"bytes */{len(data)}"

    r = client.get(
        f"/video/playback/{rec.camera.pk}/init/{rec.b.pk}.mp4?start={iso(rec.t0)}&end={iso(rec.end)}".replace(
            "+", "%2B"
        )
    )
    assert r.status_code == 200 and body(r) == store.local_path(rec.b.init_key).read_bytes()
    assert AccessLog.objects.count() == before  # only the playlist is logged

    other = Camera.objects.exclude(pk=rec.camera.pk).order_by("pk").first()
    assert client.get(f"/video/playback/{other.pk}/seg/{seg.pk}.m4s").status_code == 404
    assert client.get(f"/video/playback/{rec.camera.pk}/seg/99999999.m4s").status_code == 404
    huge = 10**30
    for url in [
        f"/video/playback/{huge}/",
        f"/video/playback/{huge}/index.m3u8",
        f"/video/playback/{rec.camera.pk}/seg/{huge}.m4s",
        f"/video/playback/{rec.camera.pk}/init/{huge}.mp4",
    ]:
        assert client.get(url).status_code == 404, url
    assert (
        client.get(f"/video/playback/{rec.camera.pk}/init/{rec.b.pk}.mp4").status_code == 200
    )  # default window
    assert client.get(f"/video/playback/{rec.camera.pk}/init/{rec.b.pk}.mp4?start=x").status_code == 400


def test_concatenated_init_and_segments_decode_as_video(recorded, tmp_path):
    """What the browser gets for session B (init + its segments) is valid H.264 of the right length."""
    rec = recorded
    store = default_store()
    parts = [store.local_path(rec.b.init_key), *(store.local_path(s.key) for s in rec.seg_b1)]
    out = tmp_path / "b.mp4"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-i", "concat:" + "|".join(map(str, parts)), "-c", "copy", str(out)],
        check=True,
        timeout=60,
    )
    assert probe_duration(out) == pytest.approx(10, abs=0.3)


# --- access control -------------------------------------------------------------------------------


def test_police_without_a_grant_are_refused_and_the_refusal_is_logged(recorded, client_for, police_officer):
    rec = recorded
    client = client_for(police_officer)
    r = client.get(playlist_url(rec, rec.t0, rec.end))
    assert r.status_code == 403 and "grant" in r.content.decode()
    log = AccessLog.objects.latest("seq")
    assert (log.username, log.result, log.action) == (police_officer.username, "denied", "view")
    assert f"camera:{rec.camera.pk}" in log.subject
    before = AccessLog.objects.count()
    seg = rec.segments[0]
    assert client.get(f"/video/playback/{rec.camera.pk}/seg/{seg.pk}.m4s").status_code == 403
    assert AccessLog.objects.count() == before  # segments: refused, not logged one by one


def test_police_with_a_grant_see_its_window_only(recorded, client_for, police_officer, agent):
    rec = recorded
    lon, lat = rec.camera.point.coords
    incident = situations.open_incident(user=agent, title="비상벨 호출", lon=lon, lat=lat)
    start, end = rec.t0 + 10 * S, rec.t0 + 45 * S
    grant = situations.create_grant(
        user=police_officer,
        incident=incident,
        reason="112 신고 현장 확인",
        window_start=start,
        window_end=end,
    )
    assert grant.cameras.filter(pk=rec.camera.pk).exists()
    client = client_for(police_officer)

    r = client.get(playlist_url(rec, start, end))
    assert r.status_code == 200
    uris = [e["uri"] for e in parse_m3u8(r.content.decode())]
    inside = [s for s in rec.segments if s.start >= start and s.end <= end]
    assert uris == [f"seg/{s.pk}.m4s" for s in inside]  # whole segments inside the grant's window only
    log = AccessLog.objects.latest("seq")
    assert log.result == "allowed" and f"grant:{grant.pk}" in log.legal_basis
    for seg in inside:
        assert client.get(f"/video/playback/{rec.camera.pk}/seg/{seg.pk}.m4s").status_code == 200
    outside = rec.seg_a[0]
    assert client.get(f"/video/playback/{rec.camera.pk}/seg/{outside.pk}.m4s").status_code == 403
    init = f"/video/playback/{rec.camera.pk}/init/{rec.b.pk}.mp4?start={{}}&end={{}}"
    assert client.get(init.format(iso(start), iso(end)).replace("+", "%2B")).status_code == 200
    assert client.get(init.format(iso(rec.t0), iso(end)).replace("+", "%2B")).status_code == 403

    r = client.get(playlist_url(rec, rec.t0, rec.end))  # wider than the grant
    assert r.status_code == 403
    assert AccessLog.objects.latest("seq").result == "denied"


def test_roles_without_playback_and_anonymous_users_get_nothing(recorded, client_for, make_user):
    rec = recorded
    contractor = client_for(make_user(Role.CONTRACTOR))
    seg = rec.segments[0]
    urls = [
        f"/video/playback/{rec.camera.pk}/",
        playlist_url(rec, rec.t0, rec.end),
        f"/video/playback/{rec.camera.pk}/seg/{seg.pk}.m4s",
        f"/video/playback/{rec.camera.pk}/init/{rec.a.pk}.mp4",
        f"/video/snapshot/{rec.camera.pk}/?t={iso(rec.t0)}".replace("+", "%2B"),
        f"/video/export/{rec.camera.pk}/?start={iso(rec.t0)}&end={iso(rec.end)}".replace("+", "%2B"),
    ]
    for url in urls:
        assert contractor.get(url).status_code == 403, url
    from django.test import Client

    for url in urls:
        r = Client().get(url)
        assert r.status_code == 302 and "/login/" in r["Location"], url
    r = contractor.get(API.format(rec.camera.pk))
    assert r.status_code == 403 and r.json()["errors"][0]["code"] == "permission_denied"


# --- the recordings API ---------------------------------------------------------------------------


def test_recordings_api_gives_ranges_gaps_counts_and_bytes(recorded, client_for, agent):
    rec = recorded
    before = AccessLog.objects.count()
    start, end = rec.t0 - 10 * S, rec.t0 + 60 * S
    r = client_for(agent).get(API.format(rec.camera.pk), {"start": iso(start), "end": iso(end)})
    assert r.status_code == 200, r.content
    data = r.json()
    parse = dt.datetime.fromisoformat
    assert data["camera"] == rec.camera.pk
    assert (parse(data["start"]), parse(data["end"])) == (start, end)
    assert [(parse(x["start"]), parse(x["end"])) for x in data["ranges"]] == [
        (rec.t0, rec.seg_b1[-1].end),  # A and B merged: contiguous across the session break
        (rec.seg_b2[0].start, rec.end),
    ]
    assert [(parse(x["start"]), parse(x["end"]), x["reason"]) for x in data["gaps"]] == [
        (start, rec.t0, ""),
        (rec.seg_b1[-1].end, rec.seg_b2[0].start, "stalled"),
        (rec.end, end, ""),
    ]
    assert data["gaps"][1]["reason_label"] == "Stalled"
    assert data["segment_count"] == 15 and data["bytes"] == sum(s.bytes for s in rec.segments)
    assert data["recorded_seconds"] == pytest.approx(30, abs=0.01)
    assert AccessLog.objects.count() == before  # the index is not video: no record per request


def test_recordings_api_defaults_to_the_last_day_and_stops_gaps_at_now(recorded, client_for, agent):
    rec = recorded
    client = client_for(agent)
    data = client.get(API.format(rec.camera.pk)).json()
    start, end = dt.datetime.fromisoformat(data["start"]), dt.datetime.fromisoformat(data["end"])
    assert end - start == dt.timedelta(hours=24) and abs(end - timezone.now()) < dt.timedelta(minutes=1)
    assert data["segment_count"] == 15 and len(data["ranges"]) == 2
    future = client.get(
        API.format(rec.camera.pk), {"start": iso(rec.end), "end": iso(timezone.now() + 3600 * S)}
    )
    gaps = future.json()["gaps"]
    assert len(gaps) == 1 and dt.datetime.fromisoformat(gaps[0]["end"]) <= timezone.now()


def test_recordings_api_errors(recorded, client_for, agent):
    from tests.api.conftest import assert_error

    rec = recorded
    client = client_for(agent)
    url = API.format(rec.camera.pk)
    now = timezone.now()
    errs = assert_error(client.get(url, {"start": "tomorrow"}), 400, "start")
    assert "ISO 8601" in errs[0]["message"]
    assert_error(client.get(url, {"start": "2026-11-24T09:00:00"}), 400, "start")  # no offset
    errs = assert_error(
        client.get(url, {"start": iso(now - dt.timedelta(days=8)), "end": iso(now)}), 400, "end"
    )
    assert "7 days" in errs[0]["message"]
    assert_error(client.get(url, {"start": iso(now), "end": iso(now - 60 * S)}), 400, "end")
    assert_error(client.get(API.format(99999999)), 404)
    assert_error(client.get(API.format(10**30)), 404)  # beyond the database's integers: 404, not 500
    assert_error(client.get(url, {"end": "x"}), 400, "end")


# --- the page -------------------------------------------------------------------------------------


def test_the_playback_page_carries_its_configuration(recorded, client_for, agent, supervisor):
    rec = recorded
    r = client_for(agent).get(f"/video/playback/{rec.camera.pk}/", {"t": iso(rec.t0 + 5 * S)})
    assert r.status_code == 200
    html = r.content.decode()
    config = json.loads(
        re.search(r'<script id="playback-config" type="application/json">(.*?)</script>', html).group(1)
    )
    assert config["camera"] == rec.camera.pk and config["t"] == iso(rec.t0 + 5 * S)
    assert config["playlistUrl"] == f"/video/playback/{rec.camera.pk}/index.m3u8"
    assert config["recordingsUrl"] == API.format(rec.camera.pk)
    assert config["canExport"] is False and 'id="pb-clip"' not in html  # agents do not export
    assert "vendor/hls/hls.min.js" in html and "js/playback.js" in html
    sup = client_for(supervisor).get(f"/video/playback/{rec.camera.pk}/")
    assert 'id="pb-clip"' in sup.content.decode()
    bad = client_for(agent).get(f"/video/playback/{rec.camera.pk}/", {"t": "noon"})
    assert bad.status_code == 200 and "ISO 8601" in bad.content.decode()
    assert client_for(agent).get("/video/playback/99999999/").status_code == 404


# --- snapshots ------------------------------------------------------------------------------------


def jpeg_size(data: bytes, tmp_path: Path) -> tuple[int, int]:
    assert data[:3] == b"\xff\xd8\xff" and data[-2:] == b"\xff\xd9"
    path = tmp_path / "shot.jpg"
    path.write_bytes(data)
    out = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-show_entries",
            "stream=codec_name,width,height",
            "-of",
            "json",
            str(path),
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=30,
    )
    stream = json.loads(out.stdout)["streams"][0]
    assert stream["codec_name"] == "mjpeg"
    return stream["width"], stream["height"]


def snapshot_url(rec, t=None, live=False):
    q = "live=1" if live else f"t={iso(t)}".replace("+", "%2B")
    return f"/video/snapshot/{rec.camera.pk}/?{q}"


def test_a_recorded_snapshot_is_a_jpeg_of_that_frame_and_a_download_in_the_log(
    recorded, client_for, supervisor, agent, make_user, tmp_path
):
    rec = recorded
    client = client_for(supervisor)
    t = rec.t0 + 13.5 * S
    r = client.get(snapshot_url(rec, t))
    assert r.status_code == 200, r.content[:300]
    assert r["Content-Type"] == "image/jpeg" and "attachment" in r["Content-Disposition"]
    assert jpeg_size(r.content, tmp_path) == (320, 240)
    log = AccessLog.objects.latest("seq")
    assert (log.action, log.result) == ("download", "allowed") and "snapshot (recorded)" in log.reason
    assert f"camera:{rec.camera.pk}" in log.subject
    # two different times give two different frames (the pattern moves)
    other = client.get(snapshot_url(rec, rec.t0 + 1 * S))
    assert other.status_code == 200 and other.content != r.content
    # nothing recorded then, bad input, the future, a role without snapshots
    gap = client.get(snapshot_url(rec, rec.t0 + 30 * S))
    assert gap.status_code == 404 and "Nothing is recorded" in gap.content.decode()
    assert client.get(f"/video/snapshot/{rec.camera.pk}/?t=noon").status_code == 400
    assert client.get(snapshot_url(rec, timezone.now() + 3600 * S)).status_code == 400
    assert client_for(agent).get(snapshot_url(rec, t)).status_code == 200  # agents: for incident reports
    assert client_for(make_user(Role.CONTRACTOR)).get(snapshot_url(rec, t)).status_code == 403


def test_a_live_snapshot_of_a_camera_that_does_not_answer_is_a_clear_503(
    recorded, client_for, supervisor, monkeypatch
):
    rec = recorded
    client = client_for(supervisor)
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    Camera.objects.filter(pk=rec.camera.pk).update(
        main_stream_url=f"rtsp://admin:s3cret@127.0.0.1:{port}/main"
    )
    r = client.get(snapshot_url(rec, live=True))
    html = r.content.decode()
    assert r.status_code == 503 and "No picture could be taken" in html and "s3cret" not in html
    log = AccessLog.objects.latest("seq")
    assert log.action == "download" and "snapshot (live)" in log.reason

    # a server that accepts and never answers: cut off at the deadline
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)
    accepted = []
    threading.Thread(target=lambda: accepted.append(silent.accept()), daemon=True).start()
    Camera.objects.filter(pk=rec.camera.pk).update(
        main_stream_url=f"rtsp://127.0.0.1:{silent.getsockname()[1]}/main"
    )
    monkeypatch.setattr(snapshots, "LIVE_TIMEOUT_S", 2.0)
    try:
        r = client.get(snapshot_url(rec, live=True))
    finally:
        for conn, _addr in accepted:
            conn.close()
        silent.close()
    assert r.status_code == 503 and "did not send a picture within 2 seconds" in r.content.decode()


def test_a_live_snapshot_from_the_simulated_camera(
    recorded, client_for, supervisor, simulator, tmp_path, monkeypatch
):
    rec = recorded
    client = client_for(supervisor)
    Camera.objects.filter(pk=rec.camera.pk).update(main_stream_url=simulator.url(1))
    r = client.get(snapshot_url(rec, live=True))
    assert r.status_code == 200, r.content[:300]
    assert r["Content-Type"] == "image/jpeg" and "_live.jpg" in r["Content-Disposition"]
    width, height = jpeg_size(r.content, tmp_path)
    assert width >= 320 and height >= 180
    # a stalled camera (connected, no frames) is cut off at the deadline with a clear message
    Camera.objects.filter(pk=rec.camera.pk).update(main_stream_url=simulator.url(2))
    simulator.stall(2)
    monkeypatch.setattr(snapshots, "LIVE_TIMEOUT_S", 3.0)
    r = client.get(snapshot_url(rec, live=True))
    html = r.content.decode()
    assert r.status_code == 503 and "did not send a picture within 3 seconds" in html
    assert simulator.password not in html


# --- clips ----------------------------------------------------------------------------------------


def test_a_clip_downloads_as_mp4_and_leaves_no_file_behind(recorded, client_for, supervisor, agent, tmp_path):
    rec = recorded
    client = client_for(supervisor)
    url = f"/video/export/{rec.camera.pk}/?start={iso(rec.t0 + 2 * S)}&end={iso(rec.t0 + 14 * S)}".replace(
        "+", "%2B"
    )
    r = client.get(url)
    assert r.status_code == 200, r.content[:300]
    assert r["Content-Type"] == "video/mp4" and "attachment" in r["Content-Disposition"]
    out = tmp_path / "clip.mp4"
    out.write_bytes(body(r))
    assert probe_duration(out) == pytest.approx(12, abs=0.5)
    log = AccessLog.objects.latest("seq")
    assert (log.action, log.result) == ("export", "allowed")
    exports = Path(tmp_path) / "exports"
    assert not any(p.is_file() for p in exports.rglob("*")) if exports.exists() else True

    long = f"/video/export/{rec.camera.pk}/?start={iso(rec.t0)}&end={iso(rec.t0 + 31 * 60 * S)}".replace(
        "+", "%2B"
    )
    r = client.get(long)
    assert r.status_code == 400 and "30 minutes" in r.content.decode()
    nothing = (
        f"/video/export/{rec.camera.pk}/?start={iso(rec.t0 + 21 * S)}&end={iso(rec.t0 + 39 * S)}".replace(
            "+", "%2B"
        )
    )
    assert client.get(nothing).status_code == 404
    assert client.get(f"/video/export/{rec.camera.pk}/?start={iso(rec.t0)}").status_code == 400
    assert client_for(agent).get(url).status_code == 403
    assert Segment.objects.filter(camera=rec.camera).count() == 15
