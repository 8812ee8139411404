/* The kiosk's follow link: after each ticket, `link ID [email]` gets the ticket's link;
 * its QR code (drawn by the server) and the link go beside the ticket number. With email
 * configured, `notices EMAIL` ticks "Email me" for a visitor who ticked it last time. */
(function () {
  "use strict";
  const LOOKUP_DELAY_MS = 350;
  const EMAIL = /^[^@\s]+@[^@\s.]+(\.[^@\s.]+)+$/;

  function start() {
    const root = document.getElementById("kiosk");
    const box = document.getElementById("kiosk-follow");
    const emailMe = document.getElementById("kiosk-email-me");
    const email = document.getElementById("kiosk-email");
    let client = null;
    let timer = null;
    let touched = false; // the visitor changed the box: their choice wins over last time's

    root.addEventListener("kiosk:ready", (event) => { client = event.detail.client; });
    root.addEventListener("kiosk:reset", () => {
      box.classList.add("hidden");
      touched = false;
      if (emailMe) emailMe.checked = false;
    });
    root.addEventListener("kiosk:ticket", async (event) => {
      const id = event.detail.ticket.id;
      box.classList.add("hidden");
      const wantsMail = !!(emailMe && emailMe.checked);
      const reply = await client.request("link " + id + (wantsMail ? " email" : ""));
      if (!reply.ok) return;
      const url = reply.rest.split(" ")[1] || "";
      const code = url.slice(url.lastIndexOf("/") + 1);
      document.getElementById("kiosk-follow-qr").src = "/v/" + encodeURIComponent(code) + "/qr.svg";
      document.getElementById("kiosk-follow-url").textContent = url.replace(/^https?:\/\//, "");
      box.classList.remove("hidden");
      root.dispatchEvent(new CustomEvent("kiosk:link", { detail: { id, code } })); // kiosk-sms.js
    });

    if (!emailMe) return;
    emailMe.addEventListener("change", () => { touched = true; });
    email.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(async () => {
        const typed = email.value.trim();
        if (!client || touched || !EMAIL.test(typed)) return;
        const reply = await client.request("notices " + typed);
        if (reply.ok && !touched && email.value.trim() === typed) emailMe.checked = reply.rest === "on";
      }, LOOKUP_DELAY_MS);
    });
  }

  document.addEventListener("DOMContentLoaded", start);
})();
