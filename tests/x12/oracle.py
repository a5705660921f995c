"""pyx12 as an independent oracle: validation verdicts and a plain segment walk."""

from __future__ import annotations

import logging
from pathlib import Path

import pyx12.params
import pyx12.x12file
import pyx12.x12n_document


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def pyx12_validate(path: Path) -> tuple[bool, list[str]]:
    """(valid?, error messages). Uses x12n_document's return value, never an exit code.

    pyx12 logs a harmless "Cannot create AK2" while building its 999 for an 835; that line is
    not a validation error and is dropped.
    """
    logger = logging.getLogger("pyx12")
    handler = _Collect()
    logger.addHandler(handler)
    propagate, logger.propagate = logger.propagate, False
    try:
        ok = pyx12.x12n_document.x12n_document(pyx12.params.params(), str(path), None, None)
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate
    return bool(ok), [m for m in handler.messages if "Cannot create AK2" not in m]


def pyx12_segments(path: Path) -> list[tuple[str, object]]:
    """pyx12's own tokenizer: (segment id, segment object) for every segment."""
    return [(seg.get_seg_id(), seg) for seg in pyx12.x12file.X12Reader(str(path))]
