"""Every transaction owner writes one event-log row per site it changed, and a refusal
none (tablequeue.service.eventlog.seal in each owner, docs/design-27.md §1)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from flask import Flask

from tablequeue.db import read_only, unit_of_work
from tablequeue.outcomes import (
    Event,
    FloorChanged,
    SiteId,
    TablePicked,
)
from tablequeue.service import eventlog
from tests.kit.database import default_site_id, first_line_id
from tests.kit.eventlog import Log, log_of, main_site, newest, other_site, sealed, staff_token
from tests.kit.live import LiveServer


def test_each_command_writes_one_row_and_a_refusal_none(log_app: Flask, fresh: LiveServer) -> None:
    from tablequeue import service
    from tablequeue.service import away, putback, taking

    site, log = main_site(fresh), Log(fresh)
    ada, bob = staff_token("ada"), staff_token("bob")
    assert service.pick(ada, 1, site=site).ok
    assert log.new() == [(site, ["TablePicked", "TablesChanged"])]
    assert service.pick(ada, 1, site=site).ok  # already there: no change, no row
    assert not service.pick(bob, 1, site=site).ok
    assert not service.new("not an email", "Vi", site=site).ok
    assert log.new() == []
    first = service.new("vi@example.org", "Vi", site=site)
    assert [e.seq for e in first.events] == [2]  # the pick was 1
    second = service.new("wu@example.org", "Wu", site=site).value.id
    assert log.new() == [(site, ["TicketCreated"]), (site, ["TicketCreated"])]
    assert not service.accept(ada, 999, site=site).ok
    assert not service.complete(ada, first.value.id, site=site).ok
    assert log.new() == []
    assert service.accept(ada, first.value.id, site=site).ok
    assert log.new() == [(site, ["TicketClaimed"])]
    assert putback.requeue(ada, first.value.id, site=site).ok
    assert log.new() == [(site, ["TicketRequeued"])]
    assert taking.mark_priority(ada, second, "elderly", site=site).ok
    assert log.new() == [(site, ["TicketMarked"])]
    assert taking.next_ticket(ada, site=site).ok
    assert log.new() == [(site, ["TicketClaimed"])]
    assert not taking.next_ticket(ada, site=site).ok  # serving already
    assert log.new() == []
    assert service.complete(ada, second, site=site).ok
    assert log.new() == [(site, ["TicketEnded"])]
    assert service.accept(ada, first.value.id, site=site).ok
    assert service.cancel(ada, first.value.id, site=site).ok
    assert log.new() == [(site, ["TicketClaimed"]), (site, ["TicketEnded"])]
    assert away.away(ada, site=site).ok
    assert away.away(ada, site=site).ok  # said twice: no change, no row
    assert away.back(ada, site=site).ok
    assert log.new() == [(site, ["TableAway"]), (site, ["TableAway"])]
    assert not taking.serve(ada, [], site=site).ok
    with fresh.engine().connect() as conn:
        assert taking.serve(ada, [first_line_id(conn, site)], site=site).ok
    assert log.new() == [(site, ["ServeChanged"])]
    assert service.unpick(ada, site=site).ok
    assert not service.unpick(ada, site=site).ok
    assert log.new() == [(site, ["TableUnpicked", "TablesChanged"])]


def test_a_transfer_and_a_line_change(log_app: Flask, fresh: LiveServer) -> None:
    from tablequeue import service
    from tablequeue.service import lines, taking

    site, log = main_site(fresh), Log(fresh)
    with unit_of_work() as session:
        other = eventlog.sealed(session, lines.add(session, site, "Bursar")).value.id
    assert log.new() == [(site, ["LinesChanged"])]
    ada = staff_token("ada")
    assert service.pick(ada, 1, site=site).ok
    ticket = service.new("vi@example.org", "Vi", site=site).value.id
    assert service.accept(ada, ticket, site=site).ok
    log.new()
    assert not taking.transfer(ada, ticket, 999, site=site).ok
    assert taking.transfer(ada, ticket, other, site=site).ok
    assert log.new() == [(site, ["TicketTransferred"])]


def test_admin_accounts_and_sweeps(log_app: Flask, fresh: LiveServer) -> None:
    from tablequeue import service
    from tablequeue.service import admin, away, follow, identity, staffing

    site, b = main_site(fresh), other_site(fresh, "b")
    log = Log(fresh)
    staff_token("root")  # the first account is admin of every site: works at each
    ada, bob = staff_token("ada", [site, b]), staff_token("bob")
    assert service.pick(ada, 1, site=site).ok and service.pick(bob, 2, site=site).ok
    ticket = service.new("vi@example.org", "Vi", site=site).value.id
    assert service.accept(ada, ticket, site=site).ok
    log.new()
    assert admin.set_table_count(30, site=site)[0].seq > 0
    assert log.new() == [(site, ["TableCountChanged"])]
    waiting = service.new("wu@example.org", "Wu", site=site).value.id
    log.new()
    assert admin.close_waiting(site=site)[0] == 1
    assert admin.close_waiting(site=site) == (0, [])
    assert log.new() == [(site, ["TicketWithdrawn"])]
    assert [e.site for e in staffing.work_at("ada", [b])] == [site] * 3
    assert log.new() == [(site, ["TableUnpicked", "TicketRequeued", "TablesChanged"])]
    assert identity.revoke_sessions("ada").ok
    assert log.new() == [(b, ["SessionsRevoked"])]
    identity.set_password("bob", "another password")
    assert log.new() == [(site, ["SessionsRevoked"])]
    staff_token("cy")
    identity.set_active("cy", False)  # no table: only its session ends
    assert log.new() == [(site, ["SessionsRevoked"])]
    identity.issue_token("bob")
    identity.remove_staff("bob")
    assert log.new() == [(site, ["TableUnpicked", "TablesChanged", "SessionsRevoked"])]
    # A visitor leaves from their phone.
    code, hashed = follow.new_code()
    follow.issue(ticket, hashed, False, "http://x/f/" + code, site=site)
    log.new()
    assert follow.leave(code).ok
    assert not follow.leave(code).ok
    assert log.new() == [(site, ["TicketWithdrawn"])]
    # The away sweep frees a table whose staff member stayed away too long.
    dan = staff_token("dan")
    assert service.pick(dan, 3, site=site).ok and away.away(dan, site=site).ok
    log.new()
    with fresh.engine().begin() as conn:
        conn.execute(sa.text("UPDATE table_assignments SET away_since = :old")
                     .bindparams(sa.bindparam("old", type_=sa.DateTime(timezone=True))),
                     {"old": datetime.now(UTC) - timedelta(hours=2)})
    assert away.release_overdue(60)
    assert away.release_overdue(60) == []
    assert log.new() == [(site, ["TableUnpicked", "TablesChanged"])]
    assert waiting


def test_n_kiosks_at_once_number_without_holes(fresh: LiveServer) -> None:
    """The counter's row lock orders the storm: n runs take the next n numbers."""
    from tests.kit.races import at_once

    n = 12
    with fresh.engine().connect() as conn:
        site = default_site_id(fresh, conn)
    base = newest(fresh, site)  # numbers outlive LiveServer.reset
    kiosks = [fresh.connect("/ws/kiosk") for _ in range(n)]
    try:
        replies = at_once(kiosks, [f"new v{i}@example.org Visitor {i}" for i in range(n)])
    finally:
        for kiosk in kiosks:
            kiosk.close()
    assert all(r.startswith("success new ") for r in replies), replies
    assert [seq for _, seq, _ in log_of(fresh)] == list(range(base + 1, base + n + 1))
    assert newest(fresh, site) == base + n
    ids = sorted(json.loads(body)[0]["ticket"]["id"] for _, _, body in log_of(fresh))
    assert ids == sorted(int(r.split('"id":')[1].split(",")[0]) for r in replies)


