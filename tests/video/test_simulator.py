"""The camera simulator against real ffmpeg/ffprobe (the `simulator` fixture: tests/video/conftest.py)."""

from __future__ import annotations

import subprocess
import time

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from gwanje.video.simulator import barcode, encode
from gwanje.video.simulator.control import ControlError, control

RTSP = ["-rtsp_transport", "tcp", "-timeout", "10000000"]  # -timeout: socket I/O, microseconds


def probe(url: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["ffprobe", "-v", "error", *RTSP, *args, url], capture_output=True, text=True, timeout=timeout
    )


def packets(url: str, seconds: int) -> list[tuple[float, float]]:
    """(pts, dts) of the packets of the first `seconds` of a stream."""
    out = probe(
        url, "-read_intervals", f"%+{seconds}", "-show_entries", "packet=pts_time,dts_time", "-of", "csv=p=0"
    )
    assert out.returncode == 0, out.stderr
    rows = []
    for line in out.stdout.split():
        pts, dts = line.split(",")[:2]
        if pts != "N/A" and dts != "N/A":
            rows.append((float(pts), float(dts)))
    return rows


def test_main_and_sub_streams(simulator):
    main = probe(simulator.url(1), "-show_entries", "stream=codec_name,width,height", "-of", "csv=p=0")
    assert main.stdout.strip() == "h264,1920,1080", main.stderr
    sub = probe(simulator.url(1, "sub"), "-show_entries", "stream=codec_name,width,height", "-of", "csv=p=0")
    assert sub.stdout.strip() == "h264,640,360", sub.stderr


def test_h265_and_audio_only_cameras(simulator):
    n = simulator.h265_camera
    for stream, size in (("main", "1920,1080"), ("sub", "640,360")):
        out = probe(simulator.url(n, stream), "-show_entries", "stream=codec_name,width,height", "-of", "csv")
        assert out.stdout.strip() == f"stream,hevc,{size}", out.stderr
    dts = [d for _, d in packets(simulator.url(n, "sub"), 6)]  # 6 s: across the 4 s clip's loop point
    assert dts[-1] - dts[0] > 4 and (np.diff(dts) > 0).all() and np.diff(dts).max() < 0.5
    audio = probe(
        simulator.url(simulator.audio_only_camera),
        "-show_entries", "stream=codec_type,codec_name,sample_rate", "-of", "csv=p=0",
    )  # fmt: skip
    assert audio.stdout.strip() == "pcm_alaw,audio,8000", audio.stderr  # one stream: no video
    status = simulator.status()
    assert (status["h265_cameras"], status["audio_only_cameras"]) == ([n], [simulator.audio_only_camera])
    simulator.stop(n)  # fault injection works on them as on the others
    assert "404" in probe(simulator.url(n)).stderr
    simulator.resume(n)


def test_encode_h265(tmp_path):
    clip = encode.encoded_stream(encode.SUB_H265, "pattern", 2, tmp_path)
    assert clip.chunks == 2 and clip.codec == "h265" and clip.chunk(1).name == "gop-00001.h265"
    for i in range(clip.chunks):  # each chunk opens with a video parameter set (NAL type 32)
        assert clip.chunk(i).read_bytes().lstrip(b"\x00")[:3] == b"\x01\x40\x01"
    assert encode.encoded_stream(encode.SUB_H265, "pattern", 2, tmp_path) == clip  # cached
    assert encode.encoded_stream(encode.SUB, "pattern", 2, tmp_path).directory != clip.directory
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "stream=codec_name,width,height,has_b_frames",
         "-of", "csv=p=0", str(clip.chunk(0))],
        capture_output=True, text=True,
    )  # fmt: skip
    assert out.stdout.strip() == "hevc,640,360,0"


