"use strict";
// Polls /api/wallboard every second (the board is live within 2 s) and redraws.
(() => {
  const { api, pct, secs, time, stamp, esc } = HotlineConsole;
  const $ = (id) => document.getElementById(id);
  const params = new URLSearchParams(location.search);
  const compact = () => params.get("layout") === "compact" ||
    (params.get("layout") !== "big" && window.innerWidth < 1280);
  const STATE_NAMES = { idle: "空闲", talking: "通话", ringing: "振铃", wrapup: "话后", paused: "小休", logged_out: "未登录" };
  const DECISIONS = { AddMember: "扩充坐席", RemoveMember: "释放坐席", SetPenalty: "优先级调整",
                      OfferCallback: "提供回拨", PlaceCallback: "发起回拨", DropCallback: "回拨过期" };
  const rateClass = (r, target) => (r === null || r === undefined) ? "" : r >= target ? "good" : r >= target - 0.05 ? "warn" : "bad";

  function kpis(s) {
    const t = s.totals || {}, target = s.target ?? 0.95;
    $("target").textContent = pct(target);
    const rate = $("answer-rate");
    rate.textContent = t.offered ? pct(t.answer_rate) : "–";
    rate.className = "value " + (t.offered ? rateClass(t.answer_rate, target) : "");
    $("answer-sub").textContent = t.offered ? `${t.answered} / ${t.offered} 通` : "今日尚无排队来电";
    $("service-level").textContent = t.offered ? pct(t.service_level) : "–";
    $("avg-wait").textContent = secs(t.average_wait_s);
    $("waiting").textContent = t.waiting ?? 0;
    const longest = Math.max(0, ...(s.queues || []).map((q) => q.longest_wait_s));
    $("longest").textContent = secs(longest);
    $("offered").textContent = t.offered ?? 0;
    $("answered").textContent = t.answered ?? 0;
    $("abandoned").textContent = t.abandoned ?? 0;
    $("short").textContent = t.short_abandoned ?? 0;
    const cb = s.callbacks || {};
    $("callbacks").textContent = `${cb.pending ?? 0} / ${cb.placed ?? 0} / ${cb.reached ?? 0}`;
    $("cb-expired").textContent = cb.expired ?? 0;
    const tk = s.tickets || {};
    $("overdue").textContent = `${tk.overdue ?? "–"} / ${tk.supervised_open ?? "–"}`;
    $("overdue").className = "value " + (tk.overdue ? "bad" : "good");
    $("open-tickets").textContent = tk.open ?? "–";
  }

  function queues(s) {
    const target = s.target ?? 0.95;
    // Busiest first: callers waiting, then calls today; the panel shows what fits.
    const rows = (s.queues || []).filter((q) => q.members || q.waiting || q.offered || q.short_abandoned)
      .sort((a, b) => (b.waiting - a.waiting) || (b.offered - a.offered) || a.name.localeCompare(b.name));
    $("queues").innerHTML = rows
      .map((q) => `<tr data-queue="${esc(q.name)}"><td>${esc(q.name)}</td>
        <td class="n ${q.waiting ? "warn" : ""}" data-field="waiting">${q.waiting}</td>
        <td class="n" data-field="longest">${secs(q.longest_wait_s)}</td>
        <td class="n">${q.members}/${q.free}</td>
        <td class="n ${q.offered ? rateClass(q.answer_rate, target) : ""}">${q.offered ? pct(q.answer_rate) : "–"}</td>
        <td class="n" data-field="abandoned">${q.abandoned}</td></tr>`).join("") ||
      `<tr><td colspan="6">无坐席登录的队列</td></tr>`;
  }

  function bars(s) {
    const target = s.target ?? 0.95, today = s.hourly?.today || [], yday = s.hourly?.yesterday || [];
    const lo = 0.5;  // bars start at 50%: the interesting band is near the target
    const h = (r) => r === null || r === undefined ? 0 : Math.max(2, 100 * (r - lo) / (1 - lo));
    $("bars").innerHTML = `<div class="target" style="bottom:${100 * (target - lo) / (1 - lo)}%"></div>` +
      today.map((b, i) => `<div class="bar" title="${i}时"><i class="y" style="height:${h(yday[i]?.answer_rate)}%"></i>` +
        `<i class="${b.answer_rate !== null && b.answer_rate < target ? "low" : ""}" style="height:${h(b.answer_rate)}%"></i></div>`).join("");
    $("hours").innerHTML = today.map((b) => `<span>${b.hour % 3 === 0 ? b.hour : ""}</span>`).join("");
    const staff = s.staffing || [];
    const top = Math.max(1, ...staff.map((x) => Math.max(x.need || 0, x.logged_in || 0)));
    $("staff-peak").textContent = `峰值需求 ${Math.max(0, ...staff.map((x) => x.need || 0))} 人`;
    $("staff").innerHTML = staff.map((x) => `<div title="${x.start} 需求 ${x.need ?? "–"} 在线 ${x.logged_in ?? "–"}">` +
      `<span class="need" style="height:${100 * (x.need || 0) / top}%"></span>` +
      `<span class="have" style="height:${100 * (x.logged_in || 0) / top}%"></span></div>`).join("");
  }

  // An agent serving many queues (overflow) shows the first two and a count.
  const queueList = (qs) => qs.length > 2 ? `${qs.slice(0, 2).join(" ")} 等${qs.length}个` : qs.join(" ");

  function agents(s) {
    const counts = s.agents || {};
    $("states").innerHTML = ["idle", "talking", "ringing", "wrapup", "paused", "logged_out"].map((k) =>
      `<div class="state" data-state="${k}"><b>${counts[k] ?? 0}</b><span>${STATE_NAMES[k]}</span></div>`).join("");
    const online = (s.agent_list || []).filter((a) => a.state !== "logged_out");
    $("agents").innerHTML = online.map((a) => `<tr data-agent="${esc(a.id)}"><td>${esc(a.id)}</td>
      <td>${STATE_NAMES[a.state] || esc(a.state)}</td><td>${esc(queueList(a.queues))}</td></tr>`).join("") ||
      `<tr><td colspan="3">暂无坐席登录</td></tr>`;
  }

  function control(s) {
    const c = s.control || { counts: {}, recent: [] };
    $("control-counts").innerHTML = Object.entries(DECISIONS).slice(0, 4).map(([k, name]) =>
      `<div>${name}<b>${c.counts[k] ?? 0}</b></div>`).join("");
    $("control-log").innerHTML = c.recent.slice(0, 5).map((d) =>
      `<div><span class="t">${time(d.at)}</span>${DECISIONS[d.decision] || esc(d.decision)} ${esc(d.queue)}：${esc(d.reason)}</div>`).join("") ||
      `<div class="t">尚无调度动作</div>`;
  }

  function ivr(s) {
    const v = s.ivr || {};
    $("ivr").innerHTML = [["来电", v.calls], ["转人工排队", v.queued], ["自助办结", v.selfservice],
      ["紧急转接", v.emergencies], ["IVR中挂机", v.abandoned], ["留言", v.voicemail]]
      .map(([k, n]) => `<div>${k}<b>${n ?? 0}</b></div>`).join("");
    const t = s.tickets || {}, st = t.by_status || {};
    $("tickets").innerHTML = [["超期", t.overdue], ["督办中", t.supervised_open], ["已派单", st.dispatched],
      ["办理中", st.handling], ["已受理", st.accepted], ["已办结", st.closed]]
      .map(([k, n]) => `<div>${k}<b>${n ?? "–"}</b></div>`).join("");
  }

  let last = 0;
  async function refresh() {
    try {
      const r = await api("/api/wallboard");
      if (!r.ok) {
        $("status").textContent = r.status === 401 || r.status === 403 ? "请以班长或管理员身份登录" : `错误 ${r.status}`;
        $("status").className = "stale";
        return;
      }
      const s = r.data;
      kpis(s); queues(s); bars(s); agents(s); control(s); ivr(s);
      last = s.at;
      $("status").textContent = "实时";
      $("status").className = "";
      document.body.dataset.updated = String(s.at);
    } catch (e) {
      $("status").textContent = "连接中断";
      $("status").className = "stale";
    }
  }
  function tick() {
    document.body.classList.toggle("compact", compact());
    $("clock").textContent = stamp(Date.now() / 1000);
    if (last && Date.now() / 1000 - last > 5) $("status").className = "stale";
  }
  tick(); refresh();
  setInterval(() => { tick(); refresh(); }, 1000);
})();
