"""The recorder's pure parts: the ffmpeg argv, the URL allow-list, redaction, the playlist parser,
fault classification from ffmpeg's stderr. Nothing here runs a process or touches the database."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from gwanje.video.choices import FaultReason
from gwanje.video.health import classify, input_video_codec
from gwanje.video.recorder.argv import check_url, record_argv, redact_argv, redact_text, with_pdeathsig
from gwanje.video.recorder.config import FfmpegArgs, RecorderConfig
from gwanje.video.recorder.ingest import avc_codec_string, key_prefix, seq_of
from gwanje.video.recorder.playlist import parse_datetime, parse_playlist

URL = "rtsp://admin:S3cr%40t!@10.1.2.3:554/Streaming/Channels/101"


def args(**kw) -> FfmpegArgs:
    values = {"url": URL, "out_dir": Path("/spool/cam-7/t1"), "segment_seconds": 10, "io_timeout_seconds": 20}
    values.update(kw)
    return FfmpegArgs(**values)


def test_argv_is_stream_copy_into_fmp4_hls():
    argv = record_argv(args())
    assert argv[0] == "ffmpeg"
    assert argv[argv.index("-i") + 1] == URL
    pairs = dict(zip(argv[1:-1], argv[2:], strict=False))
    assert pairs["-rtsp_transport"] == "tcp"
    assert pairs["-timeout"] == "20000000"  # microseconds
    assert pairs["-map"] == "0:v:0"
    assert pairs["-c"] == "copy"
    assert pairs["-f"] == "hls"
    assert pairs["-hls_segment_type"] == "fmp4"
    assert pairs["-hls_time"] == "10"
    assert pairs["-hls_fmp4_init_filename"] == "init.mp4"
    assert "program_date_time" in pairs["-hls_flags"]
    assert pairs["-hls_segment_filename"] == "/spool/cam-7/t1/seg-%06d.m4s"
    assert argv[-1] == "/spool/cam-7/t1/index.m3u8"
    assert "-nostdin" in argv
    # -timeout must come before -i: it is an input option
    assert argv.index("-timeout") < argv.index("-i")
    assert "-vcodec" not in argv and "libx264" not in argv


def test_argv_is_a_pure_function_of_its_config():
    assert record_argv(args()) == record_argv(args())
    assert record_argv(args(segment_seconds=2))[record_argv(args()).index("-hls_time") + 1] == "2"


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "concat:/etc/passwd|/etc/shadow",
        "http://10.0.0.1/stream",
        "-i /etc/passwd",
        "rtsp://",
        "rtsp:///nohost",
        "rtsp://host/with space",
        "rtsp://host:99999/x",
        "",
        None,
    ],
)
def test_only_rtsp_urls_reach_ffmpeg(url):
    assert check_url(url) is not None
    if url:
        with pytest.raises(ValueError):
            record_argv(args(url=url))


@pytest.mark.parametrize("url", ["rtsp://10.0.0.1/a", "RTSP://cam.local:8554/x?y=1", "rtsps://u:p@h/s"])
def test_rtsp_urls_pass(url):
    assert check_url(url) is None


def test_input_options_are_allow_listed():
    assert "-analyzeduration" in record_argv(args(extra_input_options=("-analyzeduration", "1000000")))
    with pytest.raises(ValueError):
        record_argv(args(extra_input_options=("-f", "lavfi")))


def test_pdeathsig_wrapper():
    argv = record_argv(args())
    assert with_pdeathsig(argv, None) == argv
    wrapped = with_pdeathsig(argv, "/usr/bin/setpriv")
    assert wrapped[:4] == ["/usr/bin/setpriv", "--pdeathsig", "TERM", "--"] and wrapped[4:] == argv


def test_credentials_are_redacted_from_argv_and_lines():
    shown = " ".join(redact_argv(record_argv(args()), URL))
    assert "S3cr" not in shown and "admin:***@10.1.2.3" in shown
    line = f"[rtsp @ 0x55] {URL}: Server returned 401 Unauthorized (authorization failed)"
    assert "S3cr" not in redact_text(line, URL)
    # decoded form, and URLs that are not the camera's own
    assert "S3cr@t!" not in redact_text("password S3cr@t! rejected", URL)
    assert redact_text("Input #0, rtsp, from 'rtsp://bob:hunter2@cam/x':") == (
        "Input #0, rtsp, from 'rtsp://bob:***@cam/x':"
    )
    assert "tok123" not in redact_text("rtsp://h/s?token=tok123", "rtsp://h/s?token=tok123")


def test_config_derivations():
    cfg = RecorderConfig(spool_dir=Path("/s"), segment_seconds=10)
    assert cfg.hang_seconds == 30 and cfg.io_timeout == 10 and cfg.gap_tolerance == 2.0
    assert cfg.playlist_size == 60
    short = RecorderConfig(spool_dir=Path("/s"), segment_seconds=2)
    assert short.hang_seconds == 6 and short.io_timeout == 5 and short.gap_tolerance == 1.5
    with pytest.raises(ValueError):
        RecorderConfig(spool_dir=Path("/s"), segment_seconds=0)


PLAYLIST = """#EXTM3U
#EXT-X-VERSION:7
#EXT-X-TARGETDURATION:3
#EXT-X-MEDIA-SEQUENCE:4
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-MAP:URI="init.mp4"
#EXTINF:2.960000,
#EXT-X-PROGRAM-DATE-TIME:2026-11-24T13:33:18.136+0000
seg-000004.m4s
#EXTINF:2.000000,
#EXT-X-PROGRAM-DATE-TIME:2026-11-24T13:33:21.096+0000
seg-000005.m4s
#EXT-X-ENDLIST
"""


def test_playlist_parser():
    pl = parse_playlist(PLAYLIST)
    assert pl.init_uri == "init.mp4" and pl.ended and pl.media_sequence == 4
    assert [(e.seq, e.uri, e.duration) for e in pl.entries] == [
        (4, "seg-000004.m4s", 2.96),
        (5, "seg-000005.m4s", 2.0),
    ]
    assert pl.entries[0].program_date_time == dt.datetime(2026, 11, 24, 13, 33, 18, 136000, tzinfo=dt.UTC)
    assert parse_playlist("#EXTM3U\n").entries == ()
    assert not parse_playlist(PLAYLIST.replace("#EXT-X-ENDLIST", "")).ended


def test_playlist_datetimes():
    assert parse_datetime("2026-11-24T22:33:18.136+0900") == dt.datetime(
        2026, 11, 24, 13, 33, 18, 136000, tzinfo=dt.UTC
    )
    assert parse_datetime("2026-11-24T13:33:18Z").tzinfo is not None
    assert parse_datetime("garbage") is None


def test_keys_and_codec_strings():
    when = dt.datetime(2026, 11, 24, 23, 59, tzinfo=dt.UTC)
    assert key_prefix(7, when) == "cam-7/2026/11/24"
    assert seq_of("cam-7/2026/11/24/s12-000034.m4s") == 34
    init = b"\x00\x00\x00\x10ftyp...." + b"\x00\x00\x00\x20avcC\x01\x64\x00\x28\xff"
    assert avc_codec_string(init) == "avc1.640028"
    assert avc_codec_string(b"....hvc1....") == "hvc1"
    assert avc_codec_string(b"") == ""


# --- fault classification (stderr lines as ffmpeg 5.1 prints them) ---------------------------------


def diag(text: str, returncode: int | None = 1, *, recorded: bool = False):
    return classify(text.strip().splitlines(), returncode, recorded=recorded)


def test_connection_refused():
    d = diag(
        """