def test_two_clients_share_one_pipeline(simulator):
    argv = [
        "ffmpeg",
        "-v",
        "error",
        "-nostdin",
        *RTSP,
        "-i",
        simulator.url(2),
        "-t",
        "4",
        "-c",
        "copy",
        "-f",
        "null",
        "-",
    ]
    readers = [subprocess.Popen(argv, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    try:
        seen = {}
        for _ in range(100):  # wait until both sessions play
            seen = simulator.status()["cameras"]["2"]
            if seen["clients"] == 2:
                break
            time.sleep(0.1)
        assert seen["clients"] == 2 and seen["pipelines"] == 1, seen
        for reader in readers:
            _, err = reader.communicate(timeout=60)
            assert reader.returncode == 0, err
    finally:
        for reader in readers:
            if reader.poll() is None:
                reader.kill()
                reader.wait()


def test_stop_ends_sessions_and_refuses_until_resumed(simulator):
    reader = subprocess.Popen(
        ["ffmpeg", "-v", "error", "-nostdin", *RTSP, "-i", simulator.url(3), "-c", "copy", "-f", "null", "-"],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        for _ in range(100):
            if simulator.status()["cameras"]["3"]["pipelines"]:
                break
            time.sleep(0.1)
        assert simulator.stop(3) == {"camera": "3", "state": "stopped"}
        reader.communicate(timeout=60)  # the session ended: the reader stops by itself
    finally:
        if reader.poll() is None:
            reader.kill()
            reader.wait()
    refused = probe(simulator.url(3, "sub"))
    assert refused.returncode != 0 and "404" in refused.stderr
    assert simulator.status()["cameras"]["3"] == {"state": "stopped", "clients": 0, "pipelines": 0}
    assert simulator.resume(3) == {"camera": "3", "state": "running"}
    back = probe(simulator.url(3), "-show_entries", "stream=codec_name", "-of", "csv=p=0")
    assert back.stdout.strip() == "h264", back.stderr


def pts(line):
    """The pts_time of one ffprobe csv line: its first field, which may be N/A; a packet carrying
    side data adds fields after a comma (e.g. "1.040000,")."""
    field = line.strip().split(",")[0]
    return None if field in ("", "N/A") else float(field)


def test_stall_keeps_the_session_but_sends_nothing(simulator):
    reader = subprocess.Popen(
        ["ffprobe", "-v", "error", "-rtsp_transport", "tcp", "-timeout", "3000000",
         "-show_entries", "packet=pts_time", "-of", "csv=p=0", simulator.url(4, "sub")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        first = next(t for t in map(pts, reader.stdout) if t is not None)
        started = time.monotonic()
        for _ in range(10):  # packets flow
            assert reader.stdout.readline()
        simulator.stall(4)
        stalled_after = time.monotonic() - started
        camera = simulator.status()["cameras"]["4"]
        assert camera["state"] == "stalled" and camera["clients"] == 1  # the session stays open
        rest, err = reader.communicate(timeout=90)  # ends by itself: its 3 s I/O timeout expired
    finally:
        if reader.poll() is None:
            reader.kill()
            reader.wait()
    last = max([first] + [t for t in map(pts, rest.splitlines()) if t is not None])
    # stream time stopped at the stall (give or take what was in flight), not at the reader's end
    assert last - first < stalled_after + 2
    simulator.resume(4)
    assert len(packets(simulator.url(4, "sub"), 1)) > 5


def test_wrong_or_missing_credentials_get_401(simulator):
    wrong = probe(simulator.url(1).replace(simulator.password, "wrong-password"))
    assert wrong.returncode != 0 and "401" in wrong.stderr
    missing = probe(simulator.url(1, auth=False))
    assert missing.returncode != 0 and "401" in missing.stderr
    clock = probe(simulator.clock_url_without_auth())
    assert "401" in clock.stderr


def test_timestamps_keep_increasing_across_loops(simulator):
    rows = packets(simulator.url(2, "sub"), 10)  # 10 s: the 4 s clip loops twice
    dts = [d for _, d in rows]
    assert dts[-1] - dts[0] > 8
    steps = np.diff(dts)
    assert (steps > 0).all(), "time stamps went backwards or repeated"
    assert steps.max() < 0.5  # no jump at the loop points (25 fps: 0.04 s)
    assert all(p == d for p, d in rows)  # no B-frames: presentation = decoding order


def test_clock_camera_timestamps_increase(simulator):
    dts = [d for _, d in packets(simulator.clock_url, 3)]  # across key frames (every second)
    assert dts[-1] - dts[0] > 2
    assert (np.diff(dts) > 0).all()


def test_clock_camera_bar_code_reads_back_the_wall_clock(simulator):
    before = time.time()
    out = subprocess.run(
        ["ffmpeg", "-v", "error", "-nostdin", *RTSP, "-i", simulator.clock_url, "-frames:v", "1",
         "-f", "rawvideo", "-pix_fmt", "gray", "-"],
        capture_output=True, timeout=60,
    )  # fmt: skip
    after = time.time()
    assert out.returncode == 0, out.stderr
    frame = np.frombuffer(out.stdout, dtype=np.uint8).reshape(barcode.HEIGHT, barcode.WIDTH)
    shown = barcode.decode(frame) / 1000
    assert before - 2 <= shown <= after + 2


def test_bar_code_round_trip_without_video():
    import cairo

    for epoch_ms in (0, 1, 1_700_000_000_123, (1 << 48) - 1):
        surface = cairo.ImageSurface(cairo.FORMAT_RGB24, barcode.WIDTH, barcode.HEIGHT)
        barcode.draw(cairo.Context(surface), epoch_ms)
        pixels = np.ndarray((barcode.HEIGHT, barcode.WIDTH, 4), np.uint8, surface.get_data())
        assert barcode.decode(pixels[..., :3]) == epoch_ms
    with pytest.raises(barcode.BarcodeError):
        barcode.decode(np.zeros((barcode.HEIGHT, barcode.WIDTH), np.uint8))


def test_control_errors(simulator):
    with pytest.raises(ControlError, match="no camera"):
        control(simulator.control_port, "stop", 99)
    with pytest.raises(ValueError):
        control(simulator.control_port, "explode", 1)


def test_command_line_send_and_status(simulator, capsys):
    call_command("simulate-cameras", control_port=simulator.control_port, send=["stall", "clock"])
    assert '"state": "stalled"' in capsys.readouterr().out
    call_command("simulate-cameras", control_port=simulator.control_port, status=True)
    assert '"clock": {"state": "stalled"' in capsys.readouterr().out
    call_command("simulate-cameras", control_port=simulator.control_port, send=["resume", "clock"])
    with pytest.raises(CommandError, match="unknown action"):
        call_command("simulate-cameras", control_port=simulator.control_port, send=["explode", "1"])


@pytest.mark.parametrize(
    "options, message",
    [
        ({"count": -1}, "--count"),
        ({"count": 0}, "nothing to serve"),
        ({"user": "cam"}, "--password"),
        ({"port": 70000}, "--port"),
        ({"source": "/nonexistent/clip.mp4"}, "not found"),
        ({"send": ["stop", "1"]}, "--control-port"),
        ({"count": 2, "h265_camera": [3]}, "--h265-camera"),
        ({"count": 2, "audio_only_camera": [0]}, "--audio-only-camera"),
        ({"count": 2, "h265_camera": [1], "audio_only_camera": [1]}, "both"),
    ],
)
def test_command_line_rejects_bad_input(options, message, tmp_path):
    with pytest.raises(CommandError, match=message):
        call_command("simulate-cameras", cache_dir=str(tmp_path), **options)


def test_cache_key_depends_on_every_parameter():
    key = encode.cache_key(encode.MAIN, "pattern", 10)
    assert key == encode.cache_key(encode.MAIN, "pattern", 10)
    assert key != encode.cache_key(encode.MAIN, "pattern", 4)
    assert key != encode.cache_key(encode.SUB, "pattern", 10)
    assert key != encode.cache_key(encode.MAIN_H265, "pattern", 10)


PREFIX = "rtsp://127.0.0.1:8554/"


def _central_cameras():
    from gwanje.registry.models import Camera

    return list(
        Camera.objects.filter(site__has_onsite_storage=False)
        .exclude(status="retired")
        .select_related("site")
        .order_by("site__code", "number")
    )


def test_point_cameras_at_demo_cameras(seongdong):
    from gwanje.registry.models import Camera
    from gwanje.registry.services import point_cameras_at

    urls = [(f"{PREFIX}cam/{n}/main", f"{PREFIX}cam/{n}/sub") for n in (1, 2, 3)]
    blank = [c for c in _central_cameras() if not c.main_stream_url and not c.sub_stream_url][:4]
    configured = blank[1]  # a camera someone configured for real is left alone
    configured.main_stream_url = "rtsp://10.1.2.3/stream1"
    configured.save()
    expected = [blank[0], blank[2], blank[3]]
    changed = point_cameras_at(urls, replaceable_prefix=PREFIX)
    assert [c.pk for c in changed] == [c.pk for c in expected]
    for camera, (main, sub) in zip(expected, urls, strict=True):
        camera.refresh_from_db()
        assert (camera.main_stream_url, camera.sub_stream_url) == (main, sub)
    assert Camera.objects.get(pk=configured.pk).main_stream_url == "rtsp://10.1.2.3/stream1"
    assert point_cameras_at(urls, replaceable_prefix=PREFIX) == []  # idempotent
    changed = point_cameras_at(urls[:1], replaceable_prefix=PREFIX)  # fewer simulated cameras
    assert [c.pk for c in changed] == [blank[2].pk, blank[3].pk]
    assert Camera.objects.get(pk=blank[3].pk).main_stream_url == ""
    onsite = Camera.objects.filter(site__has_onsite_storage=True, main_stream_url__startswith="rtsp://127")
    assert not onsite.exists()


@pytest.mark.parametrize(
    "env, expected",
    [
        ({}, (True, 8)),
        ({"GWANJE_SIMULATOR": "off"}, (False, 8)),
        ({"GWANJE_SIMULATOR_CAMERAS": "3"}, (True, 3)),
    ],
)
def test_run_simulator_settings(monkeypatch, settings, env, expected):
    from gwanje.core.management.commands.run import simulator_settings

    settings.SECRET_KEY = settings.INSECURE_DEFAULT_SECRET  # development: on unless switched off
    monkeypatch.delenv("GWANJE_SIMULATOR", raising=False)
    monkeypatch.delenv("GWANJE_SIMULATOR_CAMERAS", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert simulator_settings() == expected


@pytest.mark.parametrize("env", [{"GWANJE_SIMULATOR": "maybe"}, {"GWANJE_SIMULATOR_CAMERAS": "lots"}])
def test_run_simulator_settings_rejects_bad_values(monkeypatch, env):
    from gwanje.core.management.commands.run import simulator_settings

    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(CommandError, match=next(iter(env))):
        simulator_settings()


def test_run_simulator_is_off_by_default_in_production(monkeypatch, settings):
    from gwanje.core.management.commands.run import simulator_settings

    monkeypatch.delenv("GWANJE_SIMULATOR", raising=False)
    settings.SECRET_KEY = "a-real-production-secret-" + "x" * 40
    assert simulator_settings()[0] is False
    monkeypatch.setenv("GWANJE_SIMULATOR", "on")
    assert simulator_settings()[0] is True


def test_encode_from_a_video_file(tmp_path):
    clip_file = "/work/shared/data/video/car-detection.mp4"
    clip = encode.encoded_stream(encode.SUB, clip_file, 2, tmp_path)
    assert clip.chunks == 2
    assert encode.encoded_stream(encode.SUB, clip_file, 2, tmp_path) == clip  # cached
    first = clip.chunk(0)
    assert first.read_bytes().lstrip(b"\x00")[:2] == b"\x01\x67"  # starts with a sequence parameter set
    out = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-show_entries",
            "stream=codec_name,width,height",
            "-of",
            "csv=p=0",
            str(first),
        ],
        capture_output=True,
        text=True,
    )
    assert out.stdout.strip() == "h264,640,360"
    with pytest.raises(encode.EncodeError, match="not found"):
        encode.encoded_stream(encode.SUB, str(tmp_path / "missing.mp4"), 2, tmp_path)
