"""Playback of recorded video, snapshots and clip downloads.

Access control and the access log (gwanje.core.access):
- opening a playback = the playlist request: `require_video(video.playback, start, end)`, one
  access-log record per playlist (not per segment);
- init and media segments: `video_decision(video.playback)` for the segment's own period (the init
  segment: the playlist's period), no record; 403 when refused (an expired or revoked grant cuts
  playback off at the next segment);
- snapshots (recorded or live) for incident reports: `video.snapshot`, logged as downloads; clips:
  `video.export`, logged.
"""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_safe

from gwanje.core import access, permissions
from gwanje.registry.models import Camera
from gwanje.video import export, playback, snapshots
from gwanje.video.models import RecordingSession, Segment
from gwanje.video.storage import default_store

SEOUL = ZoneInfo("Asia/Seoul")
PLAYLIST_DEFAULT = dt.timedelta(hours=1)
SPANS = (600, 3600, 6 * 3600, 24 * 3600)  # timeline windows offered on the page (seconds)
DEFAULT_SPAN = 3600
DEFAULT_LOOKBACK = dt.timedelta(minutes=10)


def url_for(name: str, *args) -> str:
    """reverse() under the `video` namespace when the routes are included there, else by bare name."""
    try:
        return reverse(f"video:{name}", args=args)
    except NoReverseMatch:
        return reverse(name, args=args)


def fits(pk: int) -> bool:
    """An id the database can hold (a larger one overflows: 404, not 500)."""
    return 0 < pk < 2**63


def _camera(request, camera_id: int) -> Camera:
    if not fits(camera_id):
        raise Http404
    visible = permissions.restrict(request.user, "registry.view", Camera.objects.select_related("site"))
    return access.visible_or_404(request, visible, camera_id, what="video")


def _error(request, status: int, message: str):
    return render(request, "error.html", {"status": status, "message": message}, status=status)


def _text(status: int, message: str) -> HttpResponse:
    return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")


def _seoul(t: dt.datetime) -> str:
    return t.astimezone(SEOUL).isoformat(timespec="seconds")


# --- the page -----------------------------------------------------------------------------------


@permissions.requires("video.playback")
@require_GET
def playback_page(request, camera_id: int):
    camera = _camera(request, camera_id)
    now = timezone.now()
    error = ""
    t = now - DEFAULT_LOOKBACK
    if request.GET.get("t"):
        try:
            t = playback.parse_time(request.GET["t"], "t")
        except playback.WindowError as e:
            error = e.message
    try:
        span = int(request.GET.get("span", DEFAULT_SPAN))
    except ValueError:
        span = DEFAULT_SPAN
    if span not in SPANS:
        span = DEFAULT_SPAN
    config = {
        "camera": camera.pk,
        "label": camera.label,
        "t": _seoul(t),
        "span": span,
        "spans": list(SPANS),
        "now": _seoul(now),
        "playlistUrl": url_for("playback-playlist", camera.pk),
        "recordingsUrl": reverse("api-camera-recordings", args=[camera.pk]),
        "snapshotUrl": url_for("snapshot", camera.pk),
        "exportUrl": url_for("export-clip", camera.pk),
        "clipMaxSeconds": int(playback.CLIP_MAX_RANGE.total_seconds()),
        "canExport": permissions.allowed(request.user, "video.export"),
    }
    context = {
        "camera": camera,
        "config": config,
        "error": error,
        "t_local": t.astimezone(SEOUL).strftime("%Y-%m-%dT%H:%M:%S"),
        "spans": [(s, playback.describe(dt.timedelta(seconds=s))) for s in SPANS],
        "span": span,
        "onsite": camera.site.has_onsite_storage,
        "can_export": config["canExport"],
        "can_snapshot": permissions.allowed(request.user, "video.snapshot"),
        "clip_max": playback.describe(playback.CLIP_MAX_RANGE),
    }
    return render(request, "video/playback.html", context)


# --- the playlist and its media -------------------------------------------------------------------


