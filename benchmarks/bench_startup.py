"""Start-up time of the command line: how long `tiaug ... --help` and `samcl-* --help` take, as processes.

Each command is started ``--runs`` times (default 10), interleaved with ``python -c pass`` (the interpreter's
own start, the floor) so that load on a shared machine hits them alike; the table gives the median wall time
and the median above the floor. Also lists which heavy libraries each command imported (from ``-X importtime``).

Targets (issue 14): `tiaug --help` and `tiaug synth|stats|preview|import-* --help` under 0.5 s, `samcl-*
--help` under 1 s.

    python benchmarks/bench_startup.py [--runs 10] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FLOOR = "python -c pass"
TIAUG = [
    "--help",
    "synth --help",
    "stats --help",
    "preview --help",
    "import-tfdb --help",
    "import-folder --help",
    "import-video --help",
    "augment --help",
]
SAMCL = ["train", "eval", "predict"]
TARGETS = {f"tiaug {c}": 0.5 for c in TIAUG if not c.startswith("augment")} | {f"samcl-{c} --help": 1.0 for c in SAMCL}
HEAVY = ("numpy", "h5py", "cv2", "shapely", "albumentations", "torch")


def commands() -> dict[str, list[str]]:
    """Label -> argv. The console scripts are run as `python -m`, which is what they execute."""
    python = sys.executable
    table = {FLOOR: [python, "-c", "pass"]}
    table.update({f"tiaug {c}": [python, "-m", "tiaug", *c.split()] for c in TIAUG})
    table.update({f"samcl-{c} --help": [python, "-m", "samcl.cli", c, "--help"] for c in SAMCL})
    return table


def run_once(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def heavy_imports(argv: list[str], env: dict[str, str]) -> list[str]:
    """The heavy top-level packages a command imports (from `python -X importtime`)."""
    if argv[1:] == ["-c", "pass"]:
        return []
    done = subprocess.run([argv[0], "-X", "importtime", *argv[1:]], env=env, capture_output=True, text=True)
    names = set()
    for line in done.stderr.splitlines():
        fields = line.removeprefix("import time:").split("|")
        # a blocked import (sys.modules[name] = None, as the tiaug console script does for torch) is listed too,
        # at a few microseconds: count only packages that took at least 1 ms (cumulative) to import
        if len(fields) == 3 and fields[1].strip().isdigit() and int(fields[1]) >= 1000:
            names.add(fields[2].strip())
    return [name for name in HEAVY if name in names]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--json", help="also write the numbers to this JSON file")
    args = parser.parse_args()

    env = dict(os.environ, PYTHONPATH=str(REPO))
    table = commands()
    times: dict[str, list[float]] = {label: [] for label in table}
    for argv in table.values():  # warm the file system cache
        run_once(argv, env)
    for _ in range(args.runs):
        for label, argv in table.items():
            times[label].append(run_once(argv, env))
    medians = {label: statistics.median(values) for label, values in times.items()}
    floor = medians[FLOOR]

    load = os.getloadavg()
    print(
        f"median of {args.runs} process starts, interleaved; {os.cpu_count()} cores, load average "
        f"{load[0]:.1f} {load[1]:.1f} {load[2]:.1f}\n"
    )
    print("| command | median s | above `python -c pass` s | target s | heavy imports |")
    print("|---|---:|---:|---:|---|")
    rows = []
    for label, argv in table.items():
        target = TARGETS.get(label)
        heavy = heavy_imports(argv, env)
        verdict = "" if target is None else f"< {target} {'met' if medians[label] < target else 'NOT met'}"
        print(
            f"| `{label}` | {medians[label]:.3f} | {medians[label] - floor:.3f} | {verdict} | "
            f"{', '.join(heavy) or '-'} |"
        )
        rows.append(
            {
                "command": label,
                "median_s": medians[label],
                "above_floor_s": medians[label] - floor,
                "target_s": target,
                "heavy_imports": heavy,
                "runs_s": times[label],
            }
        )
    if args.json:
        Path(args.json).write_text(json.dumps({"load_average": load, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
