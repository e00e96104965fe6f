#!/usr/bin/python3
"""A real SQLite writer for the database-capture tests and bench/sqlite.

  sqlite_writer.py write DB MODE PROGRESS [--autocheckpoint N] [--pause-ms MS]
                                          [--latencies FILE]
      Commits transactions to DB forever (until SIGTERM) in journal MODE
      ("wal" or "delete"). Transaction k inserts row seq=k into t (a payload
      of 100..3000 bytes, so pages split and the file grows) and adds k to the
      running totals in `total`. The invariant a consistent copy keeps:
          seq is exactly 1..count, total.n == count, total.sum == sum(seq).
      After each commit k is written to PROGRESS (20 digits at offset 0), so a
      reader that sees k there knows transaction k had committed.
      --latencies: on exit, one line per commit: its start on the
      CLOCK_MONOTONIC clock and its latency, both in seconds.
  sqlite_writer.py fill DB MODE MIB
      Creates DB in MODE with about MIB MiB in table `big` (random 4 KiB then
      zeros, so the data compresses ~8x) and the empty writer tables.
  sqlite_writer.py lock DB READY
      Opens DB (rollback mode), takes an EXCLUSIVE lock (BEGIN EXCLUSIVE),
      creates READY and sleeps until killed.
"""
import os
import random
import signal
import sqlite3
import sys
import time


def connect(path, mode):
    db = sqlite3.connect(path, isolation_level=None, timeout=60)
    db.execute("PRAGMA journal_mode=" + ("WAL" if mode == "wal" else "DELETE"))
    db.execute("PRAGMA synchronous=NORMAL")
    return db


def create_tables(db):
    db.execute("CREATE TABLE IF NOT EXISTS t (seq INTEGER PRIMARY KEY, payload BLOB NOT NULL)")
    db.execute("CREATE TABLE IF NOT EXISTS total (id INTEGER PRIMARY KEY, n INTEGER, sum INTEGER)")
    db.execute("INSERT OR IGNORE INTO total VALUES (1, 0, 0)")


def write(path, mode, progress, argv):
    autocheckpoint, pause, latencies_file = 20, 0.0, None
    i = 0
    while i < len(argv):
        if argv[i] == "--autocheckpoint":
            autocheckpoint = int(argv[i + 1])
        elif argv[i] == "--pause-ms":
            pause = int(argv[i + 1]) / 1000.0
        elif argv[i] == "--latencies":
            latencies_file = argv[i + 1]
        else:
            sys.exit("unknown option " + argv[i])
        i += 2
    db = connect(path, mode)
    db.execute("PRAGMA wal_autocheckpoint=%d" % autocheckpoint)
    create_tables(db)
    (k,) = db.execute("SELECT coalesce(max(seq), 0) FROM t").fetchone()
    fd = os.open(progress, os.O_RDWR | os.O_CREAT, 0o644)
    latencies = []
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    rng = random.Random(k)
    while not stop:
        k += 1
        started = time.perf_counter()  # CLOCK_MONOTONIC, like time.monotonic()
        db.execute("BEGIN IMMEDIATE")
        db.execute("INSERT INTO t VALUES (?, ?)", (k, rng.randbytes(rng.randint(100, 3000))))
        db.execute("UPDATE total SET n = n + 1, sum = sum + ? WHERE id = 1", (k,))
        db.execute("COMMIT")
        latencies.append((started, time.perf_counter() - started))
        os.pwrite(fd, b"%020d" % k, 0)
        if pause:
            time.sleep(pause)
    if latencies_file:
        with open(latencies_file, "w") as out:
            out.write("".join("%.6f %.9f\n" % x for x in latencies))


def fill(path, mode, mib):
    db = connect(path, mode)
    create_tables(db)
    db.execute("CREATE TABLE IF NOT EXISTS big (id INTEGER PRIMARY KEY, data BLOB)")
    rows = int(mib) * 16  # 64 KiB each
    db.execute("BEGIN")
    db.execute(
        "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < ?) "
        "INSERT INTO big SELECT i, randomblob(4096) || zeroblob(61440) FROM c", (rows,))
    db.execute("COMMIT")
    db.close()


def lock(path, ready):
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("BEGIN EXCLUSIVE")
    open(ready, "w").close()
    while True:
        time.sleep(3600)


def main():
    if len(sys.argv) >= 5 and sys.argv[1] == "write":
        write(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:])
    elif len(sys.argv) == 5 and sys.argv[1] == "fill":
        fill(sys.argv[2], sys.argv[3], sys.argv[4])
    elif len(sys.argv) == 4 and sys.argv[1] == "lock":
        lock(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
