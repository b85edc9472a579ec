"""The Rich consoles (output, and errors on stderr) and progress bars shared by every command
group of the `custintel` CLI."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

console = Console()
error_console = Console(stderr=True)

ProgressCallback = Callable[[str, int, int], None]


@contextmanager
def progress_bar(title: str) -> Iterator[ProgressCallback]:
    """A Rich progress bar; yields a callback `(message, done, total)` for long steps."""
    with Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[message]}"),
        console=console,
        transient=False,
    ) as progress:
        task = progress.add_task(title, total=None, message="")

        def update(message: str, done: int, total: int) -> None:
            progress.update(task, completed=done, total=total, message=message)

        yield update
