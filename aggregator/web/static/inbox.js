// The inbox: keyboard (j/k, Enter, a, h, s, /), the row buttons without a reload, and new inquiries fetched
// every few seconds (the server answers 304 while nothing changed). No framework; CSP allows only this file.
"use strict";
(function () {
  const REFRESH_MS = 4000;
  let selectedId = null;
  let known = new Set();
  const fresh = new Set();

  const rows = () => Array.from(document.querySelectorAll("#listing .row"));
  const listing = () => document.getElementById("listing");
  const csrf = () => document.querySelector('meta[name="csrf-token"]')?.content || "";

  function select(row, focus = true) {
    for (const other of rows()) {
      other.classList.toggle("selected", other === row);
      other.removeAttribute("aria-current");
    }
    if (!row) { selectedId = null; return; }
    selectedId = row.dataset.id;
    row.setAttribute("aria-current", "true");
    if (fresh.delete(selectedId)) { row.classList.remove("new"); showFresh(); }
    if (focus) row.querySelector("a.open")?.focus({ preventScroll: true });
    row.scrollIntoView({ block: "nearest" });
  }

  function selectedRow() {
    return rows().find((row) => row.dataset.id === selectedId) || null;
  }

  function move(step) {
    const all = rows();
    if (!all.length) return;
    const at = all.findIndex((row) => row.dataset.id === selectedId);
    const next = at < 0 ? 0 : Math.min(all.length - 1, Math.max(0, at + step));
    select(all[next]);
  }

  function say(text, ok) {
    const box = document.getElementById("reply");
    box.textContent = text;
    box.classList.toggle("error", !ok);
    box.hidden = false;
  }

  function showFresh() {
    const box = document.getElementById("fresh");
    box.hidden = fresh.size === 0;
    box.textContent = `새 문의 ${fresh.size}건`;
  }

  async function act(id, action, data) {
    let response;
    try {
      response = await fetch(`/inquiries/${id}/${action}`, {
        method: "POST",
        body: new URLSearchParams(data || {}),
        credentials: "same-origin",
        headers: { "X-CSRF-Token": csrf(), "Accept": "application/json" },
      });
    } catch (err) {
      say("서버에 닿지 않습니다. 데몬이 실행 중인지 확인하세요.", false);
      return;
    }
    const type = response.headers.get("Content-Type") || "";
    const reply = type.includes("json") ? await response.json() : { ok: false, reply: await response.text() };
    say(reply.reply, reply.ok && response.ok);
    await refresh(true);
  }

  // The rows again; `force` skips the "nothing changed" shortcut (after an action of ours).
  async function refresh(force = false) {
    const holder = document.getElementById("inbox");
    const current = listing();
    if (!holder || !current) return;
    const headers = { "Accept": "text/html" };
    if (!force && current.dataset.version) headers["If-None-Match"] = current.dataset.version;
    let response;
    try {
      response = await fetch(holder.dataset.rows, { credentials: "same-origin", headers });
    } catch (err) {
      return; // the daemon restarts now and then: try again on the next turn
    }
    if (response.status !== 200) return;
    const parsed = new DOMParser().parseFromString(await response.text(), "text/html");
    const next = parsed.getElementById("listing");
    if (!next) return;
    for (const row of next.querySelectorAll(".row")) {
      if (!known.has(row.dataset.id)) fresh.add(row.dataset.id);
      if (fresh.has(row.dataset.id)) row.classList.add("new");
    }
    const hadFocus = current.contains(document.activeElement);
    current.replaceWith(document.adoptNode(next));
    remember();
    showFresh();
    const again = selectedRow();
    if (again) select(again, hadFocus);
    window.inqd.tick();
  }

  function remember() {
    known = new Set(rows().map((row) => row.dataset.id));
  }

  function snooze(id) {
    const dialog = document.getElementById("snooze");
    dialog.querySelector("[data-snooze-id]").textContent = `#${id}`;
    const input = dialog.querySelector('input[name="until"]');
    input.value = "";
    dialog.returnValue = "";
    dialog.addEventListener("close", () => {
      const choice = dialog.returnValue === "custom" ? input.value.trim() : dialog.returnValue;
      if (choice) act(id, "snooze", { until: choice });
    }, { once: true });
    dialog.showModal();
  }

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || window.inqd.typing(event)) return;
    if (document.querySelector("dialog[open]")) return;
    const row = selectedRow();
    const keys = {
      j: () => move(1),
      k: () => move(-1),
      "/": () => document.getElementById("f-q")?.focus(),
      Enter: () => row && (location.href = `/inquiries/${row.dataset.id}`),
      a: () => row && (location.href = `/inquiries/${row.dataset.id}#answer`),
      h: () => row && act(row.dataset.id, "handled"),
      s: () => row && snooze(row.dataset.id),
    };
    const run = keys[event.key];
    // Enter on another link or a button is that element's own: only the list's rows open by Enter here.
    const target = event.target instanceof Element ? event.target : null;
    if (!run || (event.key === "Enter" && target && target !== document.body && !target.matches(".row a.open"))) return;
    event.preventDefault();
    run();
  });

  document.addEventListener("DOMContentLoaded", () => {
    remember();
    // The row buttons post through fetch when the script runs (the form posts still work without it).
    document.getElementById("inbox")?.addEventListener("click", (event) => {
      const button = event.target instanceof Element ? event.target.closest("button[data-action]") : null;
      if (!button) return;
      event.preventDefault();
      const row = button.closest(".row");
      select(row, false);
      if (button.dataset.action === "handled") act(row.dataset.id, "handled");
      else act(row.dataset.id, "snooze", { until: button.value });
    });
    document.getElementById("inbox")?.addEventListener("focusin", (event) => {
      const row = event.target instanceof Element ? event.target.closest(".row") : null;
      if (row && row.dataset.id !== selectedId) select(row, false);
    });
    document.getElementById("fresh")?.addEventListener("click", () => {
      fresh.clear();
      for (const row of rows()) row.classList.remove("new");
      showFresh();
      window.scrollTo({ top: 0 });
    });
    setInterval(() => { if (!document.hidden) refresh(); }, REFRESH_MS);
    document.addEventListener("visibilitychange", () => { if (!document.hidden) refresh(); });
  });
})();
