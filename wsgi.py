"""The object gunicorn serves: `gunicorn wsgi:app` (gunicorn.conf.py picks the worker).

Each gunicorn worker imports this module (never preloaded), so each starts its own
background loops (tablequeue.live.start)."""

import gc

from app import create_app
from tablequeue.live.start import start

app = create_app(serving=True)
start(app)
# What the worker built to start (modules, the app, its loops) lives as long as it does:
# frozen, it is out of the collector's sight, and a full collection scans only what serving
# made since (measured under the bench's claim storm: ~145k objects, ~90 ms a pass, to
# ~5k objects, ~5 ms). Collected first, so no garbage of the start is kept for good.
gc.collect()
gc.freeze()
