"""Pure functions: the URL allow-list, the ffmpeg argv of a recording session, and redaction of
credentials from anything that is logged or stored (DESIGN rule 7). Nothing here runs a process."""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

from gwanje.core.fields import redact_url
from gwanje.video.recorder.config import FfmpegArgs

ALLOWED_SCHEMES = ("rtsp", "rtsps")
_ALLOWED_INPUT_OPTIONS = {"-analyzeduration", "-probesize", "-max_delay", "-reorder_queue_size"}


def check_url(url: str | None) -> str | None:
    """None when `url` may be handed to ffmpeg, else why not (in English, for the fault detail).

    Only rtsp:// and rtsps:// URLs with a host pass: anything else could make ffmpeg read a local
    file or another protocol (file:, concat:, subfile:, http: …)."""
    if not url or not url.strip():
        return "no stream URL"
    url = url.strip()
    if any(ch.isspace() or ord(ch) < 32 for ch in url):
        return "the stream URL contains spaces or control characters"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "the stream URL cannot be parsed"
    if parts.scheme.lower() not in ALLOWED_SCHEMES:
        return f"not an RTSP URL (scheme {parts.scheme or 'missing'!r}; allowed: rtsp, rtsps)"
    if not parts.hostname:
        return "the stream URL has no host"
    if port == 0:
        return "the stream URL has port 0"
    return None


def record_argv(args: FfmpegArgs) -> list[str]:
    """The ffmpeg command of one recording session: RTSP over TCP, the first video stream copied
    (never re-encoded) into an HLS fMP4 playlist in `out_dir` (init.mp4 + seg-NNNNNN.m4s).

    `-hls_flags program_date_time` anchors each segment in time (ffmpeg's clock when the output
    started plus the stream durations before it); EXTINF is each segment's own duration."""
    problem = check_url(args.url)
    if problem:
        raise ValueError(problem)
    extra = list(args.extra_input_options)
    for i in range(0, len(extra), 2):
        if extra[i] not in _ALLOWED_INPUT_OPTIONS:
            raise ValueError(f"input option {extra[i]!r} is not allowed")
    timeout_us = int(args.io_timeout_seconds * 1_000_000)
    out = args.out_dir
    return [
        args.ffmpeg,
        "-nostdin",
        "-hide_banner",
        "-nostats",
        "-loglevel",
        args.loglevel,
        "-rtsp_transport",
        "tcp",
        "-timeout",
        str(timeout_us),
        *extra,
        "-i",
        args.url.strip(),
        "-map",
        "0:v:0",
        "-c",
        "copy",
        "-f",
        "hls",
        "-hls_segment_type",
        "fmp4",
        "-hls_time",
        str(args.segment_seconds),
        "-hls_list_size",
        str(args.playlist_size),
        "-hls_flags",
        "program_date_time+independent_segments",
        "-hls_fmp4_init_filename",
        args.init_name,
        "-hls_segment_filename",
        str(out / args.segment_pattern),
        str(out / args.playlist_name),
    ]


def with_pdeathsig(argv: list[str], setpriv: str | None) -> list[str]:
    """Prefix `setpriv --pdeathsig TERM --`, so the child gets SIGTERM if the recorder dies."""
    if not setpriv:
        return list(argv)
    return [setpriv, "--pdeathsig", "TERM", "--", *argv]


# user:password@ in any URL-looking text (ffmpeg prints URLs in errors and in "Input #0 … from '…'").
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^\s/@:'\"]*):([^\s/@'\"]+)@")


def secrets_of(url: str | None) -> tuple[str, ...]:
    """The strings that must never appear in a log line: the URL's password (raw and decoded)
    and any secret query value."""
    if not url:
        return ()
    out: set[str] = set()
    try:
        parts = urlsplit(url.strip())
        if parts.password:
            out.update({parts.password, unquote(parts.password)})
    except ValueError:
        pass
    for m in re.finditer(r"(?i)(?:password|passwd|pwd|pass|token|key|secret|auth)=([^&\s]+)", url):
        out.update({m.group(1), unquote(m.group(1))})
    return tuple(sorted((s for s in out if len(s) >= 2), key=len, reverse=True))


def redact_text(text: str, url: str | None = None) -> str:
    """`text` with the credentials of `url` (and any user:password@ in it) replaced by ***."""
    if url:
        plain = url.strip()
        if plain and plain in text:
            text = text.replace(plain, redact_url(plain))
        for secret in secrets_of(url):
            text = text.replace(secret, "***")
    return _USERINFO.sub(r"\1:***@", text)


def redact_argv(argv: list[str], url: str | None = None) -> list[str]:
    return [redact_text(a, url) for a in argv]
