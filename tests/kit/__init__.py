"""The shared test kit: what tests/ and bench/ both import, and nothing else does.

live (a real gunicorn server and websocket clients), http_client (a cookie-keeping HTTP
client), frames (a raw handshake, exact frame bytes), races (commands sent at one instant,
the write lock held), follow (a phone following its ticket), mail_server (a real SMTP
server), twilio_server (a stand-in for Twilio's API), webhook_receiver (a consumer that
verifies signatures), tls (a test CA for https on 127.0.0.1), texts (asking for texts,
the outbox, the workers), browser (Chromium helpers and the accessibility audit),
artifacts (screenshots and measurements for the docs), report_data and report_year
(generated histories for the reports), scale (screens checked against the database, a
private Redis, a TCP proxy in front of PostgreSQL), services (are PostgreSQL and Redis
up? for `make test`).

The kit imports no test module and nothing from bench/; fixtures live in conftest.py files."""
