"""`gwanje recorder`: record every centrally recorded camera (see gwanje.video.recorder)."""

from __future__ import annotations

import logging
import signal
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from gwanje.video.recorder.supervisor import Supervisor, default_config

log = logging.getLogger("gwanje.video.recorder")


class Command(BaseCommand):
    help = (
        "Record every camera that is not retired, not on a site with on-site storage (현장저장) and has a "
        "main stream URL: ffmpeg stream copy into fMP4 segments, indexed; camera faults from ffmpeg. "
        "Stops cleanly on SIGTERM or Ctrl-C."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--segment-seconds", type=int, help="segment length (default: GWANJE_SEGMENT_SECONDS, 10)"
        )
        parser.add_argument(
            "--camera",
            type=int,
            action="append",
            dest="cameras",
            metavar="ID",
            help="record only this camera (repeatable; default: every central-storage camera)",
        )
        parser.add_argument("--spool-dir", type=Path, help="where ffmpeg writes (default: <video dir>/spool)")
        parser.add_argument("--ffmpeg", help="the ffmpeg binary (default: ffmpeg on PATH)")
        parser.add_argument("--registry-poll", type=float, help="seconds between registry checks (default 5)")

    def handle(self, *args, segment_seconds, cameras, spool_dir, ffmpeg, registry_poll, **options):
        try:
            cfg = default_config(
                segment_seconds=segment_seconds,
                camera_ids=frozenset(cameras) if cameras else None,
                spool_dir=spool_dir,
                ffmpeg=ffmpeg,
                registry_poll_seconds=registry_poll,
            )
        except (TypeError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        if options.get("verbosity", 1) >= 2:
            log.setLevel(logging.DEBUG)
        supervisor = Supervisor(cfg)
        previous = {
            sig: signal.signal(sig, supervisor.request_stop) for sig in (signal.SIGTERM, signal.SIGINT)
        }
        log.info(
            "recorder: %s s segments, spool %s%s",
            cfg.segment_seconds,
            cfg.spool_dir,
            f", cameras {sorted(cfg.camera_ids)}" if cfg.camera_ids else "",
        )
        try:
            supervisor.run()
        finally:
            supervisor.close()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        log.info("recorder: stopped")
