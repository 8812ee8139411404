"""Sites in the service, in process (no websockets): membership and moving between sites,
another site's ticket as one that does not exist, opening hours that end a manual
override, removing a site, the directory seeing a site added elsewhere."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask, current_app
from sqlalchemy.orm import Session

from tablequeue import service
from tablequeue.db import unit_of_work
from tablequeue.models import ReportDay, Ticket, Visitor
from tablequeue.outcomes import (
    Refusal,
    SessionsRevoked,
    SiteId,
    SiteView,
    TablePicked,
    TablesChanged,
    TableUnpicked,
)
from tablequeue.service import admin, floor, identity, putback, sites, stats
from tablequeue.service.directory import directory_of
from tablequeue.service.hours import DAYS
from tablequeue.service.identity import hash_token
from tests.kit.live import LiveServer


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    server = LiveServer(Path(tmp_path_factory.mktemp("sites")))  # migrated, never started
    yield server
    server.close()


@pytest.fixture
def app(live: LiveServer) -> Iterator[Flask]:
    live.reset()
    with live.app.app_context():
        directory_of(live.app).refresh()
        identity.add_staff("boss", "password123")  # the first account: admin of every site
        yield live.app


def home() -> SiteId:
    return directory_of(current_app).default().id


def second_site(slug: str = "career") -> SiteId:
    with unit_of_work() as session:
        added = sites.add(session, slug, "Career office", tables=5, timezone="Europe/Berlin")
    assert added.refusal is None
    return added.value.id


def account(username: str, *where: SiteId) -> str:
    """A new account working at `where`: its session token's hash."""
    identity.add_staff(username, "password123", sites=list(where))
    return hash_token(identity.issue_token(username))


def test_a_pick_where_the_account_does_not_work_is_refused_and_binds_nothing(app: Flask) -> None:
    a, b = home(), second_site()
    ada = account("ada", a)
    assert service.pick(ada, 1, site=b).refusal is Refusal.NOT_MEMBER
    assert service.taken(site=b) == ()
    boss = hash_token(identity.issue_token("boss"))  # admin of every site: member of each
    assert service.pick(boss, 1, site=b).ok


def test_a_pick_at_another_site_moves_the_staff_member(app: Flask) -> None:
    a, b = home(), second_site()
    ada = account("ada", a, b)
    assert service.pick(ada, 1, site=a).ok
    moved = service.pick(ada, 2, site=b)
    assert moved.ok
    assert moved.events == [
        TableUnpicked(1, site=a), TablesChanged(frozenset(), (), site=a),
        TablePicked(2, site=b), TablesChanged(frozenset({moved.value.staff_id}), (2,), site=b),
    ]
    assert (service.taken(site=a), service.taken(site=b)) == ((), (2,))
    staff_id = moved.value.staff_id
    assert not service.holds_table(staff_id, site=a) and service.holds_table(staff_id, site=b)
    # Serving a visitor at B, ada cannot move back to A: her visitor could not follow her.
    ticket = service.new("vi@example.org", "Vi", site=b).value.id
    assert service.accept(ada, ticket, site=b).ok
    assert service.pick(ada, 1, site=a).refusal is Refusal.BUSY
    assert service.taken(site=b) == (2,)


def test_an_account_that_leaves_a_site_leaves_its_table_and_visitor_there(app: Flask) -> None:
    a, b = home(), second_site()
    ada = account("ada", a, b)
    assert service.pick(ada, 4, site=b).ok
    ticket = service.new("vi@example.org", "Vi", site=b).value.id
    assert service.accept(ada, ticket, site=b).ok
    with unit_of_work() as session:
        staff_id = identity.staff_for_token(session, ada).id
        events = sites.set_sites(session, staff_id, [a])
    assert [type(e).__name__ for e in events] == [
        "TableUnpicked", "TicketRequeued", "TablesChanged"]
    assert {e.site for e in events} == {b}
    assert service.taken(site=b) == ()
    assert [t.id for t in service.waiting_tickets(site=b)] == [ticket]
    assert service.pick(ada, 4, site=b).refusal is Refusal.NOT_MEMBER
    assert service.pick(ada, 4, site=a).ok


def test_another_sites_ticket_is_a_ticket_that_does_not_exist(app: Flask) -> None:
    a, b = home(), second_site()
    ada, bob = account("ada", a), account("bob", b)
    assert service.pick(ada, 1, site=a).ok and service.pick(bob, 1, site=b).ok
    theirs = service.new("Vi@example.org", "Vi at B", site=b).value.id
    waiting = service.new("wi@example.org", "Wi at B", site=b).value.id
    assert service.accept(ada, waiting, site=a).refusal is Refusal.NO_TICKET
    assert service.accept(bob, theirs, site=b).ok  # this worker's claimbook now knows it
    for attempt in (service.accept, service.complete, service.cancel, putback.requeue):
        assert attempt(ada, theirs, site=a).refusal is Refusal.NO_TICKET, attempt
    assert service.query("vi@example.org", site=a).refusal is Refusal.NO_VISITOR
    assert service.query("vi@example.org", site=b).value == "Vi at B"
    assert stats.kiosk_ticket(waiting, site=a) is None
    assert stats.kiosk_ticket(waiting, site=b) is not None
    assert [t.id for t in service.waiting_tickets(site=a)] == []
    assert stats.waiting_count(site=b) == 1
    # One waiting ticket per visitor is per site: the same email at A is a new visitor.
    assert service.new("vi@example.org", "Vi at A", site=a).ok
    assert service.query("vi@example.org", site=b).value == "Vi at B"


