"""The recorder against the real camera simulator and real ffmpeg (2 s segments).

The supervisor runs in the test's thread (`run(until=…, timeout=…)`), so it writes through the
test's database connection; its ffmpeg children are real processes. Every test ends with no
ffmpeg child of this process left, running or zombie (checked from /proc)."""

from __future__ import annotations

import hashlib
import os
import re
import signal
import socket
import threading
import time
from pathlib import Path

import pytest
from django.core.management import call_command

from gwanje.registry import services as registry_services
from gwanje.registry.choices import CameraStatus
from gwanje.video.choices import FaultReason
from gwanje.video.models import CameraFault, RecordingGap, RecordingSession, Segment
from gwanje.video.storage import default_store
from tests.video.recording import SEGMENT, children_named, ffmpeg_children, open_fault, point, segments_of

pytestmark = pytest.mark.django_db


def test_records_indexed_segments(simulator, recorder, cameras):
    cam = point(cameras[0], simulator.url(1))
    sup = recorder([cam])
    assert sup.run(until=lambda: len(segments_of(cam)) >= 3, timeout=60)
    sup.shutdown()  # SIGTERM: ffmpeg writes its last, shorter segment, which is indexed too
    assert ffmpeg_children() == []

    segments = segments_of(cam)
    session = RecordingSession.objects.get(camera=cam)
    assert session.codec.startswith("avc1.") and session.ended_at == segments[-1].end
    store = default_store()
    assert store.local_path(session.init_key).read_bytes()[4:8] == b"ftyp"
    for n, seg in enumerate(segments):
        data = store.local_path(seg.key).read_bytes()
        assert seg.bytes == len(data) > 0
        assert seg.sha256 == hashlib.sha256(data).hexdigest()
        assert re.fullmatch(rf"cam-{cam.pk}/\d{{4}}/\d\d/\d\d/s{session.pk}-{n:06d}\.m4s", seg.key)
        assert seg.session_id == session.pk
    # stream-time durations: the simulator's key frames are 1 s apart, so full segments last 2 s
    durations = [round((s.end - s.start).total_seconds(), 3) for s in segments]
    assert all(d == SEGMENT for d in durations[1:-1]), durations
    assert 0 < durations[-1] <= SEGMENT
    assert all(a.end == b.start for a, b in zip(segments, segments[1:], strict=False))
    cam.refresh_from_db()
    assert cam.status == CameraStatus.ONLINE
    assert not CameraFault.objects.filter(camera=cam).exists()
    assert not RecordingGap.objects.filter(camera=cam).exists()
    assert not any((Path(sup.cfg.spool_dir)).rglob("*.m4s"))  # everything moved into the store


def test_stalled_camera_becomes_a_fault_and_recovers(simulator, recorder, cameras):
    cam = point(cameras[0], simulator.url(2))
    sup = recorder([cam])
    assert sup.run(until=lambda: len(segments_of(cam)) >= 2, timeout=60)
    simulator.stall(2)
    try:
        assert sup.run(until=lambda: open_fault(cam) is not None, timeout=60)
        fault = open_fault(cam)
        last_end = segments_of(cam)[-1].end
        assert fault.reason in (FaultReason.STALLED, FaultReason.TIMEOUT)
        # within 3 segment lengths of the last video (plus the supervisor's tick)
        assert (fault.started_at - last_end).total_seconds() <= 3 * SEGMENT + 2
        cam.refresh_from_db()
        assert cam.status == CameraStatus.FAULT
    finally:
        simulator.resume(2)
    before = len(segments_of(cam))
    assert sup.run(until=lambda: open_fault(cam) is None and len(segments_of(cam)) > before, timeout=90)
    cam.refresh_from_db()
    assert cam.status == CameraStatus.ONLINE
    fault = CameraFault.objects.get(camera=cam)
    assert fault.ended_at is not None
    gap = RecordingGap.objects.get(camera=cam)
    assert gap.end is not None and gap.start <= gap.end
    after = [s for s in segments_of(cam) if s.start >= gap.end]
    assert after and after[0].start == gap.end


def test_stopped_camera_is_a_fault_and_comes_back(simulator, recorder, cameras):
    cam = point(cameras[1], simulator.url(3))
    sup = recorder([cam])
    assert sup.run(until=lambda: len(segments_of(cam)) >= 1, timeout=60)
    simulator.stop(3)
    try:
        assert sup.run(until=lambda: open_fault(cam) is not None, timeout=30)
    finally:
        simulator.resume(3)
    assert sup.run(until=lambda: open_fault(cam) is None, timeout=90)
    cam.refresh_from_db()
    assert cam.status == CameraStatus.ONLINE


def test_killed_ffmpeg_is_restarted_and_the_gap_recorded(simulator, recorder, cameras):
    cam = point(cameras[0], simulator.url(4))
    sup = recorder([cam])
    assert sup.run(until=lambda: len(segments_of(cam)) >= 2, timeout=60)
    worker = sup.workers[cam.pk]
    pid = worker.child.pid
    os.kill(pid, signal.SIGKILL)
    assert sup.run(until=lambda: RecordingSession.objects.filter(camera=cam).count() == 2
                   and Segment.objects.filter(camera=cam).values("session").distinct().count() == 2,
                   timeout=60)  # fmt: skip
    assert worker.restarts == 1 and worker.child.pid != pid
    first, second = RecordingSession.objects.filter(camera=cam).order_by("started_at")
    end1 = max(s.end for s in segments_of(cam) if s.session_id == first.pk)
    start2 = min(s.start for s in segments_of(cam) if s.session_id == second.pk)
    gap = RecordingGap.objects.get(camera=cam)
    assert (gap.start, gap.end) == (end1, start2) and start2 > end1
    fault = CameraFault.objects.get(camera=cam)
    assert fault.ended_at is not None and "killed" in fault.detail
    assert not any(state == "Z" for _pid, _comm, state in ffmpeg_children())


