/* The kiosk: `query` fills the name of a returning visitor, `new` gets them a ticket. */
(function () {
  "use strict";
  const QUERY_DELAY_MS = 350;
  const EMAIL = /^[^@\s]+@[^@\s.]+(\.[^@\s.]+)+$/;

  function start() {
    const root = document.getElementById("kiosk");
    const form = document.getElementById("kiosk-form");
    const email = document.getElementById("kiosk-email");
    const name = document.getElementById("kiosk-name");
    const error = document.getElementById("kiosk-error");
    const submit = document.getElementById("kiosk-submit");
    const formView = document.getElementById("kiosk-form-view");
    const confirmation = document.getElementById("kiosk-confirmation");
    const greeting = document.getElementById("kiosk-greeting");
    const resetSeconds = Number(root.dataset.resetSeconds) || 10;
    const client = TQ.connect("/ws/kiosk", { message() {} });
    let queryTimer = null;
    let autofilled = ""; // the name `query` put there, which we may replace again
    let resetTimer = null;
    // Extensions (kiosk-follow.js) listen on the root: the client, each ticket, each reset.
    const tell = (name, detail) => root.dispatchEvent(new CustomEvent(name, { detail }));
    tell("kiosk:ready", { client });

    function say(text) {
      error.textContent = text ? text.charAt(0).toUpperCase() + text.slice(1) + "." : "";
    }

    async function lookUp() {
      const typed = email.value.trim();
      if (!EMAIL.test(typed)) return;
      const reply = await client.request("query " + typed);
      if (!reply.ok || email.value.trim() !== typed) return;
      if (name.value.trim() === "" || name.value === autofilled) {
        name.value = autofilled = reply.rest;
        name.classList.add("autofilled");
      }
    }

    email.addEventListener("input", () => {
      clearTimeout(queryTimer);
      queryTimer = setTimeout(lookUp, QUERY_DELAY_MS);
    });
    name.addEventListener("input", () => name.classList.remove("autofilled"));

    function reset() {
      clearTimeout(resetTimer);
      form.reset();
      autofilled = "";
      name.classList.remove("autofilled");
      say("");
      confirmation.classList.add("hidden");
      formView.classList.remove("hidden");
      submit.disabled = false;
      tell("kiosk:reset", {});
    }

    function confirm(ticket, visitor) {
      greeting.textContent = "Thanks, " + visitor.split(/\s+/)[0] + "!";
      const placeholder = document.createElement("div");
      placeholder.id = "kiosk-ticket";
      placeholder.className = "confirm";
      const number = document.createElement("p");
      number.className = "ticket-number";
      number.id = "kiosk-ticket-number";
      number.textContent = String(ticket.id);
      placeholder.append(number);
      document.getElementById("kiosk-ticket").replaceWith(placeholder);
      formView.classList.add("hidden");
      confirmation.classList.remove("hidden");
      // Position and estimate come from the server as a partial (never names or emails).
      const url = root.dataset.ticketUrl.replace(/0$/, String(ticket.id));
      htmx.ajax("GET", url, { target: "#kiosk-ticket", swap: "outerHTML" });
      tell("kiosk:ticket", { ticket });
      resetTimer = setTimeout(reset, resetSeconds * 1000);
    }

    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const visitorEmail = email.value.trim();
      const visitorName = name.value.trim();
      if (!visitorEmail) return say("please type your email"), email.focus();
      if (!visitorName) return say("please type your name"), name.focus();
      submit.disabled = true;
      say("");
      const reply = await client.request("new " + visitorEmail + " " + visitorName);
      submit.disabled = false;
      const ticket = reply.ok ? TQ.ticket(reply.rest) : null;
      if (!ticket) return say(reply.ok ? "something went wrong, please try again" : reply.rest);
      confirm(ticket, visitorName);
    });

    document.getElementById("kiosk-done").addEventListener("click", reset);
  }

  document.addEventListener("DOMContentLoaded", start);
})();