def _closed_all_day_but_one_minute() -> list[str]:
    """Hours that are closed now: one minute twelve hours away (the default site is UTC)."""
    then = datetime.now(UTC) + timedelta(hours=12)
    return [f"{DAYS[then.weekday()]} {then:%H}:00-{then:%H}:01"]


def test_setting_or_clearing_hours_ends_a_manual_override(app: Flask) -> None:
    a, b = home(), second_site()
    assert floor.set_line("open", site=a).closed is False
    floor.set_hours(_closed_all_day_but_one_minute(), site=a)
    assert floor.floor_now(site=a).closed  # the schedule now, not the override
    assert floor.set_line("closed", site=b).closed
    floor.clear_hours(site=b)
    assert floor.floor_now(site=b).closed is False
    assert floor.floors_now([a, b]) == {a: floor.floor_now(site=a), b: floor.floor_now(site=b)}


def test_sessions_revoked_are_heard_at_each_of_the_accounts_sites(app: Flask) -> None:
    a, b = home(), second_site()
    ada = account("ada", a, b)
    account("cy", a)
    assert service.pick(ada, 3, site=b).ok
    events = identity.revoke_sessions("ada").events
    assert sorted(events, key=lambda e: e.site) == [
        SessionsRevoked(frozenset({ada}), (), site=a),
        SessionsRevoked(frozenset({ada}), (3,), site=b),
    ]


def test_removing_a_site_keeps_nothing_of_it_and_no_other_site_changes(app: Flask) -> None:
    a, b = home(), second_site()
    with unit_of_work() as session:
        assert sites.remove(session, a).refusal is Refusal.SITE_DEFAULT
    assert service.new("vi@example.org", "Vi", site=b).ok
    assert service.new("vi@example.org", "Vi", site=a).ok
    with unit_of_work() as session:
        assert sites.remove(session, b).refusal is Refusal.SITE_BUSY
        for site in (a, b):
            session.add(ReportDay(site_id=site, zone="UTC", day=date(2026, 1, 5),
                                  start_utc=datetime(2026, 1, 5, tzinfo=UTC),
                                  end_utc=datetime(2026, 1, 6, tzinfo=UTC), figures="{}"))
    assert admin.close_waiting(site=b)[0] == 1
    with unit_of_work() as session:
        assert sites.remove(session, b).ok
    with unit_of_work() as session:
        assert sites.get(session, b) is None
        left = {(t, s) for t, s in session.execute(
            Ticket.__table__.select().with_only_columns(Ticket.site_id, Visitor.site_id)
            .join_from(Ticket.__table__, Visitor.__table__,
                       Ticket.visitor_id == Visitor.id))}
        assert left == {(a, a)}
        assert [d.site_id for d in session.query(ReportDay)] == [a]


def test_the_directory_finds_a_site_added_elsewhere_at_its_first_lookup(app: Flask) -> None:
    directory = directory_of(current_app)
    assert directory.by_slug("tutoring") is None  # a miss that has just re-read the sites
    site = second_site("tutoring")  # as another worker or `flask site add` would
    found = directory.by_slug("tutoring")  # within MISS_INTERVAL: waits for a fresh read
    assert found is not None and found.id == site and found.timezone == "Europe/Berlin"
    assert directory.by_id(site) == found
    assert [s.slug for s in directory.all()] == sorted([directory.default().slug, "tutoring"])


def test_a_burst_of_misses_shares_its_reads_of_the_sites(
        app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    directory = directory_of(current_app)
    reads = []
    real = sites.all_sites

    def counted(session: Session) -> list[SiteView]:
        reads.append(1)
        return real(session)

    monkeypatch.setattr(sites, "all_sites", counted)
    answers: list[SiteView | None] = []
    threads = [threading.Thread(target=lambda: answers.append(directory.by_slug("nowhere")))
               for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [None] * 20
    assert 1 <= len(reads) <= 2  # one read answers every miss that began before it


@pytest.mark.parametrize(("values", "wrong"), [
    ({"slug": "Career"}, "slug"), ({"slug": "a" * 41}, "slug"), ({"slug": ""}, "slug"),
    ({"name": ""}, "name"), ({"name": "a\nb"}, "name"), ({"tables": 0}, "tables"),
    ({"tables": 1001}, "tables"), ({"timezone": "Mars/Olympus"}, "time zone"),
    ({"timezone": "../etc"}, "time zone"),
])
def test_invalid_values_are_refused_with_a_reason(values: dict[str, object], wrong: str) -> None:
    reason = sites.invalid(**values)  # type: ignore[arg-type]  # each case sets one value
    assert reason is not None and wrong in reason
    assert sites.invalid("tutoring-2", "Tutoring", 12, "America/New_York") is None
