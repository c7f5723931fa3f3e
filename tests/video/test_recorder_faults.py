"""Faults the recorder must survive, against the real camera simulator and real ffmpeg (2 s
segments): cameras that send H.265 or only audio, and a recording disk that fills up — a real,
small tmpfs, filled by another program (the tests skip when tmpfs cannot be mounted: that needs
root; the disk-full policy itself is also tested without a mount in test_retention.py).

The supervisor runs in the test's thread; every test ends with no ffmpeg child left."""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil

import pytest
from django.utils import timezone

from gwanje.accounts.roles import Role
from gwanje.registry import services as registry_services
from gwanje.registry.choices import CameraStatus
from gwanje.video import holds
from gwanje.video.choices import AlarmKind, DestructionReason, FaultReason
from gwanje.video.models import (
    CameraFault,
    DestructionRecord,
    RecordingGap,
    RecordingSession,
    Segment,
    VideoAlarm,
)
from gwanje.video.recorder.ingest import complete_fragment
from gwanje.video.storage import default_store
from tests.video.recording import ffmpeg_children, fill, open_fault, point, segments_of
from tests.video.segments import index_clip, shared_clip

pytestmark = pytest.mark.django_db


def test_h265_and_audio_only_cameras_are_faults_and_the_others_keep_recording(simulator, recorder, cameras):
    good = point(cameras[0], simulator.url(1))
    hevc = point(cameras[1], simulator.url(simulator.h265_camera))
    audio = point(cameras[2], simulator.url(simulator.audio_only_camera))
    sup = recorder([good, hevc, audio], backoff_max_seconds=2)

    assert sup.run(
        until=lambda: open_fault(hevc) and open_fault(audio) and len(segments_of(good)) >= 2, timeout=60
    )
    fault = open_fault(hevc)
    assert fault.reason == FaultReason.UNSUPPORTED_CODEC
    assert fault.detail == "video codec H.265/HEVC is not supported (H.264 only)"
    assert open_fault(audio).reason == FaultReason.NO_VIDEO
    for cam in (hevc, audio):
        cam.refresh_from_db()
        assert cam.status == CameraStatus.FAULT
        assert RecordingGap.objects.get(camera=cam).end is None  # not recorded since the recorder started

    # The recorder keeps trying them (back-off) and keeps recording the H.264 camera meanwhile.
    before = len(segments_of(good))
    assert sup.run(
        until=lambda: (
            sup.workers[hevc.pk].restarts >= 3
            and sup.workers[audio.pk].restarts >= 3
            and len(segments_of(good)) >= before + 2
        ),
        timeout=60,
    )
    assert sup.workers[good.pk].restarts == 0 and sup.workers[good.pk].child is not None
    good.refresh_from_db()
    assert good.status == CameraStatus.ONLINE and not CameraFault.objects.filter(camera=good).exists()
    # One fault each however often it was tried; the H.265 stream was refused from ffmpeg's stream
    # line, before anything of it was written into the index.
    assert CameraFault.objects.filter(camera__in=[hevc, audio]).count() == 2
    assert open_fault(hevc).reason == FaultReason.UNSUPPORTED_CODEC
    assert not RecordingSession.objects.filter(camera__in=[hevc, audio]).exists()
    assert not Segment.objects.filter(camera__in=[hevc, audio]).exists()
    assert RecordingSession.objects.get(camera=good).codec.startswith("avc1.")


# --- a full disk ------------------------------------------------------------------------------------
def open_gap(camera) -> RecordingGap | None:
    return RecordingGap.objects.filter(camera=camera, end__isnull=True).first()


def assert_index_matches_the_disk(cameras) -> None:
    """Every indexed segment is on disk, whole, with the indexed size and SHA-256."""
    store = default_store()
    for seg in Segment.objects.filter(camera__in=cameras):
        path = store.local_path(seg.key)
        data = path.read_bytes()
        assert (len(data), hashlib.sha256(data).hexdigest()) == (seg.bytes, seg.sha256), seg.key
        assert complete_fragment(path), seg.key


