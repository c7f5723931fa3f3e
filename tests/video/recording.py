"""Helpers for the recorder tests (the `recorder` and `cameras` fixtures are in conftest.py)."""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path

from gwanje.registry import services as registry_services
from gwanje.registry.models import Camera
from gwanje.video.models import CameraFault, Segment

SEGMENT = 2  # seconds: the recorder tests' segment length


def children_named(*names: str) -> list[tuple[int, str, str]]:
    """(pid, comm, state) of this process's children called `names`, zombies included."""
    me = os.getpid()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1 : stat.rindex(")")]
        state, ppid = stat[stat.rindex(")") + 2 :].split()[:2]
        if int(ppid) == me and comm in names:
            found.append((int(entry.name), comm, state))
    return found


def ffmpeg_children() -> list[tuple[int, str, str]]:
    return children_named("ffmpeg", "setpriv")


def point(camera: Camera, url: str) -> Camera:
    camera.main_stream_url = url
    registry_services.save_camera(camera)
    return camera


def segments_of(camera) -> list[Segment]:
    return list(Segment.objects.filter(camera=camera).order_by("start", "id"))


def open_fault(camera) -> CameraFault | None:
    return CameraFault.objects.filter(camera=camera, ended_at__isnull=True).first()


def fill(directory: Path, leave: int = 0) -> Path:
    """Another program fills the file system of `directory`: a ballast file, until at most `leave`
    bytes are free (0: until the disk is full, ENOSPC)."""
    ballast = directory / "ballast.bin"
    block = b"\xa5" * (256 * 1024)
    fd = os.open(ballast, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        while (room := shutil.disk_usage(directory).free - leave) > 0:
            try:
                os.write(fd, block[: min(len(block), room)])
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
                break
    finally:
        os.close(fd)
    return ballast
