"""``vigil webhooks add|ls|remove|deliveries|retry``: where the review desk sends its decisions (signed,
at least once), and the deliveries that did not get through."""

from __future__ import annotations

import json

import typer

from .common import db_option, open_store

__all__ = ["add_command", "app", "deliveries_command", "ls_command", "remove_command", "retry_command"]

app = typer.Typer(help="Webhooks of the review desk: add, list, remove; see and retry deliveries.",
                  no_args_is_help=True)


@app.command("add")
def add_command(
    name: str = typer.Argument(..., help="What the webhook is for (a case system, a takedown tool)."),
    url: str = typer.Option(..., "--url", help="Where to POST each event (http:// or https://)."),
    event: list[str] | None = typer.Option(None, "--event", help="An event to send (repeatable): item_decided "
                                           "(default), item_confirmed_once, item_listed."),
    db: str | None = db_option(),
) -> None:
    """Add a webhook and print its signing secret as the last line (shown once)."""
    from ..serve.webhooks import add_webhook

    hook, secret = add_webhook(open_store(db), name, url, tuple(event or ("item_decided",)))
    typer.echo(f"added webhook {hook.id} {hook.name!r} for {', '.join(hook.events)}; its signing secret "
               "(shown once; keep it with the receiver):", err=True)
    typer.echo(secret)


@app.command("ls")
def ls_command(
    json_out: bool = typer.Option(False, "--json", help="One JSON object per webhook."),
    db: str | None = db_option(),
) -> None:
    """Every webhook (never its secret)."""
    from ..serve.webhooks import list_webhooks

    hooks = list_webhooks(open_store(db))
    for h in hooks:
        if json_out:
            print(json.dumps({"id": h.id, "name": h.name, "url": h.url, "events": list(h.events),
                              "created": h.created_at.isoformat(),
                              "removed": h.disabled_at.isoformat() if h.disabled_at else None}))
        else:
            state = f"removed {h.disabled_at:%Y-%m-%d %H:%M}" if h.disabled_at else "active"
            print(f"{h.id:>4}  {h.name:<20} {h.url}  {','.join(h.events)}  {state}")
    if not hooks and not json_out:
        print("no webhooks yet: vigil webhooks add NAME --url URL")


@app.command("remove")
def remove_command(name: str = typer.Argument(..., help="The webhook to stop sending to."),
                   db: str | None = db_option()) -> None:
    """Stop sending to a webhook (its record and deliveries stay)."""
    from ..serve.webhooks import remove_webhook

    print(f"removed webhook {remove_webhook(open_store(db), name).name!r}")


@app.command("deliveries")
def deliveries_command(
    state: str | None = typer.Option(None, "--state", help="Only pending, delivered or dead (dead: the ones "
                                     "that failed every attempt)."),
    json_out: bool = typer.Option(False, "--json", help="One JSON object per delivery."),
    db: str | None = db_option(),
) -> None:
    """The newest deliveries: their state, attempts and last error."""
    from ..serve.webhooks import deliveries

    for d in deliveries(open_store(db), state):
        if json_out:
            print(json.dumps(d.to_json()))
        else:
            print(f"{d.id:>6}  {d.webhook:<20} {d.event:<20} {d.state:<9} {d.attempts} attempt(s)  "
                  f"{d.last_error or ''}")


@app.command("retry")
def retry_command(delivery: int = typer.Argument(..., help="The delivery's id (see `deliveries`)."),
                  db: str | None = db_option()) -> None:
    """Send an undelivered (dead) delivery again, from its first attempt."""
    from ..serve.webhooks import retry_delivery

    print(f"delivery {retry_delivery(open_store(db), delivery).id} will be sent again")
