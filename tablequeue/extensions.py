"""Extensions created once and bound to an app in the factory."""

from typing import TYPE_CHECKING, ClassVar, Generic, TypeVar, cast

from flask import Flask, current_app
from flask_sock import Sock
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import Table
from sqlalchemy.orm import DeclarativeBase
from werkzeug.local import LocalProxy


class Base(DeclarativeBase):
    if TYPE_CHECKING:
        # Each model maps one Table (none maps a join or a select), and the Core statements
        # (service/ticket_sql.py and others) update and insert into `Model.__table__`.
        # DeclarativeBase declares it as any FromClause, the same way: for the checker only.
        __table__: ClassVar[Table]


db = SQLAlchemy(model_class=Base)
sock = Sock()

# The models' base class. At run time it is db.Model: Base's own class body and metadata,
# plus Flask-SQLAlchemy's mixins (bind keys, `Model.query`, a repr). The checker cannot take
# a base class from an attribute (python/mypy#8603), so it sees Base, which types every
# column; nothing here uses the legacy `Model.query`.
if TYPE_CHECKING:
    Model = Base
else:
    Model = db.Model

T = TypeVar("T")


class Slot(Generic[T]):
    """One of the app's own objects in `app.extensions`, typed. The module that defines the
    class declares its slot beside it and offers an accessor (`registry_of(app)`): the key
    is spelled once, and every reader gets the type, not Any."""

    def __init__(self, key: str) -> None:
        self.key = key

    def put(self, app: Flask, value: T) -> T:
        app.extensions[self.key] = value
        return value

    def of(self, app: Flask) -> T:
        """The app's object; KeyError if the factory did not put one."""
        # Only `put` writes the key, and it takes a T.
        return cast(T, app.extensions[self.key])

    def find(self, app: Flask) -> T | None:
        """The app's object, or None where it is optional (the Redis relay)."""
        return cast("T | None", app.extensions.get(self.key))


def app_object() -> Flask:
    """The app behind `current_app`, for whatever outlives the request or the command (a
    thread, a loop, a registry kept in a global). Flask types `current_app` as the app it
    stands for; it is a werkzeug LocalProxy, which gives the object itself."""
    return cast("LocalProxy[Flask]", current_app)._get_current_object()
