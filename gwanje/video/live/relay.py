"""The live relay: one upstream ffmpeg per camera stream, however many viewers watch it.

An `Upstream` runs `ffmpeg … -c copy -f mp4 (fragmented) pipe:1` (see command.py), cuts its stdout
into MP4 boxes, keeps the init segment (ftyp+moov) and hands every fragment (moof+mdat) to each
`Viewer`. A viewer receives, in order:
    text   the codec string (e.g. "avc1.640028"): (re)create the SourceBuffer
    binary the init segment
    binary fragments, starting at a keyframe fragment
and again codec + init whenever the upstream restarts (new timestamps, maybe a new codec). A viewer
that joins a running upstream gets the fragments since the last keyframe at once (the GOP cache),
else waits for the next keyframe fragment.
Status changes travel as text frames "status:<word>" (connecting, reconnecting, unavailable).

A viewer's queue is bounded: a viewer that cannot keep up loses its queued fragments and resumes at
the next keyframe fragment (skipped ahead) instead of buffering without bound. The upstream stops
`linger` seconds after its last viewer leaves, and is restarted with back-off when ffmpeg exits or
falls silent while viewers remain. ffmpeg runs in its own session and is stopped terminate → wait →
kill, always reaped; its stderr is kept in a bounded buffer with the URL's credentials redacted.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import logging
import os
import signal
import time
from collections import deque
from dataclasses import dataclass, field

from gwanje.core.fields import redact_url
from gwanje.video.live import mp4
from gwanje.video.live.command import BadStreamURL, LiveConfig, live_argv, redactor

log = logging.getLogger(__name__)

LINGER_SECONDS = 5.0  # the upstream outlives its last viewer by this much (a page reload keeps it)
SILENCE_SECONDS = 10.0  # no output from ffmpeg for this long: killed and restarted
MAX_BACKOFF_SECONDS = 10.0
VIEWER_QUEUE_BYTES = 8 * 1024 * 1024  # per viewer; beyond it the viewer skips to the next keyframe
VIEWER_QUEUE_FRAGMENTS = 25  # ~5 s of 200 ms fragments
# The fragments since the last keyframe are kept, so a new viewer starts at once (its player seeks to
# the live edge) instead of waiting up to a whole keyframe interval; a longer GOP is not kept.
GOP_CACHE_BYTES = 4 * 1024 * 1024
GOP_CACHE_FRAGMENTS = 15
STDERR_LINES = 50

# Status words sent to viewers as "status:<word>".
CONNECTING, RECONNECTING, UNAVAILABLE = "connecting", "reconnecting", "unavailable"


@dataclass
class Message:
    kind: str  # "text" | "init" | "fragment"
    payload: bytes | str
    key: bool = False


class Viewer:
    """One subscriber's bounded queue (filled by the upstream, drained by the websocket)."""

    def __init__(self, max_bytes: int = VIEWER_QUEUE_BYTES, max_fragments: int = VIEWER_QUEUE_FRAGMENTS):
        self._queue: deque[Message] = deque()
        self._bytes = 0
        self._fragments = 0
        self._max_bytes = max_bytes
        self._max_fragments = max_fragments
        self._ready = asyncio.Event()
        self.need_key = True
        self.started = False  # has received a codec + init
        self.skips = 0  # times this viewer fell behind and was skipped ahead
        self.closed = False
        self.upstream: Upstream | None = None

    # --- producer side (the upstream) -------------------------------------------------------------
    def start(self, codec: str, init: bytes) -> None:
        self._drop_fragments()
        self._push(Message("text", codec))
        self._push(Message("init", init))
        self.need_key = True
        self.started = True

    def status(self, word: str) -> None:
        self._push(Message("text", f"status:{word}"))

    def fragment(self, data: bytes, key: bool) -> None:
        if not self.started:
            return
        if self.need_key:
            if not key:
                return
            self.need_key = False
        if self._fragments >= self._max_fragments or self._bytes + len(data) > self._max_bytes:
            # Fallen behind: forget what is queued and resume at a keyframe (this one, if it is one).
            self._drop_fragments()
            self.skips += 1
            if not key:
                self.need_key = True
                return
        self._push(Message("fragment", data, key))

    def _push(self, message: Message) -> None:
        self._queue.append(message)
        if message.kind == "fragment":
            self._fragments += 1
            self._bytes += len(message.payload)
        self._ready.set()

    def _drop_fragments(self) -> None:
        if self._fragments:
            self._queue = deque(m for m in self._queue if m.kind != "fragment")
            self._fragments = 0
            self._bytes = 0

    # --- consumer side (the websocket) ----------------------------------------------------------
    async def get(self) -> Message:
        while not self._queue:
            self._ready.clear()
            await self._ready.wait()
        message = self._queue.popleft()
        if message.kind == "fragment":
            self._fragments -= 1
            self._bytes -= len(message.payload)
        return message

    @property
    def queued_bytes(self) -> int:
        return self._bytes