[tcp @ 0x5628] Connection to tcp://127.0.0.1:18653?timeout=3000000 failed: Connection refused
rtsp://127.0.0.1:18653/h264: Connection refused"""
    )
    assert d.reason == FaultReason.CONNECTION_REFUSED


def test_auth_failure():
    d = diag(
        """
[rtsp @ 0x55] method DESCRIBE failed: 401 Unauthorized
rtsp://admin:***@10.0.0.1/s: Server returned 401 Unauthorized (authorization failed)"""
    )
    assert d.reason == FaultReason.AUTH_FAILURE
    forbidden = diag("rtsp://h/s: Server returned 403 Forbidden (access denied)")
    assert forbidden.reason == FaultReason.AUTH_FAILURE


def test_timeouts():
    assert diag("rtsp://10.0.0.9/s: Connection timed out").reason == FaultReason.TIMEOUT
    assert diag("[tcp @ 0x1] Connection to tcp://10.0.0.9:554 failed: No route to host").reason == (
        FaultReason.TIMEOUT
    )
    # a stream that was recording and then timed out has stalled
    assert diag("rtsp://10.0.0.9/s: Connection timed out", recorded=True).reason == FaultReason.STALLED


def test_no_video():
    d = diag(
        """
Input #0, rtsp, from 'rtsp://127.0.0.1:18654/audio':
  Duration: N/A, start: 0.000000, bitrate: 64 kb/s
  Stream #0:0: Audio: pcm_mulaw, 8000 Hz, mono, s16, 64 kb/s
Stream map '0:v:0' matches no streams.
To ignore this, add a trailing '?' to the map."""
    )
    assert d.reason == FaultReason.NO_VIDEO


