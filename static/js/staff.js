/* The staff console: the table grid from `taken`, the waiting list from `new`/`claimed`,
 * and the ticket being served. After a reconnect the server sends what we missed (or
 * `reset` and the whole waiting list with our own claimed ticket: docs/protocol.md,
 * "Catching up"); we re-send `pick T` so the table is ours again. Service lines,
 * priority, Next and transfer (the `lines` extension) are drawn by staff-lines.js. */
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);

  function minutesSince(iso) {
    const ms = Date.now() - Date.parse(iso);
    const minutes = Math.max(0, Math.floor(ms / 60000));
    return minutes < 1 ? "just now" : minutes + " min";
  }

  function plain(text) {
    return text ? text.charAt(0).toUpperCase() + text.slice(1) + "." : "";
  }

  function start() {
    const root = $("console");
    const me = root.dataset.username;
    const tableCount = Number(root.dataset.tableCount);
    // Times read by people are in the site's zone (TIMEZONE), whatever the laptop's clock says.
    const timeZone = root.dataset.timezone || undefined;
    const state = {
      table: root.dataset.table === "" ? null : Number(root.dataset.table),
      taken: new Set(),
      tablesKnown: false, // no table is offered until the server has said which are taken
      waiting: new Map(), // id -> ticket, oldest first (ids grow with time)
      serving: null,
      known: new Set(), // ticket ids seen on any connection: a replay is not news
      synced: false, // false while the server replays its state after a (re)connect
      alerts: localStorage.getItem("tq.alerts") === "on",
      away: root.dataset.away === "on", // stepped away: the table stays ours
    };

    function showError(id, text) {
      const el = $(id);
      el.textContent = plain(text);
      if (/token|relogin/.test(text)) {
        const link = document.createElement("a");
        link.href = root.dataset.loginUrl;
        link.textContent = " Log in again";
        el.append(link);
      }
    }

    // ---- rendering ---------------------------------------------------------------
    function renderTables() {
      $("table-current").classList.toggle("hidden", state.table === null);
      $("table-picker").classList.toggle("hidden", state.table !== null);
      $("table-number").textContent = state.table === null ? "" : String(state.table);
      $("away").classList.toggle("hidden", state.away);
      $("back").classList.toggle("hidden", !state.away);
      $("away-note").classList.toggle("hidden", !state.away);
      const grid = $("table-grid");
      grid.replaceChildren();
      $("table-loading").classList.toggle("hidden", state.tablesKnown);
      grid.setAttribute("aria-busy", String(!state.tablesKnown));
      if (!state.tablesKnown) return;
      for (let n = 0; n < tableCount; n += 1) {
        const button = document.createElement("button");
        const taken = state.taken.has(n);
        button.type = "button";
        button.className = "table-button" + (taken ? " taken" : "");
        button.disabled = taken;
        button.dataset.table = String(n);
        button.textContent = String(n);
        button.setAttribute("aria-label", "Table " + n + (taken ? ", taken" : ", free"));
        grid.append(button);
      }
    }

    function renderServing() {
      const t = state.serving;
      $("serving").classList.toggle("hidden", !t);
      $("serving-empty").classList.toggle("hidden", !!t);
      lines.renderTransfer(t);
      if (!t) return;
      $("serving-id").textContent = String(t.id);
      $("serving-name").textContent = t.name;
      $("serving-email").textContent = t.email;
      $("serving-waited").textContent = "Signed in at " + new Date(t.start).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", timeZone });
    }

    function renderWaiting() {
      const list = $("waiting-list");
      const row = $("waiting-row");
      const blocked = state.table === null ? "Pick a table to accept visitors."
        : state.away ? "You are away: press “I’m back” to accept visitors."
        : state.serving ? "Complete or mark a no-show to accept the next visitor." : "";
      $("waiting-hint").textContent = blocked;
      list.replaceChildren();
      const ids = lines.ordered();
      $("next").disabled = blocked !== "" || ids.length === 0;
      for (const id of ids) {
        const t = state.waiting.get(id);
        const li = row.content.firstElementChild.cloneNode(true);
        li.dataset.ticket = String(id);
        li.querySelector(".row-id").textContent = "#" + id;
        li.querySelector(".row-name").textContent = t.name;
        li.querySelector(".row-email").textContent = t.email;
        li.querySelector(".row-waited").textContent = minutesSince(t.start);
        const accept = li.querySelector(".accept");
        accept.dataset.ticket = String(id);
        accept.disabled = blocked !== "";
        accept.setAttribute("aria-label", "Accept ticket " + id);
        lines.decorate(li, t);
        list.append(li);
      }
      $("waiting-count").textContent = String(ids.length);
      $("waiting-empty").classList.toggle("hidden", ids.length > 0);
    }

    function render() {
      lines.renderLines();
      renderTables();
      renderServing();
      renderWaiting();
    }

    // ---- alerts --------------------------------------------------------------------
    function renderAlerts() {
      const button = $("alerts");
      button.setAttribute("aria-pressed", String(state.alerts));
      button.textContent = state.alerts ? "Sound & alerts on" : "Turn on sound & alerts";
    }

    $("alerts").addEventListener("click", () => {
      state.alerts = !state.alerts;
      localStorage.setItem("tq.alerts", state.alerts ? "on" : "off");
      if (state.alerts) {
        TQSound.unlock(); // a click is what browsers require before audio may play
        if ("Notification" in window && Notification.permission === "default") {
          Notification.requestPermission();
        }
      }
      renderAlerts();
    });

    function announce(t) {
      $("waiting-panel").classList.remove("flash");
      void $("waiting-panel").offsetWidth; // restart the animation
      $("waiting-panel").classList.add("flash");
      if (!state.alerts) return;
      TQSound.chime();
      if ("Notification" in window && Notification.permission === "granted") {
        new Notification("A visitor is waiting", { body: "Ticket " + t.id + ": " + TQ.shortName(t.name), tag: "tq-waiting" });
      }
    }

    // ---- protocol --------------------------------------------------------------------
    function onNew(t) {
      if (TQ.ended(t)) return;
      if (state.serving && state.serving.id === t.id) state.serving = null; // put back
      const news = !state.known.has(t.id);
      const wasEmpty = state.waiting.size === 0;
      state.known.add(t.id);
      state.waiting.set(t.id, t);
      if (news && wasEmpty && state.synced) announce(t);
    }

    function onClaimed(t) {
      state.known.add(t.id);
      state.waiting.delete(t.id);
      if (t.staff === me && !TQ.ended(t)) state.serving = t;
    }

    const client = TQ.connect(root.dataset.socket, {
      open(c) {
        // Which tables are free may have changed while we were away: ask the server again.
        // The waiting list stays: what we missed comes first (docs/protocol.md,
        // "Catching up"), or `reset` and the whole list.
        if (state.table === null) state.tablesKnown = false;
        state.synced = false;
        render();
        TQFloor.reset();
        c.request("watch"); // the extension: announcements, the line, who stepped away
        if (state.table !== null) resync(c, state.table);
      },
      message(word, rest) {
        if (TQFloor.handle(word, rest)) return;
        if (word === "reset") {
          state.waiting.clear();
          state.serving = null;
        } else if (word === "mark") {
          state.synced = true; // caught up: what comes now is news
        } else if (lines.handle(word, rest)) {
          // drawn below
        } else if (word === "taken") {
          // Only a staff member without a table is sent `taken`.
          state.taken = new Set(rest.split(" ").filter(Boolean).map(Number));
          state.tablesKnown = true;
          state.table = null;
          state.away = false; // no table, nothing to be away from
          state.synced = true;
        } else if ((word === "away" || word === "back") && Number(rest) === state.table) {
          state.away = word === "away"; // our other console, or after a reconnect
        } else if (word === "new" || word === "claimed") {
          const t = TQ.ticket(rest);
          if (t) (word === "new" ? onNew : onClaimed)(t);
        }
        render();
      },
      // Line-aware from the first frame (`lines=1`, as if it sent `lines`): the service
      // lines' frames, and the list is then of our lines.
    }, { catchUp: true, query: "lines=1" });

    const lines = TQStaffLines.create({ state, client, render: () => render(), showError });

    async function resync(c, table) {
      const reply = await c.request("pick " + table);
      state.synced = true;
      if (reply.ok) state.table = table;
      else showError("table-error", "table " + table + " is no longer yours: " + reply.rest);
      render();
    }

    // ---- actions -------------------------------------------------------------------
    $("table-grid").addEventListener("click", async (event) => {
      const button = event.target.closest("button[data-table]");
      if (!button) return;
      $("table-error").textContent = "";
      const table = Number(button.dataset.table);
      const reply = await client.request("pick " + table);
      if (reply.ok) state.table = table;
      else showError("table-error", reply.rest);
      render();
    });

    $("leave").addEventListener("click", async () => {
      $("table-error").textContent = "";
      const reply = await client.request("unpick");
      if (reply.ok) state.table = null;
      else showError("table-error", reply.rest);
      render();
    });

    $("waiting-list").addEventListener("click", async (event) => {
      const button = event.target.closest("button.accept");
      if (!button) return;
      const id = Number(button.dataset.ticket);
      $("waiting-error").textContent = "";
      button.disabled = true;
      const reply = await client.request("accept " + id);
      if (reply.ok) {
        if (state.waiting.has(id)) state.serving = state.waiting.get(id);
        state.waiting.delete(id);
      } else {
        showError("waiting-error", "ticket " + id + ": " + reply.rest);
      }
      render();
    });

    $("next").addEventListener("click", async () => {
      $("waiting-error").textContent = "";
      $("next").disabled = true;
      const reply = await client.request("next");
      if (reply.ok) {
        const id = Number(reply.rest);
        if (state.waiting.has(id)) state.serving = state.waiting.get(id);
        state.waiting.delete(id);
      } else {
        showError("waiting-error", reply.rest);
      }
      render();
    });

    async function finish(command) {
      const t = state.serving;
      if (!t) return;
      $("serving-error").textContent = "";
      const reply = await client.request(command + " " + t.id);
      if (reply.ok) state.serving = null;
      else showError("serving-error", reply.rest);
      render();
    }

    async function setAway(going) {
      $("table-error").textContent = "";
      const reply = await client.request(going ? "away" : "back");
      if (reply.ok) state.away = going;
      else showError("table-error", reply.rest);
      render();
    }

    $("away").addEventListener("click", () => setAway(true));
    $("back").addEventListener("click", () => setAway(false));
    $("put-back").addEventListener("click", () => finish("requeue"));
    $("complete").addEventListener("click", () => finish("complete"));
    $("no-show").addEventListener("click", () => finish("cancel"));

    // Waiting times tick locally; nothing is fetched.
    setInterval(renderWaiting, 15000);
    renderAlerts();
    render();
  }

  document.addEventListener("DOMContentLoaded", start);
})();
