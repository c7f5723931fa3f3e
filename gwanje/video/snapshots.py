"""Snapshots: one JPEG of a camera's recorded frame at a time, or of its main stream now.

ffmpeg argv are built by pure functions; ffmpeg runs in its own session with a deadline and is
killed (whole process group) and reaped when it overruns. Errors carry a message fit to show, with
stream credentials redacted.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import tempfile
from contextlib import ExitStack, suppress
from pathlib import Path

from django.utils.translation import gettext as _

from gwanje.core.fields import redact_url

FFMPEG = os.environ.get("GWANJE_FFMPEG", "ffmpeg")
LIVE_TIMEOUT_S = 10.0
RECORDED_TIMEOUT_S = 20.0
JPEG_QUALITY = 3  # -q:v for mjpeg: 2 (best) … 31


class SnapshotError(Exception):
    """No snapshot; `status` is the HTTP answer (404: nothing recorded then, 503: camera or ffmpeg
    failed), `message` is fit to show."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def recorded_argv(init: str, segment: str, offset_s: float, *, ffmpeg: str = FFMPEG) -> list[str]:
    """ffmpeg over the concat protocol (init segment + media segment: an fMP4 fragment is not
    playable alone), seeking `offset_s` into the segment (decoded from the keyframe before, exact)."""
    return [
        ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error",
        "-ss", f"{max(offset_s, 0.0):.3f}",
        "-i", f"concat:{init}|{segment}",
        "-map", "0:v:0", "-frames:v", "1", "-q:v", str(JPEG_QUALITY),
        "-f", "mjpeg", "pipe:1",
    ]  # fmt: skip


def live_argv(url: str, *, timeout_s: float = LIVE_TIMEOUT_S, ffmpeg: str = FFMPEG) -> list[str]:
    """One frame of an RTSP stream (over TCP), as JPEG on stdout."""
    return [
        ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error",
        "-rtsp_transport", "tcp", "-timeout", str(int(timeout_s * 1_000_000)),
        "-i", url,
        "-map", "0:v:0", "-frames:v", "1", "-q:v", str(JPEG_QUALITY),
        "-f", "mjpeg", "pipe:1",
    ]  # fmt: skip


def run_ffmpeg(argv: list[str], *, timeout: float, secret: str = "") -> bytes:
    """Run ffmpeg, return its stdout (a JPEG). Killed with its process group after `timeout` s."""
    try:
        proc = subprocess.Popen(  # noqa: S603 - argv list, no shell
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
    except OSError as e:
        raise SnapshotError(503, _("ffmpeg could not be started: %(e)s") % {"e": e.strerror}) from None
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill(proc)
        raise SnapshotError(
            503, _("The camera did not send a picture within %(n)d seconds.") % {"n": round(timeout)}
        ) from None
    finally:
        if proc.poll() is None:  # an exception other than the timeout (e.g. the request thread)
            _kill(proc)
    if proc.returncode != 0 or not is_jpeg(out):
        detail = err.decode("utf-8", "replace").strip().splitlines()
        message = detail[-1][:200] if detail else f"exit {proc.returncode}"
        if secret:
            message = message.replace(secret, redact_url(secret))
        raise SnapshotError(503, _("No picture could be taken: %(detail)s") % {"detail": message})
    return out


def _kill(proc: subprocess.Popen) -> None:
    with suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate()


def is_jpeg(data: bytes) -> bool:
    return len(data) > 4 and data[:3] == b"\xff\xd8\xff" and data.rstrip(b"\x00")[-2:] == b"\xff\xd9"


def recorded_snapshot(camera, t: dt.datetime, *, store=None) -> bytes:
    """The JPEG of `camera`'s recorded frame at stream time `t` (404 SnapshotError: not recorded)."""
    from gwanje.video.models import Segment
    from gwanje.video.storage import default_store

    store = store or default_store()
    segment = (
        Segment.objects.select_related("session")
        .filter(camera=camera, start__lte=t, end__gt=t)
        .order_by("-start", "-id")
        .first()
    )
    if segment is None or not segment.session.init_key:
        raise SnapshotError(404, _("Nothing is recorded of this camera at that time."))
    offset = (t - segment.start).total_seconds()
    with ExitStack() as stack:
        paths = [_local(store, key, stack) for key in (segment.session.init_key, segment.key)]
        return run_ffmpeg(recorded_argv(str(paths[0]), str(paths[1]), offset), timeout=RECORDED_TIMEOUT_S)


def _local(store, key: str, stack: ExitStack) -> Path:
    """A filesystem path of a stored object: the store's own, or a temporary copy (object storage)."""
    path = store.local_path(key)
    if path is not None:
        if not path.exists():
            raise SnapshotError(404, _("The recorded segment is missing from storage."))
        return path
    tmp = stack.enter_context(tempfile.NamedTemporaryFile(suffix=Path(key).suffix))  # noqa: SIM115
    with store.open(key) as src:
        while chunk := src.read(1 << 20):
            tmp.write(chunk)
    tmp.flush()
    return Path(tmp.name)


def live_snapshot(camera, *, timeout: float | None = None) -> bytes:
    """A JPEG grabbed from `camera`'s main stream now (within `timeout`, default LIVE_TIMEOUT_S)."""
    timeout = timeout or LIVE_TIMEOUT_S
    url = camera.main_stream_url or ""
    if not url:
        raise SnapshotError(503, _("The camera has no main stream URL."))
    return run_ffmpeg(live_argv(url, timeout_s=timeout), timeout=timeout, secret=url)
