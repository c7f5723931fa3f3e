"""Pure parser of the HLS media playlist ffmpeg's hls muxer writes for a recording session.

ffmpeg replaces the playlist atomically (writes index.m3u8.tmp, renames) after each finished
segment, so every segment it lists is complete. Each entry carries the segment's own duration
(EXTINF, stream time) and EXT-X-PROGRAM-DATE-TIME (ffmpeg's clock when the output started plus the
stream durations before the segment)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Entry:
    seq: int  # media sequence number (== the %06d number in the file name)
    uri: str
    duration: float  # seconds, stream time
    program_date_time: dt.datetime | None


@dataclass(frozen=True)
class Playlist:
    media_sequence: int = 0
    init_uri: str | None = None
    entries: tuple[Entry, ...] = field(default_factory=tuple)
    ended: bool = False  # EXT-X-ENDLIST: ffmpeg finished the session (its trailer was written)


_MAP = re.compile(r'#EXT-X-MAP:.*?URI="([^"]+)"')
_PDT_TZ = re.compile(r"([+-]\d{2})(\d{2})$")


def parse_datetime(value: str) -> dt.datetime | None:
    """EXT-X-PROGRAM-DATE-TIME as ffmpeg writes it (2026-11-24T13:31:32.548+0000) or ISO 8601."""
    value = value.strip()
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    value = _PDT_TZ.sub(r"\1:\2", value)
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC)


def parse_playlist(text: str) -> Playlist:
    """The playlist's entries in order. Lines it does not know are ignored; a malformed EXTINF
    makes that entry's duration 0 (the caller skips such entries)."""
    media_sequence = 0
    init_uri = None
    ended = False
    entries: list[Entry] = []
    duration: float | None = None
    pdt: dt.datetime | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#EXT-X-MEDIA-SEQUENCE:"):
            try:
                media_sequence = int(line.split(":", 1)[1])
            except ValueError:
                media_sequence = 0
        elif line.startswith("#EXT-X-MAP:"):
            m = _MAP.match(line)
            if m:
                init_uri = m.group(1)
        elif line.startswith("#EXTINF:"):
            try:
                duration = float(line[len("#EXTINF:") :].split(",", 1)[0])
            except ValueError:
                duration = 0.0
        elif line.startswith("#EXT-X-PROGRAM-DATE-TIME:"):
            pdt = parse_datetime(line.split(":", 1)[1])
        elif line.startswith("#EXT-X-ENDLIST"):
            ended = True
        elif not line.startswith("#"):
            entries.append(
                Entry(
                    seq=media_sequence + len(entries),
                    uri=line,
                    duration=duration if duration is not None else 0.0,
                    program_date_time=pdt,
                )
            )
            duration, pdt = None, None
    return Playlist(media_sequence=media_sequence, init_uri=init_uri, entries=tuple(entries), ended=ended)
