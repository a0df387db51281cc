// Reply with attachments: multipart through fetch so the CSRF token travels as a header and the
// server can stream the files (their size is checked while they arrive).
"use strict";
const form = document.getElementById("reply-form");
form.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const msg = document.getElementById("reply-msg");
  const csrf = document.querySelector("meta[name=csrf-token]").content;
  const r = await fetch(location.pathname + "/reply", {method: "POST", headers: {"X-CSRF-Token": csrf},
                                                       body: new FormData(form)});
  let data = {};
  try { data = await r.json(); } catch (e) { /* not JSON */ }
  if (r.ok) { location.href = data.location; return; }
  msg.textContent = "未能提交：" + (data.message || r.status);
  msg.classList.add("bad");
});
