"""Recorded video as the browser plays it: time windows, recorded ranges and gaps, and the HLS VOD
playlist built from the segment index.

Pure functions over plain values (testable without a database) plus two read helpers over the
index. Times are aware datetimes (UTC in the database, stream time); the playlist's
EXT-X-PROGRAM-DATE-TIME carries each segment's stream time, so the player's clock is stream time.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from django.utils import timezone
from django.utils.translation import gettext as _

# Segments closer than this are one recorded range (ffmpeg's cut points are not exact).
MERGE_TOLERANCE = dt.timedelta(seconds=0.5)
API_DEFAULT_RANGE = dt.timedelta(hours=24)
API_MAX_RANGE = dt.timedelta(days=7)
PLAYLIST_MAX_RANGE = dt.timedelta(hours=24)
CLIP_MAX_RANGE = dt.timedelta(minutes=30)

_ISO_SPACE_OFFSET = re.compile(r"^(.*\d)[ ](\d{2}:?\d{2})$")


class WindowError(ValueError):
    """Bad time input; `field` names the parameter (start, end, t) for the API's error body."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def parse_time(raw: str | None, field: str) -> dt.datetime:
    """An ISO 8601 time with a UTC offset (`2026-11-24T09:30:00+09:00`, `…Z`). A `+` that arrived
    unescaped in a query string (and so became a space) is taken back."""
    text = (raw or "").strip()
    if not text:
        raise WindowError(field, _("Give a time."))
    m = _ISO_SPACE_OFFSET.match(text)
    if m:
        text = f"{m.group(1)}+{m.group(2)}"
    not_a_time = _("Not a time: use ISO 8601 with an offset, e.g. 2026-11-24T09:30:00+09:00.")
    if len(text) > 40:
        raise WindowError(field, not_a_time)
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise WindowError(field, not_a_time) from None
    if value.tzinfo is None or value.utcoffset() is None:
        raise WindowError(field, _("The time needs a UTC offset, e.g. +09:00 for Seoul or Z for UTC."))
    if not 2000 <= value.year <= 2999:
        raise WindowError(field, _("The time is out of range."))
    return value.astimezone(dt.UTC)


def window(
    start_raw: str | None,
    end_raw: str | None,
    *,
    default: dt.timedelta,
    maximum: dt.timedelta,
    now: dt.datetime | None = None,
    required: bool = False,
) -> tuple[dt.datetime, dt.datetime]:
    """The period start–end from query parameters: both missing → the last `default` up to now; one
    missing → `default` from (or up to) the other (`required`: both must be given). Refused
    (WindowError) when start ≥ end or the period is longer than `maximum`."""
    now = now or timezone.now()
    start = parse_time(start_raw, "start") if start_raw or required else None
    end = parse_time(end_raw, "end") if end_raw or required else None
    if start is None and end is None:
        end = now
    if start is None:
        start = end - default
    if end is None:
        end = start + default
    if start >= end:
        raise WindowError("end", _("The end must come after the start."))
    if end - start > maximum:
        raise WindowError("end", _("The period is at most %(limit)s.") % {"limit": describe(maximum)})
    return start, end


