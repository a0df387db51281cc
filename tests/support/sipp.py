"""SIPp scenarios written on the fly and run against the real PBX.

Callers (UAC) dial a number, optionally key RFC 2833 digits from the pcaps that Debian's
sip-tester ships, hold, and hang up. A UAS answers calls the PBX places (emergency gateway,
agents, call-backs). Results come from SIPp's own exit code and statistics file.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import os
import shutil
import signal
import socket
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

PCAP_DIR = Path("/usr/share/sip-tester")


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def dtmf_pcap(digit: str) -> Path:
    name = {"*": "star", "#": "pound"}.get(digit, digit)
    return PCAP_DIR / f"dtmf_2833_{name}.pcap"


def dtmf_sequence(digits: str, workdir: Path) -> list[Path]:
    """The shipped RFC 2833 pcaps, renumbered so a sequence of keys reads as new events.

    The pcaps come from one recorded call: '1' carries older sequence numbers and timestamps
    than '9', and a repeated key repeats its timestamp, so Asterisk would drop the second key
    as stale or duplicate. Each key of the sequence gets fresh, increasing RTP seq/timestamp.
    """
    out = []
    for k, digit in enumerate(digits):
        data = bytearray(dtmf_pcap(digit).read_bytes())
        off = 24  # pcap global header; records follow, Ethernet/IPv4/UDP/RTP
        seq = 0
        while off < len(data):
            incl = struct.unpack_from("<I", data, off + 8)[0]
            pkt = off + 16
            ihl = (data[pkt + 14] & 0x0F) * 4
            udp = pkt + 14 + ihl
            struct.pack_into("!H", data, udp + 6, 0)  # no UDP checksum (allowed on IPv4)
            rtp = udp + 8
            old_seq = struct.unpack_from("!H", data, rtp + 2)[0]
            if off == 24:
                first_seq = old_seq
            seq = 1000 + k * 32 + (old_seq - first_seq)
            struct.pack_into("!HI", data, rtp + 2, seq, 16000 * (k + 1))
            off = pkt + incl
        path = workdir / f"dtmf-{k:02d}-{ {'*': 'star', '#': 'pound'}.get(digit, digit)}.pcap"
        path.write_bytes(bytes(data))
        out.append(path)
    return out


_SDP = """v=0
o=user1 53655765 2353687637 IN IP[local_ip_type] [local_ip]
s=-
c=IN IP[media_ip_type] [media_ip]
t=0 0
m=audio [media_port] RTP/AVP 0 101
a=rtpmap:0 PCMU/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-15
"""


def uac_scenario(*, steps: list[tuple[str, object]], workdir: Path, hangup: bool = True) -> str:
    """steps: ("pause", ms) | ("dtmf", "12#") | ("audio", "/path/file.pcap")."""
    body = []
    keys = "".join(str(v) for k, v in steps if k == "dtmf")
    pcaps = iter(dtmf_sequence(keys, workdir))
    for kind, value in steps:
        if kind == "pause":
            body.append(f'  <pause milliseconds="{int(value)}"/>')
        elif kind == "dtmf":
            for _digit in str(value):
                body.append(f'  <nop><action><exec play_pcap_audio="{next(pcaps)}"/></action></nop>')
                body.append('  <pause milliseconds="400"/>')
        elif kind == "audio":
            body.append(f'  <nop><action><exec play_pcap_audio="{value}"/></action></nop>')
        else:
            raise ValueError(kind)
    bye = """  <send retrans="500">
    <![CDATA[
BYE [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
[last_From:]
[last_To:]
[last_Call-ID:]
CSeq: 2 BYE
Contact: <sip:sipp@[local_ip]:[local_port]>
Max-Forwards: 70
Content-Length: 0

    ]]>
  </send>
  <recv response="200" crlf="true"/>
""" if hangup else """  <recv request="BYE"/>
  <send>
    <![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0

    ]]>
  </send>
