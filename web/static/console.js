// Shared by the wallboard and the admin console: JSON requests with the sign-in session's
// cookie; requests that change something carry the page's CSRF token (web/session.py).
"use strict";
const HotlineConsole = (() => {
  const csrf = () => document.querySelector('meta[name="csrf-token"]')?.content || "";
  async function api(path, options = {}) {
    const headers = Object.assign({ "Accept": "application/json" }, options.headers || {});
    if ((options.method || "GET") !== "GET") headers["X-CSRF-Token"] = csrf();
    if (options.body !== undefined) headers["Content-Type"] = "application/json";
    const resp = await fetch(path, Object.assign({}, options, {
      headers, credentials: "same-origin",
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
    }));
    const data = await resp.json().catch(() => ({}));
    return { status: resp.status, ok: resp.ok, data };
  }
  const pct = (x) => (x === null || x === undefined ? "–" : (100 * x).toFixed(1) + "%");
  const secs = (s) => {
    if (!s) return "0秒";
    s = Math.round(s);
    return s >= 60 ? `${Math.floor(s / 60)}分${String(s % 60).padStart(2, "0")}秒` : `${s}秒`;
  };
  // The hotline's clock is Beijing time whatever the browser's zone (hourly bars are Beijing hours).
  const TZ = "Asia/Shanghai";
  const time = (epoch) => new Date(epoch * 1000).toLocaleTimeString("zh-CN", { hour12: false, timeZone: TZ });
  const stamp = (epoch) => new Date(epoch * 1000).toLocaleString("zh-CN", { hour12: false, timeZone: TZ });
  const esc = (t) => String(t ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
  return { api, pct, secs, time, stamp, esc };
})();
