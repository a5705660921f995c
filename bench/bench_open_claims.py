"""Bench: open a demo database of 100,000 claims and show the first page of Claims.

Run by hand: ``python bench/bench_open_claims.py [--claims N] [--db PATH]``. Prints the time to open
the database (migrations check included), the first-page query, the Claims view showing its
first page offscreen, and — as the baseline in the same run — loading every claim row the
naive way, with the ratio. Target: the first page in well under a second.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--claims", type=int, default=100_000)
    parser.add_argument("--db", help="reuse an existing demo database file")
    args = parser.parse_args()

    from sqlalchemy import select

    from app.context import AppContext
    from app.db.models import Claim
    from app.demo import load_demo
    from app.queries.claims import list_claims
    from app.queries.paging import ListQuery

    tmp = tempfile.mkdtemp()
    db_path = args.db or str(Path(tmp) / "bench.sqlite3")
    if not args.db:
        t = time.perf_counter()
        ctx = AppContext.open(db_path)
        load_demo(ctx.db, ctx.clock, claims=args.claims)
        ctx.close()
        print(f"built demo database with {args.claims:,} claims in {time.perf_counter() - t:.1f} s")

    t0 = time.perf_counter()
    ctx = AppContext.open(db_path)
    t_open = time.perf_counter() - t0
    t1 = time.perf_counter()
    with ctx.db.read() as s:
        page = list_claims(s, ListQuery(limit=200))
    t_page = time.perf_counter() - t1

    from PySide6.QtWidgets import QApplication

    from ui.taskman import TaskManager
    from ui.views.claims import ClaimsView

    app = QApplication.instance() or QApplication([])
    t2 = time.perf_counter()
    view = ClaimsView(ctx, TaskManager(synchronous=True).run_db)
    view.refresh()
    view.show()
    app.processEvents()
    t_view = time.perf_counter() - t2
    assert view.model.rowCount() == 200 and view.model.total == page.total

    t3 = time.perf_counter()
    with ctx.db.read() as s:
        everything = s.scalars(select(Claim)).all()
    t_all = time.perf_counter() - t3

    print(f"claims in database: {page.total:,}")
    print(f"open database (schema check): {t_open * 1000:8.1f} ms")
    print(f"first page query (200 rows):  {t_page * 1000:8.1f} ms")
    print(f"Claims view shows page 1:     {t_view * 1000:8.1f} ms")
    print(f"baseline, load all {len(everything):,} ORM rows: {t_all * 1000:8.1f} ms")
    print(f"ratio baseline / view:        {t_all / t_view:8.1f}x")
    print(f"open + first page total:      {(t_open + t_view) * 1000:8.1f} ms (target: well under 1000 ms)")
    ctx.close()


if __name__ == "__main__":
    main()
