"""The live layer: websocket routes, handlers, who receives what, delivery, and the
background loops of a serving worker (start.py starts them all)."""
