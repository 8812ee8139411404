"""What tests leave for the docs in test-artifacts/: screenshots (tests/kit/browser.py takes
them) and measurements (page weight, reconnect time, CLI to screen), never asserted on."""

from __future__ import annotations

import fcntl
import json

from tests.kit.live import ROOT

ARTIFACTS = ROOT / "test-artifacts"


def record(name: str, values: dict[str, object]) -> None:
    """Measurements (page weight, reconnect time) for docs/pages.md; never asserted on."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / "metrics.json"
    # make test's two runs go side by side (tests/kit/both.py): one writer at a time, so
    # neither reads the other's half-written file
    with (ARTIFACTS / "metrics.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        data = json.loads(path.read_text()) if path.exists() else {}
        data[name] = values
        path.write_text(json.dumps(data, indent=2, sort_keys=True))
