"""The recorder's supervisor: one ffmpeg child per camera, watched from one thread.

Each tick it reads the children's stderr (non-blocking, a bounded buffer of redacted lines),
indexes finished segments (SessionIngest.scan), reaps children that exited, kills children that
hung (no new segment in hang_factor × segment length), restarts with exponential back-off
(1 s → 60 s, reset after a healthy minute) and compares the registry's fingerprint every few
seconds, so cameras added, changed or retired are picked up without a restart.

Children run in their own session (process group); `setpriv --pdeathsig TERM` makes them stop if
the recorder dies; stopping is SIGTERM (ffmpeg writes its last segment) → wait → SIGKILL → wait.

The disk: every disk_check_seconds the disk alarms are updated and `retention.make_room()` runs
(below the critical mark it deletes the oldest video not under a legal hold). When even so less than
disk_full_free_bytes are free where ffmpeg writes — or a segment was written incomplete — every
ffmpeg is stopped (ffmpeg itself does not notice a full disk), the gaps get the reason disk_full
(not a camera fault: the cameras are fine), the disk_full alarm is raised, and each camera is
started again with back-off once there is room.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import selectors
import shutil
import signal
import subprocess
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from django.db import DatabaseError, connection
from django.db.models import Count, Max

from gwanje.core.fields import redact_url
from gwanje.registry.choices import CameraStatus
from gwanje.registry.models import Camera, Site
from gwanje.video import health, retention
from gwanje.video.choices import AlarmKind, FaultReason
from gwanje.video.models import CameraFault, RecordingGap
from gwanje.video.recorder.argv import check_url, record_argv, redact_argv, redact_text, with_pdeathsig
from gwanje.video.recorder.config import FfmpegArgs, RecorderConfig, RecordJob
from gwanje.video.recorder.ingest import SessionIngest, UnsupportedStream, new_token, recover_spool
from gwanje.video.storage import SegmentStore, default_store

log = logging.getLogger("gwanje.video.recorder")

STDERR_LINES = 60


@dataclass
class Child:
    """One running ffmpeg (one recording session)."""

    proc: subprocess.Popen
    ingest: SessionIngest
    started: float
    last_progress: float
    stderr: deque[str] = field(default_factory=lambda: deque(maxlen=STDERR_LINES))
    partial: bytes = b""
    codec_checked: bool = False
    kill_diagnosis: health.Diagnosis | None = None  # why the supervisor killed it
    intentional: bool = False  # stopped on purpose (retired, URL changed, shutdown): not a fault

    @property
    def pid(self) -> int:
        return self.proc.pid


class CameraWorker:
    """Everything the supervisor knows about one camera it records."""

    def __init__(self, job: RecordJob, cfg: RecorderConfig) -> None:
        self.job = job
        self.cfg = cfg
        self.child: Child | None = None
        self.next_start = 0.0  # monotonic; 0: as soon as possible
        self.backoff = cfg.backoff_min_seconds
        self.down: bool | None = None  # None: not known yet in this process
        self.diagnosis: health.Diagnosis | None = None  # the fault last written
        self.restarts = 0

    @property
    def camera_id(self) -> int:
        return self.job.camera_id

    def schedule_restart(self, now: float) -> float:
        delay = self.backoff
        self.backoff = min(self.backoff * 2, self.cfg.backoff_max_seconds)
        self.next_start = now + delay
        return delay


class Supervisor:
    def __init__(
        self,
        cfg: RecorderConfig,
        store: SegmentStore | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.cfg = cfg
        self.store = store or default_store()
        self.clock = clock
        self.workers: dict[int, CameraWorker] = {}
        self.selector = selectors.DefaultSelector()
        self.setpriv = shutil.which("setpriv") if cfg.pdeathsig else None
        self._stop = False
        self._fingerprint: tuple | None = None
        self._next_poll = 0.0
        self._next_reload = 0.0
        self._next_disk_check = 0.0
        self._started = False
        self.disk_full = False  # less than disk_full_free_bytes free where ffmpeg writes

    # --- lifecycle ---------------------------------------------------------------------------
    def request_stop(self, *_args) -> None:
        """Ask the loop to end (safe from a signal handler)."""
        self._stop = True

    def start(self) -> None:
        if self._started:
            return
        self._started = True
        self.cfg.spool_dir.mkdir(parents=True, exist_ok=True)
        recovered = self._guard("recovering the spool", recover_spool, self.cfg.spool_dir, self.store)
        if recovered:
            log.info("recovered %s segments a previous recorder left in the spool", recovered)
        self.reconcile(force=True)

    def run(self, until: Callable[[], bool] | None = None, timeout: float | None = None) -> bool:
        """Supervise until stop is requested, `until()` is true or `timeout` seconds passed.
        Returns True when `until` was met. Children keep running when it returns for `until` or
        `timeout` (call `shutdown()` to stop them); a stop request shuts them down."""
        self.start()
        deadline = None if timeout is None else self.clock() + timeout
        while not self._stop:
            self.step()
            if until is not None and until():
                return True
            if deadline is not None and self.clock() >= deadline:
                return False
        self.shutdown()
        return False

    def step(self) -> None:
        """One tick: stderr, segments, exits, hangs, restarts, registry."""
        self._read_stderr(self.cfg.tick_seconds)
        now = self.clock()
        if now >= self._next_poll:
            self._next_poll = now + self.cfg.registry_poll_seconds
            self.reconcile(force=now >= self._next_reload)
        if now >= self._next_disk_check:
            self._next_disk_check = now + self.cfg.disk_check_seconds
            self._guard("checking the recording disk", self.check_disk)
        for worker in list(self.workers.values()):
            self._guard(f"camera {worker.camera_id}", self._tend, worker)

    def shutdown(self) -> None:
        """Stop every child: SIGTERM to each process group, wait up to the grace period, SIGKILL
        the rest; index what they finished. Returns within stop_grace_seconds plus indexing."""
        children = [w for w in self.workers.values() if w.child is not None]
        for worker in children:
            worker.child.intentional = True
            _signal_group(worker.child.proc, signal.SIGTERM)
        deadline = self.clock() + self.cfg.stop_grace_seconds
        while self.clock() < deadline and any(w.child.proc.poll() is None for w in children):
            self._read_stderr(0.05)
        for worker in children:
            if worker.child.proc.poll() is None:
                log.warning("camera %s: ffmpeg did not stop on SIGTERM; killed", worker.camera_id)
                _signal_group(worker.child.proc, signal.SIGKILL)
        for worker in children:
            self._guard(f"camera {worker.camera_id}", self._reap, worker)
        self.workers.clear()
        self._stop = True

    def close(self) -> None:
        self.shutdown()
        self.selector.close()

    # --- registry ----------------------------------------------------------------------------
    def fingerprint(self) -> tuple:
        cams = Camera.objects.aggregate(n=Count("id"), m=Max("updated_at"))
        sites = Site.objects.aggregate(n=Count("id"), m=Max("updated_at"))
        return (cams["n"], cams["m"], sites["n"], sites["m"])

    def desired_jobs(self) -> dict[int, RecordJob]:
        """Cameras to record: not retired, site without on-site storage, a main stream URL."""
        qs = (
            Camera.objects.exclude(status=CameraStatus.RETIRED)
            .filter(site__has_onsite_storage=False)
            .exclude(main_stream_url="")
            .exclude(main_stream_url__isnull=True)
        )
        if self.cfg.camera_ids is not None:
            qs = qs.filter(pk__in=self.cfg.camera_ids)
        try:
            rows = list(qs.values_list("pk", "main_stream_url"))
        except ValueError:  # a URL that cannot be decrypted: find which, record the others
            rows = []
            for pk in qs.values_list("pk", flat=True):
                try:
                    rows.append((pk, Camera.objects.values_list("main_stream_url", flat=True).get(pk=pk)))
                except ValueError:
                    rows.append((pk, None))
        jobs = {}
        for pk, url in rows:
            if url is None:
                jobs[pk] = RecordJob(pk, "", url_error="the stored stream URL cannot be decrypted")
            else:
                jobs[pk] = RecordJob(pk, url.strip())
        return jobs

    def reconcile(self, *, force: bool = False) -> None:
        def work() -> None:
            fp = self.fingerprint()
            if not force and fp == self._fingerprint:
                return
            self._fingerprint = fp
            self._next_reload = self.clock() + self.cfg.registry_reload_seconds
            self._apply(self.desired_jobs())

        self._guard("reading the registry", work)

    def _apply(self, jobs: dict[int, RecordJob]) -> None:
        for camera_id, worker in list(self.workers.items()):
            job = jobs.get(camera_id)
            if job == worker.job:
                continue
            if job is None:
                log.info("camera %s: no longer recorded (retired, on-site storage or no URL)", camera_id)
            else:
                log.info("camera %s: stream URL changed; restarting", camera_id)
            self._stop_worker(worker)
            del self.workers[camera_id]
        for camera_id, job in jobs.items():
            if camera_id not in self.workers:
                self.workers[camera_id] = CameraWorker(job, self.cfg)
        # Faults and gaps of cameras the recorder does not (or no longer) record are closed.
        stale = set(CameraFault.objects.filter(ended_at__isnull=True).values_list("camera_id", flat=True))
        stale |= set(RecordingGap.objects.filter(end__isnull=True).values_list("camera_id", flat=True))
        stale -= set(jobs)
        if self.cfg.camera_ids is not None:
            stale &= set(self.cfg.camera_ids)
        if stale:
            health.camera_unmonitored(stale)

    # --- disk --------------------------------------------------------------------------------
    def spool_free(self) -> int | None:
        try:
            return shutil.disk_usage(self.cfg.spool_dir).free
        except OSError:
            return None

    def disk_full_diagnosis(self) -> health.Diagnosis | None:
        """A disk_full diagnosis when less than disk_full_free_bytes are free where ffmpeg writes."""
        free = self.spool_free()
        if free is None or free >= self.cfg.disk_full_free_bytes:
            return None
        return health.disk_full()

    def check_disk(self) -> None:
        """Disk alarms, the disk-full policy (make_room), and — when it is full even so — stop every
        ffmpeg (each restarts with back-off, once there is room)."""
        retention.check_disk(self.store)
        try:
            room = retention.make_room(self.store, limit=self.cfg.room_batch)
        except retention.RetentionBusy:
            room = None  # the retention job is running: it makes room itself when it ends
        if room is not None and room.segments:
            log.error("recording disk full: %s", room.alarm_detail())
        diagnosis = self.disk_full_diagnosis()
        if diagnosis is None:
            if self.disk_full:
                log.warning("recording disk: there is room again; recording resumes")
            self.disk_full = False
            return
        free = self.spool_free() or 0
        detail = (
            f"Recording disk full: the recorder cannot write new video ({free / 1e6:,.1f} MB free in "
            f"{self.cfg.spool_dir}); every camera resumes when space is freed"
        )
        if not self.disk_full:
            log.error("%s", detail)
        self.disk_full = True
        retention.open_alarm(AlarmKind.DISK_FULL, detail)
        for worker in list(self.workers.values()):
            if worker.child is not None:
                self._kill(worker, diagnosis)

    # --- one camera --------------------------------------------------------------------------
    def _tend(self, worker: CameraWorker) -> None:
        now = self.clock()
        child = worker.child
        if child is None:
            if now >= worker.next_start:
                self._start(worker)
            return
        self._scan(worker)
        if child.proc.poll() is not None:
            self._reap(worker)
            return
        # No new segment in hang_factor segment lengths (a camera whose key frames are further apart
        # than a segment length makes longer segments: those count); the first one may take the
        # connection time longer.
        period = max(self.cfg.segment_seconds, child.ingest.longest)
        limit = self.cfg.hang_factor * period + (0 if child.ingest.segments else self.cfg.io_timeout)
        if now - child.last_progress > limit:
            log.warning(
                "camera %s: no new segment in %.0f s; ffmpeg (pid %s) killed as hung",
                worker.camera_id,
                now - child.last_progress,
                child.pid,
            )
            child.kill_diagnosis = self.disk_full_diagnosis() or health.classify(
                child.stderr, None, recorded=True, hung=True
            )
            _signal_group(child.proc, signal.SIGKILL)
            self._reap(worker)

    def _start(self, worker: CameraWorker) -> None:
        job = worker.job
        problem = job.url_error or check_url(job.url)
        if problem:
            reason = FaultReason.OTHER if job.url_error else FaultReason.NO_URL
            self._mark_down(worker, health.Diagnosis(reason, problem))
            worker.next_start = float("inf")  # only a registry change (a new job) retries
            return
        full = self.disk_full_diagnosis()
        if full is not None:  # ffmpeg would only write truncated segments
            self._mark_down(worker, full)
            worker.schedule_restart(self.clock())
            return
        directory = self.cfg.spool_dir / f"cam-{job.camera_id}" / new_token()
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                diagnosis = health.disk_full()
            else:
                diagnosis = health.Diagnosis(FaultReason.OTHER, f"the spool folder cannot be made: {exc}")
            self._mark_down(worker, diagnosis)
            worker.schedule_restart(self.clock())
            return
        ingest = SessionIngest(
            camera_id=job.camera_id,
            directory=directory,
            store=self.store,
            stream=job.stream,
            gap_tolerance=self.cfg.gap_tolerance,
            gap_reason=worker.diagnosis.reason if worker.diagnosis else "",
            long_segment=3 * self.cfg.segment_seconds,
        )
        ingest.write_state()
        args = FfmpegArgs(
            url=job.url,
            out_dir=directory,
            segment_seconds=self.cfg.segment_seconds,
            io_timeout_seconds=self.cfg.io_timeout,
            playlist_size=self.cfg.playlist_size,
            ffmpeg=self.cfg.ffmpeg,
        )
        argv = with_pdeathsig(record_argv(args), self.setpriv)
        try:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                start_new_session=True,
                close_fds=True,
            )
        except OSError as exc:
            ingest.discard()
            self._mark_down(worker, health.Diagnosis(FaultReason.OTHER, f"ffmpeg cannot be started: {exc}"))
            worker.schedule_restart(self.clock())
            return
        os.set_blocking(proc.stderr.fileno(), False)
        now = self.clock()
        worker.child = Child(proc=proc, ingest=ingest, started=now, last_progress=now)
        self.selector.register(proc.stderr, selectors.EVENT_READ, worker)
        log.info(
            "camera %s: recording %s (pid %s, %s)",
            job.camera_id,
            redact_url(job.url),
            proc.pid,
            directory.name,
        )
        log.debug("camera %s: %s", job.camera_id, " ".join(redact_argv(argv, job.url)))

    def _scan(self, worker: CameraWorker) -> None:
        child = worker.child
        try:
            result = child.ingest.scan()
        except UnsupportedStream as exc:
            self._kill(worker, health.unsupported_codec("hevc" if exc.codec.startswith("h") else exc.codec))
            return
        if result.segments:
            now = self.clock()
            child.last_progress = now
            if now - child.started >= self.cfg.healthy_after_seconds:
                worker.backoff = self.cfg.backoff_min_seconds
            if worker.down is not False:
                health.camera_up(worker.camera_id)
                if worker.down:
                    log.info("camera %s: recording again", worker.camera_id)
                worker.down, worker.diagnosis = False, None
        if result.broken:  # ffmpeg could not write a whole segment and will not notice by itself
            self._next_disk_check = 0.0  # make room / raise the alarm on the next tick
            self._kill(
                worker,
                self.disk_full_diagnosis()
                or health.disk_full("a segment could not be written whole (recording disk full or failing)"),
            )
            return

    def _kill(self, worker: CameraWorker, diagnosis: health.Diagnosis) -> None:
        child = worker.child
        if child is None:
            return
        child.kill_diagnosis = diagnosis
        _signal_group(child.proc, signal.SIGKILL)
        self._reap(worker)

    def _reap(self, worker: CameraWorker) -> None:
        """The child has exited or was signalled: wait for it, index what it finished, decide."""
        child = worker.child
        if child is None:
            return
        try:
            child.proc.wait(timeout=self.cfg.stop_grace_seconds)
        except subprocess.TimeoutExpired:
            _signal_group(child.proc, signal.SIGKILL)
            child.proc.wait()
        self._drain(worker)
        with contextlib.suppress(KeyError, ValueError):
            self.selector.unregister(child.proc.stderr)
        child.proc.stderr.close()
        worker.child = None
        diagnosis = child.kill_diagnosis
        try:
            child.ingest.finish()
        except UnsupportedStream as exc:
            child.ingest.discard()
            diagnosis = health.unsupported_codec("hevc" if exc.codec.startswith("h") else exc.codec)
        except Exception:  # e.g. the database is unreachable: the spool is recovered at the next start
            log.exception("camera %s: indexing the session's end failed; left in the spool", worker.camera_id)
        now = self.clock()
        if child.intentional:
            log.info("camera %s: ffmpeg (pid %s) stopped", worker.camera_id, child.pid)
            return
        if diagnosis is None:
            diagnosis = self.disk_full_diagnosis() or health.classify(
                child.stderr,
                child.proc.returncode,
                recorded=child.ingest.segments > 0,
                elapsed=now - child.started,
                io_timeout=self.cfg.io_timeout,
            )
        if child.ingest.segments and now - child.started >= self.cfg.healthy_after_seconds:
            worker.backoff = self.cfg.backoff_min_seconds
        self._mark_down(worker, diagnosis)
        worker.restarts += 1
        delay = worker.schedule_restart(now)
        log.warning(
            "camera %s: ffmpeg (pid %s) ended with %s — %s: %s; restart in %.0f s",
            worker.camera_id,
            child.pid,
            child.proc.returncode,
            diagnosis.reason,
            diagnosis.detail,
            delay,
        )

    def _mark_down(self, worker: CameraWorker, diagnosis: health.Diagnosis) -> None:
        if worker.down and worker.diagnosis == diagnosis:
            return
        if diagnosis.reason == FaultReason.DISK_FULL:  # the recorder's trouble, not the camera's
            health.recording_blocked(worker.camera_id, diagnosis)
        else:
            health.camera_down(worker.camera_id, diagnosis)
        worker.down, worker.diagnosis = True, diagnosis

    def _stop_worker(self, worker: CameraWorker) -> None:
        child = worker.child
        if child is None:
            return
        child.intentional = True
        _signal_group(child.proc, signal.SIGTERM)
        self._reap(worker)

    # --- stderr ------------------------------------------------------------------------------
    def _read_stderr(self, timeout: float) -> None:
        if not self.selector.get_map():
            time.sleep(timeout)
            return
        for key, _events in self.selector.select(timeout):
            worker: CameraWorker = key.data
            if worker.child is None or key.fileobj is not worker.child.proc.stderr:
                with contextlib.suppress(KeyError, ValueError):
                    self.selector.unregister(key.fileobj)
                continue
            self._drain(worker)

    def _drain(self, worker: CameraWorker) -> None:
        child = worker.child
        if child is None or child.proc.stderr.closed:
            return
        fd = child.proc.stderr.fileno()
        while True:
            try:
                data = os.read(fd, 65536)
            except BlockingIOError:
                break
            except OSError:
                data = b""
            if not data:
                with contextlib.suppress(KeyError, ValueError):
                    self.selector.unregister(child.proc.stderr)
                if child.partial:
                    self._line(worker, child.partial)
                    child.partial = b""
                break
            *lines, child.partial = (child.partial + data).replace(b"\r", b"\n").split(b"\n")
            for line in lines:
                if line.strip():
                    self._line(worker, line)
            if len(child.partial) > 4096:
                self._line(worker, child.partial)
                child.partial = b""

    def _line(self, worker: CameraWorker, raw: bytes) -> None:
        child = worker.child
        line = redact_text(raw.decode("utf-8", "replace").rstrip(), worker.job.url)
        child.stderr.append(line)
        log.debug("camera %s ffmpeg: %s", worker.camera_id, line)
        if not child.codec_checked:
            codec = health.input_video_codec(child.stderr)
            if codec:
                child.codec_checked = True
                if codec not in health.SUPPORTED_CODECS:
                    child.kill_diagnosis = health.unsupported_codec(codec)
                    _signal_group(child.proc, signal.SIGKILL)  # reaped on the next tick

    # --- errors ------------------------------------------------------------------------------
    def _guard(self, what: str, fn: Callable, *args):
        """Run `fn`; a failure is logged and the loop goes on (the worker must not crash)."""
        try:
            return fn(*args)
        except DatabaseError:
            log.exception("%s: database error", what)
            if not connection.in_atomic_block:
                connection.close()  # reconnect on the next query
        except Exception:
            log.exception("%s failed", what)
        return None


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    """Signal the child's process group (it leads its own session). Never after it was reaped:
    its pid (= group id) may belong to another process by then."""
    if proc.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


def default_config(**overrides) -> RecorderConfig:
    from django.conf import settings

    values = {
        "spool_dir": Path(settings.VIDEO_DIR) / "spool",
        "segment_seconds": int(getattr(settings, "SEGMENT_SECONDS", 10)),
    }
    values.update({k: v for k, v in overrides.items() if v is not None})
    return RecorderConfig(**values)
