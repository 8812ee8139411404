/* The visitor's phone: follows one ticket over /ws/visitor (`follow CODE`, then `state
 * {json}` on every change). A phone that slept or lost the network asks again as soon as
 * it wakes or comes back online, and says when it is offline. */
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const BACKOFF_MAX_MS = 3000;
  const WATCHDOG_MS = 4000; // a `refresh` unanswered this long: the socket is dead
  const FINAL = { served: 1, "no-show": 1, closed: 1, left: 1 };

  function words(state) {
    if (state.status === "waiting") {
      const ahead = state.ahead;
      const headline = ahead === 0 ? "You're next"
        : ahead === 1 ? "1 person ahead of you" : ahead + " people ahead of you";
      const detail = state.minutes ? "Estimated wait: about " + state.minutes + " min"
        : "We'll call you here when it's your turn.";
      return [headline, detail];
    }
    if (state.status === "serving") return ["Being served at table " + state.table, "Ticket " + state.id];
    return {
      served: ["You've been served", "Thanks for coming!"],
      "no-show": ["Marked as a no-show", "You were called but not found. Sign in again at the kiosk if you still need help."],
      closed: ["The line is closed", "The line was closed for today. Sorry we could not see you."],
      left: ["You left the line", "Sign in again at the kiosk if you change your mind."],
    }[state.status] || ["", ""];
  }

  function start() {
    const root = $("phone");
    const code = root.dataset.code;
    let state = JSON.parse(root.dataset.state);
    let socket = null;
    let attempt = 0;
    let retryTimer = null;
    let watchdog = null;
    let soundOn = false;
    const seenKey = "tq.called." + state.id;

    function showConnection(mode) {
      const el = $("phone-conn");
      el.dataset.connection = mode;
      el.textContent = {
        connected: "Live",
        connecting: "Connecting…",
        reconnecting: "Reconnecting…",
        offline: "Offline: waiting for the network",
      }[mode];
    }

    function render(next, live) {
      const wasServing = state.status === "serving";
      state = next;
      const [headline, detail] = words(state);
      $("phone-headline").textContent = headline;
      $("phone-detail").textContent = detail;
      // The ticket's service line, while the site has several (a transfer changes it).
      $("phone-line").textContent = state.line || "";
      $("phone-line").classList.toggle("hidden", !state.line);
      $("phone-leave").classList.toggle("hidden", state.status !== "waiting");
      const final = state.status in FINAL;
      root.toggleAttribute("data-final", final);
      $("phone-sound").classList.toggle("hidden", final);
      $("phone-notify").classList.toggle("hidden", final || !("Notification" in window)
        || Notification.permission !== "default");
      if (state.status === "serving" && sessionStorage.getItem(seenKey) !== String(state.table)) {
        call(live && !wasServing);
      } else if (state.status !== "serving") {
        $("phone-call").classList.add("hidden");
      }
      document.title = (state.status === "serving" ? "Go to table " + state.table : "Ticket " + state.id + ": " + headline);
    }

    function call(alertNow) {
      const text = "Go to table " + state.table;
      $("phone-call-words").textContent = text;
      $("phone-call").classList.remove("hidden");
      $("phone-call-ok").focus();
      if (!alertNow) return;
      if (navigator.vibrate) navigator.vibrate([400, 150, 400, 150, 800]);
      if (soundOn && window.TQSound) window.TQSound.chime();
      if ("Notification" in window && Notification.permission === "granted") {
        try {
          new Notification(text, { body: "Ticket " + state.id, tag: "tq-call-" + state.id });
        } catch (_) { /* Android needs a service worker for this; the page still calls */ }
      }
    }

    $("phone-call-ok").addEventListener("click", () => {
      sessionStorage.setItem(seenKey, String(state.table));
      $("phone-call").classList.add("hidden");
    });
    $("phone-sound").addEventListener("click", () => {
      soundOn = !soundOn;
      if (soundOn && window.TQSound) { window.TQSound.unlock(); window.TQSound.chime(); }
      $("phone-sound").setAttribute("aria-pressed", String(soundOn));
      $("phone-sound").textContent = soundOn ? "Sound is on" : "Tap to turn on sound";
    });
    $("phone-notify").addEventListener("click", async () => {
      if (!("Notification" in window)) return;
      await Notification.requestPermission();
      render(state, false);
    });

    // ---- leaving the line --------------------------------------------------------------
    const dialog = $("phone-confirm");
    $("phone-leave").addEventListener("click", () => { $("phone-leave-error").textContent = ""; dialog.showModal(); });
    $("phone-stay").addEventListener("click", () => dialog.close());
    $("phone-leave-yes").addEventListener("click", () => {
      if (!send("leave")) $("phone-leave-error").textContent = "You are offline: try again in a moment.";
    });

    // ---- the connection ------------------------------------------------------------------
    function send(text) {
      if (socket && socket.readyState === WebSocket.OPEN) { socket.send(text); return true; }
      return false;
    }

    function onMessage(event) {
      if (typeof event.data !== "string") return;
      clearTimeout(watchdog);
      const text = event.data;
      if (text.startsWith("state ")) {
        try { render(JSON.parse(text.slice(6)), true); } catch (_) { /* not ours */ }
      } else if (text === "success leave") {
        dialog.close();
      } else if (text.startsWith("error leave ")) {
        $("phone-leave-error").textContent = text.slice(12);
      } else if (text.startsWith("error follow ") || text.startsWith("error refresh this link")) {
        location.reload(); // the link expired: the server's page says so
      }
    }

    function open() {
      clearTimeout(retryTimer);
      if (socket) return;
      if (!navigator.onLine) { showConnection("offline"); return; }
      showConnection(attempt ? "reconnecting" : "connecting");
      const ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws/visitor");
      socket = ws;
      ws.addEventListener("open", () => { attempt = 0; showConnection("connected"); ws.send("follow " + code); });
      ws.addEventListener("message", onMessage);
      ws.addEventListener("close", () => {
        if (socket !== ws) return;
        socket = null;
        clearTimeout(watchdog);
        showConnection(navigator.onLine ? "reconnecting" : "offline");
        const ceiling = Math.min(BACKOFF_MAX_MS, 300 * 2 ** attempt);
        attempt += 1;
        retryTimer = setTimeout(open, ceiling / 2 + Math.random() * (ceiling / 2));
      });
    }

    function drop() {
      const ws = socket;
      socket = null;
      if (ws) ws.close();
    }

    // Woken up or back online: ask for the truth now; a socket that does not answer is dead.
    function wake() {
      if (document.visibilityState !== "visible") return;
      if (!socket) { attempt = 0; open(); return; }
      if (send("refresh")) {
        clearTimeout(watchdog);
        watchdog = setTimeout(() => { drop(); attempt = 0; open(); }, WATCHDOG_MS);
      }
    }
    document.addEventListener("visibilitychange", wake);
    window.addEventListener("online", () => { attempt = 0; drop(); open(); });
    window.addEventListener("offline", () => { drop(); clearTimeout(retryTimer); showConnection("offline"); });
    window.addEventListener("pageshow", (event) => { if (event.persisted) wake(); });

    render(state, false);
    open();
  }

  document.addEventListener("DOMContentLoaded", start);
})();
