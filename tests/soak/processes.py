"""The processes of one test server, read from /proc (psutil is not installed).

Every process a run starts carries the run's marker in its environment, and job processes
inherit it through the fork server, so a process that lost its parent (reparented to init)
is still found.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

MARKER_ENV = "SOAK_RUN_ID"


@dataclass(frozen=True)
class Proc:
    pid: int
    ppid: int
    cmdline: str


def _read(pid: int) -> Proc | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    # The command name may hold spaces and parentheses: the fields start after the last ")".
    state, ppid = stat[stat.rindex(")") + 2 :].split()[:2]
    if state == "Z":
        return None
    return Proc(pid, int(ppid), raw.replace(b"\0", b" ").decode(errors="replace").strip())


def marked(run_id: str) -> list[Proc]:
    """Every live (not zombie) process whose environment carries this run's marker."""
    needle = f"{MARKER_ENV}={run_id}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if needle in environ.split(b"\0"):
            proc = _read(int(entry.name))
            if proc is not None:
                found.append(proc)
    return found


def descendants(pid: int, procs: list[Proc]) -> list[Proc]:
    found, parents = [], {pid}
    while True:
        children = [p for p in procs if p.ppid in parents and p not in found]
        if not children:
            return found
        found += children
        parents = {p.pid for p in children}


def uvicorn_workers(master_pid: int, procs: list[Proc]) -> list[Proc]:
    """The master's HTTP workers: spawned children, not its multiprocessing resource tracker."""
    return [p for p in procs if p.ppid == master_pid and "multiprocessing.spawn" in p.cmdline]


def alive(pids: set[int]) -> set[int]:
    return {pid for pid in pids if _read(pid) is not None}
