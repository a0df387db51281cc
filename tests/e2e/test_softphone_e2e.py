"""The desktop's WebRTC softphone against the real PBX: SIP.js in Chromium (fake microphone)
registers over WSS, Asterisk rings it, the test clicks 接听, DTLS-SRTP media flows both ways
(the browser's own RTP statistics), a key pressed on the page reaches Asterisk as DTMF, hold
and hang-up show in AMI."""

from __future__ import annotations

import asyncio
import time

import pytest

from accounts.store import AccountStore
from tests.support.browser import WebServer, sign_in_page

pytestmark = [pytest.mark.pbx, pytest.mark.browser]
SEAT = "agent03"
STATS = """async () => {
  const s = window.hotlinePhone.calls[0].session;
  const stats = await s.sessionDescriptionHandler.peerConnection.getStats();
  let sent = 0, received = 0;
  stats.forEach((r) => { if (r.type === "outbound-rtp") sent += r.packetsSent;
                         if (r.type === "inbound-rtp") received += r.packetsReceived; });
  return [sent, received];
}"""


async def test_softphone_answers_media_dtmf_hold_hangup(engine, ami_watch, settings, chromium, screenshot):  # noqa: ANN001
    accounts = AccountStore(engine.tickets.sessionmaker)
    user = f"phone-{int(time.time())}"
    await accounts.add(user, "phone-pass-1", role="agent", seat=SEAT)
    base = f"http://{settings.engine.web_host}:{settings.engine.web_port}"
    page = await sign_in_page(chromium, WebServer(base, None, accounts, engine.tickets, None), user, "phone-pass-1")
    await page.wait_for_selector("#phone[data-registered='1']", timeout=20_000)
    await ami_watch.wait_for("ContactStatus", timeout=10, EndpointName=f"{SEAT}-web")

    mark = ami_watch.mark()
    await ami_watch.action({"Action": "Originate", "Channel": f"PJSIP/{SEAT}-web", "Application": "Echo",
                            "Async": "true", "Timeout": "20000", "CallerID": "12345"})
    await page.wait_for_selector("#btn-answer:not([disabled])", timeout=15_000)
    await page.keyboard.press("Alt+A")
    up = (await ami_watch.wait_for("Newstate", since=mark, timeout=15, ChannelStateDesc="Up",
                                   where=lambda e: e.get("Channel", "").startswith(f"PJSIP/{SEAT}-web")))[0]
    channel = up["Channel"]
    deadline = time.monotonic() + 15
    sent, received = await page.evaluate(STATS)
    while not (sent > 20 and received > 20) and time.monotonic() < deadline:
        await asyncio.sleep(0.5)
        sent, received = await page.evaluate(STATS)
    # Echo returns what the fake microphone sends: RTP (SRTP) both ways, by the browser's own count.
    assert sent > 20 and received > 20, (sent, received)
    await screenshot(page, "softphone-in-call")

    await page.fill("#dtmf", "")
    await page.focus("#dtmf")
    await page.keyboard.press("5")
    dtmf = await ami_watch.wait_for("DTMFEnd", since=mark, timeout=10, Channel=channel)
    assert dtmf[0]["Digit"] == "5"

    await page.click("#btn-hold")
    await ami_watch.wait_for("Hold", since=mark, timeout=10, Channel=channel)
    await page.click("#btn-hold")
    await ami_watch.wait_for("Unhold", since=mark, timeout=10, Channel=channel)

    await page.keyboard.press("Alt+H")
    await ami_watch.wait_for("Hangup", since=mark, timeout=10, Channel=channel)
    await page.wait_for_selector("#btn-hangup[disabled]", timeout=10_000)
    await page.context.close()
