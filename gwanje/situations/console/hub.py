"""One hub per web process: a task tails ConsoleEvent by id and fans every new row out to the
connected consoles — one query per wake-up for all sockets, each payload serialised once.

It wakes on a console wake-up (published on MQTT by the ingest worker, or locally after a commit in
this process) and otherwise polls every POLL_SECONDS, so a lost wake-up only delays and the feed
works with no broker at all."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
from dataclasses import dataclass, field

from asgiref.sync import sync_to_async
from django.db import close_old_connections, connection

from gwanje.situations.models import ConsoleEvent

log = logging.getLogger(__name__)
POLL_SECONDS = 0.5
COALESCE_SECONDS = 0.01
BATCH = 1000
REPLAY_LIMIT = 1000


@dataclass(eq=False)
class Listener:
    """One connected console: what it may see (maintenance_only: contractors), and its queue."""

    maintenance_only: bool = False
    queue: asyncio.Queue = field(default_factory=lambda: asyncio.Queue(maxsize=5000))
    overflowed: bool = False

    def sees(self, payload: dict) -> bool:
        parties = (payload.get("first_party"), payload.get("responder_party"))
        return not self.maintenance_only or "maintenance" in parties

    def offer(self, seq: int, frame: str, payload: dict) -> None:
        if not self.sees(payload):
            return
        try:
            self.queue.put_nowait((seq, frame))
        except asyncio.QueueFull:  # a console that cannot keep up reloads its queue over HTTP
            self.overflowed = True


def frame(row_id: int, event: str, payload: dict) -> str:
    return json.dumps(
        {"type": "incident", "seq": row_id, "event": event, "incident": payload}, ensure_ascii=False
    )


def _fresh() -> None:
    if not connection.in_atomic_block:
        close_old_connections()


def latest_seq() -> int:
    _fresh()
    return ConsoleEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


def rows_after(seq: int, limit: int) -> list[tuple[int, str, dict]]:
    _fresh()
    return list(
        ConsoleEvent.objects.filter(id__gt=seq).order_by("id").values_list("id", "event", "payload")[:limit]
    )


class Hub:
    def __init__(self) -> None:
        self.listeners: set[Listener] = set()
        self.seq: int | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.wake = None
        self.task: asyncio.Task | None = None
        self._subscriber = None
        self._lock = threading.Lock()

    def poke(self, *_args) -> None:
        """Thread-safe: something new may be in the feed."""
        loop, wake = self.loop, self.wake
        if loop is not None and wake is not None and not loop.is_closed():
            loop.call_soon_threadsafe(wake.set)

    async def join(self, listener: Listener) -> int:
        """Register a console; returns the current sequence number (the hello)."""
        await self._ensure_running()
        self.listeners.add(listener)
        return self.seq or 0

    def leave(self, listener: Listener) -> None:
        self.listeners.discard(listener)

    async def _ensure_running(self) -> None:
        running = asyncio.get_running_loop()
        if self.task is not None and not self.task.done() and self.loop is running:
            return
        self.listeners = {listener for listener in self.listeners if self.loop is running}
        self.loop = asyncio.get_running_loop()
        self.wake = asyncio.Event()
        self.seq = await sync_to_async(latest_seq)()
        self.task = asyncio.create_task(self._run(), name="console hub")
        self._start_wakeups()

    def _start_wakeups(self) -> None:
        from gwanje.situations.services import console

        console.on_notify(self.poke)  # commits in this process
        with self._lock:
            if self._subscriber is None:
                try:
                    from gwanje.situations.mqtt.wakeups import ConsoleWakeups

                    self._subscriber = ConsoleWakeups(self.poke)
                    self._subscriber.start()
                except Exception as exc:  # no broker: polling alone
                    log.warning("console hub: no MQTT wake-ups (%s); polling every %.1f s", exc, POLL_SECONDS)

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.wake.wait(), timeout=POLL_SECONDS)
                # a burst wakes the hub hundreds of times a second: gather what arrives within
                # COALESCE_SECONDS into one read
                await asyncio.sleep(COALESCE_SECONDS)
            self.wake.clear()
            try:
                rows = await sync_to_async(rows_after)(self.seq, BATCH)
            except Exception:
                log.exception("console hub: reading the feed failed")
                await asyncio.sleep(1)
                continue
            for row_id, event, payload in rows:
                text = frame(row_id, event, payload)
                for listener in list(self.listeners):
                    listener.offer(row_id, text, payload)
                self.seq = row_id
            if len(rows) == BATCH:
                self.wake.set()

    async def close(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.task
        if self._subscriber is not None:
            self._subscriber.stop()
            self._subscriber = None


_HUB: Hub | None = None


def get_hub() -> Hub:
    global _HUB
    if _HUB is None:
        _HUB = Hub()
    return _HUB
