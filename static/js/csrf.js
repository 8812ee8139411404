/* Send the CSRF token with every htmx request, in the header Flask-WTF reads by default
 * (X-CSRFToken), from <meta name="csrf-token">; forms also carry it as a hidden field. */
document.addEventListener("htmx:configRequest", (event) => {
  const meta = document.querySelector('meta[name="csrf-token"]');
  if (meta && meta.content) event.detail.headers["X-CSRFToken"] = meta.content;
});
