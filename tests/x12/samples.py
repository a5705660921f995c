"""Where the shared public X12 samples live."""

from __future__ import annotations

from pathlib import Path

SAMPLES = Path("/work/shared/x12-samples")
IMSWEB_837 = SAMPLES / "imsweb" / "837_5010"
IMSWEB_277 = SAMPLES / "imsweb" / "277_5010"
LFH_835 = SAMPLES / "linuxforhealth" / "835_005010X221A1"
