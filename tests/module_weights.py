"""Which test modules take longest, so that the two workers start with them (issue 17: the
suite's time).

`bin/test` hands whole modules to pytest-xdist's workers (`--dist loadfile`), next module to
the first worker free. xdist's own order (most tests first) left the heaviest modules — one
long test each: the gate's stateful test, the browser journeys, the schemathesis runs — for
the end, where one worker ran them while the other had nothing left. Longest first, the end
of the run is made of short modules and both workers finish together.

The seconds are measured, not guessed: `bin/test` writes each run's times to var/junit.xml,
and `python -m tests.module_weights var/junit.xml` rewrites tests/module_seconds.json from it.
A module not in the file (new, or under the threshold) weighs by its number of tests."""

import json
import sys
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

RECORDED = Path(__file__).with_name("module_seconds.json")
THRESHOLD = 5.0  # seconds: lighter modules keep the estimate by count
SECONDS_PER_TEST = 0.3  # about the suite's median for a module not recorded


def recorded() -> dict[str, float]:
    try:
        return json.loads(RECORDED.read_text())
    except FileNotFoundError:
        return {}


def weights(tests_per_module: dict[str, int]) -> dict[str, float]:
    """The expected seconds of each module (path relative to the checkout)."""
    known = recorded()
    return {
        module: known.get(module, SECONDS_PER_TEST * count)
        for module, count in tests_per_module.items()
    }


def _module_of(classname: str) -> str:
    # "tests.web.test_pages" or "tests.web.test_pages.TestSomething" → "tests/web/test_pages.py"
    parts = []
    for part in classname.split("."):
        parts.append(part)
        if part.startswith("test_"):
            break
    return "/".join(parts) + ".py"


def seconds_from_junit(path: Path) -> dict[str, float]:
    totals: dict[str, float] = defaultdict(float)
    for case in ET.parse(path).iter("testcase"):  # noqa: S314 (our own run's report)
        totals[_module_of(case.get("classname", ""))] += float(case.get("time", 0) or 0)
    return {
        module: round(seconds, 1)
        for module, seconds in sorted(totals.items(), key=lambda item: -item[1])
        if seconds >= THRESHOLD
    }


if __name__ == "__main__":
    measured = seconds_from_junit(Path(sys.argv[1]))
    RECORDED.write_text(json.dumps(measured, indent=0) + "\n")
    print(f"{len(measured)} modules over {THRESHOLD:.0f} s written to {RECORDED}")  # noqa: T201
