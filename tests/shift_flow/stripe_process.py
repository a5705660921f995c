"""localstripe + stripe_gaps in a child process, built from the same helpers as tests/cards.

localstripe keeps one store per process, and tests/cards starts its own in the test process; a
child process gives this folder its own, empty Stripe whichever folders run together.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_CHILD = """
import json, sys, warnings
warnings.simplefilter("ignore")
from sandboxes.localstripe_server import start_localstripe
from sandboxes.stripe_gaps import start_stripe_gaps
local, stop_local = start_localstripe(sys.argv[1])
gaps, stop_gaps, _ = start_stripe_gaps(local, max_page=3)
print(json.dumps({"api_base": gaps, "localstripe": local}), flush=True)
sys.stdin.read()
stop_gaps()
stop_local()
"""


@dataclass
class StripeProcess:
    api_base: str
    localstripe: str
    process: subprocess.Popen[str]

    def stop(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(15)


def start_stripe_process(state_dir: Path) -> StripeProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(state_dir)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=env,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line:
        proc.kill()
        raise RuntimeError("localstripe could not start in its child process")
    urls = json.loads(line)
    return StripeProcess(urls["api_base"], urls["localstripe"], proc)
