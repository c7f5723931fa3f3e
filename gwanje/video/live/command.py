"""The ffmpeg command of a live upstream, built by a pure function from typed config (DESIGN rule 7):
RTSP over TCP in, the first video stream copied (no re-encode) into fragmented MP4 on stdout."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from gwanje.core.fields import redact_url

ALLOWED_SCHEMES = ("rtsp", "rtsps")


class BadStreamURL(ValueError):
    """A stream URL that is not an RTSP URL: never handed to ffmpeg."""


@dataclass(frozen=True)
class LiveConfig:
    url: str
    fragment_ms: int = 200  # a fragment is cut at each keyframe and after this much video
    io_timeout_s: int = 5  # no data from the camera for this long: ffmpeg exits (then restarted)
    probe_ms: int = 1000  # how long ffmpeg looks at the input before writing the init segment
    ffmpeg: str = "ffmpeg"


def check_url(url: str) -> str:
    url = (url or "").strip()
    if not url:
        raise BadStreamURL("no stream URL")
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise BadStreamURL(f"not a URL: {exc}") from None
    if parts.scheme.lower() not in ALLOWED_SCHEMES or not parts.hostname:
        raise BadStreamURL(f"only rtsp:// and rtsps:// stream URLs are relayed, not {redact_url(url)!r}")
    if any(c in url for c in "\r\n\0 "):
        raise BadStreamURL("the stream URL contains white space or control characters")
    return url


def live_argv(config: LiveConfig) -> list[str]:
    url = check_url(config.url)
    return [
        config.ffmpeg,
        "-hide_banner",
        "-nostdin",
        "-loglevel",
        "warning",
        "-fflags",
        "nobuffer",
        "-analyzeduration",
        str(config.probe_ms * 1000),
        "-probesize",
        "1000000",
        "-rtsp_transport",
        "tcp",
        "-timeout",
        str(config.io_timeout_s * 1_000_000),
        "-i",
        url,
        "-map",
        "0:v:0",
        "-c",
        "copy",
        "-an",
        "-f",
        "mp4",
        "-movflags",
        "+frag_keyframe+empty_moov+default_base_moof",
        "-frag_duration",
        str(config.fragment_ms * 1000),
        "-flush_packets",
        "1",
        "pipe:1",
    ]


def redactor(url: str):
    """A function that removes the URL's credentials from a line of ffmpeg's stderr."""
    secrets: list[tuple[str, str]] = []
    if url:
        secrets.append((url, redact_url(url)))
        try:
            password = urlsplit(url).password
        except ValueError:
            password = None
        if password:
            secrets += [(password, "***"), (unquote(password), "***")]
    patterns = [(re.compile(re.escape(s)), r) for s, r in secrets if s]

    def redact(line: str) -> str:
        for pattern, replacement in patterns:
            line = pattern.sub(lambda _m, r=replacement: r, line)
        return line

    return redact
