"""How an admin page's section answers a form: htmx posts (HX-Request) get the section back
with the action's message or refusal in it; without JavaScript the same form posts normally
and lands back on the site's admin page with a flash message."""

from __future__ import annotations

from collections.abc import Callable

from flask import flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

Action = Callable[[], str]
Context = Callable[[], dict[str, object]]


def answer(template: str, action: Action, refusals: tuple[type[Exception], ...],
           context: Context, back: str = "admin.index") -> str | Response:
    """Run one admin action; its message (or refusal) is shown in the section it came from."""
    try:
        message, error = action(), None
    except refusals as refusal:
        message, error = None, str(refusal)
    if request.headers.get("HX-Request") == "true":
        return render_template(template, message=message, error=error, **context())
    flash(message or error or "")
    return redirect(url_for(back))
