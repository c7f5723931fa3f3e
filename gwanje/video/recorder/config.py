"""Typed configuration of the recorder. Everything ffmpeg is told comes from these dataclasses
through the pure functions in argv.py; nothing is read from the environment below this line."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from gwanje.video.choices import Stream


@dataclass(frozen=True)
class RecorderConfig:
    """How the supervisor records (one instance per `gwanje recorder` process)."""

    spool_dir: Path  # ffmpeg writes here; finished segments are moved into the store
    segment_seconds: int = 10
    ffmpeg: str = "ffmpeg"
    # Socket timeout ffmpeg applies to connecting and reading (None: derived from the segment length).
    io_timeout_seconds: float | None = None
    hang_factor: float = 3.0  # killed as hung when no new segment arrives in this many segment lengths
    backoff_min_seconds: float = 1.0
    backoff_max_seconds: float = 60.0
    healthy_after_seconds: float = 60.0  # a session that recorded this long resets the back-off
    registry_poll_seconds: float = 5.0  # how often the registry fingerprint is compared
    registry_reload_seconds: float = 60.0  # full reload even when the fingerprint did not change
    tick_seconds: float = 0.25
    stop_grace_seconds: float = 3.0  # SIGTERM → wait → SIGKILL
    gap_tolerance_seconds: float | None = None  # None: max(1.5 s, 20 % of a segment)
    camera_ids: frozenset[int] | None = None  # only these cameras (None: every central-storage camera)
    pdeathsig: bool = True  # children get SIGTERM if the recorder dies (setpriv --pdeathsig)
    disk_check_seconds: float = 10.0  # disk alarms and make_room() (the disk-full policy) this often
    # Less free space than this where ffmpeg writes is "full": ffmpeg would write truncated segments
    # without noticing, so it is stopped and started again (with back-off) once there is room.
    disk_full_free_bytes: int = 64 * 1024 * 1024
    room_batch: int = 2000  # at most this many segments deleted per make_room() call

    def __post_init__(self) -> None:
        if not 1 <= self.segment_seconds <= 60:
            raise ValueError("segment_seconds must lie between 1 and 60")
        if self.backoff_min_seconds <= 0 or self.backoff_max_seconds < self.backoff_min_seconds:
            raise ValueError("bad back-off bounds")

    @property
    def io_timeout(self) -> float:
        if self.io_timeout_seconds is not None:
            return float(self.io_timeout_seconds)
        # ffmpeg gives up on a stalled RTSP/TCP stream after about twice this: with one segment length
        # the stall is reported (by ffmpeg or by the hang check) within 3 segment lengths.
        return float(min(15, max(5, self.segment_seconds)))

    @property
    def hang_seconds(self) -> float:
        return self.hang_factor * self.segment_seconds

    @property
    def gap_tolerance(self) -> float:
        if self.gap_tolerance_seconds is not None:
            return float(self.gap_tolerance_seconds)
        return max(1.5, 0.2 * self.segment_seconds)

    @property
    def playlist_size(self) -> int:
        """Segments kept in ffmpeg's playlist: ten minutes' worth (the recorder reads it every tick;
        an unbounded list would grow without end and be rewritten by ffmpeg on every segment)."""
        return max(30, math.ceil(600 / self.segment_seconds))


@dataclass(frozen=True)
class RecordJob:
    """One camera the registry says to record: what a running ffmpeg is compared against."""

    camera_id: int
    url: str
    stream: str = Stream.MAIN
    url_error: str = ""  # set when the stored URL cannot be read (e.g. encryption key missing)


@dataclass(frozen=True)
class FfmpegArgs:
    """Everything the ffmpeg command line of one recording session depends on."""

    url: str
    out_dir: Path
    segment_seconds: int
    io_timeout_seconds: float
    playlist_size: int = 60
    ffmpeg: str = "ffmpeg"
    playlist_name: str = "index.m3u8"
    init_name: str = "init.mp4"
    segment_pattern: str = "seg-%06d.m4s"
    loglevel: str = "info"  # the input's stream lines (codec check) are printed at info
    extra_input_options: tuple[str, ...] = field(default_factory=tuple)
