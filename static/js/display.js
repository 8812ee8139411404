/* The TV: tables open/closed from `pick`/`unpick`, who is served where from `claimed`,
 * cleared by `complete`/`cancel`. It sends one command, the `watch` extension, to get
 * `waiting N` and `tables N`; its `success watch` reply also marks the end of the replay
 * the server sends on connect, so replayed calls are not announced again.
 * It reconnects with `?since=` (tq-socket.js; docs/protocol.md, "Catching up"): the
 * frames missed meanwhile come before the first `mark`, and a call among them is announced
 * as a call once they are all in (unless they also end it); its state is dropped only on
 * `reset`, which a full greeting follows.
 * A call (yellow card, bottom line) lasts as long as the visit it calls: it ends at once
 * on `complete`/`cancel`/`unpick` of its table (docs/pages.md, "Display"). */
(function () {
  "use strict";
  const CALL_HIGHLIGHT_MS = 12000;
  // The longest content a card must show: a 7-digit ticket, "First L." of a 20-character
  // first name (one heavy in M and W, the widest letters), and the card's label.
  const LONGEST = { ".table-label": "Table 88", ".table-ticket": "8888888", ".table-name": "Mwajuma-Wanjiru-Mumo W.", ".table-state": "" }; // a busy card has no state line
  const $ = (id) => document.getElementById(id);

  function start() {
    const root = $("display");
    const grid = $("display-grid");
    const line = $("display-call");
    const idleText = line.textContent;
    const state = {
      count: Number(root.dataset.tableCount),
      open: new Set(),
      serving: new Map(), // table -> ticket
      away: new Set(), // tables whose staff member stepped away (`away T`, after `watch`)
      announced: new Set(), // "ticket@table" already called out
      synced: false,
      catching: false, // reconnected, before the first `mark`: the frames missed meanwhile
      missed: new Map(), // table -> ticket: calls among them, announced at that `mark`
      speech: root.dataset.speech === "on",
      highlight: new Map(), // table -> timer: the card is yellow
      calls: new Map(), // table -> {id, text}: calls still in force, latest last
    };

    // ---- layout: columns and font size from the screen, then every text fitted -----
    let need = null; // the longest content in em: depends on the font only

    function layout() {
      const floor = TQFit.floorPx();
      need = need || TQFit.measure($("table-card").content.firstElementChild, LONGEST, ".table-name");
      const gap = parseFloat(getComputedStyle(grid).rowGap) || 0;
      const best = TQFit.grid(state.count, { width: grid.clientWidth, height: grid.clientHeight }, gap, need, floor);
      grid.style.setProperty("--cols", String(best.cols));
      grid.style.setProperty("--rows", String(best.rows));
      grid.style.setProperty("--u", Math.floor(best.size * 10) / 10 + "px");
      TQFit.text(grid.querySelectorAll(".table-card p"), floor);
      fitCallLine(floor);
      grid.dataset.fitFor = window.innerWidth + "x" + window.innerHeight;
    }

    function fitCallLine(floor) {
      line.classList.remove("wraps");
      TQFit.text([line], floor);
      // Past the floor a sentence may take two lines rather than lose its end.
      if (line.scrollWidth > line.clientWidth) line.classList.add("wraps");
    }

    function render() {
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
        const away = open && state.away.has(n);
        card.classList.toggle("away", away);
        card.querySelector(".table-label").textContent = "Table " + n;
        card.querySelector(".table-ticket").textContent = t ? String(t.id) : "";
        card.querySelector(".table-name").textContent = t ? TQ.shortName(t.name) : "";
        card.querySelector(".table-state").textContent =
          away ? "Back soon" : t ? "" : open ? "Open" : "Closed";
        grid.append(card);
      }
      layout();
    }

    function renderSpeech() {
      $("speech-state").textContent = state.speech ? "Voice on (press S to mute)" : "Voice off (press S to turn on)";
    }

    // ---- calls ------------------------------------------------------------------------
    function renderCallLine() {
      const calls = [...state.calls.values()];
      const text = calls.length ? calls[calls.length - 1].text : idleText;
      if (line.textContent !== text) line.textContent = text;
      fitCallLine(TQFit.floorPx());
    }

    function call(table, t) {
      const text = "Ticket " + t.id + ", " + TQ.shortName(t.name) + ", please go to table " + table;
      state.calls.delete(table); // re-inserted: the latest call is the one shown
      state.calls.set(table, { id: t.id, text });
      line.textContent = text;
      line.dataset.calls = String(Number(line.dataset.calls || 0) + 1);
      clearTimeout(state.highlight.get(table));
      state.highlight.set(table, setTimeout(() => {
        state.highlight.delete(table);
        render();
      }, CALL_HIGHLIGHT_MS));
      renderCallLine();
      TQSound.chime();
      if (state.speech) setTimeout(() => TQSound.speak(text), 900);
    }

    function endCall(table) {
      clearTimeout(state.highlight.get(table));
      state.highlight.delete(table);
      if (state.calls.delete(table)) renderCallLine();
    }

    function endStaleCalls() {
      // After a reconnect: a call whose ticket is no longer served at its table is over.
      for (const [table, c] of [...state.calls]) {
        const t = state.serving.get(table);
        if (!t || t.id !== c.id) endCall(table);
      }
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
        // A call missed during an outage, replayed by the server's resync, has already
        // ended (its `complete`/`cancel` follows): never announced as if it were new.
        if (TQ.ended(t)) return;
        if (state.catching) state.missed.set(table, t);
        else if (state.synced) call(table, t);
      }
    }

    function forget() {
      state.open.clear();
      state.serving.clear();
      state.missed.clear();
      state.catching = false;
      state.synced = false;
    }

    function caughtUp() {
      // The first `mark` after a reconnect: the missed calls still in force are calls.
      state.catching = false;
      for (const [table, t] of state.missed) {
        const now = state.serving.get(table);
        if (now && now.id === t.id) call(table, t);
      }
      state.missed.clear();
    }

    TQ.connect(root.dataset.socket, {
      open(client) {
        TQFloor.reset();
        state.away.clear(); // not history: `watch` sends who is away now
        state.missed.clear();
        state.catching = true;
        state.synced = false;
        client.request("watch").then(() => {
          state.synced = true;
          endStaleCalls();
          render();
        });
        render();
      },
      message(word, rest) {
        if (TQFloor.handle(word, rest)) return;
        const table = Number(rest);
        if (word === "reset") forget();
        else if (word === "mark") {
          if (state.catching) caughtUp();
        } else if (word === "pick") state.open.add(table);
        else if (word === "unpick") {
          state.open.delete(table);
          state.serving.delete(table);
          state.away.delete(table);
          state.missed.delete(table);
          endCall(table);
        } else if (word === "complete" || word === "cancel") {
          state.serving.delete(table);
          state.missed.delete(table);
          endCall(table);
        } else if (word === "claimed") onClaimed(rest);
        else if (word === "away") state.away.add(table);
        else if (word === "back") state.away.delete(table);
        else if (word === "waiting") {
          $("waiting-count").textContent = rest;
          $("waiting-label").textContent = rest === "1" ? "person waiting" : "people waiting";
        } else if (word === "tables") state.count = Number(rest) || state.count;
        render();
      },
    }, { catchUp: true });

    document.addEventListener("keydown", (event) => {
      if (event.key === "s" || event.key === "S") {
        state.speech = !state.speech;
        renderSpeech();
      }
    });
    // A new size (or a call line that changed height) re-fits everything.
    new ResizeObserver(() => requestAnimationFrame(() => {
      need = null;
      layout();
    })).observe(grid);
    renderSpeech();
    render();
  }

  document.addEventListener("DOMContentLoaded", start);
})();
