"""Indexing a recording session's spool directory (what ffmpeg leaves there: index.m3u8 with
program date-times, init.mp4, seg-NNNNNN.m4s) into the store and the database, gaps, clock jumps,
recovery after a recorder died, and the health writes. ffmpeg is real (a test pattern encoded into
the recorder's output format); the supervisor and the simulator are in test_recorder.py."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import subprocess
from pathlib import Path

import pytest

from gwanje.registry.choices import CameraStatus
from gwanje.registry.models import Camera
from gwanje.video import health
from gwanje.video.choices import FaultReason
from gwanje.video.models import CameraFault, RecordingGap, RecordingSession, Segment
from gwanje.video.recorder.ingest import SessionIngest, recover_spool
from gwanje.video.storage import default_store

pytestmark = pytest.mark.django_db


def make_spool(directory: Path, *, seconds: float = 7, codec: str = "libx264") -> Path:
    """A finished session directory as the recorder's ffmpeg writes it (2 s segments)."""
    directory.mkdir(parents=True)
    subprocess.run(
        [
            "ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error",
            "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-t", f"{seconds:g}",
            "-c:v", codec, "-preset", "ultrafast", "-g", "25", "-pix_fmt", "yuv420p",
            *(["-x265-params", "log-level=error"] if codec == "libx265" else []),
            "-f", "hls", "-hls_segment_type", "fmp4", "-hls_time", "2", "-hls_list_size", "0",
            "-hls_flags", "program_date_time+independent_segments", "-hls_fmp4_init_filename", "init.mp4",
            "-hls_segment_filename", str(directory / "seg-%06d.m4s"), str(directory / "index.m3u8"),
        ],
        check=True,
    )  # fmt: skip
    return directory


def shift_pdt(directory: Path, to: dt.datetime) -> None:
    """Rewrite the playlist's program date-times so the session starts at `to` (a clock jump)."""
    playlist = directory / "index.m3u8"
    text = playlist.read_text()
    times = re.findall(r"#EXT-X-PROGRAM-DATE-TIME:(\S+)", text)
    first = dt.datetime.strptime(times[0], "%Y-%m-%dT%H:%M:%S.%f%z")

    def repl(m):
        t = dt.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S.%f%z") - first + to
        return "#EXT-X-PROGRAM-DATE-TIME:" + t.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000"

    playlist.write_text(re.sub(r"#EXT-X-PROGRAM-DATE-TIME:(\S+)", repl, text))


@pytest.fixture
def camera(settings, tmp_path):
    settings.VIDEO_DIR = tmp_path / "video"
    cam = Camera.objects.filter(site__has_onsite_storage=False).exclude(status=CameraStatus.RETIRED).first()
    return cam


def ingest_for(camera, directory: Path) -> SessionIngest:
    ingest = SessionIngest(camera_id=camera.pk, directory=directory, store=default_store(), gap_tolerance=1.5)
    ingest.write_state()
    return ingest


def test_finished_segments_are_hashed_moved_and_indexed(camera, tmp_path):
    spool = make_spool(tmp_path / "spool" / "cam-x" / "t1")
    expected = {p.name: p.read_bytes() for p in spool.glob("seg-*.m4s")}
    ingest = ingest_for(camera, spool)
    result = ingest.finish()
    assert result.segments == len(expected) == 4  # 2 + 2 + 2 + 1 s
    assert not spool.exists()  # the spool directory is removed
    session = RecordingSession.objects.get(camera=camera)
    assert session.codec.startswith("avc1.") and session.init_key.endswith(f"s{session.pk}-init.mp4")
    segments = list(Segment.objects.filter(camera=camera).order_by("start"))
    store = default_store()
    for n, seg in enumerate(segments):
        data = expected[f"seg-{n:06d}.m4s"]
        assert seg.bytes == len(data)
        assert seg.sha256 == hashlib.sha256(data).hexdigest()
        assert store.local_path(seg.key).read_bytes() == data
        assert re.fullmatch(rf"cam-{camera.pk}/\d{{4}}/\d\d/\d\d/s{session.pk}-{n:06d}\.m4s", seg.key)
    # contiguous, stream-time durations (EXTINF), ordered
    assert [round((s.end - s.start).total_seconds(), 3) for s in segments] == [2.0, 2.0, 2.0, 1.0]
    assert all(a.end == b.start for a, b in zip(segments, segments[1:], strict=False))
    assert session.started_at == segments[0].start and session.ended_at == segments[-1].end
    # the init + segments concatenate into a playable file (what export does)
    init = store.local_path(session.init_key)
    concat = "concat:" + "|".join([str(init)] + [str(store.local_path(s.key)) for s in segments])
    probe = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", concat],
        capture_output=True,
        text=True,
        check=True,
    )
    assert abs(float(probe.stdout) - 7.0) < 0.1