@permissions.requires("video.playback")
@require_GET
def playlist(request, camera_id: int):
    """The HLS VOD playlist of `camera` for ?start=&end= (default: the last hour; at most 24 h)."""
    camera = _camera(request, camera_id)
    now = timezone.now()
    try:
        start, end = playback.window(
            request.GET.get("start"),
            request.GET.get("end"),
            default=PLAYLIST_DEFAULT,
            maximum=playback.PLAYLIST_MAX_RANGE,
            now=now,
        )
    except playback.WindowError as e:
        return _text(400, e.message)
    end = min(end, now)
    if start >= end:
        return _text(400, _("The period lies in the future: nothing is recorded yet."))
    try:
        decision = access.require_video(
            request.user, "video.playback", camera, start=start, end=end, request=request
        )
    except PermissionDenied as e:
        return _text(403, str(e))
    # Police (grant-bound) get only the segments lying wholly inside the period their grant allows,
    # so every media URL of the playlist passes its own check.
    rows = playback.segments_between(camera, start, end, whole=decision.grant is not None)
    segments = [
        playback.PlaylistSegment(id=s.id, session_id=s.session_id, start=s.start, end=s.end)
        for s in rows.only("id", "session_id", "start", "end")
    ]
    if not segments:
        return _text(404, _("Nothing is recorded of this camera in this period."))
    period = urlencode({"start": _seoul(start), "end": _seoul(end)})
    text = playback.build_playlist(
        segments,
        segment_uri=lambda s: f"seg/{s.id}.m4s",
        init_uri=lambda session_id: f"init/{session_id}.mp4?{period}",
    )
    return HttpResponse(text, content_type="application/vnd.apple.mpegurl")


def _refused(user, camera, start, end) -> HttpResponse | None:
    decision = access.video_decision(user, "video.playback", camera, start=start, end=end)
    if decision.allowed:
        return None
    if decision.reason == "no_grant":
        return _text(403, _("Police may view this camera's video only under an open incident's video grant."))
    return _text(403, _("You do not have permission for this action."))


@permissions.requires("video.playback")
@require_safe
def init_segment(request, camera_id: int, session_id: int):
    if not fits(session_id):
        raise Http404
    session = RecordingSession.objects.select_related("camera__site").filter(pk=session_id).first()
    if session is None or session.camera_id != camera_id or not session.init_key:
        raise Http404
    try:
        start, end = playback.window(
            request.GET.get("start"),
            request.GET.get("end"),
            default=PLAYLIST_DEFAULT,
            maximum=playback.PLAYLIST_MAX_RANGE,
        )
    except playback.WindowError as e:
        return _text(400, e.message)
    refused = _refused(request.user, session.camera, start, end)
    return refused or serve_stored(request, session.init_key, "video/mp4")


@permissions.requires("video.playback")
@require_safe
def media_segment(request, camera_id: int, segment_id: int):
    if not fits(segment_id):
        raise Http404
    segment = Segment.objects.select_related("camera__site").filter(pk=segment_id).first()
    if segment is None or segment.camera_id != camera_id:
        raise Http404
    refused = _refused(request.user, segment.camera, segment.start, segment.end)
    return refused or serve_stored(request, segment.key, "video/iso.segment")


_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def parse_range(header: str, size: int) -> tuple[int, int] | None | bool:
    """The (first, last) byte of a single-range `Range` header; None to serve the whole file (no
    header, a syntax we ignore, or several ranges); False when unsatisfiable (416)."""
    m = _RANGE.match(header.strip().replace(" ", "")) if header else None
    if not m or (not m.group(1) and not m.group(2)):
        return None
    first, last = m.group(1), m.group(2)
    if not first:  # suffix: the last N bytes
        n = int(last)
        if n == 0 or size == 0:
            return False
        return max(size - n, 0), size - 1
    a = int(first)
    b = int(last) if last else size - 1
    if last and b < a:
        return None  # invalid: ignored
    if a >= size:
        return False
    return a, min(b, size - 1)


