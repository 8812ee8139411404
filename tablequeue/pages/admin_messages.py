"""A site's /admin, the messages section: its webhook endpoints (add one and see its
secret once, remove one, retry what failed) with the deliveries that failed, and its text
messages: the sender number and the latest texts, numbers masked. Same rules as the rest
of the site's admin page (its admins; htmx posts get the section back)."""

from __future__ import annotations

from flask import current_app, render_template, request
from werkzeug.wrappers import Response

from tablequeue.pages import access, sections
from tablequeue.pages.sitectx import SiteBlueprint, current_site
from tablequeue.service import text_subscriptions, texts, webhooks

bp = SiteBlueprint("admin_messages", __name__, prefix="/admin")
TEMPLATE = "admin/_messages.html"


def messages_context(secret: str | None = None) -> dict[str, object]:
    site = current_site().id
    sms_on = texts.account() is not None
    return {
        "hooks": [endpoint for _, endpoint in webhooks.endpoints(site=site)],
        "hook_failures": webhooks.failures(site=site),
        "hook_events": webhooks.EVENTS,
        "new_secret": secret,
        "sms_on": sms_on,
        "sms_sender": text_subscriptions.sender(site=site) if sms_on else None,
        "sms_recent": text_subscriptions.recent(site=site) if sms_on else [],
        "public_url": current_app.config["PUBLIC_URL"],
    }


@bp.post("/webhooks")
@access.site_admin_required
def add_webhook() -> str | Response:
    """The secret is shown once, in the answer itself: with htmx in the section, without
    it on a page of its own (never in a flash message: the session cookie is readable)."""
    created: dict[str, str] = {}

    def add() -> str:
        events = tuple(e for e in webhooks.EVENTS if request.form.get(e))
        if not events:
            raise webhooks.WebhookError("choose at least one event")
        _, created["secret"] = webhooks.add(request.form.get("url", ""), events,
                                            request.form.get("personal") == "on",
                                            site=current_site().id)
        return "Endpoint added. Copy its secret now: it is shown this once."

    if request.headers.get("HX-Request") != "true":
        try:
            message, error = add(), None
        except webhooks.WebhookError as refusal:
            message, error = None, str(refusal)
        return render_template("admin/webhook_added.html", message=message, error=error,
                               secret=created.get("secret"))
    return sections.answer(TEMPLATE, add, (webhooks.WebhookError,),
                           lambda: messages_context(created.get("secret")))


@bp.post("/webhooks/<int:endpoint_id>/remove")
@access.site_admin_required
def remove_webhook(endpoint_id: int) -> str | Response:
    def remove() -> str:
        if not webhooks.remove(endpoint_id, site=current_site().id):
            raise webhooks.WebhookError("no such endpoint here")
        return "Endpoint removed, with its undelivered events."

    return sections.answer(TEMPLATE, remove, (webhooks.WebhookError,), messages_context)


@bp.post("/webhooks/retry")
@access.site_admin_required
def retry_webhooks() -> str | Response:
    def retry() -> str:
        count = webhooks.retry_failed(site=current_site().id)
        return f"{count} failed deliver{'y is' if count == 1 else 'ies are'} on their way again."

    return sections.answer(TEMPLATE, retry, (webhooks.WebhookError,), messages_context)