def test_scan_is_incremental(camera, tmp_path):
    spool = make_spool(tmp_path / "spool" / "cam-x" / "t1")
    playlist = (spool / "index.m3u8").read_text()
    lines = playlist.splitlines()
    # only the first two segments listed yet (ffmpeg lists a segment once it is finished)
    cut = [i for i, ln in enumerate(lines) if ln.startswith("seg-")][1]
    (spool / "index.m3u8").write_text("\n".join(lines[: cut + 1]) + "\n")
    ingest = ingest_for(camera, spool)
    assert ingest.scan().segments == 2
    assert ingest.scan().segments == 0  # unchanged playlist: nothing to do
    (spool / "index.m3u8").write_text(playlist)
    assert ingest.scan().segments == 2
    assert Segment.objects.filter(camera=camera).count() == 4


def test_gap_between_sessions_and_clock_jump_back(camera, tmp_path):
    t0 = dt.datetime(2026, 11, 24, 3, 0, tzinfo=dt.UTC)
    first = make_spool(tmp_path / "a")
    shift_pdt(first, t0)
    ingest_for(camera, first).finish()
    end1 = Segment.objects.filter(camera=camera).order_by("-end").first().end
    assert end1 == t0 + dt.timedelta(seconds=7)

    # next session 30 s later: a gap is recorded
    second = make_spool(tmp_path / "b")
    shift_pdt(second, end1 + dt.timedelta(seconds=30))
    ing = ingest_for(camera, second)
    ing.gap_reason = FaultReason.OTHER
    ing.finish()
    gap = RecordingGap.objects.get(camera=camera)
    assert (gap.start, gap.end, gap.reason) == (end1, end1 + dt.timedelta(seconds=30), FaultReason.OTHER)

    # the clock went back an hour before the third session: its segments still follow the last one
    end2 = Segment.objects.filter(camera=camera).order_by("-end").first().end
    third = make_spool(tmp_path / "c")
    shift_pdt(third, end2 - dt.timedelta(hours=1))
    ingest_for(camera, third).finish()
    segments = list(Segment.objects.filter(camera=camera).order_by("start", "id"))
    assert len(segments) == 12
    assert all(a.end <= b.start for a, b in zip(segments, segments[1:], strict=False))
    third_start = min(s.start for s in segments if s.session_id == segments[-1].session_id)
    assert third_start == end2
    assert RecordingGap.objects.filter(camera=camera).count() == 1  # contiguous: no new gap


def test_small_jitter_is_not_a_gap(camera, tmp_path):
    t0 = dt.datetime(2026, 11, 24, 3, 0, tzinfo=dt.UTC)
    a, b = make_spool(tmp_path / "a"), make_spool(tmp_path / "b")
    shift_pdt(a, t0)
    shift_pdt(b, t0 + dt.timedelta(seconds=7.8))  # 0.8 s later than the end: within tolerance
    ingest_for(camera, a).finish()
    ingest_for(camera, b).finish()
    assert not RecordingGap.objects.filter(camera=camera).exists()


def test_h265_session_is_refused(camera, tmp_path):
    from gwanje.video.recorder.ingest import UnsupportedStream

    spool = make_spool(tmp_path / "h265", seconds=3, codec="libx265")
    with pytest.raises(UnsupportedStream):
        ingest_for(camera, spool).scan()
    assert not Segment.objects.filter(camera=camera).exists()
    assert not RecordingSession.objects.filter(camera=camera).exists()


def test_recovery_of_a_dead_recorders_spool(camera, tmp_path, settings):
    spool_root = tmp_path / "spool"
    directory = make_spool(spool_root / f"cam-{camera.pk}" / "20261124T030000-abcdef")
    ingest = ingest_for(camera, directory)
    # the recorder indexed the first two segments, then died
    lines = (directory / "index.m3u8").read_text().splitlines()
    full = "\n".join(lines) + "\n"
    cut = [i for i, ln in enumerate(lines) if ln.startswith("seg-")][1]
    (directory / "index.m3u8").write_text("\n".join(lines[: cut + 1]) + "\n")
    assert ingest.scan().segments == 2
    (directory / "index.m3u8").write_text(full)
    # … and one more was moved into the store before its row was written
    seg2 = directory / "seg-000002.m4s"
    session = RecordingSession.objects.get(camera=camera)
    start2 = ingest.last_end
    default_store().put(seg2, f"cam-{camera.pk}/{start2:%Y/%m/%d}/s{session.pk}-000002.m4s")

    assert recover_spool(spool_root, default_store()) == 2
    segments = list(Segment.objects.filter(camera=camera).order_by("start"))
    assert [s.key[-10:] for s in segments] == ["000000.m4s", "000001.m4s", "000002.m4s", "000003.m4s"]
    assert all(a.end == b.start for a, b in zip(segments, segments[1:], strict=False))
    assert not any(spool_root.iterdir())
    assert RecordingSession.objects.get(pk=session.pk).ended_at == segments[-1].end
    assert recover_spool(spool_root, default_store()) == 0


