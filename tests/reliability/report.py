"""Put the figures of the last fault-injection run into docs/RELIABILITY.md.

    .venv/bin/python -m tests.reliability.report [DIRECTORY]

DIRECTORY holds the <scenario>.json files the harness wrote (default:
$STRESSRELIEF_VAR_DIR/reliability, else var/reliability). Only the table between the
`figures` markers of the document is rewritten; the prose around it is kept.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "RELIABILITY.md"
START, END = "<!-- figures:start -->", "<!-- figures:end -->"


def figures_table(directory: Path) -> str:
    rows = [
        "| Scenario | Nudges | Sent | Missed | Failed (reason recorded) | Not final | "
        "Messages received | Duplicates at the sinks | Lost | Seconds to recover | "
        "Seconds in all |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for path in sorted(directory.glob("*.json"), key=lambda p: int(p.stem.split("-")[0])):
        run = json.loads(path.read_text())
        recover = run["seconds_to_recover"]
        received = " + ".join(f"{n:,} {channel}" for channel, n in run["delivered"].items())
        rows.append(
            f"| {run['scenario']} | {run['nudges']:,} | {run['sent']:,} | {run['missed']:,} | "
            f"{run['failed']:,} ({run['failed'] - run['failed_without_reason']:,}) | "
            f"{run['not_final']} | {received} | {run['duplicates']} | {run['lost']} | "
            f"{'' if recover is None else f'{recover:.1f}'} | {run['seconds_total']:.0f} |"
        )
    return "\n".join(rows)


def main() -> int:
    default = Path(os.environ.get("STRESSRELIEF_VAR_DIR") or ROOT / "var") / "reliability"
    directory = Path(sys.argv[1]) if len(sys.argv) > 1 else default
    if not any(directory.glob("*.json")):
        print(f"no scenario figures in {directory}", file=sys.stderr)
        return 1
    text = DOC.read_text()
    head, _, rest = text.partition(START)
    _, _, tail = rest.partition(END)
    DOC.write_text(f"{head}{START}\n{figures_table(directory)}\n{END}{tail}")
    print(f"wrote the figures of {directory} into {DOC.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