class _Slice:
    """A file-like reading `length` bytes from the current position (FileResponse closes it)."""

    def __init__(self, f, length: int) -> None:
        self.f, self.left = f, length

    def read(self, n: int = -1) -> bytes:
        if self.left <= 0:
            return b""
        n = self.left if n is None or n < 0 else min(n, self.left)
        data = self.f.read(n)
        self.left -= len(data)
        return data

    def close(self) -> None:
        self.f.close()


def serve_stored(request, key: str, content_type: str, *, filename: str | None = None) -> HttpResponse:
    """A stored object (segment store) as the response, honouring a single byte `Range`."""
    store = default_store()
    try:
        size = store.size(key)
    except (OSError, ValueError):
        raise Http404 from None
    wanted = parse_range(request.headers.get("Range", ""), size)
    if wanted is False:
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{size}"
        response["Accept-Ranges"] = "bytes"
        return response
    f = store.open(key)
    if wanted is None:
        response = FileResponse(f, content_type=content_type, filename=filename or "")
        response["Content-Length"] = str(size)
    else:
        first, last = wanted
        f.seek(first)
        response = FileResponse(_Slice(f, last - first + 1), status=206, content_type=content_type)
        response["Content-Length"] = str(last - first + 1)
        response["Content-Range"] = f"bytes {first}-{last}/{size}"
    response["Accept-Ranges"] = "bytes"
    return response


# --- snapshots and clips ------------------------------------------------------------------------------


def _stamp(t: dt.datetime) -> str:
    return t.astimezone(SEOUL).strftime("%Y%m%d-%H%M%S")


@permissions.requires("video.snapshot")
@require_GET
def snapshot(request, camera_id: int):
    """?t=<ISO>: the recorded frame at t; ?live=1: the camera's main stream now. A JPEG download
    for an incident report, authorized as `video.snapshot` (police: under a grant covering t) and
    logged as a download."""
    camera = _camera(request, camera_id)
    live = request.GET.get("live", "").lower() in ("1", "true", "yes")
    now = timezone.now()
    if live:
        t = now
    else:
        try:
            t = playback.parse_time(request.GET.get("t"), "t")
        except playback.WindowError as e:
            return _error(request, 400, e.message)
        if t > now:
            return _error(request, 400, _("That time has not come yet."))
    try:
        access.require_video(
            request.user,
            "video.snapshot",
            camera,
            start=t,
            end=t,
            reason=f"snapshot ({'live' if live else 'recorded'})",
            request=request,
        )
    except PermissionDenied as e:
        return _error(request, 403, str(e))
    try:
        jpeg = snapshots.live_snapshot(camera) if live else snapshots.recorded_snapshot(camera, t)
    except snapshots.SnapshotError as e:
        return _error(request, e.status, e.message)
    response = HttpResponse(jpeg, content_type="image/jpeg")
    name = f"{camera.label}_{_stamp(t)}{'_live' if live else ''}.jpg"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@permissions.requires("video.export")
@require_GET
def export_clip(request, camera_id: int):
    """?start=&end= (at most 30 min): the recorded clip as one MP4 (stream copy), as an attachment.
    gwanje.video.export.export_for authorizes `video.export` and writes the access log; gaps inside
    the range are left out of the clip."""
    camera = _camera(request, camera_id)
    try:
        start, end = playback.window(
            request.GET.get("start"),
            request.GET.get("end"),
            default=playback.CLIP_MAX_RANGE,
            maximum=playback.CLIP_MAX_RANGE,
            required=True,
        )
    except playback.WindowError as e:
        return _error(request, 400, e.message)
    if end > timezone.now():
        return _error(request, 400, _("The clip must end in the past."))
    try:
        clip = export.export_for(request.user, camera, start, end, request=request)
    except PermissionDenied as e:
        return _error(request, 403, str(e))
    except export.ExportError as e:
        return _error(request, e.status, str(e))
    f = clip.path.open("rb")
    clip.remove()  # the open file stays readable until the response closes it; nothing is left behind
    return FileResponse(f, as_attachment=True, filename=clip.path.name, content_type="video/mp4")