def test_registry_changes_are_picked_up(simulator, recorder, cameras):
    a, b, _c = cameras
    point(a, simulator.url(1))
    sup = recorder([a, b])
    assert sup.run(until=lambda: len(segments_of(a)) >= 1, timeout=60)
    assert set(sup.workers) == {a.pk}  # b has no URL: not recorded, no fault
    assert not CameraFault.objects.filter(camera=b).exists()

    point(b, simulator.url(2))  # added
    assert sup.run(until=lambda: len(segments_of(b)) >= 1, timeout=60)

    old_pid = sup.workers[a.pk].child.pid
    point(a, simulator.url(4))  # URL changed: a new session on the new URL
    assert sup.run(until=lambda: RecordingSession.objects.filter(camera=a).count() == 2, timeout=60)
    assert sup.workers[a.pk].child is None or sup.workers[a.pk].child.pid != old_pid

    registry_services.set_camera_status(b, CameraStatus.RETIRED)  # retired: stops being recorded
    assert sup.run(until=lambda: b.pk not in sup.workers, timeout=20)
    assert RecordingSession.objects.get(camera=b).ended_at is not None
    count = len(segments_of(b))
    sup.run(timeout=3 * SEGMENT)
    assert len(segments_of(b)) == count
    b.refresh_from_db()
    assert b.status == CameraStatus.RETIRED
    assert len([p for p in ffmpeg_children() if p[2] != "Z"]) == 1


def test_site_with_onsite_storage_is_not_recorded(simulator, recorder, cameras):
    cam = point(cameras[2], simulator.url(1))
    site = cam.site
    site.has_onsite_storage = True
    site.save()
    sup = recorder([cam])
    sup.run(timeout=2)
    assert sup.workers == {} and ffmpeg_children() == []


class SilentHost:
    """A host that accepts TCP connections on a port and never answers (a hung device or a
    firewall that swallows the request)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)  # the kernel completes the handshakes; nobody ever reads
        self.port = self.sock.getsockname()[1]

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def silent_host():
    host = SilentHost()
    yield host
    host.close()


def test_wrong_credentials_are_an_auth_failure(simulator, recorder, cameras, caplog):
    url = simulator.url(1).replace(f":{simulator.password}@", ":wrong-Secret1@")
    assert "wrong-Secret1" in url
    cam = point(cameras[0], url)
    sup = recorder([cam])
    caplog.set_level("DEBUG", logger="gwanje.video.recorder")
    assert sup.run(until=lambda: open_fault(cam) is not None, timeout=30)
    fault = open_fault(cam)
    assert fault.reason == FaultReason.AUTH_FAILURE
    assert "wrong-Secret1" not in fault.detail
    assert "wrong-Secret1" not in caplog.text and "cam:***@" in caplog.text
    cam.refresh_from_db()
    assert cam.status == CameraStatus.FAULT


def test_unreachable_cameras(recorder, cameras, silent_host):
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens there now
    refused = point(cameras[0], f"rtsp://127.0.0.1:{port}/x")
    silent = point(cameras[1], f"rtsp://127.0.0.1:{silent_host.port}/x")
    invalid = point(cameras[2], "file:///etc/passwd")
    sup = recorder([refused, silent, invalid], io_timeout_seconds=2)
    assert sup.run(until=lambda: all(open_fault(c) for c in (refused, silent, invalid)), timeout=30)
    assert open_fault(refused).reason == FaultReason.CONNECTION_REFUSED
    assert open_fault(silent).reason == FaultReason.TIMEOUT
    assert open_fault(invalid).reason == FaultReason.NO_URL
    # it keeps trying, with back-off, without crashing
    assert sup.run(until=lambda: sup.workers[refused.pk].restarts >= 3, timeout=30)
    assert sup.workers[refused.pk].backoff >= 8
    assert sup.workers[invalid.pk].child is None  # never handed to ffmpeg
    assert CameraFault.objects.filter(camera__in=[refused, silent, invalid]).count() == 3


def test_sigterm_stops_the_command_and_its_children(simulator, settings, tmp_path, cameras):
    settings.VIDEO_DIR = tmp_path / "video"
    cam = point(cameras[0], simulator.url(1))

    def stop_when_recording():
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not children_named("ffmpeg"):
            time.sleep(0.2)
        time.sleep(3 * SEGMENT)
        os.kill(os.getpid(), signal.SIGTERM)

    timer = threading.Thread(target=stop_when_recording, daemon=True)
    previous = signal.getsignal(signal.SIGTERM)
    timer.start()
    t0 = time.monotonic()
    call_command("recorder", "--segment-seconds", str(SEGMENT), "--camera", str(cam.pk))
    took = time.monotonic() - t0
    timer.join(5)
    assert signal.getsignal(signal.SIGTERM) == previous  # handlers restored
    assert ffmpeg_children() == []
    assert segments_of(cam) and took < 90
    session = RecordingSession.objects.get(camera=cam)
    assert session.ended_at == segments_of(cam)[-1].end
