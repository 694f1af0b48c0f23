#!/usr/bin/env python3
"""How long finding one person under two passports takes, at scale.

    python3 bench/person_sweep.py                      # 100,000 workers, PostgreSQL and SQLite
    python3 bench/person_sweep.py --workers 20000 --backends sqlite

For each backend: a fresh database migrated by `sinergi migrate`, then N
workers loaded straight into the worker tables (COPY on PostgreSQL, one
transaction on SQLite): immigration's identity for each, manpower's for
most, the demo's nationality mix and name pools, and a few hundred people
who are two workers (a passport typed with a slip, a renewal). Then:

1. `sinergi persons sweep` once: it also fills in the matcher's name key
   of every identity (rows loaded without one);
2. `sinergi persons sweep --time-writes 200` again: the daily run with the
   links current, plus the on-write matcher timed for 200 workers;
3. the plain scan: what the sweep reads (workers, identities, passports)
   copied out as fast as the database can (`COPY ... TO` / `sqlite3`).

Writes bench/results/person_sweep.json. Standard library only; loopback only.
"""

import argparse
import datetime as dt
import json
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402

NATIONALITIES = [("CHN", 70), ("KOR", 6), ("JPN", 5), ("IND", 6), ("MYS", 4), ("PHL", 5), ("AUS", 4)]
SURNAMES = ["ZHANG", "WANG", "LI", "LIU", "CHEN", "YANG", "HUANG", "ZHAO", "WU", "ZHOU", "XU", "SUN",
            "MA", "ZHU", "HU", "GUO", "HE", "LIN", "LUO", "GAO", "KIM", "PARK", "SATO", "TANAKA",
            "SINGH", "KUMAR", "TAN", "LIM", "REYES", "SANTOS", "SMITH", "JONES"]
GIVEN = ["WEI", "FANG", "NA", "MIN", "JIE", "YANG", "LEI", "JUN", "HUI", "YING", "TAO", "BO", "PING",
         "GANG", "HUA", "XIN", "YU", "HAO", "LONG", "MEI", "MING", "QIANG", "JIAN", "KAI", "RUI"]


def passport(rng, nat, used):
    while True:
        p = f"{nat[0]}{rng.randrange(1, 10)}{rng.randrange(10**7):07d}"
        if p not in used:
            used.add(p)
            return p


def slip(rng, p):
    """One typing slip: two digits swapped, a digit dropped, or a zero typed as O."""
    kind = rng.randrange(3)
    if kind == 0:
        i = rng.randrange(1, len(p) - 1)
        return p[:i] + p[i + 1] + p[i] + p[i + 2:]
    if kind == 1:
        i = rng.randrange(1, len(p))
        return p[:i] + p[i + 1:]
    return p[0] + p[1:].replace("0", "O", 1) if "0" in p[1:] else p[:-1] + ("1" if p[-1] != "1" else "2")


def generate(n, seed=7):
    """Rows for workers, worker_passports and worker_identities."""
    rng = random.Random(seed)
    now = dt.datetime(2026, 12, 1, 8, 0, 0).isoformat(sep=" ")
    used = set()
    nat_pool = [n_ for n_, w in NATIONALITIES for _ in range(w)]
    workers, passports, identities = [], [], []
    people = 0

    def worker(nat, number, name, sex, birth, agencies, previous=None):
        wid = f"{rng.getrandbits(128):032x}"
        wid = f"{wid[:8]}-{wid[8:12]}-4{wid[13:16]}-8{wid[17:20]}-{wid[20:]}"
        workers.append((wid, 1, now, now))
        passports.append((number, nat, wid, "2031-01-01", agencies[0], now, now))
        for ag in agencies:
            identities.append((wid, ag, "bench", number, nat, name, sex, birth, "residence_permit",
                               f"{ag}-{wid}", now, previous))
        return wid

    while len(workers) < n:
        nat = rng.choice(nat_pool)
        name = f"{rng.choice(SURNAMES)} {rng.choice(GIVEN)}" + (f" {rng.choice(GIVEN)}" if rng.random() < 0.4 else "")
        sex = rng.choice("MF")
        birth = (dt.date(1960, 1, 1) + dt.timedelta(days=rng.randrange(15000))).isoformat()
        number = passport(rng, nat, used)
        agencies = ["IMI-BENCH", "MP-BENCH"] if rng.random() < 0.7 else ["IMI-BENCH"]
        worker(nat, number, name, sex, birth, agencies)
        people += 1
        r = rng.random()
        if r < 0.003 and len(workers) < n:
            # Manpower typed the number with a slip: a second worker.
            typed = slip(rng, number)
            if typed not in used:
                used.add(typed)
                worker(nat, typed, name, sex, birth, ["MP-BENCH"])
        elif r < 0.005 and len(workers) < n:
            # A renewal that immigration reported; the old number is another worker.
            renewed = passport(rng, nat, used)
            worker(nat, renewed, name, sex, None, ["IMI2-BENCH"], previous=number)
    return workers, passports, identities, people


AGENCIES = [("IMI-BENCH", "Imigrasi", "immigration"), ("IMI2-BENCH", "Imigrasi 2", "immigration"),
            ("MP-BENCH", "Disnaker", "manpower")]


