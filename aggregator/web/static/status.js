// The status page's "테스트" buttons: post without leaving the page and show the channel's reply beside it.
// Without this script the form posts normally and the page comes back with the reply.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  for (const form of document.querySelectorAll("form[data-channel-test]")) {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const button = form.querySelector("button");
      const reply = form.closest("li").querySelector(".test-reply");
      button.disabled = true;
      reply.textContent = "보내는 중…";
      try {
        const response = await window.inqd.post(form.action, { fragment: "1" });
        const html = await response.text();
        if (response.ok) {
          const parsed = new DOMParser().parseFromString(html, "text/html");
          reply.replaceChildren(...parsed.body.childNodes);
        } else {
          reply.textContent = `테스트하지 못했습니다 (${response.status}): ${html}`;
        }
      } catch (error) {
        reply.textContent = `inqd에 닿지 못했습니다: ${error}`;
      } finally {
        button.disabled = false;
      }
    });
  }
});
