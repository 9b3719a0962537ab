// The inquiry page: templates (search with "/", pick to fill), the check as the seller types, the confirm step,
// send and cancel without a reload. Every form also works without this script (the server renders the page).
"use strict";
(function () {
  const CHECK_DELAY_MS = 600;
  let timer = null;
  let checking = 0;

  const section = () => document.getElementById("answer-section");
  const area = () => document.getElementById("answer");
  const checkBox = () => document.getElementById("answer-check");
  const templateField = () => document.getElementById("answer-template"); // the picked template's key
  const sendStep = () => document.querySelector('#composer [data-step="draft"]');

  function counter() {
    const shown = document.querySelector("[data-counter]");
    if (shown && area()) shown.textContent = `${area().value.length}자`;
  }

  // A finding that blocks the text disables 보내기; a fresh answer text makes the last check stale.
  function applyCheck() {
    const box = checkBox()?.querySelector(".check");
    const button = sendStep();
    if (button) button.disabled = box?.dataset.blocked === "1";
    checkBox()?.querySelector("[data-send]")?.focus();
  }

  async function swap(target, response) {
    target.innerHTML = await response.text();
    window.inqd.tick();
  }

  async function check(step) {
    const text = area()?.value || "";
    const url = `${section().dataset.answerUrl}/${step}`;
    const mine = ++checking;
    if (step === "check" && !text.trim()) { checkBox().innerHTML = ""; return; }
    const response = await window.inqd.post(url, { text, template: templateField()?.value || "", fragment: "1" });
    if (mine !== checking) return; // a newer keystroke's check is on its way
    await swap(checkBox(), response);
    applyCheck();
  }

  function typed() {
    counter();
    checkBox()?.querySelector(".check")?.classList.add("stale");
    checkBox()?.querySelector("form.confirm")?.remove(); // its text is no longer what the seller sees
    clearTimeout(timer);
    timer = setTimeout(() => check("check"), CHECK_DELAY_MS);
  }

  function filter(query) {
    const q = query.trim().toLowerCase();
    let shown = 0;
    for (const group of document.querySelectorAll(".template-group")) {
      let any = false;
      for (const link of group.querySelectorAll("a.template")) {
        const hit = !q || link.textContent.toLowerCase().includes(q) || link.dataset.text.toLowerCase().includes(q);
        link.parentElement.hidden = !hit;
        any = any || hit;
        if (hit) shown++;
      }
      group.hidden = !any;
    }
    const none = document.querySelector(".templates .no-match");
    if (none) none.hidden = shown > 0 || !document.querySelector("a.template");
  }

  function pick(link) {
    document.querySelectorAll("a.template.chosen").forEach((a) => a.classList.remove("chosen"));
    link.classList.add("chosen");
    area().value = link.dataset.text;
    if (templateField()) templateField().value = link.dataset.key; // the send records the date it promises
    counter();
    area().focus();
    area().setSelectionRange(0, 0);
    clearTimeout(timer);
    check("check");
  }

  async function submitSwapped(form, submitter) {
    const data = new FormData(form);
    data.set("fragment", "1");
    for (const b of form.querySelectorAll("button")) b.disabled = true; // one click, one request
    const response = await window.inqd.post(form.action, data);
    await swap(section(), response);
    wire();
    if (submitter) section().querySelector("h2")?.scrollIntoView({ block: "nearest" });
  }

  // Wire the (possibly just swapped-in) answer section.
  function wire() {
    const a = area();
    if (a) a.addEventListener("input", typed);
    document.getElementById("template-search")?.addEventListener("input", (e) => filter(e.target.value));
    document.getElementById("template-search")?.addEventListener("keydown", (e) => {
      if (e.key === "Enter") {
        e.preventDefault();
        const first = [...document.querySelectorAll("a.template")].find((l) => !l.parentElement.hidden);
        if (first) pick(first);
      }
      if (e.key === "Escape") e.target.blur();
    });
    schedulePoll();
  }

  // While an approved answer travels (approved → sending → sent → confirmed), show its state as it changes.
  let polling = null;
  function schedulePoll() {
    clearTimeout(polling);
    if (!section()?.querySelector('.answer-item[data-state="approved"], .answer-item[data-state="sending"], .answer-item[data-state="sent"]')) return;
    polling = setTimeout(async () => {
      if (document.activeElement?.closest("#answer-section form")) { schedulePoll(); return; }
      const response = await fetch(section().dataset.answerUrl, { credentials: "same-origin" });
      if (response.ok) { await swap(section(), response); wire(); }
    }, 5000);
  }

  document.addEventListener("click", (event) => {
    const link = event.target.closest?.("a.template");
    if (!link || event.ctrlKey || event.metaKey) return;
    event.preventDefault();
    pick(link);
  });

  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (!section()?.contains(form)) return;
    event.preventDefault();
    const step = event.submitter?.dataset.step;
    if (form.id === "composer") { clearTimeout(timer); check(step === "check" ? "check" : "draft"); return; }
    submitSwapped(form, event.submitter);
  });

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.key === "Escape" && window.inqd.typing(event)) { event.target.blur(); return; }
    if (window.inqd.typing(event)) return;
    if (event.key === "/" && document.getElementById("template-search")) {
      event.preventDefault();
      document.getElementById("template-search").focus();
    } else if (event.key === "a" && area()) {
      event.preventDefault();
      area().focus();
    }
  });

  document.addEventListener("DOMContentLoaded", () => {
    wire();
    if (location.hash === "#answer" && area()) area().focus();
    if (checkBox()?.querySelector(".check")) applyCheck();
  });
})();
