"""Paths through the cubes' declared joins (directed as in Cube: `a` joins `b` if `a` says so)."""

from __future__ import annotations

from collections import deque

from semantic.definitions import DataModel, Join


def directed_path(model: DataModel, start: str, end: str) -> list[Join] | None:
    """The shortest chain of declared joins from cube `start` to cube `end`, or None."""
    if start == end:
        return []
    previous: dict[str, Join] = {}
    queue = deque([start])
    seen = {start}
    while queue:
        current = queue.popleft()
        cube = model.cubes.get(current)
        if cube is None:
            continue
        for join in cube.joins.values():
            if join.name in seen or join.name not in model.cubes:
                continue
            previous[join.name] = join
            if join.name == end:
                return _unwind(previous, start, end)
            seen.add(join.name)
            queue.append(join.name)
    return None


def _unwind(previous: dict[str, Join], start: str, end: str) -> list[Join]:
    chain: list[Join] = []
    current = end
    while current != start:
        join = previous[current]
        chain.append(join)
        current = join.cube
    return list(reversed(chain))


def path_cubes(path: list[Join], start: str) -> tuple[str, ...]:
    """The cube names along a join chain, starting with `start`."""
    return (start, *(join.name for join in path))
