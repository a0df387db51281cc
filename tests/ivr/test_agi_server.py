"""The FastAGI server against a fake Asterisk on a free port: routing, hangups, bad input, shedding."""

import asyncio

from ivr.agi import AgiChannel, FastAgiServer

HEADERS = (
    "agi_network: yes\nagi_network_script: {script}\nagi_channel: PJSIP/trunk-0001\n"
    "agi_uniqueid: 1700000000.{n}\nagi_callerid: 13812345678\nagi_arg_1: 12345\n\n"
)


async def _fake_asterisk(port: int, script: str, replies: list[str], n: int = 1) -> list[str]:
    """Send the AGI environment, answer each command with the next reply; return the commands."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(HEADERS.format(script=script, n=n).encode())
    await writer.drain()
    commands = []
    try:
        for reply in replies:
            line = await reader.readline()
            if not line:
                break
            commands.append(line.decode().strip())
            writer.write(reply.encode() + b"\n")
            await writer.drain()
        # the server closes the socket when the handler is done
        rest = await reader.read()
    except ConnectionResetError:  # a shed session is closed before its headers are read
        rest = b""
    commands.extend(x for x in rest.decode().splitlines() if x)
    writer.close()
    return commands


async def test_handler_sets_variables_and_reads_digits():
    seen = {}

    async def handler(agi: AgiChannel) -> None:
        await agi.answer()
        digits, timed_out = await agi.get_data("/sounds/menu", 3000, 2)
        seen["digits"], seen["timeout"] = digits, timed_out
        await agi.set_variable("IVR_ROUTE", 'main:1 "quoted"')

    server = FastAgiServer({"call": handler})
    await server.start("127.0.0.1", 0)
    try:
        cmds = await _fake_asterisk(server.port, "call", ["200 result=0", "200 result=01 (timeout)", "200 result=1"])
    finally:
        await server.close()
    assert cmds == ["ANSWER", "GET DATA /sounds/menu 3000 2", 'SET VARIABLE IVR_ROUTE "main:1 \\"quoted\\""']
    assert seen == {"digits": "01", "timeout": True}
    assert server.served == 1 and server.failed == 0


async def test_hangup_line_ends_the_flow_cleanly():
    reached = []

    async def handler(agi: AgiChannel) -> None:
        await agi.answer()
        await agi.stream_file("/sounds/greeting")
        reached.append("after-hangup")  # must not be reached

    server = FastAgiServer({"call": handler})
    await server.start("127.0.0.1", 0)
    try:
        # Asterisk sends HANGUP, then answers the pending command with -1 on a dead channel
        await _fake_asterisk(server.port, "call", ["200 result=0", "HANGUP\n511 Command Not Permitted"])
    finally:
        await server.close()
    assert reached == []
    assert server.served == 1 and server.failed == 0


async def test_unknown_script_and_garbage_are_rejected_without_killing_the_server():
    async def handler(agi: AgiChannel) -> None:
        await agi.answer()

    server = FastAgiServer({"call": handler})
    await server.start("127.0.0.1", 0)
    try:
        assert await _fake_asterisk(server.port, "nope", []) == []
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(b"this is not agi\n\n")
        await writer.drain()
        assert await reader.read() == b""
        writer.close()
        # still serving afterwards
        assert await _fake_asterisk(server.port, "call", ["200 result=0"]) == ["ANSWER"]
    finally:
        await server.close()
    assert server.failed == 2 and server.served == 1


async def test_over_the_limit_sessions_are_shed_at_once():
    release = asyncio.Event()
    busy = asyncio.Event()

    async def handler(agi: AgiChannel) -> None:
        await agi.answer()
        busy.set()
        await release.wait()

    server = FastAgiServer({"call": handler}, max_calls=1)
    await server.start("127.0.0.1", 0)
    try:
        first = asyncio.create_task(_fake_asterisk(server.port, "call", ["200 result=0"], n=1))
        await busy.wait()
        shed = await _fake_asterisk(server.port, "call", ["200 result=0"], n=2)
        release.set()
        assert await first == ["ANSWER"]
    finally:
        await server.close()
    assert shed == []  # closed without a command: Asterisk's AGISTATUS is FAILURE -> fallback queue
    assert server.shed == 1


async def test_slow_header_flood_does_not_take_live_call_slots():
    """Peers dribbling one valid header line at a time are pending connections with a total deadline
    and a bound of their own; a real call (whole block at once) is still served, not shed."""
    served = []

    async def handler(agi: AgiChannel) -> None:
        await agi.answer()
        served.append(agi.request.uniqueid)

    server = FastAgiServer({"call": handler}, max_calls=5, max_pending=20, header_deadline=0.5)
    await server.start("127.0.0.1", 0)
    slow = []
    try:
        for _ in range(40):  # twice the pending bound, eight times the live-call bound
            _r, w = await asyncio.open_connection("127.0.0.1", server.port)
            w.write(b"agi_network: yes\n")
            await w.drain()
            slow.append(w)
        await asyncio.sleep(0.05)
        assert server.pending <= 20 and server.active == 0
        assert await _fake_asterisk(server.port, "call", ["200 result=0"], n=7) == ["ANSWER"]
        assert served == ["1700000000.7"] and server.shed == 0
        # the deadline ends the rest even though each keeps its socket open
        await asyncio.sleep(0.8)
        assert server.pending == 0
        assert server.dropped >= 20
    finally:
        for w in slow:
            w.close()
        await server.close()


async def test_odd_result_codes_end_the_session_without_a_traceback(caplog):
    async def handler(agi: AgiChannel) -> None:
        await agi.answer()
        await agi.stream_file("/sounds/greeting", "123")

    caplog.set_level("INFO")
    for replies in (["200 result=0", "200 result=1114112"], ["200 result=0", "200 result=99999999999999999999"],
                    ["200 result=0", "200 result=7"], ["510 Invalid or unknown command"],
                    ["200 result=-99999999999"]):
        server = FastAgiServer({"call": handler})
        await server.start("127.0.0.1", 0)
        try:
            await _fake_asterisk(server.port, "call", replies)
        finally:
            await server.close()
        assert server.failed == 1, replies
    assert not [r for r in caplog.records if r.exc_info], "no traceback for a peer's odd answer"


async def test_the_probes_flood_of_1000_slow_peers_leaves_a_real_call_served():
    """The probe's case at its size: 1000 peers that each sent one valid header line, the default
    max_calls=1000; a real call is answered, not shed (before: shed, active=1000)."""
    served = []

    async def handler(agi: AgiChannel) -> None:
        await agi.answer()
        served.append(1)

    server = FastAgiServer({"call": handler}, header_deadline=2.0)
    await server.start("127.0.0.1", 0)
    slow = []
    try:
        for _ in range(1000):
            _r, w = await asyncio.open_connection("127.0.0.1", server.port)
            w.write(b"agi_network: yes\n")
            slow.append(w)
        await asyncio.sleep(0.1)
        assert await _fake_asterisk(server.port, "call", ["200 result=0"], n=3) == ["ANSWER"]
        assert served == [1] and server.shed == 0 and server.active == 0
    finally:
        for w in slow:
            w.close()
        await server.close()