HEVC = """
Input #0, rtsp, from 'rtsp://127.0.0.1:18654/h265':
  Metadata:
    title           : Session streamed with GStreamer
  Duration: N/A, start: 0.040000, bitrate: N/A
  Stream #0:0: Video: hevc (Main), yuv420p(tv), 1920x1080, 25 fps, 25 tbr, 90k tbn
Output #0, hls, to '/spool/index.m3u8':
  Stream #0:0: Video: hevc (Main), yuv420p(tv), 1920x1080, q=2-31, 25 fps, 25 tbr, 12800 tbn
"""


def test_unsupported_codec():
    assert input_video_codec(HEVC.strip().splitlines()) == "hevc"
    d = diag(HEVC, -9)
    assert d.reason == FaultReason.UNSUPPORTED_CODEC and "H.265" in d.detail
    h264 = HEVC.replace("hevc (Main)", "h264 (High)")
    assert input_video_codec(h264.strip().splitlines()) == "h264"
    assert input_video_codec(["  Stream #0:0: Video: hevc"]) is None  # not inside "Input #0"


def test_not_found_and_other():
    d = diag("rtsp://h/nope: Server returned 404 Not Found")
    assert d.reason == FaultReason.NOT_FOUND and "404" in d.detail
    assert diag("rtsp://h/x: Invalid data found when processing input").reason == FaultReason.OTHER
    d = diag("something nobody expected", 1)
    assert d.reason == FaultReason.OTHER and "status 1" in d.detail and "nobody expected" in d.detail
    assert diag("", -9).detail == "ffmpeg was killed (signal 9)"


def test_end_of_stream_after_recording_is_a_stall():
    assert diag("Exiting normally, received signal 15.", 0, recorded=True).reason == FaultReason.STALLED
    assert classify([], None, recorded=True, hung=True).reason == FaultReason.STALLED


def test_detail_is_bounded():
    d = diag("x" * 1000)
    assert len(d.detail) <= 300


def test_backoff_doubles_to_the_cap():
    from gwanje.video.recorder.config import RecordJob
    from gwanje.video.recorder.supervisor import CameraWorker

    worker = CameraWorker(RecordJob(1, "rtsp://h/s"), RecorderConfig(spool_dir=Path("/s")))
    delays = [worker.schedule_restart(100.0) for _ in range(9)]
    assert delays == [1, 2, 4, 8, 16, 32, 60, 60, 60]
    assert worker.next_start == 160.0


def test_a_host_that_never_answers_is_a_timeout():
    lines = ["rtsp://127.0.0.1:18660/x: Invalid data found when processing input"]
    assert classify(lines, 1, recorded=False, elapsed=5.2, io_timeout=5).reason == FaultReason.TIMEOUT
    # the same message at once is not a timeout
    assert classify(lines, 1, recorded=False, elapsed=0.1, io_timeout=5).reason == FaultReason.OTHER
