"""`gwanje simulate-cameras`: N simulated RTSP cameras on 127.0.0.1 (see gwanje.video.simulator)."""

from __future__ import annotations

import json
import signal
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

MAX_CAMERAS = 1000


def _interrupt(signum, frame):
    raise KeyboardInterrupt


class Command(BaseCommand):
    help = (
        "Serve N simulated RTSP cameras (/cam/<n>/main 1080p, /cam/<n>/sub 360p, optional /clock) "
        "with fault injection; or, with --send, send a command to a running simulator."
    )

    def add_arguments(self, parser):
        parser.add_argument("--count", type=int, default=4, help="number of cameras (default 4)")
        parser.add_argument("--port", type=int, default=8554, help="RTSP port (default 8554; 0 = any free)")
        parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
        parser.add_argument(
            "--source", default="pattern", help="'pattern' (default: a moving test pattern) or a video file"
        )
        parser.add_argument("--clock", action="store_true", help="add the live clock camera /clock")
        parser.add_argument("--user", help="require RTSP basic authentication with this user name")
        parser.add_argument("--password", help="… and this password")
        parser.add_argument(
            "--control-port", type=int, default=None, help="HTTP control interface port on 127.0.0.1"
        )
        parser.add_argument(
            "--loop-seconds", type=int, default=10, help="length of the looping clip (default 10)"
        )
        parser.add_argument("--cache-dir", help="where encoded clips are kept (default VIDEO_DIR/simulator)")
        parser.add_argument(
            "--h265-camera",
            type=int,
            action="append",
            default=[],
            metavar="N",
            help="camera N sends H.265 instead of H.264 (repeatable)",
        )
        parser.add_argument(
            "--audio-only-camera",
            type=int,
            action="append",
            default=[],
            metavar="N",
            help="camera N sends only audio, G.711 A-law (repeatable)",
        )
        parser.add_argument(
            "--send",
            nargs=2,
            metavar=("ACTION", "CAMERA"),
            help="send stop|stall|resume for camera N (or 'clock') to the simulator at --control-port",
        )
        parser.add_argument(
            "--status", action="store_true", help="print the state of the simulator at --control-port"
        )

    def handle(self, *args, **o):
        from gwanje.video.simulator.control import ACTIONS, ControlError, control, status

        if o["send"] or o["status"]:
            if not o["control_port"]:
                raise CommandError("--send and --status need --control-port")
            try:
                if o["status"]:
                    answer = status(o["control_port"])
                else:
                    action, camera = o["send"]
                    if action not in ACTIONS:
                        raise CommandError(f"unknown action {action!r}; use one of {', '.join(ACTIONS)}")
                    answer = control(o["control_port"], action, camera)
            except ControlError as exc:
                raise CommandError(str(exc)) from None
            self.stdout.write(json.dumps(answer))
            return
        self.serve(**o)

    def serve(
        self,
        *,
        count,
        port,
        host,
        source,
        clock,
        user,
        password,
        control_port,
        loop_seconds,
        cache_dir,
        h265_camera=(),
        audio_only_camera=(),
        **_,
    ):
        from gwanje.video.simulator import encode
        from gwanje.video.simulator.control import ControlServer
        from gwanje.video.simulator.server import Simulator, SimulatorError

        if not 0 <= count <= MAX_CAMERAS:
            raise CommandError(f"--count must be between 0 and {MAX_CAMERAS}")
        if count == 0 and not clock:
            raise CommandError("nothing to serve: give --count ≥ 1 or --clock")
        for name, value in (("--port", port), ("--control-port", control_port)):
            if value is not None and not 0 <= value <= 65535:
                raise CommandError(f"{name} must be between 0 and 65535")
        if bool(user) != bool(password):
            raise CommandError("--user and --password go together")
        if not 1 <= loop_seconds <= 600:
            raise CommandError("--loop-seconds must be between 1 and 600")
        h265, audio_only = frozenset(h265_camera or ()), frozenset(audio_only_camera or ())
        for name, numbers in (("--h265-camera", h265), ("--audio-only-camera", audio_only)):
            if any(not 1 <= n <= count for n in numbers):
                raise CommandError(f"{name} must name a camera between 1 and --count ({count})")
        if h265 & audio_only:
            raise CommandError("a camera cannot be both --h265-camera and --audio-only-camera")
        cache = Path(cache_dir) if cache_dir else Path(settings.VIDEO_DIR) / "simulator"
        signal.signal(signal.SIGTERM, _interrupt)  # while encoding: stop ffmpeg and leave no partial file
        try:
            main_clip = encode.encoded_stream(encode.MAIN, source, loop_seconds, cache)
            sub_clip = encode.encoded_stream(encode.SUB, source, loop_seconds, cache)
            h265_clips = None
            if h265:
                h265_clips = (
                    encode.encoded_stream(encode.MAIN_H265, source, loop_seconds, cache),
                    encode.encoded_stream(encode.SUB_H265, source, loop_seconds, cache),
                )
        except encode.EncodeError as exc:
            raise CommandError(str(exc)) from None
        except KeyboardInterrupt:
            return
        try:
            sim = Simulator(
                count=count,
                main_clip=main_clip,
                sub_clip=sub_clip,
                port=port,
                host=host,
                clock=clock,
                user=user,
                password=password,
                h265_clips=h265_clips,
                h265_cameras=h265,
                audio_only_cameras=audio_only,
            )
            bound = sim.start()
        except SimulatorError as exc:
            raise CommandError(str(exc)) from None
        control = None
        if control_port is not None:
            try:
                control = ControlServer(sim, control_port)
            except OSError as exc:
                raise CommandError(
                    f"cannot listen on 127.0.0.1:{control_port} (control): {exc.strerror}"
                ) from None
            control_port = control.start()
        base = f"rtsp://{host}:{bound}"
        lines = [f"Simulator: {count} cameras: {base}/cam/<1…{count}>/main and …/sub"]
        if h265:
            lines.append(f"  H.265 cameras: {', '.join(map(str, sorted(h265)))}")
        if audio_only:
            lines.append(f"  audio-only cameras (G.711 A-law): {', '.join(map(str, sorted(audio_only)))}")
        if clock:
            lines.append(f"  clock camera: {base}/clock")
        if user:
            lines.append(f"  RTSP basic authentication: user {user!r}")
        if control:
            lines.append(
                f"  control: http://127.0.0.1:{control_port}/status, POST /cam/<n>/<stop|stall|resume>"
            )
        lines.append("  (SIGINT/SIGTERM to stop)")
        self.stdout.write("\n".join(lines))
        self.stdout.flush()
        try:
            sim.run()
        finally:
            if control:
                control.stop()
