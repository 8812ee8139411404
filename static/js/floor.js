/* The floor's watch messages, shared by the kiosk, the staff console and the display:
 * `announce TEXT` / `unannounce` fill or empty #floor-banner; `closed [TIME]` / `open`
 * show or hide #floor-closed and set <body data-line>. The opening time comes in UTC and
 * is shown in the site's zone (data-timezone on #floor-closed), like every time people read.
 * TQFloor.handle(word, rest) returns true for a message it consumed. */
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);

  function dayOf(moment, zone) {
    return new Intl.DateTimeFormat("en-CA", { timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit" }).format(moment);
  }

  /* "Monday at 09:00", "today at 13:00", "tomorrow at 09:00" in the site's zone. */
  function opening(iso, zone) {
    const at = new Date(iso);
    if (Number.isNaN(at.getTime())) return "";
    const format = (options) => new Intl.DateTimeFormat("en-GB", { timeZone: zone, ...options }).format(at);
    const time = format({ hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
    const day = dayOf(at, zone);
    let name = format({ weekday: "long" });
    if (day === dayOf(new Date(), zone)) name = "today";
    else if (day === dayOf(new Date(Date.now() + 86400000), zone)) name = "tomorrow";
    else if (at - Date.now() > 6 * 86400000) name += " " + format({ day: "numeric", month: "long" });
    return name + " at " + time;
  }

  function announce(text) {
    const banner = $("floor-banner");
    if (!banner) return;
    banner.textContent = text;
    banner.classList.toggle("hidden", !text);
  }

  function line(closed, iso) {
    document.body.dataset.line = closed ? "closed" : "open";
    const box = $("floor-closed");
    if (!box) return;
    box.classList.toggle("hidden", !closed);
    const when = opening(iso || "", box.dataset.timezone || "UTC");
    $("floor-closed-when").textContent = when ? "Closed — we open " + when + "." : "Closed for now.";
  }

  window.TQFloor = {
    reset() {
      announce("");
      line(false, "");
    },
    handle(word, rest) {
      if (word === "announce") announce(rest);
      else if (word === "unannounce") announce("");
      else if (word === "closed") line(true, rest);
      else if (word === "open") line(false, "");
      else return false;
      return true;
    },
    opening,
  };
})();
