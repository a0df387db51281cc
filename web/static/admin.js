"use strict";
(() => {
  const { api, stamp, esc } = HotlineConsole;
  const $ = (id) => document.getElementById(id);
  const MODES = { main: "主号", merged: "整体并入", parallel: "双号并行", subcenter: "设分中心" };
  const candidate = () => ({ path: $("candidate-path").value.trim() });

  async function load() {
    const r = await api("/api/admin/dialplan");
    if (!r.ok) { $("status").textContent = r.status === 401 || r.status === 403 ? "请以管理员身份登录" : `错误 ${r.status}`; return; }
    const d = r.data;
    $("version").textContent = d.version;
    $("loaded-at").textContent = stamp(d.loaded_at);
    $("loaded-by").textContent = d.loaded_by;
    $("path").textContent = d.path;
    $("config-dir").textContent = d.asterisk ? `${d.asterisk.config_dir}（${d.asterisk.origin === "settings" ? "生产配置" : "开发PBX"}）` : "–";
    $("numbers").textContent = d.numbers;
    $("line-count").textContent = `${d.numbers} 个号码，${d.lines.length} 条线路`;
    $("lines").innerHTML = d.lines.map((l) => `<tr data-number="${esc(l.number)}"><td>${esc(l.number)}</td><td>${esc(l.name)}</td>
      <td>${MODES[l.mode] || esc(l.mode)}</td><td>${esc(l.department)}</td><td data-field="queue">${esc(l.queue)}</td><td>${esc(l.hours)}</td></tr>`).join("");
    $("history").innerHTML = d.history.map((h) => `<tr><td>${stamp(h.at)}</td><td>${esc(h.actor)}</td><td>${h.version}</td>
      <td class="${h.ok ? "ok" : "bad"}">${h.ok ? "已加载" : "已拒绝（" + h.errors.length + " 个错误）"}</td></tr>`).join("") ||
      `<tr><td colspan="4">启动以来未重新加载</td></tr>`;
    const u = await api("/api/admin/users");
    const ROLES = { agent: "话务员", department: "承办单位", supervisor: "班长", admin: "管理员" };
    $("users").innerHTML = u.ok ? u.data.items.map((x) => `<tr data-kind="${x.kind}"><td>${esc(x.name)}</td>
      <td>${esc(ROLES[x.role] || x.role)}</td><td>${esc(x.department || x.seat || "")}</td>
      <td>${x.kind === "account" ? (x.disabled ? "已停用" : "登录账号") : "API令牌 " + esc(x.created_at.slice(0, 10))}</td></tr>`).join("") : "";
  }

  function errors(list) {
    return list.map((e) => `<div class="err">${esc(typeof e === "string" ? e : e.text)}</div>`).join("");
  }
  async function run(kind) {
    $("result").innerHTML = "…";
    const r = await api(`/api/admin/dialplan/${kind}`, { method: "POST", body: candidate() });
    const d = r.data;
    if (r.status === 422 && d.error) { $("result").innerHTML = `<div class="bad">${esc(d.message)}</div>`; return; }
    if (kind === "check") {
      $("result").innerHTML = d.ok
        ? `<div class="ok">检查通过：${d.summary.lines} 条线路，${d.summary.numbers} 个号码，${d.summary.menus} 个菜单，${d.summary.queues} 个队列</div>`
        : `<div class="bad">${d.errors.length} 个错误</div>` + errors(d.errors);
    } else if (kind === "diff") {
      $("result").innerHTML = !d.ok ? `<div class="bad">候选计划无效</div>` + errors(d.errors)
        : d.changes.length ? `<div>对来电者的影响（${d.changes.length} 处）：</div><pre>${esc(d.changes.join("\n"))}</pre>`
        : `<div class="ok">路由无变化</div>`;
    } else {
      $("result").innerHTML = d.ok ? `<div class="ok">已加载，版本 ${d.version}</div>`
        : `<div class="bad">已拒绝，运行中的计划未改变</div>` + errors(d.record.errors);
      await load();
    }
  }
  $("check").addEventListener("click", () => run("check"));
  $("diff").addEventListener("click", () => run("diff"));
  $("reload").addEventListener("click", () => {
    if (window.confirm("确认重新加载拨号计划？新来电将按新计划路由。")) run("reload");
  });
  load();
})();
