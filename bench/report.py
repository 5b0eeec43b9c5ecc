"""Results: the machine a benchmark ran on, its JSON file in bench/results/, its rich table, and
the tables of docs/performance.md."""

from __future__ import annotations

import json
import os
import platform
import subprocess
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

_progress = Console(stderr=True)


def progress(message: str) -> None:
    """A line on stderr about a long step, so a run of many minutes is not silent."""
    _progress.print(f"[dim]{datetime.now().strftime('%H:%M:%S')}[/] {message}", highlight=False)


def machine() -> dict[str, Any]:
    """Cores, memory, CPU model, load, Python, Temporal CLI and PostgreSQL versions."""
    info: dict[str, Any] = {"cores": os.cpu_count(), "python": platform.python_version()}
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
        info["cpu"] = next((line.split(":", 1)[1].strip() for line in cpuinfo.splitlines()
                            if line.startswith("model name")), platform.processor())
        meminfo = Path("/proc/meminfo").read_text().split()
        info["memory_gb"] = round(int(meminfo[meminfo.index("MemTotal:") + 1]) / 1024 ** 2, 1)
    except (OSError, ValueError):
        pass
    info["load_average"] = [round(x, 2) for x in os.getloadavg()]
    from caseflow.store.throwaway import postgres_version
    from caseflow.temporal import binary

    for name, command in (("temporal", [binary("temporal"), "--version"]),
                          ("postgresql", None)):
        try:
            if command is None:
                info[name] = postgres_version()
            else:
                info[name] = subprocess.run(command, capture_output=True, text=True,
                                            timeout=30).stdout.strip()
        except (OSError, RuntimeError, subprocess.SubprocessError):
            info[name] = "unknown"
    return info


def write(result: dict[str, Any], folder: Path) -> Path:
    """The result as <folder>/<benchmark>.json (written whole, then moved into place)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{result['benchmark']}.json"
    partial = path.with_suffix(".json.tmp")
    partial.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", "utf-8")
    partial.replace(path)
    return path


def envelope(benchmark: str, parameters: dict[str, Any], started: datetime) -> dict[str, Any]:
    return {"benchmark": benchmark, "run_at": started.isoformat(timespec="seconds"),
            "machine": machine(), "parameters": parameters}


def now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class Grid:
    """A table: title, column names, rows of text; shown with rich or as markdown."""

    title: str
    columns: list[str]
    rows: list[list[str]]
    note: str = ""

    def rich(self) -> Table:
        table = Table(title=self.title, caption=self.note or None)
        for column in self.columns:
            table.add_column(column, justify="left" if column == self.columns[0] else "right")
        for row in self.rows:
            table.add_row(*row)
        return table

    def markdown(self) -> str:
        lines = [f"**{self.title}**", "",
                 "| " + " | ".join(self.columns) + " |",
                 "|" + "|".join("---" if i == 0 else "---:" for i in range(len(self.columns)))
                 + "|"]
        lines += ["| " + " | ".join(row) + " |" for row in self.rows]
        if self.note:
            lines += ["", self.note]
        return "\n".join(lines)


def show(grids: list[Grid], console: Console | None = None) -> None:
    console = console or Console()
    for grid in grids:
        console.print(grid.rich())


def number(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "-"
    return f"{value:,.{digits}f}"


STACK = ("temporal", "worker", "api", "postgres")
BARE = ("temporal", "bare_worker", "bare_api", "postgres")


def cpu_per(cpu: dict[str, float] | None, count: int,
            names: tuple[str, ...] = STACK) -> str:
    """CPU milliseconds per item of the dev server / worker / API / PostgreSQL, e.g.
    `36 / 43 / 10 / 8`."""
    if not cpu or not count:
        return "-"
    return " / ".join(f"{1000 * cpu.get(name, 0) / count:.0f}" for name in names)


def times(value: float | None, floor: float | None) -> str:
    """`value` as a multiple of `floor` ('1.73x'), or '-' without both."""
    return f"{value / floor:.2f}x" if value and floor else "-"


def beside_bare(levels: list[dict[str, Any]], by: str, field: str) -> list[str]:
    """Each level's `field` as a multiple of the bare pipeline's level with the same `by` (the
    clients, the people); '-' for the bare levels themselves."""
    bare = {level[by]: level.get(field) for level in levels if level.get("system") == "bare"}
    return ["-" if level.get("system") == "bare" else times(level.get(field), bare.get(level[by]))
            for level in levels]


def cpu_total(cpu: dict[str, float] | None, count: int,
              names: tuple[str, ...] = STACK) -> float | None:
    """CPU milliseconds per item of the named processes together."""
    if not cpu or not count:
        return None
    return round(1000 * sum(cpu.get(name, 0) for name in names) / count, 1)
