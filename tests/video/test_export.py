"""Export-ready clips: real fMP4 segments (ffmpeg), cut by stream copy into one MP4 whose duration
(ffprobe) matches the range within one GOP, byte-identical on a re-run; gaps and session breaks;
`export_for` goes through the choke point (police without a grant refused and logged); the
`gwanje video export` command and its errors."""

from __future__ import annotations

import datetime as dt
import io
import subprocess

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone, translation

from gwanje.accounts.roles import Role
from gwanje.audit.models import AccessLog
from gwanje.registry.models import Camera
from gwanje.video import export
from gwanje.video.models import Segment
from tests.video.segments import index_clip, probe_duration, shared_clip

GOP = 1.0  # the test clip: 25 fps, a keyframe every 25 frames
S = dt.timedelta(seconds=1)


@pytest.fixture(autouse=True)
def video_dir(settings, tmp_path):
    settings.VIDEO_DIR = tmp_path / "video"
    return settings.VIDEO_DIR


@pytest.fixture(autouse=True)
def english():
    """Messages are matched in English (the msgids), whatever translations exist."""
    with translation.override("en"):
        yield


@pytest.fixture
def clip():
    return shared_clip()  # 15 segments of 2 s


@pytest.fixture
def camera(seongdong):
    return Camera.objects.filter(site__has_onsite_storage=False).select_related("site").order_by("pk").first()


@pytest.fixture
def t0():
    return timezone.now().replace(microsecond=0) - dt.timedelta(hours=2)


def decodes(path) -> bool:
    proc = subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-i", str(path), "-f", "null", "-"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return proc.returncode == 0 and not proc.stderr.strip()


def test_cut_matches_the_range_and_is_byte_identical(camera, clip, t0, tmp_path):
    index_clip(camera, clip, t0)  # 30 s from t0
    start, end = t0 + dt.timedelta(seconds=3.3), t0 + dt.timedelta(seconds=21.7)
    first = export.cut(camera, start, end, output=tmp_path / "a.mp4")
    assert first == tmp_path / "a.mp4"
    assert abs(probe_duration(first) - 18.4) <= GOP
    assert decodes(first)
    again = export.cut_clip(camera, start, end, output=tmp_path / "b.mp4")
    assert again.path.read_bytes() == first.read_bytes()
    assert again.gaps == [] and again.parts == 1 and again.covered == [(start, end)]
    # faststart: the index (moov) comes before the media data.
    head = first.read_bytes()[:4096]
    assert head.find(b"moov") != -1 and (head.find(b"mdat") == -1 or head.find(b"moov") < head.find(b"mdat"))


def test_default_output_is_a_private_file_under_the_video_dir(camera, clip, t0, video_dir):
    index_clip(camera, clip, t0, count=3)
    result = export.cut_clip(camera, t0, t0 + 4 * S)
    assert result.path.is_relative_to(video_dir / "exports") and result.path.suffix == ".mp4"
    assert result.name.startswith(f"cctv-{camera.site.code}-{camera.number}-")
    with open(result, "rb") as f:  # os.PathLike
        assert f.read(12)[4:8] == b"ftyp"
    result.remove()
    assert not result.path.exists() and not result.path.parent.exists()


def test_gaps_and_session_breaks_are_left_out_and_reported(camera, clip, t0, tmp_path):
    # Session A: 0–10 s; a hole 10–14 s (segments destroyed around a hold); A again 14–20 s;
    # nothing 20–25 s; session B (a recorder restart, same encoding) 25–33 s.
    session, _a = index_clip(camera, clip, t0, count=5)
    index_clip(camera, clip, t0 + 14 * S, first=7, count=3, session=session)
    index_clip(camera, clip, t0 + 25 * S, first=0, count=4)
    start, end = t0 + 3 * S, t0 + 31 * S
    result = export.cut_clip(camera, start, end, output=tmp_path / "gaps.mp4")
    assert result.gaps == [(t0 + 10 * S, t0 + 14 * S), (t0 + 20 * S, t0 + 25 * S)]
    assert result.covered == [(start, t0 + 10 * S), (t0 + 14 * S, t0 + 20 * S), (t0 + 25 * S, end)]
    assert result.parts == 3 and result.seconds == 7 + 6 + 6
    assert abs(probe_duration(result.path) - result.seconds) <= GOP
    assert decodes(result.path)
    rerun = export.cut_clip(camera, start, end, output=tmp_path / "gaps2.mp4")
    assert rerun.path.read_bytes() == result.path.read_bytes()


