"""The ``automator`` command: the operator's edge. Depends on the core, never the reverse.

Exit codes: 0 done; 1 a run finished with failed or unreachable hosts (or was refused);
2 bad input (inventory, runbook, arguments, ticket id); 130 interrupted or cancelled.
"""

from __future__ import annotations

import gc
import sys

import click
from rich.markup import escape

from automator.cli._app import cli, err_console
from automator.errors import AutomatorError


def console() -> None:
    """The ``automator`` executable: ``main`` in a process of its own.

    No garbage collection while the command's modules load: importing SQLAlchemy, nornir
    and netmiko makes ~10^5 objects that live as long as the process and that every
    collection would walk again (a tenth of the start-up). The command freezes them and turns
    the collector back on as it starts (``pass_settings``); at the end, freezing everything
    spares the interpreter's last collection at exit (0.2 s).
    """
    gc.disable()
    code = main()
    gc.freeze()
    sys.exit(code)


def main(argv: list[str] | None = None) -> int:
    """Run one command; its exit code. Errors are messages, never tracebacks."""
    try:
        result = cli.main(args=argv, prog_name="automator", standalone_mode=False)
    except AutomatorError as exc:
        err_console.print(f"[bold red]error:[/] {escape(str(exc))}", soft_wrap=True)
        return 2
    except click.exceptions.Abort:
        err_console.print("aborted")
        return 130
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except KeyboardInterrupt:
        err_console.print("interrupted")
        return 130
    finally:
        gc.enable()  # in case no command started
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    console()
