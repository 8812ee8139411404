"""The landing page: every site, and where to open each of its screens."""

from flask import Blueprint, current_app, render_template

from tablequeue.service.directory import directory_of

bp = Blueprint("home", __name__)


@bp.route("/")
def index() -> str:
    directory = directory_of(current_app)
    return render_template("home/index.html", sites=directory.current(),
                           default_slug=directory.default().slug)
