"""The recording disk: its free space against the low-water and critical marks, and the video
alarms (disk_low, retention_blocked, disk_full) — one open alarm per kind, its detail refreshed.

`check_disk()` only compares and raises or clears alarms (the recorder calls it every few seconds,
the retention job before and after its run, `gwanje video retention --check-disk` on demand);
deleting is retention.py's (`run_retention`, and `make_room` below the critical mark)."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from gwanje.video.choices import AlarmKind
from gwanje.video.models import VideoAlarm
from gwanje.video.storage import SegmentStore, default_store

log = logging.getLogger("gwanje.video.retention")  # the alarms were logged there before the split

ROOM_HYSTERESIS_PERCENT = 1.0  # a full disk is freed to the critical mark + this, not segment by segment


@dataclass
class DiskState:
    free: int | None
    total: int | None
    low_water_percent: float
    critical_percent: float = 0.0  # 0: video inside its retention period is never deleted for room
    alarm_opened: bool = False
    alarm_cleared: bool = False

    @property
    def known(self) -> bool:
        return self.free is not None and bool(self.total)

    @property
    def free_percent(self) -> float | None:
        return self.free * 100 / self.total if self.known else None

    @property
    def low(self) -> bool:
        return self.known and self.free_percent < self.low_water_percent

    @property
    def critical(self) -> bool:
        """Full: below the critical mark, where the oldest video is deleted inside its retention."""
        return self.known and self.critical_percent > 0 and self.free_percent < self.critical_percent

    @property
    def room_target(self) -> int:
        """Free bytes make_room() works towards: the critical mark + ROOM_HYSTERESIS_PERCENT."""
        percent = min(self.critical_percent + ROOM_HYSTERESIS_PERCENT, 100.0)
        return int(self.total * percent / 100) if self.known else 0

    def describe(self) -> str:
        if not self.known:
            return "free space unknown (the store does not report it)"
        return (
            f"{size_text(self.free)} free of {size_text(self.total)} "
            f"({self.free_percent:.1f}%, low-water mark {self.low_water_percent:g}%, "
            f"critical {self.critical_percent:g}%)"
        )


def size_text(n: int) -> str:
    return f"{n / 1e9:,.1f} GB" if n >= 1e9 else f"{n / 1e6:,.1f} MB"


def disk_state(store: SegmentStore | None = None) -> DiskState:
    store = store or default_store()
    low = float(settings.DISK_LOW_WATER_PERCENT)
    critical = min(max(float(getattr(settings, "DISK_CRITICAL_PERCENT", 0)), 0.0), low)  # never above low
    return DiskState(store.free_bytes(), store.total_bytes(), low, critical)


def open_alarm(kind: str, detail: str, now: dt.datetime | None = None) -> bool:
    """Open an alarm of `kind` unless one is open (its detail is then refreshed). True if opened."""
    now = now or timezone.now()
    detail = detail[:300]
    with transaction.atomic():
        current = VideoAlarm.objects.select_for_update().filter(kind=kind, cleared_at__isnull=True).first()
        if current is not None:
            if current.detail != detail:
                current.detail = detail
                current.save(update_fields=["detail"])
            return False
        VideoAlarm.objects.create(kind=kind, detail=detail, raised_at=now)
    log.warning("video alarm %s raised: %s", kind, detail)
    return True


def clear_alarm(kind: str, now: dt.datetime | None = None) -> bool:
    """Clear the open alarms of `kind`. True if one was open."""
    open_alarms = VideoAlarm.objects.filter(kind=kind, cleared_at__isnull=True)
    if not open_alarms.exists():  # the recorder checks every few seconds: no write when nothing is open
        return False
    n = open_alarms.update(cleared_at=now or timezone.now())
    if n:
        log.warning("video alarm %s cleared", kind)
    return bool(n)


def check_disk(store: SegmentStore | None = None, now: dt.datetime | None = None) -> DiskState:
    """Compare the store's free space with the low-water mark: open the `disk_low` alarm when below
    it, clear `disk_low`, `retention_blocked` and `disk_full` when above. Deletes nothing (the
    recorder calls this, as does `gwanje video retention --check-disk`). Unknown free space changes
    nothing."""
    state = disk_state(store)
    if not state.known:
        return state
    if state.low:
        state.alarm_opened = open_alarm(AlarmKind.DISK_LOW, "Recording disk low: " + state.describe(), now)
    else:
        state.alarm_cleared = clear_alarm(AlarmKind.DISK_LOW, now)
        clear_alarm(AlarmKind.RETENTION_BLOCKED, now)
        clear_alarm(AlarmKind.DISK_FULL, now)
    return state
