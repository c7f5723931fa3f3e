"""The RTSP server of the camera simulator (GStreamer's GstRtspServer through PyGObject).

One shared media factory per mount: all clients of a camera stream share one pipeline. Recorded
streams loop a pre-encoded H.264 (or, for `--h265-camera`, H.265) elementary stream without
re-encoding:

    multifilesrc loop=true ! h264parse ! [pts := dts] ! clocksync ! valve ! rtph264pay
    multifilesrc loop=true ! h265parse ! [pts := dts] ! clocksync ! valve ! rtph265pay

An audio-only camera (`--audio-only-camera`, a camera whose video track is switched off, sending
only its microphone) serves G.711 A-law, the usual CCTV audio codec, from a live tone:

    audiotestsrc is-live=true ! alawenc ! valve ! rtppcmapay

h264parse gives each frame a decoding time stamp from the frame rate that keeps increasing across
loops (the file is just a byte stream to it); a pad probe copies it to the presentation time stamp
(the files have no B-frames), `clocksync` paces the pipeline in real time and the `valve` drops
everything while the camera is stalled. Fault injection and the GLib main loop live here; the HTTP
control interface (control.py) hands its requests to the main loop.
"""

from __future__ import annotations

import dataclasses
import logging
import signal
import threading
import time

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402

from gwanje.video.simulator import barcode  # noqa: E402
from gwanje.video.simulator.encode import Clip  # noqa: E402

log = logging.getLogger(__name__)

CLOCK = "clock"
ACTIONS = ("stop", "stall", "resume")
RUNNING, STALLED, STOPPED = "running", "stalled", "stopped"


class SimulatorError(RuntimeError):
    pass


def _copy_dts_to_pts(pad, info):
    buf = info.get_buffer()
    if buf is not None:
        buf.pts = buf.dts  # no B-frames: presentation order is decoding order
    return Gst.PadProbeReturn.OK


