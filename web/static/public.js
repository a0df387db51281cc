// The citizens' page: plain fetch calls to /api/public/*; every message shown is text, never HTML.
"use strict";
const $ = (id) => document.getElementById(id);

async function call(method, path, body) {
  const r = await fetch(path, {method, headers: {"Content-Type": "application/json"},
                               body: body ? JSON.stringify(body) : undefined});
  let data = {};
  try { data = await r.json(); } catch (e) { /* empty body */ }
  return {ok: r.ok, status: r.status, data};
}

function say(el, text, bad) { el.textContent = text; el.classList.toggle("bad", !!bad); }

function reason(res) {
  if (res.status === 429) return "操作太频繁，请稍后再试。";
  const e = (res.data.errors || [])[0];
  const names = {phone: "手机号", code: "验证码", content: "诉求内容", type: "诉求类型"};
  return e ? `${names[e.field] || e.field}：${e.message}` : (res.data.message || "提交失败");
}

$("kb-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const res = await call("GET", "/api/public/kb?q=" + encodeURIComponent($("kb-q").value));
  const list = $("kb-results");
  list.replaceChildren();
  for (const hit of res.data.items || []) {
    const li = document.createElement("li");
    const h = document.createElement("strong"); h.textContent = hit.title;
    const d = document.createElement("span"); d.className = "dept"; d.textContent = "（" + hit.department + "）";
    const p = document.createElement("p"); p.textContent = hit.snippet;
    li.append(h, d, p);
    list.append(li);
  }
  if (!list.children.length) { const li = document.createElement("li"); li.textContent = "没有找到相关问答，可以在下面提交诉求。"; list.append(li); }
});

$("send-code").addEventListener("click", async () => {
  const res = await call("POST", "/api/public/code", {phone: $("phone").value});
  say($("submit-msg"), res.ok ? "验证码已发送，请查看短信。" : reason(res), !res.ok);
});

$("submit-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const res = await call("POST", "/api/public/requests", {
    phone: $("phone").value, code: $("code").value, type: $("type").value,
    content: $("content").value, place: $("place").value, name: $("name").value});
  if (res.ok) {
    say($("submit-msg"), `提交成功，工单编号：${res.data.number}。请用工单编号和手机号后四位查询进度。`);
    $("submit-msg").dataset.number = res.data.number;
  } else {
    say($("submit-msg"), reason(res), true);
  }
});

$("progress-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const q = new URLSearchParams({number: $("p-number").value, last4: $("p-last4").value});
  const res = await call("GET", "/api/public/progress?" + q);
  const box = $("progress-result");
  if (!res.ok) { say(box, res.status === 429 ? "查询太频繁，请稍后再试。" : res.data.message, true); return; }
  say(box, `${res.data.sentence}（受理时间 ${res.data.accepted_at}）` + (res.data.reply ? ` 答复：${res.data.reply}` : ""));
});
