/* The kiosk's "Text me when it's my turn": ticking it asks for a mobile number. Before
 * the form's sign-in runs (kiosk.js), POST /sms/check says whether the number can be
 * texted (a refusal is shown like the form's own, and no ticket is made); once the
 * ticket's follow link is made (kiosk-follow.js: `kiosk:link`), POST /v/<code>/sms
 * asks for the texts, and the confirmation says where they go (the number masked). */
(function () {
  "use strict";

  function csrfHeaders() {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return { "X-CSRFToken": meta ? meta.content : "" };
  }

  async function post(url, fields) {
    return fetch(url, {
      method: "POST", body: new URLSearchParams(fields), headers: csrfHeaders(),
      credentials: "same-origin", redirect: "manual",
    });
  }

  function start() {
    const root = document.getElementById("kiosk");
    const box = document.getElementById("kiosk-sms");
    if (!root || !box) return;
    const form = document.getElementById("kiosk-form");
    const wanted = document.getElementById("kiosk-sms-me");
    const numberBox = document.getElementById("kiosk-sms-box");
    const number = document.getElementById("kiosk-sms-number");
    const error = document.getElementById("kiosk-error");
    const status = document.getElementById("kiosk-sms-status");
    let checked = null; // the number /sms/check accepted, for the sign-in under way
    let forTicket = null; // ...kept for the ticket it was given with

    function say(text) {
      error.textContent = text ? text.charAt(0).toUpperCase() + text.slice(1) + "." : "";
    }

    number.addEventListener("input", () => say("")); // a refusal of the number is stale now
    wanted.addEventListener("change", () => {
      numberBox.classList.toggle("hidden", !wanted.checked);
      if (wanted.checked) number.focus();
    });

    // Capturing on the page's root: this runs before kiosk.js's own submit handler, and
    // holds the sign-in back until the number is known to be textable.
    root.addEventListener("submit", async (event) => {
      if (event.target !== form || !wanted.checked) { forTicket = null; return; }
      const typed = number.value.trim();
      if (checked !== null && checked === typed) { forTicket = typed; checked = null; return; }
      event.preventDefault();
      event.stopImmediatePropagation();
      if (!document.getElementById("kiosk-email").value.trim() ||
          !document.getElementById("kiosk-name").value.trim()) {
        checked = typed; // the form's own checks speak first
        return form.requestSubmit();
      }
      try {
        const response = await post(box.dataset.checkUrl, { number: typed });
        if (response.status === 204) { checked = typed; return form.requestSubmit(); }
        say(response.status === 422 ? await response.text() : "something went wrong, please try again");
      } catch (failure) {
        say("the queue cannot be reached, please try again");
      }
      number.focus();
    }, true);

    root.addEventListener("kiosk:link", async (event) => {
      if (!forTicket) return;
      const typed = forTicket;
      forTicket = null;
      let words = "We couldn't set up texts; follow your place with the QR code instead.";
      try {
        const response = await post("/v/" + encodeURIComponent(event.detail.code) + "/sms", { number: typed });
        if (response.ok) words = "We'll text " + (await response.text()) + " when it's your turn.";
      } catch (failure) { /* the words above */ }
      status.textContent = words;
      status.classList.remove("hidden");
    });

    root.addEventListener("kiosk:reset", () => {
      wanted.checked = false;
      numberBox.classList.add("hidden");
      number.value = "";
      status.textContent = "";
      status.classList.add("hidden");
      checked = forTicket = null;
    });
  }

  document.addEventListener("DOMContentLoaded", start);
})();
