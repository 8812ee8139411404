/* The TV: tables open/closed from `pick`/`unpick`, who is served where from `claimed`,
 * cleared by `complete`/`cancel`. It sends one command, the `watch` extension, to get
 * `waiting N` and `tables N`; its `success watch` reply also marks the end of the replay
 * the server sends on connect, so replayed calls are not announced again. */
(function () {
  "use strict";
  const CALL_HIGHLIGHT_MS = 12000;
  const $ = (id) => document.getElementById(id);

  function start() {
    const root = $("display");
    const state = {
      count: Number(root.dataset.tableCount),
      open: new Set(),
      serving: new Map(), // table -> ticket
      announced: new Set(), // "ticket@table" already called out
      synced: false,
      speech: root.dataset.speech === "on",
      highlight: new Map(), // table -> timer
    };

    function layout() {
      // As square as the 16:9 screen allows, so every table fits without scrolling.
      const cols = Math.max(1, Math.ceil(Math.sqrt((state.count * 16) / 9)));
      const rows = Math.max(1, Math.ceil(state.count / cols));
      const grid = $("display-grid");
      grid.style.setProperty("--cols", String(cols));
      grid.style.setProperty("--rows", String(rows));
      grid.classList.toggle("dense", rows > 3);
    }

    function render() {
      layout();
      const grid = $("display-grid");
      const template = $("table-card");
      grid.replaceChildren();
      for (let n = 0; n < state.count; n += 1) {
        const card = template.content.firstElementChild.cloneNode(true);
        const t = state.serving.get(n);
        const open = state.open.has(n);
        card.id = "table-" + n;
        card.classList.toggle("closed", !open);
        card.classList.toggle("open", open);
        card.classList.toggle("busy", !!t);
        card.classList.toggle("called", state.highlight.has(n));
        card.querySelector(".table-label").textContent = "Table " + n;
        card.querySelector(".table-ticket").textContent = t ? String(t.id) : "";
        card.querySelector(".table-name").textContent = t ? TQ.shortName(t.name) : "";
        card.querySelector(".table-state").textContent = t ? "" : open ? "Open" : "Closed";
        grid.append(card);
      }
    }

    function renderSpeech() {
      $("speech-state").textContent = state.speech ? "Voice on (press S to mute)" : "Voice off (press S to turn on)";
    }

    function call(table, t) {
      const text = "Ticket " + t.id + ", " + TQ.shortName(t.name) + ", please go to table " + table;
      const line = $("display-call");
      line.textContent = text;
      line.dataset.calls = String(Number(line.dataset.calls || 0) + 1);
      clearTimeout(state.highlight.get(table));
      state.highlight.set(table, setTimeout(() => {
        state.highlight.delete(table);
        render();
      }, CALL_HIGHLIGHT_MS));
      TQSound.chime();
      if (state.speech) setTimeout(() => TQSound.speak(text), 900);
    }

    function missed(table, t) {
      $("display-call").textContent = "Earlier: ticket " + t.id + ", " + TQ.shortName(t.name) + ", table " + table;
    }

    function onClaimed(rest) {
      // claimed STAFF TABLE {ticket}
      const [, afterStaff] = TQ.split(rest);
      const [tableText, json] = TQ.split(afterStaff);
      const table = Number(tableText);
      const t = TQ.ticket(json);
      if (!t || !Number.isInteger(table)) return;
      state.open.add(table);
      state.serving.set(table, t);
      const key = t.id + "@" + table;
      if (!state.announced.has(key)) {
        state.announced.add(key);
        // A call missed during an outage, replayed by the server's resync: the ticket
        // has already ended, so it is listed quietly, never announced as if it were new.
        if (TQ.ended(t)) missed(table, t);
        else if (state.synced) call(table, t);
      }
    }

    TQ.connect("/ws/display", {
      open(client) {
        state.open.clear();
        state.serving.clear();
        state.synced = false;
        client.request("watch").then(() => {
          state.synced = true;
        });
        render();
      },
      message(word, rest) {
        const table = Number(rest);
        if (word === "pick") state.open.add(table);
        else if (word === "unpick") {
          state.open.delete(table);
          state.serving.delete(table);
        } else if (word === "complete" || word === "cancel") state.serving.delete(table);
        else if (word === "claimed") onClaimed(rest);
        else if (word === "waiting") {
          $("waiting-count").textContent = rest;
          $("waiting-label").textContent = rest === "1" ? "person waiting" : "people waiting";
        } else if (word === "tables") state.count = Number(rest) || state.count;
        render();
      },
    });

    document.addEventListener("keydown", (event) => {
      if (event.key === "s" || event.key === "S") {
        state.speech = !state.speech;
        renderSpeech();
      }
    });
    renderSpeech();
    render();
  }

  document.addEventListener("DOMContentLoaded", start);
})();
