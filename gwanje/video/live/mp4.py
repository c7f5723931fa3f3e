"""The fragmented-MP4 box stream of ffmpeg's live output, parsed just enough to relay it.

ffmpeg (`-f mp4 -movflags +frag_keyframe+empty_moov+default_base_moof`) writes
    ftyp moov            the init segment (codec configuration, no samples)
    moof mdat moof mdat  media fragments, each decodable after the init segment
`BoxReader` cuts the byte stream into top-level boxes; `codec_string()` reads the RFC 6381 codec
parameter (`avc1.640028`) from the moov's sample entry for MediaSource.addSourceBuffer(); and
`starts_with_sync_sample()` tells whether a fragment begins with a keyframe (a new viewer starts
at such a fragment). Pure functions over bytes: no I/O here.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass

# A top-level box larger than this is not live video from a camera: the stream is refused.
MAX_BOX_BYTES = 64 * 1024 * 1024
_CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"mvex", b"moof", b"traf", b"edts", b"dinf"}
_NON_SYNC = 0x00010000  # sample_is_non_sync_sample in ISO/IEC 14496-12 sample flags


class Mp4Error(ValueError):
    """The byte stream is not the fragmented MP4 that was expected."""


@dataclass(frozen=True)
class Box:
    type: bytes  # b"moof"
    data: bytes  # the whole box, header included

    @property
    def header_size(self) -> int:
        return 16 if struct.unpack_from(">I", self.data)[0] == 1 else 8

    @property
    def payload(self) -> bytes:
        return self.data[self.header_size :]


class BoxReader:
    """Incremental splitter of a byte stream into complete top-level boxes."""

    def __init__(self, max_box: int = MAX_BOX_BYTES) -> None:
        self._buf = bytearray()
        self._max = max_box

    def feed(self, chunk: bytes) -> Iterator[Box]:
        self._buf += chunk
        while True:
            box = self._next()
            if box is None:
                return
            yield box

    @property
    def pending(self) -> int:
        return len(self._buf)

    def _next(self) -> Box | None:
        buf = self._buf
        if len(buf) < 8:
            return None
        size, kind = struct.unpack_from(">I4s", buf)
        header = 8
        if size == 1:
            if len(buf) < 16:
                return None
            size = struct.unpack_from(">Q", buf, 8)[0]
            header = 16
        if size == 0:
            raise Mp4Error("box extends to the end of the stream: not a fragmented stream")
        if size < header or size > self._max:
            raise Mp4Error(f"bad box size {size} for {kind!r}")
        if not kind.isascii():
            raise Mp4Error(f"bad box type {kind!r}")
        if len(buf) < size:
            return None
        data = bytes(buf[:size])
        del buf[:size]
        return Box(kind, data)


def iter_boxes(data: bytes, start: int = 0, end: int | None = None) -> Iterator[tuple[bytes, int, int]]:
    """(type, payload start, box end) of each box in data[start:end]."""
    end = len(data) if end is None else end
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, pos)
        header = 8
        if size == 1:
            if pos + 16 > end:
                raise Mp4Error("truncated box header")
            size = struct.unpack_from(">Q", data, pos + 8)[0]
            header = 16
        elif size == 0:
            size = end - pos
        if size < header or pos + size > end:
            raise Mp4Error(f"bad box size {size} for {kind!r}")
        yield kind, pos + header, pos + size
        pos += size


def find_box(
    data: bytes, path: list[bytes], start: int = 0, end: int | None = None
) -> tuple[int, int] | None:
    """(payload start, end) of the first box along `path` (e.g. [b"moov", b"mvex", b"trex"])."""
    for kind, pstart, bend in iter_boxes(data, start, end):
        if kind == path[0]:
            if len(path) == 1:
                return pstart, bend
            found = find_box(data, path[1:], pstart, bend)
            if found is not None:
                return found
    return None


_STSD = [b"moov", b"trak", b"mdia", b"minf", b"stbl", b"stsd"]
# Visual sample entry: 6 reserved + 2 data-ref index + 70 bytes of fields before its child boxes.
_VISUAL_ENTRY_HEADER = 78


def _malformed_is_mp4error(fn):
    """Truncated or inconsistent box contents raise Mp4Error, never struct.error/IndexError."""

    def checked(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (struct.error, IndexError) as exc:
            raise Mp4Error(f"malformed box: {exc}") from None

    checked.__name__, checked.__doc__ = fn.__name__, fn.__doc__
    return checked


@_malformed_is_mp4error
def codec_string(init: bytes) -> str:
    """The RFC 6381 codec parameter of the first video track of an init segment (ftyp+moov or
    moov alone): `avc1.PPCCLL` from avcC, `hvc1.…` from hvcC. Raises Mp4Error otherwise."""
    stsd = find_box(init, _STSD)
    if stsd is None:
        raise Mp4Error("no sample description (stsd) in the init segment")
    start, end = stsd
    for kind, pstart, bend in iter_boxes(init, start + 8, end):  # skip version/flags + entry count
        children = pstart + _VISUAL_ENTRY_HEADER
        if kind in (b"avc1", b"avc3"):
            avcc = find_box(init, [b"avcC"], children, bend)
            if avcc is None or avcc[1] - avcc[0] < 4:
                raise Mp4Error("H.264 track without its configuration (avcC)")
            profile, compat, level = init[avcc[0] + 1], init[avcc[0] + 2], init[avcc[0] + 3]
            return f"{kind.decode()}.{profile:02x}{compat:02x}{level:02x}"
        if kind in (b"hvc1", b"hev1"):
            hvcc = find_box(init, [b"hvcC"], children, bend)
            if hvcc is None or hvcc[1] - hvcc[0] < 13:
                raise Mp4Error("H.265 track without its configuration (hvcC)")
            return _hevc_codec(kind.decode(), init[hvcc[0] : hvcc[0] + 13])
        raise Mp4Error(f"unsupported video codec {kind.decode('ascii', 'replace')!r}")
    raise Mp4Error("no video sample entry in the init segment")


def _hevc_codec(kind: str, c: bytes) -> str:
    """ISO/IEC 14496-15 annex E: hvc1.<space><profile>.<compat reversed>.<tier><level>.<constraints>."""
    space = "" if (c[1] >> 6) == 0 else "ABC"[(c[1] >> 6) - 1]
    tier = "H" if c[1] & 0x20 else "L"
    profile = c[1] & 0x1F
    compat = int.from_bytes(c[2:6], "big")
    reversed_compat = int(f"{compat:032b}"[::-1], 2)
    constraints = list(c[6:12])
    while constraints and constraints[-1] == 0:
        constraints.pop()
    parts = [kind, f"{space}{profile}", f"{reversed_compat:x}", f"{tier}{c[12]}"]
    parts += [f"{b:02x}" for b in constraints]
    return ".".join(parts)


@_malformed_is_mp4error
def default_sample_flags(init: bytes) -> int | None:
    """trex.default_sample_flags of the init segment (used when a fragment sets none)."""
    trex = find_box(init, [b"moov", b"mvex", b"trex"])
    if trex is None or trex[1] - trex[0] < 24:
        return None
    return struct.unpack_from(">I", init, trex[0] + 20)[0]


@_malformed_is_mp4error
def starts_with_sync_sample(moof: bytes, trex_flags: int | None = None) -> bool:
    """True when the fragment's first sample is a sync sample (keyframe). `moof` is the whole moof
    box (header included). Without any sample flags the fragment is taken as a sync start."""
    traf = find_box(moof, [b"moof", b"traf"])
    if traf is None:
        raise Mp4Error("fragment without a track fragment (traf)")
    flags = trex_flags
    for kind, pstart, _end in iter_boxes(moof, *traf):
        if kind == b"tfhd":
            tf_flags = int.from_bytes(moof[pstart + 1 : pstart + 4], "big")
            pos = pstart + 8  # version/flags + track_ID
            for bit, size in ((0x01, 8), (0x02, 4), (0x08, 4), (0x10, 4)):
                if tf_flags & bit:
                    pos += size
            if tf_flags & 0x20:
                flags = struct.unpack_from(">I", moof, pos)[0]
        elif kind == b"trun":
            tr_flags = int.from_bytes(moof[pstart + 1 : pstart + 4], "big")
            count = struct.unpack_from(">I", moof, pstart + 4)[0]
            pos = pstart + 8
            if tr_flags & 0x01:  # data offset
                pos += 4
            if tr_flags & 0x04:  # first-sample-flags
                flags = struct.unpack_from(">I", moof, pos)[0]
            elif tr_flags & 0x400 and count:  # per-sample flags: take the first sample's
                for bit in (0x100, 0x200):  # duration, size precede the flags
                    if tr_flags & bit:
                        pos += 4
                flags = struct.unpack_from(">I", moof, pos)[0]
            break
    return flags is None or not (flags & _NON_SYNC)