def test_down_and_up(camera):
    t = dt.datetime(2026, 11, 24, 3, 0, tzinfo=dt.UTC)
    Diagnosis = health.Diagnosis
    health.camera_down(camera.pk, Diagnosis(FaultReason.CONNECTION_REFUSED, "refused"), at=t)
    health.camera_down(camera.pk, Diagnosis(FaultReason.TIMEOUT, "no answer"), at=t + dt.timedelta(0, 10))
    fault = CameraFault.objects.get(camera=camera)  # one open fault, reason updated, since kept
    assert (fault.reason, fault.detail, fault.started_at) == (FaultReason.TIMEOUT, "no answer", t)
    assert fault.ended_at is None
    gap = RecordingGap.objects.get(camera=camera)
    assert gap.end is None and gap.start == t
    camera.refresh_from_db()
    assert camera.status == CameraStatus.FAULT and camera.status_changed_at is not None

    health.camera_up(camera.pk, at=t + dt.timedelta(minutes=5))
    fault.refresh_from_db()
    camera.refresh_from_db()
    assert fault.ended_at == t + dt.timedelta(minutes=5)
    assert camera.status == CameraStatus.ONLINE
    # down again: a new fault
    health.camera_down(camera.pk, health.Diagnosis(FaultReason.STALLED, "stalled"))
    assert CameraFault.objects.filter(camera=camera).count() == 2
    assert CameraFault.objects.filter(camera=camera, ended_at__isnull=True).count() == 1


def test_unmonitored_cameras_have_their_faults_closed(camera):
    health.camera_down(camera.pk, health.Diagnosis(FaultReason.TIMEOUT, "x"))
    health.camera_unmonitored([camera.pk])
    assert not CameraFault.objects.filter(camera=camera, ended_at__isnull=True).exists()
    assert not RecordingGap.objects.filter(camera=camera, end__isnull=True).exists()
    camera.refresh_from_db()
    assert camera.status == CameraStatus.OFFLINE


def test_incomplete_segments_are_never_indexed(camera, tmp_path):
    """ffmpeg 5.1 goes on listing segments it could not write (disk full): truncated or empty
    files are dropped, never indexed, and their time becomes a gap; the times of later segments
    stay stream times."""
    spool = make_spool(tmp_path / "spool" / "cam-x" / "t1", seconds=9)  # 2+2+2+2+1 s
    whole = {p.name: p.read_bytes() for p in spool.glob("seg-*.m4s")}
    with (spool / "seg-000001.m4s").open("r+b") as f:
        f.truncate(16384)  # written in part: its mdat runs past the end of the file
    (spool / "seg-000002.m4s").write_bytes(b"")  # nothing written
    with (spool / "seg-000004.m4s").open("r+b") as f:
        f.truncate(100)  # the last one too
    ingest = ingest_for(camera, spool)
    result = ingest.scan(force=True)
    assert (result.segments, result.broken) == (2, 3)
    segments = list(Segment.objects.filter(camera=camera).order_by("start"))
    assert [s.key.rsplit("-", 1)[1] for s in segments] == ["000000.m4s", "000003.m4s"]
    store = default_store()
    for seg in segments:
        data = store.local_path(seg.key).read_bytes()
        assert data == whole[f"seg-{seg.key.rsplit('-', 1)[1]}"]
        assert (seg.bytes, seg.sha256) == (len(data), hashlib.sha256(data).hexdigest())
    assert not (spool / "seg-000001.m4s").exists() and not (spool / "seg-000002.m4s").exists()
    first, later = segments[0], segments[1]
    assert (later.start - first.end).total_seconds() == 4.0  # the two dropped segments' 2 + 2 s
    gap = RecordingGap.objects.get(camera=camera)
    assert (gap.start, gap.end, gap.reason) == (first.end, later.start, FaultReason.DISK_FULL)
    ingest.finish()  # the session ends with its last whole segment (the supervisor opens the gap after it)
    assert RecordingSession.objects.get(camera=camera).ended_at == later.end


def test_an_incomplete_init_segment_is_a_write_failure_not_a_codec(camera, tmp_path):
    spool = make_spool(tmp_path / "spool" / "cam-x" / "t1")
    init = spool / "init.mp4"
    init.write_bytes(init.read_bytes()[:200])  # ftyp and the start of moov: avcC never written
    result = ingest_for(camera, spool).scan(force=True)
    assert (result.segments, result.broken) == (0, 4)
    assert not RecordingSession.objects.filter(camera=camera).exists()
    assert not Segment.objects.filter(camera=camera).exists()


def test_disk_full_is_a_gap_not_a_camera_fault(camera):
    health.camera_up(camera.pk)
    health.recording_blocked(camera.pk, health.disk_full())
    health.recording_blocked(camera.pk, health.disk_full())  # once
    gap = RecordingGap.objects.get(camera=camera)
    assert gap.end is None and gap.reason == FaultReason.DISK_FULL
    assert not CameraFault.objects.filter(camera=camera).exists()
    camera.refresh_from_db()
    assert camera.status == CameraStatus.ONLINE
    diagnosis = health.classify(["av_interleaved_write_frame(): No space left on device"], 1, recorded=True)
    assert diagnosis.reason == FaultReason.DISK_FULL
