"""Attachment storage: content-addressed blobs behind a small interface (local folder built in)."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import BinaryIO, Protocol


class AttachmentStore(Protocol):
    """Where attachment bytes live, keyed by the SHA-256 of their content.

    Implement these three methods to keep attachments elsewhere, for example in an
    S3-compatible bucket: `put` uploads under the key (idempotent: same key, same bytes),
    `exists` is a HEAD request, and `open` streams the object. The database keeps only the
    key, the file name, the size and the media type.
    """

    def put(self, key: str, data: bytes) -> None: ...

    def exists(self, key: str) -> bool: ...

    def open(self, key: str) -> BinaryIO: ...


def content_key(data: bytes) -> str:
    """The storage key of some bytes: their SHA-256 in hex."""
    return hashlib.sha256(data).hexdigest()


class LocalStore:
    """Blobs under a folder, sharded by the first characters of their hash, written atomically."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        if len(key) != 64 or any(c not in "0123456789abcdef" for c in key):
            raise ValueError(f"not a SHA-256 key: {key!r}")
        return self.root / key[:2] / key[2:4] / key

    def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        if path.exists():
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        # write to a temporary file and rename: readers never see a partial blob
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def open(self, key: str) -> BinaryIO:
        return self._path(key).open("rb")
