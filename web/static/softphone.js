// WebRTC softphone of the agent desktop: SIP.js (npm, served from /static/vendor/sip.js, never a
// CDN) registers the seat's <seat>-web endpoint over WSS; media is DTLS-SRTP. Answer, hang up,
// mute, hold, DTMF (RFC 4733 through the RTCDTMFSender), blind transfer (REFER) and attended
// transfer (consult call, then REFER with Replaces) to a queue number or an expert seat.
import { SessionManager } from "/static/vendor/sip.js/platform/web/index.js";

const $ = (id) => document.getElementById(id);
const status = (text) => { $("phone-status").textContent = text; };
const calls = [];  // [active, consult]
let manager = null;

function buttons() {
  const active = calls[0];
  const ringing = active && active.ringing;
  $("btn-answer").disabled = !ringing;
  $("btn-hangup").disabled = !active;
  for (const id of ["btn-mute", "btn-hold", "btn-transfer", "btn-consult", "dtmf"]) {
    const el = $(id);
    if (el) el.disabled = !active || ringing;
  }
  const c = $("btn-complete");
  if (c) c.disabled = calls.length < 2;
}

async function start() {
  const r = await fetch("/desktop/softphone", {credentials: "same-origin"});
  if (!r.ok) { status("软电话未配置"); return; }
  const cfg = await r.json();
  const server = cfg.ws.replace("{host}", location.hostname);
  manager = new SessionManager(server, {
    aor: cfg.aor,
    userAgentOptions: {authorizationUsername: cfg.username, authorizationPassword: cfg.password,
      displayName: cfg.display_name, logLevel: "warn"},
    media: {constraints: {audio: true, video: false}, remote: {audio: $("remote-audio")}},
    registererOptions: {expires: 300},
    maxSimultaneousSessions: 2,
    delegate: {
      onServerConnect: () => status("已连接"),
      onServerDisconnect: () => status("连接断开，重连中"),
      onRegistered: () => { status("软电话就绪"); $("phone").dataset.registered = "1"; },
      onUnregistered: () => { status("未注册"); $("phone").dataset.registered = ""; },
      onCallReceived: (session) => {
        calls.unshift({session, ringing: true});
        status("来电振铃");
        buttons();
      },
      onCallAnswered: (session) => {
        const c = calls.find((x) => x.session === session);
        if (c) c.ringing = false;
        status("通话中");
        $("phone").dataset.inCall = "1";
        buttons();
      },
      onCallHangup: (session) => {
        const i = calls.findIndex((x) => x.session === session);
        if (i >= 0) calls.splice(i, 1);
        status(calls.length ? "通话中" : "软电话就绪");
        $("phone").dataset.inCall = calls.length ? "1" : "";
        buttons();
      },
      onCallHold: (session, held) => { $("btn-hold").textContent = held ? "取消保持" : "保持"; },
    },
  });
  window.hotlinePhone = {manager, calls};
  await manager.connect();
  await manager.register();
}

$("btn-answer").onclick = () => calls[0] && manager.answer(calls[0].session);
$("btn-hangup").onclick = () => calls[0] && manager.hangup(calls[0].session);
$("btn-mute").onclick = () => {
  const s = calls[0] && calls[0].session;
  if (!s) return;
  manager.isMuted(s) ? manager.unmute(s) : manager.mute(s);
  $("btn-mute").textContent = manager.isMuted(s) ? "取消静音" : "静音";
};
$("btn-hold").onclick = () => {
  const s = calls[0] && calls[0].session;
  if (s) manager.isHeld(s) ? manager.unhold(s) : manager.hold(s);
};
$("dtmf").addEventListener("keydown", (e) => {
  if (/^[0-9*#]$/.test(e.key) && calls[0]) { e.preventDefault(); manager.sendDTMF(calls[0].session, e.key); }
});
function target() {
  const t = $("transfer-to").value.trim();
  return t ? `sip:${t}@${location.hostname}` : null;
}
$("btn-transfer").onclick = () => {  // blind
  const t = target();
  if (t && calls[0]) manager.transfer(calls[0].session, t);
};
$("btn-consult").onclick = async () => {  // attended, step 1: hold the caller, call the target
  const t = target();
  if (!t || !calls[0]) return;
  await manager.hold(calls[0].session);
  const consult = await manager.call(t);
  calls.push({session: consult, ringing: false});
  buttons();
};
$("btn-complete").onclick = () => {  // attended, step 2: join the caller to the consulted party
  if (calls.length >= 2) manager.transfer(calls[0].session, calls[1].session);
};

start().catch((e) => status("软电话错误：" + e.message));
