"""``automator serve``: the embedded default in one process — the monitoring hooks, the
remediation engine and the clock of waiting runs, on a local worker pool and SQLite."""

from __future__ import annotations

import threading
from datetime import timedelta

import click

from automator.cli._app import console, open_inventory, open_pipeline, pass_settings
from automator.config import Settings
from automator.store import utcnow


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on")
@click.option("--port", type=click.IntRange(1, 65535), default=8080, show_default=True)
@click.option(
    "--coalesce",
    type=click.FloatRange(0),
    default=5.0,
    show_default=True,
    help="Seconds to gather hosts of one rule into one run (a rule may say otherwise)",
)
@pass_settings
def serve(settings: Settings, host: str, port: int, coalesce: float) -> None:
    """Serve the hooks and run the rules of remediations/ on what arrives."""
    from automator.api import approval_routes, create_app, server
    from automator.engine import RemediationEngine
    from automator.events import EventIntake
    from automator.rules import Coalescer, RuleEngine, StoreRuleState, load_rulebook

    inventory = open_inventory(settings)
    pipeline = open_pipeline(settings, inventory)
    rulebook = load_rulebook(settings.project_dir / "remediations", pipeline.catalogue)
    engine = RemediationEngine(
        pipeline,
        EventIntake(pipeline.store),
        RuleEngine(rulebook, StoreRuleState(pipeline.store), utcnow, inventory),
        Coalescer(timedelta(seconds=coalesce), utcnow),
    )
    app = create_app(settings, pipeline.store, on_ingested=engine.wake)
    app.include_router(approval_routes(pipeline))
    stop = threading.Event()
    worker = threading.Thread(target=engine.run, args=(stop,), name="engine")
    worker.start()
    console.print(
        f"automator serving on http://{host}:{port} (hooks under /hooks/), "
        f"{len(rulebook)} rules from {settings.project_dir / 'remediations'}, "
        f"{len(inventory.hosts)} hosts; Ctrl-C stops"
    )
    try:
        server(app, host, port).run()
    finally:
        stop.set()
        engine.wake()
        worker.join()
        pipeline.executor.shutdown()
