"""The landing page: where each screen is and where to open it."""

from flask import Blueprint, render_template

bp = Blueprint("home", __name__)


@bp.route("/")
def index() -> str:
    return render_template("home/index.html")
