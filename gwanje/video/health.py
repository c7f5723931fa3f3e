"""Camera health from the recorder.

Pure part: `classify()` turns what a failed ffmpeg printed (and how it ended) into a FaultReason
and a short, credential-free detail; `input_video_codec()` reads the input's codec from its stream
lines. Writes: `camera_down()` opens (or updates) the camera's CameraFault and its open
RecordingGap and sets Camera.status to fault; `camera_up()` closes them and sets it online — one
transaction each, status through the registry's services. `recording_blocked()` is the recorder's
own trouble (its disk is full): a gap, but no camera fault — the camera is fine."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from gwanje.registry import services as registry_services
from gwanje.registry.choices import CameraStatus
from gwanje.registry.models import Camera
from gwanje.video.choices import FaultReason
from gwanje.video.models import CameraFault, RecordingGap, Segment

DETAIL_MAX = 300
SUPPORTED_CODECS = frozenset({"h264"})
CODEC_NAMES = {"hevc": "H.265/HEVC", "h265": "H.265/HEVC", "mjpeg": "MJPEG", "mpeg4": "MPEG-4 Part 2"}


DISK_FULL_DETAIL = "the recording disk is full: no new video can be written (resumes when space is freed)"


@dataclass(frozen=True)
class Diagnosis:
    reason: str  # a FaultReason value
    detail: str  # English, credentials already redacted by the caller


_CLOSED = "the camera closed the connection"
# (pattern, reason, detail) — the first match in ffmpeg's last lines wins, most specific first.
_RULES: list[tuple[re.Pattern[str], str, str]] = [
    (re.compile(r"No space left on device|Disk quota exceeded", re.I), FaultReason.DISK_FULL,
     DISK_FULL_DETAIL),
    (re.compile(r"\b401 Unauthorized|\bUnauthorized\b|authorization failed", re.I), FaultReason.AUTH_FAILURE,
     "the camera refused the credentials (401 Unauthorized)"),
    (re.compile(r"\b403 Forbidden|\bForbidden\b", re.I), FaultReason.AUTH_FAILURE,
     "the camera refused access (403 Forbidden)"),
    (re.compile(r"matches no streams|does not contain any stream|no video", re.I), FaultReason.NO_VIDEO,
     "the stream has no video track"),
    (re.compile(r"Connection refused", re.I), FaultReason.CONNECTION_REFUSED,
     "connection refused by the camera (nothing listening on that port)"),
    (re.compile(r"Failed to resolve hostname|Name or service not known|name resolution", re.I),
     FaultReason.CONNECTION_REFUSED, "the camera's host name cannot be resolved"),
    (re.compile(r"No route to host|Network is unreachable|Host is unreachable", re.I), FaultReason.TIMEOUT,
     "the camera's host cannot be reached"),
    (re.compile(r"timed out|Connection timeout|ETIMEDOUT", re.I), FaultReason.TIMEOUT,
     "no answer from the camera within the timeout"),
    (re.compile(r"\b404 Not Found|\bNot Found\b", re.I), FaultReason.NOT_FOUND,
     "the camera has no stream at that path (404 Not Found)"),
    (re.compile(r"\b5\d\d (?:Internal Server Error|Service Unavailable)|Service Unavailable", re.I),
     FaultReason.OTHER, "the camera answered with a server error"),
    (re.compile(r"Connection reset by peer|End of file|Broken pipe", re.I), FaultReason.OTHER, _CLOSED),
    (re.compile(r"Invalid data found when processing input", re.I), FaultReason.OTHER,
     "the answer is not an RTSP stream ffmpeg can read"),
]  # fmt: skip

_NO_ANSWER = re.compile(r"Invalid data found when processing input|End of file|Input/output error", re.I)
_STREAM_LINE = re.compile(
    r"^\s*Stream #0:\d+(?:\[[^\]]*\])?(?:\([^)]*\))?: (Video|Audio|Data|Subtitle|Attachment): ([\w-]+)"
)


def input_video_codec(lines: Iterable[str]) -> str | None:
    """The codec name of the first video stream of input #0 (`h264`, `hevc`, …), or None when
    ffmpeg has not printed its input yet. Only lines between "Input #0" and "Output #0" count."""
    in_input = False
    for line in lines:
        if line.startswith("Input #0"):
            in_input = True
            continue
        if line.startswith("Output #") or line.startswith("Stream mapping"):
            break
        if in_input:
            m = _STREAM_LINE.match(line)
            if m and m.group(1) == "Video":
                return m.group(2).lower()
    return None


def disk_full(detail: str = DISK_FULL_DETAIL) -> Diagnosis:
    return Diagnosis(FaultReason.DISK_FULL, detail)


def unsupported_codec(codec: str) -> Diagnosis:
    name = CODEC_NAMES.get(codec, codec)
    return Diagnosis(FaultReason.UNSUPPORTED_CODEC, f"video codec {name} is not supported (H.264 only)")


def classify(
    lines: Iterable[str],
    returncode: int | None,
    *,
    recorded: bool,
    hung: bool = False,
    elapsed: float | None = None,
    io_timeout: float | None = None,
) -> Diagnosis:
    """Why a recording session ended.

    `lines`: ffmpeg's last stderr lines (redacted). `recorded`: the session had delivered segments
    — then a timeout or a plain end of stream means the camera stopped sending (stalled).
    `hung`: the supervisor killed it because no segment arrived in time. `elapsed`/`io_timeout`:
    how long ffmpeg ran and its socket timeout — a host that accepts the connection but never
    answers makes ffmpeg say only "Invalid data found" once the timeout has passed."""
    lines = [ln for ln in lines if ln.strip()]
    if hung:
        return Diagnosis(FaultReason.STALLED, "no new segment in time: the stream stopped delivering video")
    codec = input_video_codec(lines)
    if codec and codec not in SUPPORTED_CODECS:
        return unsupported_codec(codec)
    text_lines = [ln for ln in lines if not _is_noise(ln)]
    opened = any(ln.startswith("Input #0") for ln in lines)
    if (
        not recorded
        and not opened
        and elapsed is not None
        and io_timeout
        and elapsed >= 0.8 * io_timeout
        and text_lines
        and _NO_ANSWER.search(text_lines[-1])
    ):
        detail = f"the camera accepted the connection but did not answer within {io_timeout:g} s"
        return Diagnosis(FaultReason.TIMEOUT, detail)
    for line in reversed(text_lines):
        for pattern, reason, detail in _RULES:
            if pattern.search(line):
                if recorded and (reason == FaultReason.TIMEOUT or detail == _CLOSED):
                    return Diagnosis(FaultReason.STALLED, f"the stream stopped: {detail}")
                return Diagnosis(reason, detail)
    if returncode is not None and returncode < 0:
        return Diagnosis(FaultReason.OTHER, f"ffmpeg was killed (signal {-returncode})")
    if recorded:
        return Diagnosis(FaultReason.STALLED, "the stream ended (the camera stopped sending)")
    last = text_lines[-1].strip() if text_lines else ""
    code = f"ffmpeg exited with status {returncode}" if returncode is not None else "ffmpeg ended"
    return Diagnosis(FaultReason.OTHER, _clip(f"{code}: {last}" if last else code))


_NOISE = re.compile(
    r"Opening '.*' for writing|Timestamps are unset|Non-monotonous DTS|Exiting normally|"
    r"^\s*(?:Metadata|title|comment|encoder|Duration)\s*:|^\s*Stream #|^\s*Stream mapping|"
    r"^(?:Input|Output) #|^\s*frame=|^video:"
)


def _is_noise(line: str) -> bool:
    return bool(_NOISE.search(line))


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= DETAIL_MAX else text[: DETAIL_MAX - 1] + "…"


# --- writes ----------------------------------------------------------------------------------------


def _last_end(camera_id: int) -> dt.datetime | None:
    return Segment.objects.filter(camera_id=camera_id).aggregate(m=Max("end"))["m"]


def _report(camera_id: int, fault: CameraFault, state: str, at: dt.datetime) -> None:
    """After commit, the fault (or its end) goes to the incident intake as a camera-fault event."""
    from gwanje.situations.services.intake import report_camera_fault

    key = f"fault-{fault.pk}-{state}"
    transaction.on_commit(
        lambda: report_camera_fault(camera_id, reason=fault.reason, state=state, at=at, key=key)
    )


@transaction.atomic
def camera_down(camera_id: int, diagnosis: Diagnosis, *, at: dt.datetime | None = None) -> CameraFault:
    """The recorder lost the camera: open its fault (or update the open one's reason and detail),
    open a recording gap from the end of its last segment, and set its status to fault."""
    at = at or timezone.now()
    detail = _clip(diagnosis.detail)
    fault = CameraFault.objects.select_for_update().filter(camera_id=camera_id, ended_at__isnull=True).first()
    if fault is None:
        fault = CameraFault.objects.create(
            camera_id=camera_id, reason=diagnosis.reason, detail=detail, started_at=at
        )
        _report(camera_id, fault, "down", at)
    elif (fault.reason, fault.detail) != (diagnosis.reason, detail):
        fault.reason, fault.detail = diagnosis.reason, detail
        fault.save(update_fields=["reason", "detail"])
    if not RecordingGap.objects.filter(camera_id=camera_id, end__isnull=True).exists():
        # From the end of the last recorded video (stream time), which can lie a little after `at`:
        # ffmpeg anchors stream time at the wall clock once it has probed the stream.
        start = _last_end(camera_id) or at
        RecordingGap.objects.create(camera_id=camera_id, start=start, reason=diagnosis.reason)
    camera = Camera.objects.get(pk=camera_id)
    if camera.status != CameraStatus.RETIRED:
        registry_services.set_camera_status(camera, CameraStatus.FAULT)
    return fault


@transaction.atomic
def recording_blocked(camera_id: int, diagnosis: Diagnosis, *, at: dt.datetime | None = None) -> None:
    """The recorder cannot record the camera for a reason of its own (the disk is full): open the
    recording gap (with that reason) from the end of its last segment — no CameraFault, no status
    change (the camera itself is fine; the disk_full video alarm tells the operators)."""
    at = at or timezone.now()
    if not RecordingGap.objects.filter(camera_id=camera_id, end__isnull=True).exists():
        start = _last_end(camera_id) or at
        RecordingGap.objects.create(camera_id=camera_id, start=start, reason=diagnosis.reason)


@transaction.atomic
def camera_up(camera_id: int, *, at: dt.datetime | None = None) -> None:
    """The camera records again: close its open fault and set it online (gaps are closed by the
    index, at the first segment's stream time)."""
    at = at or timezone.now()
    for fault in CameraFault.objects.filter(camera_id=camera_id, ended_at__isnull=True):
        _report(camera_id, fault, "up", at)
    CameraFault.objects.filter(camera_id=camera_id, ended_at__isnull=True).update(ended_at=at)
    camera = Camera.objects.get(pk=camera_id)
    if camera.status not in (CameraStatus.ONLINE, CameraStatus.RETIRED):
        registry_services.set_camera_status(camera, CameraStatus.ONLINE)


@transaction.atomic
def camera_unmonitored(camera_ids: Iterable[int], *, at: dt.datetime | None = None) -> int:
    """Cameras the recorder no longer records (retired, 현장저장, URL removed): their open faults and
    gaps are closed; a camera left in `fault` becomes `offline` (its health is no longer known)."""
    at = at or timezone.now()
    ids = list(camera_ids)
    closed = CameraFault.objects.filter(camera_id__in=ids, ended_at__isnull=True).update(ended_at=at)
    RecordingGap.objects.filter(camera_id__in=ids, end__isnull=True).update(end=at)
    for camera in Camera.objects.filter(pk__in=ids, status=CameraStatus.FAULT):
        registry_services.set_camera_status(camera, CameraStatus.OFFLINE)
    return closed