def test_deleting_a_visitor_empties_their_sites_logs(log_app: Flask, fresh: LiveServer) -> None:
    from tablequeue import service
    from tablequeue.service import admin, privacy

    site, b = main_site(fresh), other_site(fresh, "b")
    sealed([TablePicked(1, site=b)])
    service.new("vi@example.org", "Vi", site=site)
    admin.close_waiting(site=site)
    assert {s for s, _, _ in log_of(fresh)} == {site, b}
    assert privacy.delete_visitor("VI@example.org") == 1
    assert [(s, n) for s, n, _ in log_of(fresh)] == [(b, 1)]
    with read_only() as conn:  # numbers go on; what was before is lost to catch-up
        assert eventlog.since(conn, site, 0) is None


def test_registry_publish_is_the_door(caplog: pytest.LogCaptureFixture) -> None:
    """An unsealed event at Registry.publish: an error under EVENT_LOG_STRICT, else a log
    line and the event still delivered; FloorChanged goes unnumbered."""
    from tablequeue.live.registry import Registry

    site = SiteId(1)
    strict = Registry(display_shows_email=False, event_log_strict=True)
    strict.publish([FloorChanged(site=site), TablePicked(1, site=site, seq=3)])
    with pytest.raises(eventlog.UnsealedError):
        strict.publish([TablePicked(1, site=site)])
    heard: list[list[Event]] = []
    lenient = Registry(display_shows_email=False)
    lenient.followers.append(heard.append)
    lenient.publish([TablePicked(2, site=site)])
    assert heard == [[TablePicked(2, site=site)]]
    assert "published without seal (TablePicked)" in caplog.text
