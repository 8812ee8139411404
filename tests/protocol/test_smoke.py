"""The seed document's happy path, end to end, over real websockets."""

import json

from tests.kit.live import LiveServer


def test_kiosk_ticket_reaches_staff_and_display(fresh: LiveServer, connect) -> None:
    token = fresh.add_staff("ada")
    staff, display, kiosk = connect("/ws/staff"), connect("/ws/display"), connect("/ws/kiosk")
    assert staff.recv() == "taken"
    assert staff.ask(f"pick 3 {token}") == "success pick 3"
    assert display.recv() == "pick 3"
    reply = kiosk.ask("new visitor@example.org Grace Hopper")
    assert reply.startswith("success new ")
    ticket = json.loads(reply.removeprefix("success new "))
    assert staff.recv() == "new " + reply.removeprefix("success new ")
    assert staff.ask(f"accept {ticket['id']}") == f"success claimed {ticket['id']}"
    claimed = json.loads(staff.recv().removeprefix("claimed "))
    assert claimed["staff"] == "ada"
    shown = display.recv()
    assert shown.startswith("claimed ada 3 ")
    assert json.loads(shown.split(" ", 3)[3])["email"] == ""
