"""The PBX chroot resolves its own host name locally (issue 18 item 2): no DNS per call."""

from __future__ import annotations

from pathlib import Path

from hotline.pbx import ensure_hosts


def test_hosts_gains_the_host_name_once_and_keeps_what_was_there(tmp_path: Path) -> None:
    hosts = tmp_path / "etc" / "hosts"
    hosts.parent.mkdir()
    hosts.write_text("127.0.0.1 localhost\n10.0.0.5 pbx-peer  # kept\n")
    assert ensure_hosts(tmp_path, "vm-7") is True
    text = hosts.read_text()
    assert text.startswith("127.0.0.1 localhost\n10.0.0.5 pbx-peer  # kept\n")
    assert "127.0.1.1\tvm-7\n" in text and text.count("localhost") == 1
    assert ensure_hosts(tmp_path, "vm-7") is False
    assert hosts.read_text() == text


def test_a_chroot_without_hosts_gets_localhost_and_the_name(tmp_path: Path) -> None:
    assert ensure_hosts(tmp_path, "vm") is True
    names = {line.split()[1] for line in (tmp_path / "etc/hosts").read_text().splitlines()}
    assert names == {"localhost", "vm"}
