"""tablequeue: a walk-in service queue (docs/architecture.md)."""