def test_overlapping_sessions_never_show_the_same_time_twice(camera, clip, t0, tmp_path):
    index_clip(camera, clip, t0, count=4)  # 0–8 s
    index_clip(camera, clip, t0 + 6 * S, count=4)  # 6–14 s: another session, its clock 2 s behind
    result = export.cut_clip(camera, t0, t0 + 14 * S, output=tmp_path / "o.mp4")
    assert result.covered == [(t0, t0 + 14 * S)] and result.gaps == [] and result.parts == 2
    assert abs(probe_duration(result.path) - 14) <= GOP
    assert decodes(result.path)


def test_a_range_across_an_encoding_change_is_refused_with_a_clear_message(camera, clip, t0, tmp_path):
    index_clip(camera, clip, t0, count=2)
    other = shared_clip(size="352x288")  # the camera's settings changed: another sample description
    index_clip(camera, other, t0 + 4 * S, count=2)
    with pytest.raises(export.ExportError, match="encoding changed") as e:
        export.cut_clip(camera, t0, t0 + 8 * S, output=tmp_path / "x.mp4")
    assert e.value.status == 409
    assert not (tmp_path / "x.mp4").exists()
    # Each side on its own is fine.
    assert export.cut_clip(camera, t0 + 4 * S, t0 + 8 * S, output=tmp_path / "y.mp4").bytes > 0


@pytest.mark.parametrize(
    ("start", "end", "status", "message"),
    [
        (0, 0, 400, "must end after it starts"),
        (10, 5, 400, "must end after it starts"),
        (0, 25 * 3600, 400, "at most 24 hours"),
        (-100, -50, 404, "No recorded video"),
    ],
)
def test_bad_ranges(camera, clip, t0, start, end, status, message):
    index_clip(camera, clip, t0, count=2)
    with pytest.raises(export.ExportError, match=message) as e:
        export.cut_clip(camera, t0 + start * S, t0 + end * S)
    assert e.value.status == status


def test_naive_times_are_refused(camera):
    with pytest.raises(export.ExportError, match="time zone"):
        export.cut_clip(camera, dt.datetime(2026, 1, 1, 10), dt.datetime(2026, 1, 1, 11))


def test_a_missing_segment_object_is_a_clear_error(camera, clip, t0):
    _s, segs = index_clip(camera, clip, t0, count=2)
    from gwanje.video.storage import default_store

    default_store().delete(segs[1].key)
    with pytest.raises(export.ExportError, match="missing from storage") as e:
        export.cut_clip(camera, t0, t0 + 4 * S)
    assert e.value.status == 500


# --- export_for: the choke point ----------------------------------------------------------------------
def test_police_without_a_grant_are_refused_and_logged(make_user, camera, clip, t0, video_dir):
    index_clip(camera, clip, t0, count=3)
    police = make_user(Role.POLICE_INVESTIGATOR)
    with pytest.raises(PermissionDenied, match="incident"):
        export.export_for(police, camera, t0, t0 + 4 * S)
    record = AccessLog.objects.order_by("-seq").first()
    assert (record.user_id, record.action, record.result) == (police.pk, "export", "denied")
    assert record.subject.startswith(f"camera:{camera.pk} ")
    assert not (video_dir / "exports").exists()  # nothing was cut


