"""The live layer: websocket routes, handlers, who receives what, delivery."""
