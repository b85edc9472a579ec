"""`python -m custintel`: the same CLI as the `custintel` script (used by the benchmark to run a
step in a child process)."""

from custintel.cli import app

app()
