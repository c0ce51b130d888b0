// funchost dashboard: live regions, actions with confirmation and CSRF token, timeline bars.
// Plain JavaScript, no libraries, no build step.
"use strict";

(function () {
  const REFRESH_MS = 2000;
  const csrf = () => (document.querySelector('meta[name="csrf-token"]') || {}).content || "";

  function layoutBars(root) {
    root.querySelectorAll(".bar[data-left]").forEach((bar) => {
      bar.style.marginLeft = bar.dataset.left + "%";
      bar.style.width = bar.dataset.width + "%";
    });
  }

  function flash(text, ok) {
    const box = document.getElementById("flash");
    if (!box) return;
    box.textContent = text;
    box.className = ok ? "ok" : "error";
    box.hidden = false;
  }

  async function refresh(region) {
    const dot = document.getElementById("live-dot");
    try {
      const resp = await fetch(region.dataset.live, { credentials: "same-origin", cache: "no-store" });
      if (resp.status === 401) { window.location.reload(); return; }  // the session ended: log in again
      if (!resp.ok) throw new Error(String(resp.status));
      const html = await resp.text();
      if (html !== region.dataset.last) {
        region.dataset.last = html;
        const open = new Set([...region.querySelectorAll("details[open]")].map((d, i) => i));
        region.innerHTML = html;
        region.querySelectorAll("details").forEach((d, i) => { if (open.has(i)) d.open = true; });
        layoutBars(region);
      }
      document.body.dataset.refreshed = String(Number(document.body.dataset.refreshed || 0) + 1);
      if (dot) dot.className = "live-dot on";
    } catch (err) {
      if (dot) dot.className = "live-dot off";
    }
  }

  function refreshAll() {
    document.querySelectorAll("[data-live]").forEach(refresh);
  }

  async function submitAction(event) {
    event.preventDefault();
    const form = event.currentTarget;
    if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) return;
    const body = new URLSearchParams(new FormData(form));
    body.set("csrf", csrf());
    const button = form.querySelector("button");
    if (button) button.disabled = true;  // one request per click
    let answer;
    try {
      const resp = await fetch(form.getAttribute("action"), {
        method: "POST",
        body: body,
        credentials: "same-origin",
        headers: { "X-CSRF-Token": csrf() },
      });
      answer = await resp.json();
    } catch (err) {
      flash("The host did not answer: " + err, false);
      return;
    } finally {
      if (button) button.disabled = false;
    }
    flash(answer.message, answer.ok);
    if (!answer.ok) return;
    if (answer.location && answer.location !== location.pathname + location.search) {
      window.location.assign(answer.location);
    } else {
      refreshAll();
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    layoutBars(document);
    document.querySelectorAll("form[data-action]").forEach((f) => f.addEventListener("submit", submitAction));
    document.querySelectorAll("[data-live]").forEach((r) => { r.dataset.last = r.innerHTML; });
    setInterval(() => { if (!document.hidden) refreshAll(); }, REFRESH_MS);
  });
})();
