"""Where segments live, behind one interface: local disk now; an S3-compatible store is another
class with the same methods (the recorder and playback only ever use these).

Keys are relative paths like `cam-123/2026/11/24/s45-000012.m4s`."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import BinaryIO, Protocol

from django.conf import settings


class SegmentStore(Protocol):
    def put(self, local: Path, key: str) -> None: ...  # move a finished local file into the store
    def open(self, key: str) -> BinaryIO: ...
    def delete(self, key: str) -> None: ...  # irreversible; missing keys are not an error
    def size(self, key: str) -> int: ...
    def local_path(self, key: str) -> Path | None: ...  # a filesystem path when the store has one
    def free_bytes(self) -> int | None: ...  # None when unknown (object storage)
    def total_bytes(self) -> int | None: ...


class LocalStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root.resolve() not in path.parents:
            raise ValueError(f"bad storage key {key!r}")
        return path

    def put(self, local: Path, key: str) -> None:
        dest = self._path(key)
        dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.replace(local, dest)  # same filesystem: atomic
        except OSError:
            shutil.move(str(local), dest)

    def open(self, key: str) -> BinaryIO:
        return self._path(key).open("rb")

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def size(self, key: str) -> int:
        return self._path(key).stat().st_size

    def local_path(self, key: str) -> Path | None:
        return self._path(key)

    def free_bytes(self) -> int | None:
        self.root.mkdir(parents=True, exist_ok=True)
        return shutil.disk_usage(self.root).free

    def total_bytes(self) -> int | None:
        self.root.mkdir(parents=True, exist_ok=True)
        return shutil.disk_usage(self.root).total


def default_store() -> SegmentStore:
    return LocalStore(settings.VIDEO_DIR / "segments")
