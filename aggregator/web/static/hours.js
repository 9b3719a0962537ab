// The hours page: add and remove ranges in the week grid, and redraw each day's bar as the times change.
// The server reads the form again and shows a preview before anything is saved; this only helps the eye.
"use strict";
(function () {
  const SVG = "http://www.w3.org/2000/svg";
  const DAY = 1440;

  function minutes(text) {
    const m = /^(\d{1,2}):(\d{2})$/.exec((text || "").trim());
    if (!m) return null;
    const value = Number(m[1]) * 60 + Number(m[2]);
    return Number(m[2]) < 60 && value <= DAY ? value : null;
  }

  // Each day's pieces from the ranges that start on it, a range over midnight carried into the next day.
  function pieces(kind) {
    const days = [[], [], [], [], [], [], []];
    for (const list of document.querySelectorAll(`ul.ranges[data-kind="${kind}"]`)) {
      const day = Number(list.dataset.day);
      for (const row of list.querySelectorAll("li.range")) {
        const [startInput, endInput] = row.querySelectorAll("input.time");
        const start = minutes(startInput.value);
        let end = minutes(endInput.value);
        startInput.classList.toggle("bad", startInput.value !== "" && (start === null || start === DAY));
        endInput.classList.toggle("bad", endInput.value !== "" && end === null);
        if (start === null || end === null || start === DAY) continue;
        if (end === 0) end = DAY;
        if (end > start) days[day].push([start, end]);
        else if (end < start) {
          days[day].push([start, DAY]);
          days[(day + 1) % 7].push([0, end]);
        }
      }
    }
    return days;
  }

  function draw(group, ranges, y) {
    group.replaceChildren(...ranges.map(([start, end]) => {
      const rect = document.createElementNS(SVG, "rect");
      rect.setAttribute("x", start);
      rect.setAttribute("y", y);
      rect.setAttribute("width", end - start);
      rect.setAttribute("height", 8);
      return rect;
    }));
  }

  function redraw() {
    const quiet = pieces("quiet");
    const work = pieces("work");
    for (const box of document.querySelectorAll(".weekday[data-day]")) {
      const day = Number(box.dataset.day);
      draw(box.querySelector("svg.bar g.quiet"), quiet[day], 0);
      draw(box.querySelector("svg.bar g.work"), work[day], 8);
    }
  }

  function addRow(button) {
    const { kind, day } = button.dataset;
    const row = document.getElementById("range-row").content.firstElementChild.cloneNode(true);
    const [start, end] = row.querySelectorAll("input.time");
    start.name = `${kind}-${day}-start`;
    end.name = `${kind}-${day}-end`;
    const label = button.closest(".weekday").querySelector("h3").textContent;
    start.setAttribute("aria-label", `${label} 시작`);
    end.setAttribute("aria-label", `${label} 끝`);
    document.querySelector(`ul.ranges[data-kind="${kind}"][data-day="${day}"]`).append(row);
    start.focus();
  }

  document.addEventListener("DOMContentLoaded", () => {
    const form = document.getElementById("week-form");
    if (!form) return;
    form.addEventListener("click", (event) => {
      const target = event.target;
      if (!(target instanceof HTMLElement)) return;
      if (target.matches("button.add")) addRow(target);
      else if (target.matches("button.remove")) { target.closest("li.range").remove(); redraw(); }
    });
    form.addEventListener("input", redraw);
  });
})();
