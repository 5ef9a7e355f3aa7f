"""The `harness` command: a thin layer over the runner, the importers, the store, boards and the site."""

from __future__ import annotations

import signal
import sys
from types import FrameType

import typer

from harness.cli.boards import board_app, site_app
from harness.cli.common import err_console, shown
from harness.cli.inspect import list_runs, list_tasks, show
from harness.cli.runs import import_outputs, merge, run, score
from harness.errors import HarnessError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Run LLM benchmarks faithfully, resume them, and inspect the results.",
)
app.command()(run)
app.command("ls")(list_runs)
app.command()(show)
app.command()(score)
app.command("import")(import_outputs)
app.command()(merge)
app.command("tasks")(list_tasks)
app.add_typer(site_app, name="site")
app.add_typer(board_app, name="board")


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main() -> None:
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        code = app(standalone_mode=False)
        if code == 130:
            # typer turns Ctrl-C (and SIGTERM, see _interrupt) into exit status 130.
            raise KeyboardInterrupt
        if isinstance(code, int) and code:
            sys.exit(code)
    except typer.TyperException as exc:
        # A usage error (unknown or missing option, a value out of range): its message and exit status 2.
        show = getattr(exc, "show", None)
        if callable(show):
            show()
        else:
            err_console.print(f"error: {shown(exc.format_message())}", highlight=False)
        sys.exit(exc.exit_code)
    except typer.Abort:
        sys.exit(130)
    except HarnessError as exc:
        err_console.print(f"[bold red]error:[/] {shown(exc)}", highlight=False)
        sys.exit(2)
    except KeyboardInterrupt:
        err_console.print("interrupted: everything scored so far is saved; run the same command to resume.")
        sys.exit(130)
