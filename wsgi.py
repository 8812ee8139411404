"""The object gunicorn serves: `gunicorn wsgi:app` (gunicorn.conf.py picks the worker).

Each gunicorn worker imports this module (never preloaded), so each starts its own
background loops (tablequeue.live.start)."""

from app import create_app
from tablequeue.live.start import start

app = create_app(serving=True)
start(app)
