// Agent desktop: one SSE stream (state, pop, ticket), state buttons, the call's ticket form,
// knowledge search, keyboard shortcuts. Unsaved form text survives reconnects and reloads
// (kept per ticket in localStorage until the ticket is saved or acted on).
(() => {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const FIELDS = ["t-type", "t-category", "t-title", "t-text", "t-address", "t-department", "t-answer"];
  const STATUS = {accepted: "已受理", abandoned: "已放弃", not_accepted: "不予受理", dispatched: "已派单",
    signed: "已签收", returned: "已退单", handling: "办理中", extension_requested: "延期申请中", replied: "已答复",
    visiting: "回访中", closed: "已办结", archived: "已归档"};
  let acw = null;
  let ticket = null;

  async function post(path, body) {
    const r = await fetch(path, {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf},
      body: JSON.stringify(body || {}),
    });
    let data = {};
    try { data = await r.json(); } catch (e) { /* empty body */ }
    if (!r.ok) throw Object.assign(new Error(data.message || r.statusText), {status: r.status, data});
    return data;
  }

  // ---- agent state
  function showState(s) {
    const el = $("agent-state");
    el.dataset.state = s.state;
    el.textContent = s.label + (s.reason ? "·" + s.reason : "");
    $("agent-queues").textContent = s.queues && s.queues.length ? s.queues.join("、") : "未在队列";
    $("agent-queues").title = $("agent-queues").textContent;
    const inQueue = s.queues && s.queues.length > 0;
    $("btn-login").disabled = inQueue;
    $("btn-logout").disabled = !inQueue;
    acw = s.acw ? {started: s.acw.started, max: s.acw.max_s, offset: Date.now() / 1000 - s.now} : null;
    tick();
  }
  function tick() {
    const t = $("acw-timer");
    if (!acw) { t.hidden = true; return; }
    const used = Math.max(0, Date.now() / 1000 - acw.offset - acw.started);
    t.hidden = false;
    t.textContent = `话后整理 ${fmt(used)} / ${fmt(acw.max)}`;
  }
  setInterval(tick, 1000);
  function fmt(s) { s = Math.round(s); return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`; }

  async function state(action, reason) {
    $("state-msg").textContent = "";
    try { await post("/desktop/state", {action, reason}); }
    catch (e) { $("state-msg").textContent = e.message; }
  }
  $("btn-login").onclick = () => state("login");
  $("btn-logout").onclick = () => state("logout");
  $("btn-ready").onclick = () => state("ready");
  document.querySelectorAll("button.pause").forEach((b) => { b.onclick = () => state("pause", b.dataset.reason); });

  // ---- screen pop
  function showPop(p) {
    $("pop-empty").hidden = true;
    $("pop-body").hidden = false;
    $("pop").classList.toggle("ringing", !p.answered && !p.abandoned);
    $("pop-caller").textContent = p.caller + (p.abandoned ? "（已挂断）" : "");
    const line = p.line || {};
    $("pop-line").textContent = [line.number, line.name].filter(Boolean).join(" ");
    $("pop-mode").textContent = line.mode_name || line.mode || "";
    $("pop-department").textContent = line.department || "";
    $("pop-queue").textContent = p.queue_name || p.queue || "";
    $("pop-waited").textContent = p.waited_s == null ? "" : `排队 ${p.waited_s} 秒` +
      (p.in_ivr_s == null ? "" : `，进线 ${p.in_ivr_s} 秒`);
    const path = (p.ivr && p.ivr.path) || [];
    $("pop-ivr").textContent = path.map((s) => (s.text || s.prompt) + (s.keys ? `[${s.keys}]` : s.said ? "[语音]" : "")).join(" → ")
      + (p.ivr && p.ivr.route ? `（${p.ivr.route}）` : "");
    $("pop-keys").textContent = (p.ivr && p.ivr.keys) || "无";
    $("pop-speech").textContent = (p.speech || []).map((s) =>
      `“${s.said}” → ${s.intent}${s.department ? "·" + s.department : ""}（置信度 ${Math.round((s.confidence || 0) * 100)}%）`
    ).join("；") || "无";
    const rep = p.repeat || [];
    $("pop-repeat").hidden = rep.length === 0;
    $("pop-repeat-list").replaceChildren(...rep.map((t) => {
      const li = document.createElement("li");
      li.className = t.open ? "open" : "";
      li.textContent = `${t.number} ${t.type} ${t.title || t.text.slice(0, 20)}（${t.open ? "未办结" : "已办结"}）`;
      return li;
    }));
    if (p.ticket && (!ticket || ticket.id !== p.ticket.id)) loadTicket(p.ticket, p.suggestion, line);
  }

  // ---- the call's ticket
  function draftKey(id) { return `hotline-desk-draft-${id}`; }
  function loadTicket(t, suggestion, line) {
    ticket = t;
    $("t-id").value = t.id;
    $("t-version").value = t.version;
    $("t-number").textContent = t.number;
    $("t-status").textContent = STATUS[t.status] || t.status;
    $("t-type").value = t.type || "咨询";
    $("t-category").value = t.category || "";
    $("t-title").value = t.title || "";
    $("t-text").value = t.text || "";
    $("t-address").value = "";
    $("t-answer").value = "";
    const dept = t.lead_department || (suggestion && suggestion.department) || t.department_hint || "";
    setDepartment(dept);
    $("act-handoff").hidden = !(line && line.mode === "subcenter");
    const draft = localStorage.getItem(draftKey(t.id));
    if (draft) {
      const d = JSON.parse(draft);
      for (const f of FIELDS) if (d[f] !== undefined) $(f).value = d[f];
    }
  }
  function setDepartment(name) {
    const sel = $("t-department");
    if (name && ![...sel.options].some((o) => o.value === name)) sel.add(new Option(name, name));
    sel.value = name;
  }
  function updateTicket(t) {
    if (!ticket || ticket.id !== t.id) return;
    ticket = t;
    $("t-version").value = t.version;
    $("t-status").textContent = STATUS[t.status] || t.status;
  }
  FIELDS.forEach((f) => $(f).addEventListener("input", () => {
    if (!ticket) return;
    const d = {};
    for (const x of FIELDS) d[x] = $(x).value;
    localStorage.setItem(draftKey(ticket.id), JSON.stringify(d));
  }));

  async function act(action) {
    const msg = $("ticket-msg");
    msg.className = "msg";
    if (!ticket) { msg.textContent = "当前没有工单"; return; }
    const body = {
      version: Number($("t-version").value), type: $("t-type").value, title: $("t-title").value,
      text: $("t-text").value, address: $("t-address").value, category: $("t-category").value,
      department: $("t-department").value, answer: $("t-answer").value,
      co_departments: [...$("t-co").selectedOptions].map((o) => o.value),
    };
    try {
      const r = await post(`/desktop/tickets/${ticket.id}/${action}`, body);
      localStorage.removeItem(draftKey(ticket.id));
      updateTicket(r.ticket);
      const due = r.ticket.due && r.ticket.due.handle ? `，办理时限 ${r.ticket.due.handle.slice(0, 16).replace("T", " ")}` : "";
      msg.className = "msg ok";
      msg.textContent = {save: "已保存", direct: "已直办办结", dispatch: `已派单至 ${r.ticket.lead_department}${due}`,
        handoff: `已转分中心 ${r.ticket.lead_department}`, callback: "已申请回拨"}[action];
    } catch (e) {
      msg.textContent = e.message;
      if (e.data && e.data.ticket) updateTicket(e.data.ticket);
    }
  }
  $("act-save").onclick = () => act("save");
  $("act-direct").onclick = () => act("direct");
  $("act-dispatch").onclick = () => act("dispatch");
  $("act-handoff").onclick = () => act("handoff");
  $("act-callback").onclick = () => act("callback");

  // ---- knowledge search: the published articles of the knowledge base (one source of answers)
  let kbTimer = null;
  $("kb-q").addEventListener("input", () => { clearTimeout(kbTimer); kbTimer = setTimeout(search, 200); });
  async function search() {
    const r = await fetch("/desktop/knowledge?q=" + encodeURIComponent($("kb-q").value), {credentials: "same-origin"});
    const data = await r.json();
    $("kb-results").replaceChildren(...data.items.map((k) => {
      const li = document.createElement("li");
      const b = document.createElement("b");
      b.textContent = k.title;
      const p = document.createElement("span");
      p.textContent = k.text;
      const use = document.createElement("button");
      use.type = "button";
      use.textContent = "用作直办答复";
      use.onclick = () => { $("t-answer").value = k.text; $("t-answer").dispatchEvent(new Event("input")); };
      li.append(b, p, use);
      return li;
    }));
  }
  search();

  // ---- keyboard shortcuts
  document.addEventListener("keydown", (e) => {
    const alt = {"1": "act-direct", "2": "act-dispatch", "3": "act-handoff", "4": "act-callback", "s": "act-save",
      "a": "btn-answer", "h": "btn-hangup"};
    if (e.key === "F2") { e.preventDefault(); state("ready"); }
    else if (e.key === "F3") { e.preventDefault(); state("pause", "休息"); }
    else if (e.key === "F4") { e.preventDefault(); $("btn-login").disabled ? state("logout") : state("login"); }
    else if (e.altKey && e.key.toLowerCase() === "k") { e.preventDefault(); $("kb-q").focus(); }
    else if (e.altKey && alt[e.key.toLowerCase()]) {
      e.preventDefault();
      const b = $(alt[e.key.toLowerCase()]);
      if (!b.disabled && !b.hidden) b.click();
    }
  });

  // ---- live stream; EventSource reconnects by itself and the server resends state and pop
  function connect() {
    const es = new EventSource("/desktop/events");
    es.addEventListener("open", () => { $("live").textContent = "● 实时"; $("live").classList.add("on"); });
    es.addEventListener("error", () => { $("live").textContent = "● 重连中"; $("live").classList.remove("on"); });
    es.addEventListener("state", (e) => showState(JSON.parse(e.data)));
    es.addEventListener("pop", (e) => showPop(JSON.parse(e.data)));
    es.addEventListener("ticket", (e) => updateTicket(JSON.parse(e.data)));
    window.hotlineDesk = {es};
  }
  if ($("seat").textContent !== "未绑定") connect();
})();
