/* The staff console's service lines (docs/lines.md), on top of staff.js: the console opens
 * its socket with `?lines=1` (as if it asked `lines` first), so it is line-aware from its
 * first frame. It keeps the site's lines (`lines [JSON]`), the lines this account serves
 * (`serve ID …`: the waiting list that follows is exactly theirs), and each line's order
 * (`order LINE ID …`: the order `next` takes them).
 * It draws the "Lines you serve" boxes, each waiting ticket's line and priority, the
 * priority dialog, and the "Transfer to …" buttons of the ticket being served.
 *
 * TQStaffLines.create(ctx) with ctx = {state, client, render, showError} returns
 * {handle(word, rest), ordered(), decorate(li, ticket), renderLines(), renderTransfer(t)}. */
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);

  function numbers(text) {
    return text.split(" ").filter(Boolean).map(Number).filter(Number.isFinite);
  }

  function create(ctx) {
    const { state, client, render, showError } = ctx;
    state.lines = []; // [{id, name, open}] in the site's order
    state.served = []; // the line ids this account serves
    state.order = new Map(); // line id -> waiting ticket ids, in the order `next` takes them
    let marking = null; // the ticket the priority dialog is about
    const drawn = { lines: "", transfer: "" }; // what the boxes and buttons show now

    /* Redraw `box` only when `key` changed, keeping the keyboard focus on the control of
     * the same value: frames arrive all the time, and a box that is rebuilt under a
     * keyboard user's focus would throw them back to the top of the page. */
    function redraw(box, which, key, draw) {
      if (drawn[which] === key) return;
      drawn[which] = key;
      const focused = box.contains(document.activeElement) ? document.activeElement.value || document.activeElement.dataset.line : null;
      box.replaceChildren();
      draw();
      const again = focused && [...box.querySelectorAll("input, button")].find((el) => (el.value || el.dataset.line) === focused);
      if (again) again.focus();
    }

    const several = () => state.lines.length > 1;
    const nameOf = (id) => (state.lines.find((l) => l.id === id) || {}).name || "";

    function handle(word, rest) {
      if (word === "lines") {
        try {
          const lines = JSON.parse(rest);
          if (Array.isArray(lines)) state.lines = lines;
        } catch (_) { /* not a list: keep what we had */ }
      } else if (word === "serve") {
        state.served = numbers(rest);
        state.waiting.clear(); // the `new`s that follow are the whole list
        state.order.clear();
      } else if (word === "order") {
        const [line, ...ids] = numbers(rest);
        if (line !== undefined) state.order.set(line, ids);
      } else {
        return false;
      }
      return true; // staff.js draws after every frame
    }

    /* Waiting ids in the order `next` would take them: each line's own order, merged by
     * always taking, of the lines' heads, the one that arrived first (the smallest id).
     * A ticket no `order` has placed yet goes last, by arrival. */
    function ordered() {
      const queues = [...state.order.values()].map((ids) => ids.filter((id) => state.waiting.has(id)));
      const result = [];
      for (;;) {
        let best = null;
        for (const q of queues) if (q.length && (best === null || q[0] < best[0])) best = q;
        if (best === null) break;
        result.push(best.shift());
      }
      const placed = new Set(result);
      const rest = [...state.waiting.keys()].filter((id) => !placed.has(id)).sort((a, b) => a - b);
      return result.concat(rest);
    }

    function decorate(li, t) {
      const tags = li.querySelector(".row-tags");
      tags.replaceChildren();
      if (several() && t.line) {
        const line = document.createElement("span");
        line.className = "line-tag";
        line.textContent = nameOf(t.line);
        tags.append(line);
      }
      li.classList.toggle("priority", !!t.priority);
      if (t.priority) {
        const mark = document.createElement("span");
        mark.className = "priority-tag";
        mark.textContent = "Priority: " + t.priority;
        tags.append(mark);
      }
      const button = li.querySelector(".mark-priority");
      button.dataset.ticket = String(t.id);
      button.textContent = "Priority";
      button.setAttribute("aria-label", "Priority for ticket " + t.id + (t.priority ? " (change the reason)" : ""));
    }

    function renderLines() {
      const box = $("serve-lines");
      box.classList.toggle("hidden", !several());
      const list = $("serve-lines-boxes");
      redraw(list, "lines", JSON.stringify([state.lines, state.served]), () => {
        for (const line of state.lines) {
          const label = document.createElement("label");
          const input = document.createElement("input");
          input.type = "checkbox";
          input.value = String(line.id);
          input.checked = state.served.length === 0 || state.served.includes(line.id);
          label.append(input, document.createTextNode(line.name + (line.open ? "" : " (closed)")));
          list.append(label);
        }
      });
    }

    function renderTransfer(t) {
      const box = $("transfer");
      const targets = t && several() ? state.lines.filter((l) => l.open && l.id !== t.line) : [];
      box.classList.toggle("hidden", targets.length === 0);
      $("serving-line").textContent = t && several() && t.line ? nameOf(t.line) : "";
      redraw(box, "transfer", JSON.stringify([t && t.id, targets]), () => {
        for (const line of targets) {
          const button = document.createElement("button");
          button.type = "button";
          button.className = "secondary";
          button.dataset.line = String(line.id);
          button.textContent = "Transfer to " + line.name;
          box.append(button);
        }
      });
    }

    $("serve-lines-boxes").addEventListener("change", async (event) => {
      $("serve-error").textContent = "";
      const chosen = [...$("serve-lines-boxes").querySelectorAll("input:checked")].map((i) => i.value);
      if (chosen.length === 0) {
        event.target.checked = true;
        showError("serve-error", "choose at least one line");
        return;
      }
      const reply = await client.request("serve " + chosen.join(" "));
      if (!reply.ok) {
        showError("serve-error", reply.rest);
        drawn.lines = ""; // the boxes show what the server keeps, not the refused click
      }
      render(); // the `serve` frame and the lines' tickets follow the reply
    });

    $("transfer").addEventListener("click", async (event) => {
      const button = event.target.closest("button[data-line]");
      const t = state.serving;
      if (!button || !t) return;
      $("serving-error").textContent = "";
      button.disabled = true;
      const reply = await client.request("transfer " + t.id + " " + button.dataset.line);
      if (reply.ok) state.serving = null;
      else showError("serving-error", reply.rest);
      button.disabled = false;
      render();
    });

    // ---- priority: a dialog, so that the list redrawing under it loses nothing typed ----
    const dialog = $("priority-dialog");
    $("waiting-list").addEventListener("click", (event) => {
      const button = event.target.closest("button.mark-priority");
      if (!button) return;
      marking = Number(button.dataset.ticket);
      const t = state.waiting.get(marking);
      $("priority-ticket").textContent = String(marking);
      $("priority-reason").value = t && t.priority ? t.priority : "";
      $("priority-error").textContent = "";
      dialog.showModal();
      $("priority-reason").focus();
    });
    $("priority-cancel").addEventListener("click", () => dialog.close());
    $("priority-form").addEventListener("submit", async (event) => {
      event.preventDefault();
      const reason = $("priority-reason").value.trim();
      if (!reason) return showError("priority-error", "reason is missing");
      const reply = await client.request("priority " + marking + " " + reason);
      if (!reply.ok) return showError("priority-error", reply.rest);
      dialog.close(); // the ticket comes again as `new`, marked
    });

    return { handle, ordered, decorate, renderLines, renderTransfer };
  }

  window.TQStaffLines = { create };
})();