def test_roles_without_export_are_refused_and_logged(make_user, camera, clip, t0):
    index_clip(camera, clip, t0, count=3)
    agent = make_user(Role.MONITORING_AGENT)
    with pytest.raises(PermissionDenied):
        export.export_for(agent, camera, t0, t0 + 4 * S)
    assert AccessLog.objects.order_by("-seq").first().result == "denied"


def test_a_supervisor_exports_and_it_is_logged(make_user, camera, clip, t0):
    index_clip(camera, clip, t0, count=3)
    supervisor = make_user(Role.SUPERVISOR)
    result = export.export_for(supervisor, camera, t0 + S, t0 + 5 * S)
    try:
        assert abs(probe_duration(result.path) - 4) <= GOP
        record = AccessLog.objects.order_by("-seq").first()
        assert (record.user_id, record.action, record.result) == (supervisor.pk, "export", "allowed")
    finally:
        result.remove()


def test_export_for_checks_arguments_before_logging(make_user, camera):
    supervisor = make_user(Role.SUPERVISOR)
    count = AccessLog.objects.count()
    now = timezone.now()
    with pytest.raises(export.ExportError):
        export.export_for(supervisor, camera, now, now - S)
    assert AccessLog.objects.count() == count


# --- the command -------------------------------------------------------------------------------------
def test_the_command_writes_the_clip_and_logs_it(camera, clip, t0, tmp_path):
    index_clip(camera, clip, t0, count=5)
    out = tmp_path / "clip.mp4"
    local = timezone.localtime(t0 + 2 * S, dt.timezone(dt.timedelta(hours=9))).replace(tzinfo=None)
    stdout = io.StringIO()
    call_command(
        "video",
        "export",
        "--camera",
        str(camera.pk),
        "--start",
        local.isoformat(),  # no offset: Korean time
        "--end",
        (t0 + 8 * S).isoformat(),
        "-o",
        str(out),
        stdout=stdout,
    )
    assert abs(probe_duration(out) - 6) <= GOP
    assert f"wrote {out}" in stdout.getvalue()
    record = AccessLog.objects.order_by("-seq").first()
    assert (record.user_id, record.action, record.subject_type) == (None, "export", "camera")
    assert record.reason == "command line export (gwanje video export)"


def test_the_command_reports_gaps(camera, clip, t0, tmp_path):
    index_clip(camera, clip, t0, count=2)
    index_clip(camera, clip, t0 + 10 * S, count=2)
    stdout = io.StringIO()
    call_command(
        "video", "export", "--camera", str(camera.pk), "--start", t0.isoformat(),
        "--end", (t0 + 14 * S).isoformat(), "-o", str(tmp_path / "c.mp4"), stdout=stdout,
    )  # fmt: skip
    assert "gap (no recording, left out)" in stdout.getvalue()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--camera", "99999999"], "no camera with id 99999999"),
        (["--start", "yesterday"], "not a date and time"),
        (["--start", "2026-13-45T10:00"], "not a date and time"),
        (["--end", "2020-01-01T00:00"], "--end must be after --start"),
        (["-o", "clip.avi"], "must name an .mp4 file"),
        (["-o", "/nonexistent/folder/clip.mp4"], "does not exist"),
        (["--start", "2020-01-01T00:00", "--end", "2020-01-01T01:00"], "No recorded video"),
    ],
)
def test_the_command_refuses_bad_arguments(camera, tmp_path, args, message):
    base = {
        "--camera": str(camera.pk),
        "--start": "2026-11-24T10:00:00",
        "--end": "2026-11-24T10:05:00",
        "-o": str(tmp_path / "clip.mp4"),
    }
    for i in range(0, len(args), 2):
        base[args[i]] = args[i + 1]
    argv = [x for pair in base.items() for x in pair]
    with pytest.raises(CommandError, match=message):
        call_command("video", "export", *argv)
    assert not Segment.objects.filter(camera=camera).exists()