"""
    return f"""<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="hotline caller">
  <send retrans="500">
    <![CDATA[
INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: "caller" <sip:[field0]@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>
Call-ID: [call_id]
CSeq: 1 INVITE
Contact: <sip:[field0]@[local_ip]:[local_port]>
Max-Forwards: 70
Content-Type: application/sdp
Content-Length: [len]

{_SDP}
    ]]>
  </send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="183" optional="true"/>
  <recv response="200" rtd="true" rrs="true"/>
  <send>
    <![CDATA[
ACK [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: "caller" <sip:[field0]@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
[last_To:]
Call-ID: [call_id]
CSeq: 1 ACK
Contact: <sip:[field0]@[local_ip]:[local_port]>
Max-Forwards: 70
Content-Length: 0

    ]]>
  </send>
{chr(10).join(body)}
{bye}
</scenario>
"""


def uas_scenario(*, answer_after_ms: int = 0, hold_ms: int = 2000, plays: Sequence[tuple[int, Path]] = ()) -> str:
    """Answer an incoming INVITE, hold, hang up (or accept the far end's BYE).

    plays: (wait_ms, pcap) pairs played in turn after the ACK, each after waiting wait_ms for
    the far end's BYE (so a BYE that arrives between two keys ends the call cleanly).
    Our own BYE swaps From/To and goes to the INVITE's Contact, as a UAS must (RFC 3261 12.2).
    """
    played = []
    for k, (wait_ms, pcap) in enumerate(plays):
        played.append(f'  <recv request="BYE" timeout="{int(wait_ms)}" ontimeout="play{k}" next="bye"/>')
        played.append(f'  <label id="play{k}"/>')
        played.append(f'  <nop><action><exec play_pcap_audio="{pcap}"/></action></nop>')
    return f"""<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="hotline answerer">
  <recv request="INVITE" crlf="true">
    <action>
      <ereg regexp="[^ ].*" search_in="hdr" header="From:" check_it="true" assign_to="peer"/>
      <ereg regexp="[^ ].*" search_in="hdr" header="To:" check_it="true" assign_to="me"/>
      <ereg regexp="sip:[^>;]*" search_in="hdr" header="Contact:" check_it="true" assign_to="peer_uri"/>
    </action>
  </recv>
  <send>
    <![CDATA[
SIP/2.0 180 Ringing
[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag01[call_number]
[last_Call-ID:]
[last_CSeq:]
Contact: <sip:[local_ip]:[local_port];transport=[transport]>
Content-Length: 0

    ]]>
  </send>
  <pause milliseconds="{answer_after_ms}"/>
  <send retrans="500">
    <![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag01[call_number]
[last_Call-ID:]
[last_CSeq:]
Contact: <sip:[local_ip]:[local_port];transport=[transport]>
Content-Type: application/sdp
Content-Length: [len]

{_SDP}
    ]]>
  </send>
  <recv request="ACK" crlf="true"/>
{chr(10).join(played)}
  <recv request="BYE" timeout="{hold_ms}" ontimeout="hangup"/>
  <label id="bye"/>
  <send next="end">
    <![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0

    ]]>
  </send>
  <label id="hangup"/>
  <send retrans="500">
    <![CDATA[
BYE [$peer_uri] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: [$me];tag=[pid]SIPpTag01[call_number]
To: [$peer]
Call-ID: [call_id]
CSeq: 101 BYE
Max-Forwards: 70
Content-Length: 0

    ]]>
  </send>
  <recv response="200"/>
  <label id="end"/>
</scenario>
"""


def ring_only_scenario() -> str:
    """Ring and never answer: the caller gives up (CANCEL), we end the INVITE with 487."""
    return """<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="hotline unanswered">
  <recv request="INVITE" crlf="true"/>
  <send>
    <![CDATA[
SIP/2.0 180 Ringing
[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag01[call_number]
[last_Call-ID:]
[last_CSeq:]
Contact: <sip:[local_ip]:[local_port];transport=[transport]>
Content-Length: 0

    ]]>
  </send>
  <recv request="CANCEL"/>
  <send>
    <![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag01[call_number]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0

    ]]>
  </send>
  <send>
    <![CDATA[
SIP/2.0 487 Request Terminated
[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag01[call_number]
[last_Call-ID:]
CSeq: [last_cseq_number] INVITE
Content-Length: 0

    ]]>
  </send>
  <recv request="ACK"/>
</scenario>
"""


def register_scenario(*, user: str, expires: int = 3600) -> str:
    """REGISTER as `user` from SIPp's own address, answering the digest challenge (-au/-ap).

    The registrar stores this socket's address as the contact, so a UAS started afterwards on
    the same port receives the calls for the endpoint.
    """
    def request(cseq: int, auth: str) -> str:
        return f"""  <send retrans="500">
    <![CDATA[
REGISTER sip:[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:{user}@[remote_ip]:[remote_port]>;tag=[pid]SIPpTag00[call_number]
To: <sip:{user}@[remote_ip]:[remote_port]>
Call-ID: [call_id]
CSeq: {cseq} REGISTER
Contact: <sip:{user}@[local_ip]:[local_port]>
Expires: {int(expires)}
Max-Forwards: 70
{auth}Content-Length: 0

    ]]>
  </send>"""

    return f"""<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="hotline agent register">
{request(1, "")}
  <recv response="401" auth="true"/>
{request(2, "[authentication]" + chr(10))}
  <recv response="200"/>
</scenario>
"""


@dataclass
class SippResult:
    returncode: int
    successful: int
    failed: int
    stdout: str
    stderr: str


class Sipp:
    def __init__(self, workdir: Path, *, pbx_host: str = "127.0.0.1", pbx_port: int = 5060) -> None:
        self.workdir = workdir
        self.pbx = f"{pbx_host}:{pbx_port}"
        self.binary = shutil.which("sipp") or "sipp"
        self._n = 0

    def _write(self, xml: str, name: str) -> Path:
        self._n += 1
        path = self.workdir / f"{self._n:03d}-{name}.xml"
        path.write_text(xml)
        return path

    async def call(self, number: str, *, steps: list[tuple[str, object]] | None = None, calls: int = 1,
                   rate: float = 10, limit: int | None = None, caller: str = "13800138000",
                   timeout_s: int = 120, name: str = "uac", hangup: bool = True) -> SippResult:
        """hangup=False: the PBX ends the call; the caller waits for its BYE after the steps."""
        self._n += 1
        pcap_dir = self.workdir / f"{self._n:03d}-pcaps"
        pcap_dir.mkdir(parents=True, exist_ok=True)
        scenario = self._write(uac_scenario(steps=steps or [("pause", 1000)], workdir=pcap_dir, hangup=hangup),
                               name)
        inf = self.workdir / f"{self._n:03d}-callers.csv"
        inf.write_text("SEQUENTIAL\n" + "".join(f"{caller}\n" for _ in range(max(1, calls))))
        args = [
            self.pbx, "-sf", str(scenario), "-s", number, "-m", str(calls), "-r", str(rate),
            "-l", str(limit or calls), "-i", "127.0.0.1", "-p", str(free_udp_port()),
            "-mi", "127.0.0.1", "-mp", str(_even_port()), "-inf", str(inf),
            "-timeout", f"{timeout_s}s", "-timeout_error", "-trace_stat", "-stf",
            str(scenario.with_suffix(".csv")), "-trace_err", "-nostdin",
        ]
        return await self._run(args, scenario)

    async def uas(self, port: int, *, calls: int, answer_after_ms: int = 0, hold_ms: int = 2000,
                  keys: str = "", key_gap_ms: int = 3000, ring_only: bool = False, timeout_s: int = 120,
                  name: str = "uas") -> UasRun:
        """Start a UAS on `port` that handles `calls` calls, then exits; the run reads its statistics.

        keys: RFC 2833 digits played after answering, one every key_gap_ms (fresh RTP numbering).
        ring_only: ring and never answer (the far end's CANCEL ends each call).
        """
        if ring_only:
            xml = ring_only_scenario()
        else:
            pcaps = dtmf_sequence(keys, self._pcap_dir()) if keys else []
            xml = uas_scenario(answer_after_ms=answer_after_ms, hold_ms=hold_ms,
                               plays=[(key_gap_ms, pcap) for pcap in pcaps])
        scenario = self._write(xml, name)
        args = [
            "-sf", str(scenario), "-i", "127.0.0.1", "-p", str(port), "-m", str(calls),
            "-mi", "127.0.0.1", "-mp", str(_even_port()), "-timeout", f"{timeout_s}s", "-nostdin",
            "-trace_stat", "-stf", str(scenario.with_suffix(".csv")), "-trace_err",
        ]
        # SIPp repaints its screen every second: to a file, never to a pipe nobody drains.
        with scenario.with_suffix(".out").open("wb") as out:
            proc = await asyncio.create_subprocess_exec(
                self.binary, *args, cwd=self.workdir, stdout=out, stderr=asyncio.subprocess.STDOUT,
                env={**os.environ, "TERM": "dumb"},
            )
        return UasRun(proc, scenario)

    async def register(self, port: int, *, user: str, password: str, expires: int = 3600,
                       timeout_s: int = 20) -> SippResult:
        """REGISTER `user` (digest auth) with the contact 127.0.0.1:`port`; expires=0 removes it."""
        scenario = self._write(register_scenario(user=user, expires=expires), f"register-{user}")
        args = [
            self.pbx, "-sf", str(scenario), "-s", user, "-m", "1", "-i", "127.0.0.1", "-p", str(port),
            "-au", user, "-ap", password, "-timeout", f"{timeout_s}s", "-timeout_error", "-trace_stat",
            "-stf", str(scenario.with_suffix(".csv")), "-trace_err", "-nostdin",
        ]
        return await self._run(args, scenario)

    def _pcap_dir(self) -> Path:
        self._n += 1
        path = self.workdir / f"{self._n:03d}-pcaps"
        path.mkdir()
        return path

    async def _run(self, args: list[str], scenario: Path) -> SippResult:
        proc = await asyncio.create_subprocess_exec(
            self.binary, *args, cwd=self.workdir, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, env={**os.environ, "TERM": "dumb"},
        )
        out, err = await proc.communicate()
        ok, failed = read_stats(scenario.with_suffix(".csv"))
        return SippResult(proc.returncode or 0, ok, failed, out.decode(errors="replace"),
                          err.decode(errors="replace"))


@dataclass
class UasRun:
    """A SIPp UAS running in the background; its results come from SIPp's own statistics file."""

    proc: asyncio.subprocess.Process
    scenario: Path

    async def wait(self, timeout: float) -> SippResult:
        """Until SIPp has handled its `calls` (or its own -timeout ends it)."""
        try:
            await asyncio.wait_for(self.proc.wait(), timeout)
        except TimeoutError:
            raise AssertionError(f"SIPp UAS {self.scenario.name} still running after {timeout}s: "
                                 f"{self.output()[-1500:]}") from None
        return self.result()

    async def stop(self, timeout: float = 20) -> SippResult:
        """Stop taking calls and exit once the calls under way end (SIGUSR1); statistics are kept."""
        if self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(signal.SIGUSR1)
            try:
                await asyncio.wait_for(self.proc.wait(), timeout)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        return self.result()

    def result(self) -> SippResult:
        ok, failed = read_stats(self.scenario.with_suffix(".csv"))
        return SippResult(self.proc.returncode or 0, ok, failed, self.output(), "")

    def output(self) -> str:
        path = self.scenario.with_suffix(".out")
        text = path.read_text(errors="replace") if path.exists() else ""
        errors = sorted(self.scenario.parent.glob(f"{self.scenario.stem}_*_errors.log"))
        return text + "".join(e.read_text(errors="replace") for e in errors)


def read_stats(path: Path) -> tuple[int, int]:
    """Successful and failed call counts from SIPp's -trace_stat file (last row, cumulative)."""
    if not path.exists():
        return 0, 0
    with path.open() as fh:
        rows = list(csv.reader(fh, delimiter=";"))
    if len(rows) < 2:
        return 0, 0
    head, last = rows[0], rows[-1]
    return int(last[head.index("SuccessfulCall(C)")]), int(last[head.index("FailedCall(C)")])


def _even_port() -> int:
    while True:
        port = free_udp_port()
        if port % 2 == 0 and port < 60000:
            return port