def load_sqlite(path, workers, passports, identities):
    con = sqlite3.connect(path)
    with con:
        con.executemany("INSERT INTO agencies (code, name, kind, jurisdiction, created_at) VALUES (?, ?, ?, NULL, ?)",
                        [(c, n, k, "2026-12-01 08:00:00") for c, n, k in AGENCIES])
        con.executemany("INSERT INTO workers (id, version, created_at, updated_at) VALUES (?, ?, ?, ?)", workers)
        con.executemany("INSERT INTO worker_passports (number, country, worker_id, expires_on, agency_code, "
                        "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)", passports)
        con.executemany("INSERT INTO worker_identities (worker_id, agency_code, client_id, passport_no, nationality, "
                        "full_name, sex, birth_date, record_type, record_key, updated_at, previous_passport_no) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", identities)
    con.close()


def copy_rows(table, cols, rows):
    def cell(v):
        return "\\N" if v is None else str(v)
    data = "".join("\t".join(cell(v) for v in r) + "\n" for r in rows)
    bench.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", bench.PG_HOST, "-p", bench.PG_PORT, "-U",
               bench.PG_USER, "-d", bench.PG_DB, "-c", f"COPY {table} ({cols}) FROM STDIN"],
              timeout=600, input_=data)


def load_postgres(workers, passports, identities):
    bench.psql(bench.PG_DB, "INSERT INTO agencies (code, name, kind, jurisdiction, created_at) VALUES " + ", ".join(
        f"('{c}', '{n}', '{k}', NULL, '2026-12-01 08:00:00')" for c, n, k in AGENCIES))
    copy_rows("workers", "id, version, created_at, updated_at", workers)
    copy_rows("worker_passports", "number, country, worker_id, expires_on, agency_code, created_at, updated_at",
              passports)
    copy_rows("worker_identities", "worker_id, agency_code, client_id, passport_no, nationality, full_name, sex, "
              "birth_date, record_type, record_key, updated_at, previous_passport_no", identities)
    bench.psql(bench.PG_DB, "ANALYZE")


SCAN = ["SELECT * FROM workers", "SELECT * FROM worker_identities", "SELECT * FROM worker_passports"]


def measure(backend, n):
    server = bench.Server(backend, backend.tmp)
    backend.check()
    backend.create()
    try:
        server.cli("migrate", timeout=300)
        workers, passports, identities, people = generate(n)
        t = time.perf_counter()
        if backend.name == "sqlite":
            load_sqlite(backend.path, workers, passports, identities)
        else:
            load_postgres(workers, passports, identities)
        loaded = time.perf_counter() - t
        bench.log(f"{backend.name}: {len(workers):,} workers ({people:,} people) loaded in {loaded:.1f} s")
        first = json.loads(server.cli("persons", "sweep", "--json", timeout=1800))
        bench.log(f"{backend.name}: first sweep {first['seconds']:.2f} s (name keys filled: {first['names_keyed']:,})")
        daily = json.loads(server.cli("persons", "sweep", "--json", "--time-writes", "200", timeout=1800))
        bench.log(f"{backend.name}: daily sweep {daily['seconds']:.2f} s, {daily['candidates']} candidates; "
                  f"on one write median {daily['on_write_median_ms']:.2f} ms")
        scans = [min(backend.copy_out(q) for _ in range(3)) for q in SCAN]
        return {
            "workers": len(workers),
            "people": people,
            "identities": len(identities),
            "load_seconds": round(loaded, 2),
            "first_sweep": first,
            "daily_sweep": daily,
            "scan_workers_seconds": round(scans[0], 3),
            "scan_read_set_seconds": round(sum(scans), 3),
            "sweep_over_scan": round(daily["seconds"] / sum(scans), 1),
        }
    finally:
        backend.drop()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=100_000)
    ap.add_argument("--backends", default="postgres,sqlite")
    ap.add_argument("--out", default="person_sweep.json")
    args = ap.parse_args()
    if not bench.BIN.exists():
        sys.exit(f"{bench.BIN} is missing: run cargo build --release first")
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.backends.split(","):
            backend = (bench.Postgres if name == "postgres" else bench.Sqlite)(Path(tmp))
            results[name] = measure(backend, args.workers)
    out = bench.ROOT / "bench" / "results" / args.out
    out.write_text(json.dumps({"workers": args.workers, "results": results}, indent=2) + "\n")
    print(f"\n| backend | workers | candidates | daily sweep | read / compare / write | plain scan (read set) "
          f"| ratio | one write (median / slowest) |")
    print("|---|---:|---:|---:|---|---:|---:|---|")
    for name, r in results.items():
        d = r["daily_sweep"]
        print(f"| {name} | {r['workers']:,} | {d['candidates']} | {d['seconds']:.2f} s | "
              f"{d['load_seconds']:.2f} / {d['compare_seconds']:.2f} / {d['write_seconds']:.2f} s | "
              f"{r['scan_read_set_seconds']:.2f} s | {r['sweep_over_scan']} | "
              f"{d['on_write_median_ms']:.2f} / {d['on_write_max_ms']:.2f} ms |")
    print(f"\nwritten to {out}")


if __name__ == "__main__":
    main()
