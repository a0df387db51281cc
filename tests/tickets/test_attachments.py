"""Reply attachments: the type is read from the content, size is bounded, names never become paths."""

from __future__ import annotations

from pathlib import Path

import pytest

from tickets.attachments import AttachmentStore, Upload, check
from tickets.exceptions import InvalidInput


@pytest.mark.parametrize(("name", "data", "why"), [
    ("a.exe", b"MZ\x90\x00", "type .exe not accepted"),
    ("scan.pdf", b"MZ\x90\x00", "content is not a .pdf"),
    ("photo.png", b"\xff\xd8\xff\xe0", "content is not a .png"),
    ("note.txt", b"\xff\xfe\x00bad", "not UTF-8"),
    ("empty.pdf", b"", "empty file"),
    ("big.pdf", b"%PDF-" + b"0" * 2000, "more than"),
])  # fmt: skip
def test_refused_files_name_the_file(name: str, data: bytes, why: str) -> None:
    with pytest.raises(InvalidInput, match=why) as err:
        check(Upload(name, data), max_bytes=1024 * 1024 if name != "big.pdf" else 1000)
    assert err.value.field == f"attachments[{name}]"


async def test_saved_inside_the_store_under_a_generated_name(tmp_path: Path) -> None:
    store = AttachmentStore(tmp_path / "att")
    path = await store.save("20261123-000001", Upload("../../etc/现场 照片.png", b"\x89PNG\r\n\x1a\n...."))
    assert path.parent == tmp_path / "att" / "20261123-000001"
    assert path.name.endswith("_现场照片.png") and path.read_bytes().startswith(b"\x89PNG")
    assert store.resolve(str(path)) == path.resolve()
    outside = tmp_path / "secret.txt"
    outside.write_text("x")
    assert store.resolve(str(outside)) is None
    assert store.resolve(str(tmp_path / "att" / ".." / "secret.txt")) is None
