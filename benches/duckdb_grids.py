"""DuckDB's side of the processor benchmark: the same click and move grids (8 px cells) and
scroll-depth histograms (deepest viewport bottom per page view, 10 px buckets) that
`heatpipe process` computes, from the same events in a zstd Parquet file.

    python3 benches/duckdb_grids.py EVENTS.parquet OUT_DIR THREADS RUNS

Prints one JSON line with the wall time of every run and writes OUT_DIR/duckdb-grids.tsv and
OUT_DIR/duckdb-depths.tsv for the comparison of results. A run is the two queries with their
results materialized in DuckDB (temporary tables), which is DuckDB computing them; not the
interpreter's start, and not turning the 885,000 result rows into Python objects (fetched after
the runs), which on the benchmark day took another 0.8-0.9 s, the Python client's cost rather
than DuckDB's.
"""
import json
import statistics
import sys
import time

import duckdb

GRIDS = """
SELECT page, segment, kind, x // 8 AS col, y // 8 AS row, count(*) AS n
FROM read_parquet($path)
WHERE kind < 2 AND x >= 0 AND y >= 0 AND x < 8192 AND y < 65536
GROUP BY ALL
"""

DEPTHS = """
WITH views AS (
    SELECT page, segment,
           max(CASE WHEN kind = 2 THEN greatest(y, 0) + viewport_height
                    ELSE viewport_height END) AS deepest
    FROM read_parquet($path)
    GROUP BY session, view, page, segment
)
SELECT page, segment, least(deepest, 65536) // 10 AS bucket, count(*) AS n
FROM views
GROUP BY ALL
"""


def main():
    path, out_dir, threads, runs = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    con = duckdb.connect()
    con.execute(f"SET threads = {threads}")
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        con.execute(f"CREATE OR REPLACE TEMP TABLE grids AS {GRIDS}", {"path": path})
        con.execute(f"CREATE OR REPLACE TEMP TABLE depths AS {DEPTHS}", {"path": path})
        seconds.append(time.perf_counter() - started)
    grids = con.execute("SELECT * FROM grids").fetchall()
    depths = con.execute("SELECT * FROM depths").fetchall()
    with open(f"{out_dir}/duckdb-grids.tsv", "w") as out:
        for row in grids:
            out.write("\t".join(str(v) for v in row) + "\n")
    with open(f"{out_dir}/duckdb-depths.tsv", "w") as out:
        for row in depths:
            out.write("\t".join(str(v) for v in row) + "\n")
    print(json.dumps({"seconds": seconds, "median": statistics.median(seconds),
                      "duckdb": duckdb.__version__, "threads": threads}))


if __name__ == "__main__":
    main()
