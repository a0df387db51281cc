"""Reply attachments: files on disk outside the database, checked for size and real type.

The type is decided by the file's first bytes, not by the name a browser sends: a renamed
executable is refused. Stored names are generated (`<ticket number>/<random>.<ext>`), so an
uploaded name never becomes a path; the ticket records the stored path (kind `attachment`).
"""

from __future__ import annotations

import asyncio
import re
import secrets
from dataclasses import dataclass
from pathlib import Path, PurePath

from tickets.exceptions import InvalidInput

_SAFE = re.compile(r"[^\w\u4e00-\u9fff-]")
MAX_BYTES = 10 * 1024 * 1024
# extension -> the signature its content must start with (None: UTF-8 text without NUL bytes)
TYPES: dict[str, bytes | None] = {
    "pdf": b"%PDF-",
    "png": b"\x89PNG\r\n\x1a\n",
    "jpg": b"\xff\xd8\xff",
    "jpeg": b"\xff\xd8\xff",
    "docx": b"PK\x03\x04",
    "xlsx": b"PK\x03\x04",
    "txt": None,
}


@dataclass(frozen=True)
class Upload:
    filename: str
    data: bytes


def check(upload: Upload, *, max_bytes: int = MAX_BYTES) -> str:
    """The file's extension when it is acceptable, else InvalidInput naming the file."""
    name = PurePath(upload.filename or "").name
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    field = f"attachments[{name or '?'}]"
    if ext not in TYPES:
        raise InvalidInput(f"{name}: type .{ext} not accepted (allowed: {', '.join(sorted(TYPES))})", field=field)
    if not upload.data:
        raise InvalidInput(f"{name}: empty file", field=field)
    if len(upload.data) > max_bytes:
        raise InvalidInput(f"{name}: {len(upload.data)} bytes, more than {max_bytes // (1024 * 1024)} MB", field=field)
    signature = TYPES[ext]
    if signature is None:
        try:
            text = upload.data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidInput(f"{name}: not UTF-8 text", field=field) from exc
        if "\x00" in text:
            raise InvalidInput(f"{name}: not a text file", field=field)
    elif not upload.data.startswith(signature):
        raise InvalidInput(f"{name}: content is not a .{ext} file", field=field)
    return ext


class AttachmentStore:
    def __init__(self, root: Path, *, max_bytes: int = MAX_BYTES) -> None:
        self.root = root
        self.max_bytes = max_bytes

    def check_all(self, uploads: list[Upload]) -> list[str]:
        return [check(u, max_bytes=self.max_bytes) for u in uploads]

    async def save(self, ticket_number: str, upload: Upload) -> Path:
        ext = check(upload, max_bytes=self.max_bytes)
        folder = self.root / ticket_number.replace("/", "_")
        # The citizen-facing name survives (sanitised), behind a random prefix that makes it unique.
        stem = _SAFE.sub("", PurePath(upload.filename).stem)[:40] or "file"
        path = folder / f"{secrets.token_hex(4)}_{stem}.{ext}"

        def write() -> None:
            folder.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".part")
            tmp.write_bytes(upload.data)
            tmp.replace(path)

        await asyncio.to_thread(write)
        return path

    def resolve(self, stored: str) -> Path | None:
        """A stored path, only when it lies inside the store (never follow a path out of it)."""
        p = Path(stored).resolve()
        root = self.root.resolve()
        return p if p.is_relative_to(root) and p.is_file() else None
