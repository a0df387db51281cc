"""Audio for SIPp callers: PCM turned into a pcap of G.711 RTP that SIPp replays."""

from __future__ import annotations

import struct
import subprocess


def rtp_pcap(pcm: bytes) -> bytes:
    """8 kHz s16le PCM -> a pcap of G.711 u-law RTP (PT 0, 20 ms packets), what SIPp replays."""
    ulaw = subprocess.run(
        ["sox", "-t", "raw", "-r", "8000", "-e", "signed-integer", "-b", "16", "-c", "1", "-",
         "-t", "raw", "-e", "u-law", "-b", "8", "-"],
        input=pcm, capture_output=True, check=True,
    ).stdout
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]  # Ethernet link type
    for seq, i in enumerate(range(0, len(ulaw) - 159, 160)):
        rtp = struct.pack(">BBHII", 0x80, 0, seq & 0xFFFF, seq * 160, 0x12345678) + ulaw[i : i + 160]
        udp = struct.pack(">HHHH", 6000, 6002, 8 + len(rtp), 0) + rtp
        ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), seq & 0xFFFF, 0, 64, 17, 0,
                         bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2])) + udp
        frame = b"\x00\x11\x22\x33\x44\x55" + b"\x66\x77\x88\x99\xaa\xbb" + b"\x08\x00" + ip
        usec = seq * 20_000
        out.append(struct.pack("<IIII", usec // 1_000_000, usec % 1_000_000, len(frame), len(frame)) + frame)
    return b"".join(out)


def speech_pcm(text: str, voice: str = "cmn") -> bytes:
    """espeak-ng speech as 8 kHz signed 16-bit mono PCM (what rtp_pcap takes)."""
    wav = subprocess.run(["espeak-ng", "-v", voice, "--stdout", text], capture_output=True, check=True).stdout
    return subprocess.run(
        ["sox", "-t", "wav", "-", "-r", "8000", "-b", "16", "-c", "1", "-e", "signed-integer", "-t", "raw", "-"],
        input=wav, capture_output=True, check=True,
    ).stdout
