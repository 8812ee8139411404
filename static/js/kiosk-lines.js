/* The kiosk's service lines (docs/lines.md): with two or more open lines the visitor first
 * answers "What brings you in today?" (one large button a line), then signs in; kiosk.js
 * then sends `join LINE EMAIL NAME` for the line in data-join-line. With one line nothing of
 * this shows and kiosk.js sends the seed `new`. The lines come with the page and then
 * from the extension `lines` (asked after every connect, pushed on every change). */
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);

  function parse(json) {
    try {
      const lines = JSON.parse(json);
      return Array.isArray(lines) ? lines.filter((l) => l && typeof l.id === "number") : null;
    } catch (_) {
      return null;
    }
  }

  function start() {
    const root = $("kiosk");
    const choiceView = $("kiosk-lines-view");
    const formView = $("kiosk-form-view");
    const confirmation = $("kiosk-confirmation");
    let lines = parse(root.dataset.lines || "[]") || [];
    let chosen = null; // the id of the line the visitor chose

    const openLines = () => lines.filter((l) => l.open);
    const nameOf = (id) => (lines.find((l) => l.id === id) || {}).name || "";

    function buttons() {
      const list = $("kiosk-lines");
      list.replaceChildren();
      for (const line of openLines()) {
        const item = document.createElement("li");
        const button = document.createElement("button");
        button.type = "button";
        button.className = "line-choice";
        button.dataset.line = String(line.id);
        button.textContent = line.name;
        item.append(button);
        list.append(item);
      }
    }

    function show(choosing) {
      if (!confirmation.classList.contains("hidden")) return; // a ticket is on screen
      choiceView.classList.toggle("hidden", !choosing);
      formView.classList.toggle("hidden", choosing);
    }

    function render() {
      const open = openLines();
      buttons();
      const several = lines.length > 1;
      if (chosen !== null && !open.some((l) => l.id === chosen)) {
        $("kiosk-lines-error").textContent = "Sorry, " + nameOf(chosen) + " is not taking visitors now. Please choose again.";
        chosen = null;
      }
      // One open line among several: no question to ask, but the ticket still names it.
      const line = !several ? null : open.length === 1 ? open[0].id : chosen;
      root.dataset.joinLine = line === null ? "" : String(line);
      $("kiosk-chosen").classList.toggle("hidden", line === null);
      $("kiosk-chosen-name").textContent = line === null ? "" : nameOf(line);
      $("kiosk-change-line").classList.toggle("hidden", open.length < 2);
      $("kiosk-lines-lead").textContent = several && open.length === 0
        ? "No line is open right now. Please ask at the desk." : "Choose one, then sign in.";
      show(several && (open.length === 0 || (open.length > 1 && chosen === null)));
    }

    $("kiosk-lines").addEventListener("click", (event) => {
      const button = event.target.closest("button[data-line]");
      if (!button) return;
      chosen = Number(button.dataset.line);
      $("kiosk-lines-error").textContent = "";
      render();
      $("kiosk-email").focus();
    });

    $("kiosk-change-line").addEventListener("click", () => {
      chosen = null;
      render();
      const first = $("kiosk-lines").querySelector("button");
      if (first) first.focus();
    });

    root.addEventListener("kiosk:open", (event) => { event.detail.client.request("lines"); });
    root.addEventListener("kiosk:frame", (event) => {
      if (event.detail.word !== "lines") return;
      const next = parse(event.detail.rest);
      if (next === null) return;
      lines = next;
      render();
    });
    root.addEventListener("kiosk:reset", () => {
      chosen = null;
      $("kiosk-lines-error").textContent = "";
      render();
    });
    render();
  }

  document.addEventListener("DOMContentLoaded", start);
})();
