// Enhancements only: every page works without this file.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  // Copy buttons: data-copy="id" copies that element's value or text; data-copy-all="a b c".
  for (const button of document.querySelectorAll("button[data-copy], button[data-copy-all]")) {
    button.addEventListener("click", async () => {
      const ids = (button.dataset.copy || button.dataset.copyAll).split(/\s+/);
      const text = ids.map((id) => {
        const el = document.getElementById(id);
        return el ? (el.value !== undefined ? el.value : el.textContent) : "";
      }).filter(Boolean).join("\n");
      try {
        await navigator.clipboard.writeText(text);
      } catch (e) {
        const area = document.createElement("textarea");
        area.value = text; document.body.appendChild(area); area.select();
        document.execCommand("copy"); area.remove();
      }
      const label = button.textContent; button.textContent = "Copied";
      setTimeout(() => { button.textContent = label; }, 1500);
    });
  }
  // Local time on hover for every <time datetime>.
  for (const el of document.querySelectorAll("time[datetime]")) {
    const moment = new Date(el.getAttribute("datetime"));
    if (!isNaN(moment)) el.title = moment.toLocaleString() + " (your local time)";
  }
  // Confirmations: a form with data-confirm asks before submitting.
  for (const form of document.querySelectorAll("form[data-confirm]")) {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  }
});
