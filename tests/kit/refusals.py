"""What /ws/staff answers when it refuses, word for word as docs/protocol.md states it.
Most follow `error <command> `; the pick refusals are whole frames."""

TOKEN_INVALID = "your session token was found to be invalid. please relogin"
PICK_TOKEN_INVALID = "error pick the provided token does not belong to any staff member"
TABLE_UNAVAILABLE = "error pick the chosen table is not available"
NOT_ASSIGNED = "you are not assigned to any table"
NO_TICKET = "ticket id does not exist"
FINISHED = "the ticket has already been completed or cancelled"
NOT_OWNER = "you do not own this ticket"
