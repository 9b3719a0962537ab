// inqd web inbox: what every page shares. No framework, no build step; served from the daemon (CSP: 'self').
"use strict";
(function () {
  const csrf = () => document.querySelector('meta[name="csrf-token"]')?.content || "";

  // fetch() with the session's CSRF token; pages call inqd.post(url, form-or-object).
  async function post(url, data) {
    const body = data instanceof FormData ? new URLSearchParams(data) : new URLSearchParams(data || {});
    return fetch(url, {
      method: "POST",
      body,
      credentials: "same-origin",
      headers: { "X-CSRF-Token": csrf(), "Accept": "text/html" },
    });
  }

  // "3시간 12분 남음" / "40분 지남": the words the terminal prints, updated every second.
  function left(ms) {
    const past = ms < 0;
    let minutes = Math.floor(Math.abs(ms) / 60000);
    const days = Math.floor(minutes / 1440);
    minutes -= days * 1440;
    const hours = Math.floor(minutes / 60);
    minutes -= hours * 60;
    let text;
    if (days) text = `${days}일 ${hours}시간`;
    else if (hours) text = `${hours}시간 ${minutes}분`;
    else if (!past && Math.abs(ms) < 60000) text = `${Math.max(0, Math.floor(Math.abs(ms) / 1000))}초`;
    else text = `${minutes}분`;
    return past ? `${text} 지남` : `${text} 남음`;
  }

  // Elements with data-deadline (ISO time) and data-received show the time left and a colour class:
  // ok → soon (under a quarter of the clock left) → urgent (under an hour) → late (passed).
  // The server's clock, not the browser's: a phone whose clock is off still counts down the daemon's deadlines.
  let offset = 0;
  function serverNow() { return Date.now() + offset; }

  function tick() {
    const now = serverNow();
    for (const el of document.querySelectorAll("[data-deadline]")) {
      const due = Date.parse(el.dataset.deadline);
      if (Number.isNaN(due)) continue;
      const ms = due - now;
      const start = Date.parse(el.dataset.received || "");
      const share = Number.isNaN(start) || due <= start ? 1 : ms / (due - start);
      el.textContent = left(ms);
      el.classList.toggle("late", ms < 0);
      el.classList.toggle("urgent", ms >= 0 && ms < 3600000);
      el.classList.toggle("soon", ms >= 3600000 && share < 0.25);
      el.title = ms < 0 ? "마감이 지났습니다" : "";
    }
  }

  function typing(event) {
    const t = event.target;
    return t instanceof HTMLElement && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName));
  }

  let pendingG = false;
  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event)) return;
    const dialog = document.getElementById("shortcuts");
    if (event.key === "?") {
      event.preventDefault();
      if (dialog.open) dialog.close(); else dialog.showModal();
      return;
    }
    if (pendingG) {
      pendingG = false;
      const to = { i: "/", h: "/hours", s: "/status" }[event.key];
      if (to) { event.preventDefault(); location.href = to; }
      return;
    }
    if (event.key === "g") { pendingG = true; setTimeout(() => { pendingG = false; }, 1500); }
  });

  document.addEventListener("DOMContentLoaded", () => {
    const given = Date.parse(document.body.dataset.now || "");
    if (!Number.isNaN(given)) offset = given - Date.now();
    document.querySelector("[data-help]")?.addEventListener("click", () => document.getElementById("shortcuts").showModal());
    tick();
    setInterval(tick, 1000);
  });

  window.inqd = { post, left, tick, typing, serverNow };
})();
