/* tablequeue's protocol client, shared by the kiosk, the staff console and the display.
 *
 * TQ.connect(path, handlers) opens the page's websocket (its path from the template:
 * /ws/<role> or /s/<slug>/ws/<role>, never guessed here), reconnects after any drop with exponential
 * backoff and jitter, and shows the state in every [data-connection] element.
 * handlers.open(client) runs after each (re)connect: the page resyncs there.
 * handlers.message(word, rest, frame) gets every frame the server pushes.
 * client.request("accept 4") resolves with the reply {ok, word, rest} to that command.
 *
 * TQ.connect(path, handlers, {catchUp: true, query: "lines=1"}) opts in to catching up
 * (docs/protocol.md, "Catching up"): the last `mark N` is kept per socket path in
 * sessionStorage, and every reconnect asks `?since=N`, so the server sends exactly the
 * frames missed meanwhile (or `reset` and a full greeting). A page load starts from
 * nothing, so it asks `?since=` with no number. `query` is added to every handshake.
 */
(function () {
  "use strict";

  const BACKOFF_FIRST_MS = 400;
  const BACKOFF_MAX_MS = 5000;
  // A reply word that differs from the command that caused it.
  const REPLY_TO = { claimed: "accept" };
  const MARK_KEY = "tq-mark:"; // + the socket path: the last `mark N` its page was sent

  function split(frame) {
    const text = frame.trim();
    const space = text.indexOf(" ");
    return space < 0 ? [text, ""] : [text.slice(0, space), text.slice(space + 1)];
  }

  function showState(state) {
    for (const el of document.querySelectorAll("[data-connection]")) {
      el.dataset.connection = state;
      el.textContent = { connected: "Connected", connecting: "Connecting…" }[state] || "Reconnecting…";
    }
  }

  function storage() {
    try {
      return window.sessionStorage;
    } catch (_) {
      return null; // storage disabled: every reconnect then gets a full greeting
    }
  }

  /* The URL of the next handshake: with catchUp, `since` = the last mark (none yet: ""). */
  function handshake(path, options) {
    const base = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + path;
    const query = [];
    if (options.catchUp) {
      const store = storage();
      const seen = store ? store.getItem(MARK_KEY + path) : null;
      query.push("since=" + (seen && /^[0-9]+$/.test(seen) ? seen : ""));
    }
    if (options.query) query.push(options.query);
    return query.length ? base + "?" + query.join("&") : base;
  }

  function remember(path, rest) {
    const store = storage();
    if (store && /^[0-9]+$/.test(rest)) store.setItem(MARK_KEY + path, rest);
  }

  function connect(path, handlers, options = {}) {
    const store = options.catchUp ? storage() : null;
    if (store) store.removeItem(MARK_KEY + path); // a page just loaded shows nothing yet
    let socket = null;
    let attempt = 0;
    let pending = []; // [{word, resolve}] in the order the commands were sent

    const client = {
      send(text) {
        if (socket && socket.readyState === WebSocket.OPEN) {
          socket.send(text);
          return true;
        }
        return false;
      },
      request(text) {
        const word = split(text)[0];
        return new Promise((resolve) => {
          if (!client.send(text)) {
            resolve({ ok: false, word, rest: "not connected: wait a moment and try again" });
            return;
          }
          pending.push({ word, resolve });
        });
      },
      get connected() {
        return socket !== null && socket.readyState === WebSocket.OPEN;
      },
    };

    function answer(ok, replyWord, rest) {
      const word = ok ? REPLY_TO[replyWord] || replyWord : replyWord;
      const index = pending.findIndex((p) => p.word === word);
      if (index < 0) return false;
      pending.splice(index, 1)[0].resolve({ ok, word, rest });
      return true;
    }

    function onMessage(event) {
      if (typeof event.data !== "string") return;
      const [word, rest] = split(event.data);
      if (word === "mark" && options.catchUp) remember(path, rest);
      if (word === "success" || word === "error") {
        const [replyWord, detail] = split(rest);
        if (answer(word === "success", replyWord, detail)) return;
      }
      handlers.message(word, rest, event.data);
    }

    let everConnected = false;

    function open() {
      showState(everConnected ? "reconnecting" : "connecting");
      socket = new WebSocket(handshake(path, options));
      socket.addEventListener("open", () => {
        attempt = 0;
        everConnected = true;
        showState("connected");
        if (handlers.open) handlers.open(client);
      });
      socket.addEventListener("message", onMessage);
      socket.addEventListener("close", () => {
        const dropped = pending;
        pending = [];
        for (const p of dropped) p.resolve({ ok: false, word: p.word, rest: "connection lost" });
        socket = null;
        showState("reconnecting");
        if (handlers.close) handlers.close();
        // Exponential backoff with "equal jitter": half fixed, half random, so a server
        // restart is not met by every screen in the building at the same instant.
        const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** attempt);
        attempt += 1;
        setTimeout(open, ceiling / 2 + Math.random() * (ceiling / 2));
      });
    }

    open();
    return client;
  }

  /* Ticket JSON from a broadcast; null when the frame is not what the protocol says. */
  function ticket(json) {
    try {
      const t = JSON.parse(json);
      return t && typeof t.id === "number" ? t : null;
    } catch (_) {
      return null;
    }
  }

  function ended(t) {
    return t.end && !t.end.startsWith("1970-");
  }

  /* "Ada Lovelace" -> "Ada L."; a single name stays as it is. */
  function shortName(name) {
    const parts = name.trim().split(/\s+/);
    if (parts.length < 2) return parts[0] || "";
    return parts[0] + " " + Array.from(parts[parts.length - 1])[0].toUpperCase() + ".";
  }

  window.TQ = { connect, split, ticket, ended, shortName };
})();