def describe(span: dt.timedelta) -> str:
    seconds = int(span.total_seconds())
    if seconds % 86400 == 0:
        n = seconds // 86400
        return _("%(n)d days") % {"n": n} if n != 1 else _("1 day")
    if seconds % 3600 == 0:
        n = seconds // 3600
        return _("%(n)d hours") % {"n": n} if n != 1 else _("1 hour")
    return _("%(n)d minutes") % {"n": seconds // 60}


# --- recorded ranges and gaps --------------------------------------------------------------------


@dataclass(frozen=True)
class Span:
    start: dt.datetime
    end: dt.datetime
    reason: str = ""

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()


def merge_ranges(
    periods: Iterable[tuple[dt.datetime, dt.datetime]], tolerance: dt.timedelta = MERGE_TOLERANCE
) -> list[Span]:
    """Contiguous (within `tolerance`) or overlapping periods merged, in time order."""
    out: list[list[dt.datetime]] = []
    for start, end in sorted(periods):
        if out and start <= out[-1][1] + tolerance:
            out[-1][1] = max(out[-1][1], end)
        else:
            out.append([start, end])
    return [Span(s, e) for s, e in out]


def clip(spans: Sequence[Span], start: dt.datetime, end: dt.datetime) -> list[Span]:
    inside = [s for s in spans if s.end > start and s.start < end]
    return [Span(max(s.start, start), min(s.end, end), s.reason) for s in inside]


def find_gaps(
    ranges: Sequence[Span],
    start: dt.datetime,
    end: dt.datetime,
    known: Sequence[Span] = (),
    tolerance: dt.timedelta = MERGE_TOLERANCE,
) -> list[Span]:
    """The parts of start–end not covered by `ranges` (longer than `tolerance`); each gap takes the
    reason of the recorded gap (`known`, e.g. RecordingGap rows) that overlaps it most."""
    holes: list[tuple[dt.datetime, dt.datetime]] = []
    cursor = start
    for r in ranges:
        if r.start > cursor:
            holes.append((cursor, min(r.start, end)))
        cursor = max(cursor, r.end)
        if cursor >= end:
            break
    if cursor < end:
        holes.append((cursor, end))
    gaps = []
    for s, e in holes:
        if e - s <= tolerance:
            continue
        best, overlap = "", dt.timedelta(0)
        for k in known:
            o = min(e, k.end) - max(s, k.start)
            if o > overlap and k.reason:
                best, overlap = k.reason, o
        gaps.append(Span(s, e, best))
    return gaps


# --- the HLS VOD playlist -------------------------------------------------------------------------


@dataclass(frozen=True)
class PlaylistSegment:
    id: int
    session_id: int
    start: dt.datetime
    end: dt.datetime

    @property
    def duration(self) -> float:
        return max((self.end - self.start).total_seconds(), 0.001)


def _pdt(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def build_playlist(
    segments: Sequence[PlaylistSegment],
    *,
    segment_uri: Callable[[PlaylistSegment], str],
    init_uri: Callable[[int], str],
    tolerance: dt.timedelta = MERGE_TOLERANCE,
) -> str:
    """An HLS VOD playlist (version 7, fMP4) of `segments` in time order: EXT-X-MAP for each recording
    session's init segment, EXT-X-DISCONTINUITY where the session changes or a gap lies between two
    segments, EXT-X-PROGRAM-DATE-TIME (stream time, UTC) and EXTINF (from the index) per segment."""
    target = max((math.ceil(s.duration - 0.0005) for s in segments), default=1)
    lines = [
        "#EXTM3U",
        "#EXT-X-VERSION:7",
        f"#EXT-X-TARGETDURATION:{max(target, 1)}",
        "#EXT-X-MEDIA-SEQUENCE:0",
        "#EXT-X-PLAYLIST-TYPE:VOD",
        "#EXT-X-INDEPENDENT-SEGMENTS",
    ]
    previous: PlaylistSegment | None = None
    for seg in segments:
        new_session = previous is None or seg.session_id != previous.session_id
        if previous is not None and (new_session or abs(seg.start - previous.end) > tolerance):
            lines.append("#EXT-X-DISCONTINUITY")
        if new_session:
            lines.append(f'#EXT-X-MAP:URI="{init_uri(seg.session_id)}"')
        lines.append(f"#EXT-X-PROGRAM-DATE-TIME:{_pdt(seg.start)}")
        lines.append(f"#EXTINF:{seg.duration:.3f},")
        lines.append(segment_uri(seg))
        previous = seg
    lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"


# --- reads over the segment index -----------------------------------------------------------------


def segments_between(camera, start: dt.datetime, end: dt.datetime, *, whole: bool = False):
    """Segments of `camera` overlapping start–end (with `whole`: lying entirely inside it), by time."""
    from gwanje.video.models import Segment

    qs = Segment.objects.filter(camera=camera)
    qs = qs.filter(start__gte=start, end__lte=end) if whole else qs.filter(start__lt=end, end__gt=start)
    return qs.order_by("start", "id")


def recordings(camera, start: dt.datetime, end: dt.datetime, *, now: dt.datetime | None = None) -> dict:
    """What the recordings API answers: recorded ranges and gaps of `camera` in start–end (gaps only
    up to now: the future is not missing), segment count and bytes."""
    from django.db.models import Q

    from gwanje.video.models import RecordingGap

    now = now or timezone.now()
    rows = list(segments_between(camera, start, end).values_list("start", "end", "bytes"))
    ranges = clip(merge_ranges((s, e) for s, e, _b in rows), start, end)
    horizon = min(end, now)
    known = [
        Span(g.start, g.end or now, g.reason)
        for g in RecordingGap.objects.filter(camera=camera, start__lt=horizon).filter(
            Q(end__isnull=True) | Q(end__gt=start)
        )
    ]
    gaps = find_gaps(ranges, start, horizon, known) if start < horizon else []
    return {
        "camera": camera.pk,
        "start": start,
        "end": end,
        "ranges": ranges,
        "gaps": gaps,
        "segment_count": len(rows),
        "bytes": sum(b for _s, _e, b in rows),
        "recorded_seconds": round(sum(r.seconds for r in ranges), 3),
    }