def _draw_clock(overlay, ctx, timestamp, duration):
    barcode.draw(ctx, time.time_ns() // 1_000_000)


def _launch_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def file_launch(clip: Clip, fps: int, stalled: bool) -> str:
    # multifilesrc's location is a printf pattern: a literal % in the directory must be doubled
    location = str(clip.directory).replace("%", "%%") + "/" + clip.pattern.name
    codec = clip.codec  # h264 or h265: the caps, parser and payloader are named alike
    return (
        f"( multifilesrc location={_launch_quote(location)} loop=true"
        f" start-index=0 stop-index={clip.chunks - 1}"
        f" ! video/x-{codec},stream-format=byte-stream,framerate={fps}/1"
        f" ! {codec}parse name=parse ! clocksync ! valve name=valve drop={str(stalled).lower()}"
        f" ! rtp{codec}pay name=pay0 pt=96 config-interval=-1 )"
    )


def audio_launch(stalled: bool) -> str:
    """A camera sending only audio: G.711 A-law (PCMA, 8 kHz mono) of a live 1 kHz tone."""
    return (
        "( audiotestsrc is-live=true wave=sine freq=1000 volume=0.2 samplesperbuffer=160"
        " ! audio/x-raw,rate=8000,channels=1 ! alawenc"
        f" ! valve name=valve drop={str(stalled).lower()} ! rtppcmapay name=pay0 pt=8 )"
    )


def clock_launch(stalled: bool) -> str:
    return (
        "( videotestsrc is-live=true pattern=ball"
        f" ! video/x-raw,format=BGRx,width={barcode.WIDTH},height={barcode.HEIGHT},framerate=25/1"
        " ! cairooverlay name=overlay ! videoconvert ! video/x-raw,format=I420"
        " ! x264enc tune=zerolatency speed-preset=ultrafast key-int-max=25 bitrate=800"
        # SPS/PPS in-band before every IDR, inside the access unit (h264parse), not as separate
        # RTP packets of the payloader: those reach ffmpeg as a packet of their own with the
        # key frame's time stamp ("non monotonically increasing dts")
        " ! video/x-h264,profile=constrained-baseline ! h264parse config-interval=-1"
        f" ! valve name=valve drop={str(stalled).lower()} ! rtph264pay name=pay0 pt=96 )"
    )


# element -> Debian package providing it (Debian 12 / GStreamer 1.22)
ELEMENTS = {
    "multifilesrc": "gstreamer1.0-plugins-good",
    "h264parse": "gstreamer1.0-plugins-bad",
    "clocksync": "libgstreamer1.0-0",
    "valve": "libgstreamer1.0-0",
    "rtph264pay": "gstreamer1.0-plugins-good",
}
H265_ELEMENTS = {
    "h265parse": "gstreamer1.0-plugins-bad",
    "rtph265pay": "gstreamer1.0-plugins-good",
}
AUDIO_ELEMENTS = {
    "audiotestsrc": "gstreamer1.0-plugins-base",
    "alawenc": "gstreamer1.0-plugins-good",
    "rtppcmapay": "gstreamer1.0-plugins-good",
}
CLOCK_ELEMENTS = {
    "videotestsrc": "gstreamer1.0-plugins-base",
    "cairooverlay": "gstreamer1.0-plugins-good",
    "videoconvert": "gstreamer1.0-plugins-base",
    "x264enc": "gstreamer1.0-plugins-ugly",
}


def missing_elements(clock: bool, h265: bool = False, audio: bool = False) -> list[str]:
    """'element (package)' for every GStreamer element the simulator needs but cannot find."""
    wanted = {
        **ELEMENTS,
        **(CLOCK_ELEMENTS if clock else {}),
        **(H265_ELEMENTS if h265 else {}),
        **(AUDIO_ELEMENTS if audio else {}),
    }
    return [
        f"{name} ({package})" for name, package in wanted.items() if Gst.ElementFactory.find(name) is None
    ]


@dataclasses.dataclass(eq=False)
class SimCamera:
    id: str  # "1" … "N" or "clock"
    mounts: dict  # mount path -> function(stalled: bool) -> launch line
    kind: str = "h264"  # what it sends: "h264", "h265" or "audio" (only audio)
    state: str = RUNNING
    medias: set = dataclasses.field(default_factory=set)
    clients: set = dataclasses.field(default_factory=set)


class Simulator:
    """N simulated cameras (and optionally the clock camera) on one RTSP server.

    Cameras in `h265_cameras` serve `h265_clips` (main, sub) instead of the H.264 clips; cameras in
    `audio_only_cameras` serve only audio on both mounts (for the recorder's no-video fault)."""

    def __init__(
        self,
        *,
        count: int,
        main_clip: Clip,
        sub_clip: Clip,
        port: int = 8554,
        host: str = "127.0.0.1",
        clock: bool = False,
        user: str | None = None,
        password: str | None = None,
        fps: int = 25,
        h265_clips: tuple[Clip, Clip] | None = None,
        h265_cameras: frozenset[int] = frozenset(),
        audio_only_cameras: frozenset[int] = frozenset(),
    ):
        Gst.init(None)
        h265_cameras, audio_only_cameras = frozenset(h265_cameras), frozenset(audio_only_cameras)
        if h265_cameras & audio_only_cameras:
            raise SimulatorError("a camera cannot be both an H.265 and an audio-only camera")
        if any(not 1 <= n <= count for n in h265_cameras | audio_only_cameras):
            raise SimulatorError(f"H.265 and audio-only cameras must be numbered 1 … {count}")
        if h265_cameras and h265_clips is None:
            raise SimulatorError("H.265 cameras need the H.265 clips")
        missing = missing_elements(clock, h265=bool(h265_cameras), audio=bool(audio_only_cameras))
        if missing:
            raise SimulatorError("GStreamer elements missing, install their packages: " + ", ".join(missing))
        if clock:
            gi.require_foreign("cairo")
        self.host = host
        self.count = count
        self.cameras: dict[str, SimCamera] = {}
        for n in range(1, count + 1):
            if n in audio_only_cameras:
                kind, main, sub = "audio", audio_launch, audio_launch
            else:
                kind, (m, s) = ("h265", h265_clips) if n in h265_cameras else ("h264", (main_clip, sub_clip))
                main = lambda stalled, c=m: file_launch(c, fps, stalled)  # noqa: E731
                sub = lambda stalled, c=s: file_launch(c, fps, stalled)  # noqa: E731
            self.cameras[str(n)] = SimCamera(str(n), {f"/cam/{n}/main": main, f"/cam/{n}/sub": sub}, kind)
        if clock:
            self.cameras[CLOCK] = SimCamera(CLOCK, {"/clock": clock_launch})
        self.server = GstRtspServer.RTSPServer()
        self.server.set_address(host)
        self.server.set_service(str(port))
        self.server.set_backlog(1024)
        self.permissions = None
        if user:
            auth = GstRtspServer.RTSPAuth()
            token = GstRtspServer.RTSPToken()
            token.set_string("media.factory.role", "camera-user")
            auth.add_basic(GstRtspServer.RTSPAuth.make_basic(user, password or ""), token)
            self.server.set_auth(auth)
            self.permissions = GstRtspServer.RTSPPermissions()
            self.permissions.add_permission_for_role("camera-user", "media.factory.access", True)
            self.permissions.add_permission_for_role("camera-user", "media.factory.construct", True)
        self.server.connect("client-connected", self._on_client)
        self.path_owner = {path: cam for cam in self.cameras.values() for path in cam.mounts}
        for cam in self.cameras.values():
            self._mount(cam)
        self.loop = GLib.MainLoop()
        self.port: int | None = None

    # --- serving -------------------------------------------------------------------------------

    def _factory(self, cam: SimCamera, launch) -> GstRtspServer.RTSPMediaFactory:
        factory = GstRtspServer.RTSPMediaFactory()
        factory.set_launch(launch(cam.state == STALLED))
        factory.set_shared(True)
        if self.permissions is not None:
            factory.set_permissions(self.permissions)
        factory.connect("media-configure", self._on_media_configure, cam)
        return factory

    def _mount(self, cam: SimCamera) -> None:
        mounts = self.server.get_mount_points()
        for path, launch in cam.mounts.items():
            mounts.add_factory(path, self._factory(cam, launch))

    def _unmount(self, cam: SimCamera) -> None:
        mounts = self.server.get_mount_points()
        for path in cam.mounts:
            mounts.remove_factory(path)

    def _on_media_configure(self, factory, media, cam: SimCamera) -> None:
        element = media.get_element()
        parse = element.get_by_name("parse")
        if parse is not None:
            parse.get_static_pad("src").add_probe(Gst.PadProbeType.BUFFER, _copy_dts_to_pts)
        overlay = element.get_by_name("overlay")
        if overlay is not None:
            overlay.connect("draw", _draw_clock)
        element.get_by_name("valve").set_property("drop", cam.state == STALLED)
        cam.medias.add(media)
        media.connect("unprepared", lambda m: cam.medias.discard(m))

    def _on_client(self, server, client) -> None:
        for signal_name in ("describe-request", "setup-request", "play-request"):
            client.connect(signal_name, self._on_request)
        client.connect("closed", self._on_client_closed)

    def _on_request(self, client, ctx) -> None:
        uri = ctx.uri
        path = uri.abspath if uri is not None else ""
        for mount, cam in self.path_owner.items():
            if path == mount or path.startswith(mount + "/"):
                cam.clients.add(client)

    def _on_client_closed(self, client) -> None:
        for cam in self.cameras.values():
            cam.clients.discard(client)

    # --- fault injection (main loop only) ------------------------------------------------------

    def _end_sessions(self, cam: SimCamera) -> None:
        def session_uses_camera(pool, session):
            hit = []

            def look(session, sessmedia):
                hit.append(sessmedia.get_media() in cam.medias)
                return GstRtspServer.RTSPFilterResult.KEEP

            session.filter(look)
            return GstRtspServer.RTSPFilterResult.REMOVE if any(hit) else GstRtspServer.RTSPFilterResult.KEEP

        self.server.get_session_pool().filter(session_uses_camera)
        for client in list(cam.clients):
            client.close()
        cam.clients.clear()
        for media in list(cam.medias):
            media.unprepare()
        cam.medias.clear()

    def _set_valves(self, cam: SimCamera, drop: bool) -> None:
        for media in list(cam.medias):
            valve = media.get_element().get_by_name("valve")
            if valve is not None:
                valve.set_property("drop", drop)

    def apply(self, action: str, camera_id: str) -> dict:
        """stop / stall / resume one camera. Call on the main loop."""
        cam = self.cameras.get(str(camera_id))
        if cam is None:
            raise KeyError(camera_id)
        if action not in ACTIONS:
            raise ValueError(action)
        if action == "stop" and cam.state != STOPPED:
            self._unmount(cam)
            cam.state = STOPPED
            self._end_sessions(cam)
        elif action in ("stall", "resume"):
            target = STALLED if action == "stall" else RUNNING
            if cam.state == STOPPED:
                cam.state = target
                self._mount(cam)
            else:
                cam.state = target
                self._set_valves(cam, target == STALLED)
        log.info("camera %s: %s -> %s", cam.id, action, cam.state)
        return {"camera": cam.id, "state": cam.state}

    def status(self) -> dict:
        return {
            "port": self.port,
            "count": self.count,
            "clock": CLOCK in self.cameras,
            "h265_cameras": sorted(int(c.id) for c in self.cameras.values() if c.kind == "h265"),
            "audio_only_cameras": sorted(int(c.id) for c in self.cameras.values() if c.kind == "audio"),
            "cameras": {
                cam.id: {"state": cam.state, "clients": len(cam.clients), "pipelines": len(cam.medias)}
                for cam in self.cameras.values()
            },
        }

    def call(self, func, *args, timeout: float = 10.0):
        """Run func(*args) on the main loop from another thread and return its result."""
        done = threading.Event()
        box: dict = {}

        def run():
            try:
                box["value"] = func(*args)
            except BaseException as exc:  # handed back to the calling thread
                box["error"] = exc
            done.set()
            return GLib.SOURCE_REMOVE

        GLib.idle_add(run)
        if not done.wait(timeout):
            raise TimeoutError("the simulator's main loop did not answer")
        if "error" in box:
            raise box["error"]
        return box["value"]

    # --- life cycle ----------------------------------------------------------------------------

    def start(self) -> int:
        try:
            source = self.server.attach(None)
        except GLib.Error as exc:
            raise SimulatorError(
                f"cannot listen on {self.host}:{self.server.get_service()}: {exc.message}"
            ) from None
        if not source:
            raise SimulatorError(f"cannot listen on {self.host}:{self.server.get_service()}")
        self.port = self.server.get_bound_port()
        # the session pool drops sessions whose clients went away without TEARDOWN
        GLib.timeout_add_seconds(2, self._cleanup)
        return self.port

    def _cleanup(self) -> bool:
        self.server.get_session_pool().cleanup()
        return GLib.SOURCE_CONTINUE

    def run(self) -> None:
        """Serve until SIGTERM/SIGINT (or quit())."""
        for signum in (signal.SIGTERM, signal.SIGINT):
            GLib.unix_signal_add(GLib.PRIORITY_HIGH, signum, self._on_signal)
        self.loop.run()

    def _on_signal(self) -> bool:
        self.quit()
        return GLib.SOURCE_REMOVE

    def quit(self) -> None:
        for cam in self.cameras.values():
            if cam.state != STOPPED:
                try:
                    self._end_sessions(cam)
                except Exception:  # shutting down anyway
                    log.exception("ending the sessions of camera %s", cam.id)
        self.loop.quit()
