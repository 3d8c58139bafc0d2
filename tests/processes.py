"""Processes a test started, read from /proc (psutil is not installed).

Every process a test starts carries a marker in its environment (`MARKER_ENV=<marker>`),
and the processes they start inherit it (the fork server from a worker, job processes from
the fork server), so a process that outlived its parent and was re-parented to init is
still found, and can be asserted gone or cleaned up.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

MARKER_ENV = "WB_TEST_MARKER"


@dataclass(frozen=True)
class Proc:
    pid: int
    ppid: int
    cmdline: str


def read_proc(pid: int) -> Proc | None:
    """The live process `pid`, or None when it is gone or a zombie (exited, not yet reaped)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    # The command name may hold spaces and parentheses: the fields start after the last ")".
    state, ppid = stat[stat.rindex(")") + 2 :].split()[:2]
    if state in ("Z", "X"):
        return None
    return Proc(pid, int(ppid), raw.replace(b"\0", b" ").decode(errors="replace").strip())


def alive(pid: int) -> bool:
    return read_proc(pid) is not None


def alive_of(pids: set[int]) -> set[int]:
    """Those of `pids` still alive."""
    return {pid for pid in pids if alive(pid)}


def marked(marker: str) -> list[Proc]:
    """Every live process whose environment carries `MARKER_ENV=marker`."""
    needle = f"{MARKER_ENV}={marker}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if needle in environ.split(b"\0"):
            proc = read_proc(int(entry.name))
            if proc is not None:
                found.append(proc)
    return found


def descendants(pid: int, procs: list[Proc]) -> list[Proc]:
    """The processes of `procs` below `pid`, children first."""
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
