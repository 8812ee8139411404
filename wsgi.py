"""The object gunicorn serves: `gunicorn wsgi:app` (gunicorn.conf.py picks the worker)."""

from app import create_app

app = create_app()