@dataclass
class UpstreamStats:
    started_at: float = 0.0
    runs: int = 0  # ffmpeg processes started
    fragments: int = 0
    bytes: int = 0
    last_error: str = ""
    stderr: deque = field(default_factory=lambda: deque(maxlen=STDERR_LINES))


class Upstream:
    """One ffmpeg reading one camera stream, fanned out to its viewers."""

    def __init__(self, relay: Relay, key: tuple, url: str, config: LiveConfig | None = None) -> None:
        self.relay = relay
        self.key = key
        self.url = url
        self.config = config or LiveConfig(url=url)
        self.viewers: set[Viewer] = set()
        self.codec: str | None = None
        self.init: bytes | None = None
        self.gop: list[bytes] = []  # fragments since the last keyframe (first one a keyframe)
        self._gop_bytes = 0
        self.proc: asyncio.subprocess.Process | None = None
        self.stats = UpstreamStats()
        self._redact = redactor(url)
        self._task: asyncio.Task | None = None
        self._stop_timer: asyncio.TimerHandle | None = None
        self._closing = False

    @property
    def label(self) -> str:
        return f"{self.key} {redact_url(self.url)}"

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def ensure_started(self) -> None:
        if not self.running:
            self._closing = False
            self._task = asyncio.get_running_loop().create_task(self._run(), name=f"live {self.key}")

    # --- viewers ----------------------------------------------------------------------------------
    def add(self, viewer: Viewer) -> None:
        if self._stop_timer is not None:
            self._stop_timer.cancel()
            self._stop_timer = None
        self.viewers.add(viewer)
        if self.init is not None and self.codec is not None:
            viewer.start(self.codec, self.init)
            for i, data in enumerate(self.gop):
                viewer.fragment(data, key=i == 0)
        else:
            viewer.status(CONNECTING)
        self.ensure_started()

    def remove(self, viewer: Viewer) -> None:
        viewer.closed = True
        self.viewers.discard(viewer)
        if not self.viewers and self._stop_timer is None:
            self._stop_timer = asyncio.get_running_loop().call_later(self.relay.linger, self._linger_over)

    def _linger_over(self) -> None:
        self._stop_timer = None
        if not self.viewers:
            self.relay._forget(self)
            asyncio.get_running_loop().create_task(self.stop())

    def _broadcast_status(self, word: str) -> None:
        for viewer in list(self.viewers):
            viewer.status(word)

    # --- the ffmpeg loop --------------------------------------------------------------------------
    async def _run(self) -> None:
        backoff = 1.0
        while not self._closing:
            delivered = await self._one_run()
            if self._closing:
                break
            self.init = self.codec = None
            self._keep(None, False)
            self._broadcast_status(RECONNECTING if delivered else UNAVAILABLE)
            backoff = 1.0 if delivered else min(backoff * 2, MAX_BACKOFF_SECONDS)
            await asyncio.sleep(backoff)

    async def _one_run(self) -> bool:
        """Run ffmpeg once; True when it delivered video."""
        try:
            argv = live_argv(self.config)
        except BadStreamURL as exc:
            self.stats.last_error = str(exc)
            return False
        self.stats.runs += 1
        self.stats.started_at = time.time()
        try:
            self.proc = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                start_new_session=True,
            )
        except OSError as exc:
            self.stats.last_error = f"cannot start ffmpeg: {exc}"
            log.error("live %s: %s", self.label, self.stats.last_error)
            return False
        _live_pids.add(self.proc.pid)
        stderr_task = asyncio.get_running_loop().create_task(self._drain_stderr(self.proc))
        delivered = False
        try:
            delivered = await self._read(self.proc)
        except mp4.Mp4Error as exc:
            self.stats.last_error = f"bad stream: {exc}"
            log.warning("live %s: %s", self.label, self.stats.last_error)
        except TimeoutError:
            self.stats.last_error = f"no video for {SILENCE_SECONDS:.0f} s"
            log.warning("live %s: %s", self.label, self.stats.last_error)
        finally:
            await _stop_process(self.proc)
            _live_pids.discard(self.proc.pid)
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(stderr_task, 2)
            if not self._closing and self.proc.returncode not in (0, None):
                tail = " | ".join(list(self.stats.stderr)[-3:])
                log.info("live %s: ffmpeg exited %s: %s", self.label, self.proc.returncode, tail)
        return delivered

    async def _read(self, proc: asyncio.subprocess.Process) -> bool:
        reader = mp4.BoxReader()
        init = b""
        moof: bytes | None = None
        trex_flags: int | None = None
        delivered = False
        assert proc.stdout is not None
        while True:
            chunk = await asyncio.wait_for(proc.stdout.read(256 * 1024), SILENCE_SECONDS)
            if not chunk:
                return delivered
            for box in reader.feed(chunk):
                if box.type == b"ftyp":
                    init, moof = box.data, None
                elif box.type == b"moov":
                    init += box.data
                    self.codec = mp4.codec_string(init)
                    self.init = init
                    self._keep(None, False)
                    trex_flags = mp4.default_sample_flags(init)
                    for viewer in list(self.viewers):
                        viewer.start(self.codec, self.init)
                elif box.type == b"moof":
                    moof = box.data
                elif box.type == b"mdat" and moof is not None and self.init is not None:
                    key = mp4.starts_with_sync_sample(moof, trex_flags)
                    data = moof + box.data
                    moof = None
                    delivered = True
                    self.stats.fragments += 1
                    self.stats.bytes += len(data)
                    self._keep(data, key)
                    for viewer in list(self.viewers):
                        viewer.fragment(data, key)

    def _keep(self, data: bytes | None, key: bool) -> None:
        """Update the GOP cache with a new fragment (None: empty it)."""
        if data is None or key:
            self.gop, self._gop_bytes = [], 0
        if data is None or not (key or self.gop):
            return
        self.gop.append(data)
        self._gop_bytes += len(data)
        if len(self.gop) > GOP_CACHE_FRAGMENTS or self._gop_bytes > GOP_CACHE_BYTES:
            self.gop, self._gop_bytes = [], 0  # too long a GOP: new viewers wait for the next keyframe

    async def _drain_stderr(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stderr is not None
        while True:
            line = await proc.stderr.readline()
            if not line:
                return
            text = self._redact(line.decode("utf-8", "replace").rstrip())
            if text:
                self.stats.stderr.append(text[:500])

    async def stop(self) -> None:
        self._closing = True
        if self._stop_timer is not None:
            self._stop_timer.cancel()
            self._stop_timer = None
        if self.proc is not None and self.proc.returncode is None:
            await _stop_process(self.proc)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None


class Relay:
    """The upstreams of one event loop (the web process's), keyed by (camera id, stream, url)."""

    def __init__(self, linger: float = LINGER_SECONDS) -> None:
        self.linger = linger
        self.upstreams: dict[tuple, Upstream] = {}

    def subscribe(self, camera_id: int, stream: str, url: str, viewer: Viewer | None = None) -> Viewer:
        key = (camera_id, stream, url)
        upstream = self.upstreams.get(key)
        if upstream is None:
            upstream = self.upstreams[key] = Upstream(self, (camera_id, stream), url)
        viewer = viewer or Viewer()
        viewer.upstream = upstream
        upstream.add(viewer)
        return viewer

    def unsubscribe(self, viewer: Viewer) -> None:
        if viewer.upstream is not None:
            viewer.upstream.remove(viewer)

    def _forget(self, upstream: Upstream) -> None:
        for key, value in list(self.upstreams.items()):
            if value is upstream:
                del self.upstreams[key]

    def upstream_for(self, camera_id: int, stream: str) -> Upstream | None:
        for (cid, st, _url), upstream in self.upstreams.items():
            if (cid, st) == (camera_id, stream):
                return upstream
        return None

    async def close(self) -> None:
        upstreams, self.upstreams = list(self.upstreams.values()), {}
        await asyncio.gather(*(u.stop() for u in upstreams), return_exceptions=True)


_relays: dict[asyncio.AbstractEventLoop, Relay] = {}


def get_relay() -> Relay:
    """The relay of the running event loop (uvicorn has one; each test loop gets its own)."""
    loop = asyncio.get_running_loop()
    relay = _relays.get(loop)
    if relay is None:
        for old in [lp for lp in _relays if lp.is_closed()]:
            del _relays[old]
        relay = _relays[loop] = Relay()
    return relay


async def _stop_process(proc: asyncio.subprocess.Process, grace: float = 3.0) -> None:
    """terminate → wait → kill, the whole process group; always reaped."""
    if proc.returncode is None:
        _signal_group(proc.pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), grace)
        except TimeoutError:
            _signal_group(proc.pid, signal.SIGKILL)
            await proc.wait()
    else:
        await proc.wait()


def _signal_group(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


# ffmpeg processes alive in this process: killed at interpreter exit should the loop not have
# stopped them (e.g. the server was stopped without a lifespan shutdown).
_live_pids: set[int] = set()


@atexit.register
def _kill_leftovers() -> None:
    for pid in list(_live_pids):
        _signal_group(pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(pid, 0)
