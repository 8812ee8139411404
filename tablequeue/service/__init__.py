"""The queue's rules over the database. Each function runs one short transaction and
returns an Outcome (a refusal or a value, plus the events to publish after commit)."""

from tablequeue.service.tables import Picked, holds_table, pick, staff_id_for, taken, unpick
from tablequeue.service.tickets import (
    accept,
    cancel,
    complete,
    new,
    own_serving,
    query,
    tickets_at_tables,
    waiting_tickets,
)

__all__ = [
    "Picked", "accept", "cancel", "complete", "holds_table", "new",
    "own_serving", "pick", "query", "staff_id_for", "taken", "tickets_at_tables", "unpick",
    "waiting_tickets",
]
