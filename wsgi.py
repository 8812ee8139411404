"""The object gunicorn serves: `gunicorn wsgi:app` (gunicorn.conf.py picks the worker)."""

from app import create_app
from tablequeue.live import floorwatch

app = create_app(serving=True)
# Each gunicorn worker imports this module (never preloaded), so each gets its own listener.
if "tablequeue.relay" in app.extensions:
    app.extensions["tablequeue.relay"].start()
floorwatch.start(app)
# Each worker sends the mail outbox (tablequeue.ops.mail) when SMTP_URL and MAIL_FROM are set.
from tablequeue.ops import mail  # noqa: E402

mail.start(app)