def test_a_full_disk_stops_recording_cleanly_and_recording_resumes(
    simulator, small_disk, recorder, cameras, settings
):
    disk = small_disk(24)
    a = point(cameras[0], simulator.url(1, "sub"))  # 512 kbit/s: ~130 kB per 2 s segment
    b = point(cameras[1], simulator.url(2, "sub"))
    sup = recorder(
        [a, b],
        video_dir=disk,  # segments and ffmpeg's spool on the small disk; the database elsewhere
        disk_full_free_bytes=256 * 1024,
        disk_check_seconds=1,
        backoff_max_seconds=2,
    )
    settings.DISK_LOW_WATER_PERCENT = 10  # the disk-full policy (deleting video) stays off here
    assert sup.run(until=lambda: len(segments_of(a)) >= 2 and len(segments_of(b)) >= 2, timeout=60)

    ballast = fill(disk)  # another program takes every byte: ffmpeg's writes fail (ENOSPC)
    assert sup.run(until=lambda: open_gap(a) and open_gap(b), timeout=30)
    assert sup.disk_full
    for cam in (a, b):
        assert open_gap(cam).reason == FaultReason.DISK_FULL
        assert open_fault(cam) is None  # the camera is fine: not a camera fault
        cam.refresh_from_db()
        assert cam.status == CameraStatus.ONLINE
    alarm = VideoAlarm.objects.get(kind=AlarmKind.DISK_FULL, cleared_at__isnull=True)
    assert "cannot write new video" in alarm.detail
    assert VideoAlarm.objects.filter(kind=AlarmKind.DISK_LOW, cleared_at__isnull=True).exists()

    # While the disk is full no ffmpeg runs (each would write truncated segments without noticing),
    # the recorder keeps checking, and nothing half-written was indexed.
    sup.run(timeout=4)
    assert all(w.child is None for w in sup.workers.values())
    assert [p for p in ffmpeg_children() if p[2] != "Z"] == []
    assert_index_matches_the_disk([a, b])
    counts = {cam.pk: len(segments_of(cam)) for cam in (a, b)}

    ballast.unlink()  # space is back
    assert sup.run(
        until=lambda: all(
            open_gap(cam) is None and len(segments_of(cam)) >= counts[cam.pk] + 2 for cam in (a, b)
        ),
        timeout=60,
    )
    assert not sup.disk_full
    for cam in (a, b):
        gap = RecordingGap.objects.get(camera=cam)
        assert gap.reason == FaultReason.DISK_FULL and gap.start < gap.end
        assert [s.start for s in segments_of(cam) if s.start >= gap.end][0] == gap.end
        assert gap.start == max(s.end for s in segments_of(cam) if s.end <= gap.start)
    assert_index_matches_the_disk([a, b])
    # The next disk check clears the alarms (free space is back above the low-water mark).
    assert sup.run(until=lambda: not VideoAlarm.objects.filter(cleared_at__isnull=True).exists(), timeout=10)


def test_a_full_disk_deletes_the_oldest_video_to_keep_recording(
    simulator, small_disk, recorder, cameras, settings, make_user
):
    disk = small_disk(32)
    live, archived = cameras[0], cameras[1]
    sup = recorder([live], video_dir=disk, disk_check_seconds=1, disk_full_free_bytes=256 * 1024)
    settings.DISK_LOW_WATER_PERCENT = 50
    settings.DISK_CRITICAL_PERCENT = 40  # below 40 % free the disk counts as full
    for cam in (live, archived):
        cam.retention_days = 30
        registry_services.save_camera(cam)
    point(live, simulator.url(1, "sub"))

    # Ten days of older video of another camera (inside its 30 days), its oldest part under a hold.
    now = timezone.now()
    clip = shared_clip()
    _s, oldest = index_clip(archived, clip, now - dt.timedelta(days=10))
    _s, newer = index_clip(archived, clip, now - dt.timedelta(days=5))
    hold = holds.place_hold(
        make_user(Role.SUPERVISOR), archived, oldest[0].start, oldest[2].end, "사건 수사 자료 보존"
    )
    held = oldest[:3]
    total = shutil.disk_usage(disk).total
    fill(disk, leave=int(total * 0.415))  # just above the mark: recording takes it below

    assert sup.run(until=lambda: DestructionRecord.objects.filter(camera=archived).exists(), timeout=90)
    record = DestructionRecord.objects.get(camera=archived)
    assert record.reason == DestructionReason.DISK_FULL
    left = set(Segment.objects.filter(camera=archived).values_list("pk", flat=True))
    deleted = [s for s in oldest + newer if s.pk not in left]
    assert deleted and record.segment_count == len(deleted)
    assert record.bytes == sum(s.bytes for s in deleted)
    assert all(s.pk in left for s in held)  # a legal hold is never deleted
    unheld = [s for s in oldest + newer if s not in held]
    assert deleted == unheld[: len(deleted)]  # the oldest first
    assert shutil.disk_usage(disk).free >= total * 0.40
    alarm = VideoAlarm.objects.get(kind=AlarmKind.DISK_FULL, cleared_at__isnull=True)
    assert "deleted inside their retention period" in alarm.detail and f"#{record.pk}" in alarm.detail

    # Recording never stopped: no gap, no fault, the newest video is there.
    assert not RecordingGap.objects.filter(camera=live).exists() and open_fault(live) is None
    assert not sup.disk_full and sup.workers[live.pk].restarts == 0
    newest = segments_of(live)[-1]
    assert (timezone.now() - newest.end).total_seconds() < 10
    assert_index_matches_the_disk([live, archived])
    assert hold.released_at is None
