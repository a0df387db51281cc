"""AMI framing (pure: bytes in, messages out; actions out as bytes).

Frames are cut on bytes and decoded whole, so a UTF-8 caller name split across two TCP reads
keeps every character (see agent_queue/ami.py for why panoramisk's parser is not used).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from agent_queue.events import header
from agent_queue.exceptions import AmiProtocolError

BANNER_PREFIX = b"Asterisk Call Manager/"
_FRAME_END = re.compile(rb"\r?\n\r?\n")
_FOLLOWS_END = re.compile(rb"--END COMMAND--\r?\n(\r?\n)?")
MAX_FRAME_BYTES = 1 << 20


@dataclass(frozen=True, slots=True)
class AmiMessage:
    """One AMI frame: headers in wire order (repeats kept, e.g. Output/ChanVariable) + body."""

    headers: tuple[tuple[str, str], ...]
    body: str = ""

    def get(self, key: str, default: str = "") -> str:
        return header(self.headers, key, default)

    def get_all(self, key: str) -> list[str]:
        key = key.lower()
        return [v for k, v in self.headers if k.lower() == key]

    @property
    def is_response(self) -> bool:
        return bool(self.headers) and self.headers[0][0].lower() == "response"

    @property
    def event_name(self) -> str:
        return self.get("event")

    @property
    def action_id(self) -> str:
        return self.get("actionid")

    def lowered(self) -> dict[str, str]:
        """First value of each header, keys lower-cased: what events.parse_event expects."""
        out: dict[str, str] = {}
        for k, v in self.headers:
            out.setdefault(k.lower(), v)
        return out


def parse_frame(frame: bytes) -> AmiMessage | None:
    """Parse one frame (without its blank-line terminator); None for a frame with no header."""
    text = frame.decode("utf-8", errors="replace")
    headers: list[tuple[str, str]] = []
    body: list[str] = []
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        # A header is `Key: value` (value may be empty, "Key:" also seen); anything else, e.g.
        # a legacy `Response: Follows` body line, is body text.
        if sep and key and " " not in key and not body:
            headers.append((key, value[1:] if value.startswith(" ") else value))
        elif line.strip() and line.strip() != "--END COMMAND--":
            body.append(line)
    if not headers:
        return None
    return AmiMessage(headers=tuple(headers), body="\n".join(body))


class AmiFrameParser:
    """Cuts the byte stream into frames. Framing on bytes, decoding per whole frame."""

    def __init__(self, *, max_frame: int = MAX_FRAME_BYTES) -> None:
        self._buf = bytearray()
        self._max = max_frame
        self.banner: str | None = None
        self._offset = 0  # bytes consumed so far, for error messages

    def feed(self, data: bytes) -> list[AmiMessage]:
        self._buf += data
        out: list[AmiMessage] = []
        if self.banner is None:
            if len(self._buf) < len(BANNER_PREFIX) and BANNER_PREFIX.startswith(bytes(self._buf)):
                return out
            if self._buf.startswith(BANNER_PREFIX):
                nl = self._buf.find(b"\n")
                if nl < 0:
                    self._check_size()
                    return out
                self.banner = self._buf[:nl].decode("ascii", "replace").strip()
                self._consume(nl + 1)
            else:
                self.banner = ""  # no banner (mid-stream capture): frames start at once
        while True:
            # Blank lines between frames (Asterisk sometimes sends an extra CRLF).
            while self._buf[:2] == b"\r\n" or self._buf[:1] == b"\n":
                self._consume(2 if self._buf[:2] == b"\r\n" else 1)
            if not self._buf:
                break
            if self._buf.startswith(b"Response: Follows"):
                m = _FOLLOWS_END.search(self._buf)
            else:
                m = _FRAME_END.search(self._buf)
            if m is None:
                self._check_size()
                break
            msg = parse_frame(bytes(self._buf[: m.start()]))
            self._consume(m.end())
            if msg is not None:
                out.append(msg)
        return out

    def pending_bytes(self) -> int:
        """Bytes of an unfinished frame; at end of stream these are lost (and logged)."""
        return len(self._buf)

    def _consume(self, n: int) -> None:
        del self._buf[:n]
        self._offset += n

    def _check_size(self) -> None:
        if len(self._buf) > self._max:
            raise AmiProtocolError(
                f"AMI stream at byte {self._offset}: frame exceeds {self._max} bytes without a terminator"
            )


def format_action(action: Mapping[str, Any], action_id: str) -> bytes:
    """Serialise an action; `Action` first, then ActionID, then the rest; lists repeat the key.

    CR/LF inside a value would let input smuggle extra AMI headers (e.g. a caller ID
    carrying "\\r\\nAction: Originate"), so it is refused with the header's name.
    """
    name = None
    lines: list[str] = []
    for key, value in action.items():
        if key.lower() == "actionid":
            continue
        if key.lower() == "action":
            name = str(value)
            continue
        values = value if isinstance(value, list | tuple) else [value]
        for v in values:
            text = str(v)
            if "\r" in text or "\n" in text or "\r" in key or "\n" in key or ":" in key:
                raise ValueError(f"AMI action {name or '?'}: header {key!r} holds a line break or colon")
            lines.append(f"{key}: {text}")
    if not name:
        raise ValueError("AMI action: no 'Action' key")
    head = [f"Action: {name}", f"ActionID: {action_id}"]
    return ("\r\n".join(head + lines) + "\r\n\r\n").encode("utf-8")

