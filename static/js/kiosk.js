/* The kiosk: `query` fills the name of a returning visitor, `new` gets them a ticket.
 * Before `new`, the page asks POST /kiosk/waiting whether this email already holds a
 * waiting ticket; if so the visitor sees that ticket and gets no second one. When the
 * visitor chose a service line (kiosk-lines.js sets data-join-line on the root), the ticket
 * comes from the extension `join LINE EMAIL NAME` instead of `new`. */
(function () {
  "use strict";
  const QUERY_DELAY_MS = 350;
  const EMAIL = /^[^@\s]+@[^@\s.]+(\.[^@\s.]+)+$/;

  const $ = (id) => document.getElementById(id);

  function start() {
    const root = $("kiosk");
    const form = document.getElementById("kiosk-form");
    const email = document.getElementById("kiosk-email");
    const name = document.getElementById("kiosk-name");
    const error = document.getElementById("kiosk-error");
    const submit = document.getElementById("kiosk-submit");
    const formView = document.getElementById("kiosk-form-view");
    const confirmation = document.getElementById("kiosk-confirmation");
    const greeting = document.getElementById("kiosk-greeting");
    const resetSeconds = Number(root.dataset.resetSeconds) || 10;
    // Extensions (kiosk-follow.js, kiosk-lines.js) listen on the root: each (re)connect,
    // every pushed frame, each ticket, each reset.
    const tell = (name, detail) => root.dispatchEvent(new CustomEvent(name, { detail }));
    const client = TQ.connect(root.dataset.socket, {
      open(c) {
        TQFloor.reset();
        c.request("watch"); // the extension: announcements and whether the line is open
        tell("kiosk:open", { client: c });
      },
      message(word, rest) {
        if (!TQFloor.handle(word, rest)) tell("kiosk:frame", { word, rest });
      },
    });
    let queryTimer = null;
    let autofilled = ""; // the name `query` put there, which we may replace again
    let autofilledFor = ""; // ...and the (lower-cased) email it belongs to
    let resetTimer = null;
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
        autofilledFor = typed.toLowerCase();
        name.classList.add("autofilled");
      }
    }

    function forgetAutofill() {
      autofilled = autofilledFor = "";
      name.classList.remove("autofilled");
    }

    email.addEventListener("input", () => {
      // A name filled in for another email is someone else's: it goes at once (what the
      // visitor typed themselves stays). `query` fills it again if the email matches again.
      if (autofilled && name.value === autofilled && email.value.trim().toLowerCase() !== autofilledFor) {
        name.value = "";
        forgetAutofill();
      }
      clearTimeout(queryTimer);
      queryTimer = setTimeout(lookUp, QUERY_DELAY_MS);
    });
    name.addEventListener("input", forgetAutofill);

    function reset() {
      clearTimeout(resetTimer);
      form.reset();
      forgetAutofill();
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
      showConfirmation();
      // Position and estimate come from the server as a partial (never names or emails).
      const url = root.dataset.ticketUrl.replace(/0$/, String(ticket.id));
      htmx.ajax("GET", url, { target: "#kiosk-ticket", swap: "outerHTML" });
      tell("kiosk:ticket", { ticket });
    }

    function showConfirmation() {
      formView.classList.add("hidden");
      confirmation.classList.remove("hidden");
      $("kiosk-done").focus();
      resetTimer = setTimeout(reset, resetSeconds * 1000);
    }

    // The visitor's own waiting ticket as the server's partial, or null when they have none.
    async function waitingTicket(visitorEmail) {
      const meta = document.querySelector('meta[name="csrf-token"]');
      const response = await fetch(root.dataset.waitingUrl, {
        method: "POST",
        body: new URLSearchParams({ email: visitorEmail }),
        headers: { "X-CSRFToken": meta ? meta.content : "" },
        credentials: "same-origin",
        redirect: "manual", // a redirect means /device: this kiosk's key is gone
      });
      if (response.type === "opaqueredirect") throw new Error("this kiosk must be set up again, please ask a member of staff");
      if (response.status === 204) return null;
      if (response.ok) return response.text();
      throw new Error(response.status === 429 ? "too many sign-ins from this kiosk, please wait a minute"
        : "something went wrong, please try again");
    }

    function alreadyWaiting(partial, visitor) {
      greeting.textContent = "You are already in line, " + visitor.split(/\s+/)[0] + "!";
      const template = document.createElement("template");
      template.innerHTML = partial; // server-rendered and autoescaped: number and place only
      $("kiosk-ticket").replaceWith(template.content);
      showConfirmation();
    }

    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const visitorEmail = email.value.trim();
      const visitorName = name.value.trim();
      if (!visitorEmail) return say("please type your email"), email.focus();
      if (!visitorName) return say("please type your name"), name.focus();
      submit.disabled = true;
      say("");
      try {
        const partial = await waitingTicket(visitorEmail);
        if (partial) return alreadyWaiting(partial, visitorName);
        const line = root.dataset.joinLine || "";
        const reply = await client.request((line ? "join " + line + " " : "new ") + visitorEmail + " " + visitorName);
        const ticket = reply.ok ? TQ.ticket(reply.rest) : null;
        if (!ticket) return say(reply.ok ? "something went wrong, please try again" : reply.rest);
        confirm(ticket, visitorName);
      } catch (error) {
        say(error instanceof TypeError ? "the queue cannot be reached, please try again" : error.message);
      } finally {
        submit.disabled = false;
      }
    });

    $("kiosk-done").addEventListener("click", reset);
  }

  document.addEventListener("DOMContentLoaded", start);
})();
