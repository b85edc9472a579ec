"""The CLI boundary: every failure of a command is one line naming its input; `--debug` (or
`CUSTINTEL_DEBUG=1`) shows the traceback instead.

`main()` is the `custintel` entry point: it runs the Typer app and turns an exception that
escapes a command into `error: <message>` on stderr (the message's lines joined, since the
project's errors name the file, row and column, the member or the config key) and exit code 1
(2 for a configuration error). Exits a command asks for (typer.Exit, usage errors) pass through.
"""

from __future__ import annotations

import os
import sys
import traceback
from typing import NoReturn

from custintel.core.settings import SettingsError

DEBUG_ENV = "CUSTINTEL_DEBUG"
_debug = False


def set_debug(enabled: bool) -> None:
    """Called by the app's `--debug` option: show tracebacks."""
    global _debug
    _debug = enabled


def debug_enabled() -> bool:
    return _debug or os.environ.get(DEBUG_ENV, "") not in ("", "0", "false")


def one_line(error: BaseException) -> str:
    """The error's message on one line (its type when it has none)."""
    text = " ".join(part.strip() for part in str(error).splitlines() if part.strip())
    if isinstance(error, KeyError) and error.args:
        text = f"unknown key {error.args[0]!r}"
    return text or type(error).__name__


def report(error: BaseException) -> int:
    """Print one line for `error` (or its traceback in debug mode); the exit code to use."""
    if debug_enabled():
        traceback.print_exception(error)
    else:
        kind = "" if _is_user_error(error) else f"{type(error).__name__}: "
        print(f"error: {kind}{one_line(error)} (--debug shows the traceback)", file=sys.stderr)
    return 2 if isinstance(error, SettingsError) else 1


def _is_user_error(error: BaseException) -> bool:
    """Errors written for users (they name the input); others also get their type."""
    return isinstance(error, ValueError | LookupError) or type(error).__module__.split(".")[0] in (
        "custintel",
        "semantic",
        "ml",
        "reports",
    )


def main() -> NoReturn:
    """Run the `custintel` command with one-line errors."""
    from custintel.app.cli import app

    try:
        app()
    except SystemExit:
        raise
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        sys.exit(130)
    except Exception as error:  # noqa: BLE001 - the CLI boundary
        sys.exit(report(error))
    sys.exit(0)
