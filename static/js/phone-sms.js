/* The phone page's "Text me when it's my turn": the number goes to POST /v/<code>/sms
 * (the link's own code is the proof of holding the ticket); the page then says where the
 * texts go, masked. "Stop texting me" takes the number off the ticket. */
(function () {
  "use strict";

  function start() {
    const box = document.getElementById("phone-sms");
    if (!box) return;
    const form = document.getElementById("phone-sms-form");
    const wanted = document.getElementById("phone-sms-me");
    const number = document.getElementById("phone-sms-number");
    const error = document.getElementById("phone-sms-error");
    const on = document.getElementById("phone-sms-on");
    const stop = document.getElementById("phone-sms-stop");

    function say(text) {
      error.textContent = text ? text.charAt(0).toUpperCase() + text.slice(1) + "." : "";
    }

    function show(masked) {
      document.getElementById("phone-sms-to").textContent = masked || "";
      on.classList.toggle("hidden", !masked);
      stop.classList.toggle("hidden", !masked);
      form.classList.toggle("hidden", !!masked);
    }

    async function post(fields) {
      const meta = document.querySelector('meta[name="csrf-token"]');
      // The page sends no Referer (its URL holds the code); this request may, to us only:
      // Flask-WTF checks it on HTTPS.
      return fetch(box.dataset.url, {
        method: "POST", body: new URLSearchParams(fields), credentials: "same-origin",
        headers: { "X-CSRFToken": meta ? meta.content : "" }, referrerPolicy: "same-origin",
      });
    }

    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (!wanted.checked) return say("tick \u201cText me when it's my turn\u201d first");
      say("");
      try {
        const response = await post({ number: number.value.trim() });
        const text = await response.text();
        if (response.ok) { number.value = ""; wanted.checked = false; return show(text); }
        say(response.status === 422 || response.status === 429 ? text.replace(/\.$/, "") : "something went wrong, please try again");
      } catch (failure) {
        say("the queue cannot be reached, please try again");
      }
    });

    stop.addEventListener("click", async () => {
      try {
        const response = await post({ stop: "1" });
        if (response.ok) show("");
      } catch (failure) { /* the button stays; try again */ }
    });
  }

  document.addEventListener("DOMContentLoaded", start);
})();
