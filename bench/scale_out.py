#!/usr/bin/env python3
"""Write throughput with one and with three instances on one PostgreSQL, and
what the writers wait for.

    python3 bench/scale_out.py                    # 60,000 permits per phase, 12 writing threads
    python3 bench/scale_out.py --rows 30000 --threads 12 --batch 250

For each phase (1 instance, then 3 instances on the same database) it starts
`target/release/sinergi serve` processes, and 12 threads post residence
permits with new keys in batches of 250 through `POST /api/v1/batch`,
spread over the instances. Every 100 ms a sampler reads `pg_stat_activity`
joined with the ungranted `pg_locks` of the benchmark's database: the wait
events of active sessions, and how many sessions wait on one lock target
(a row, a relation, a transaction). A single row every writer queues on
shows as many waiters on one target; its absence as waits spread thin.
Writes bench/results/scale_out.json. Standard library only; loopback only.
"""

import argparse
import collections
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402

DB = "sinergi_scale"
SAMPLE_SQL = f"""
SELECT a.pid, coalesce(a.wait_event_type, ''), coalesce(a.wait_event, ''),
       coalesce(l.locktype || ':' || coalesce(l.relation::regclass::text, '') || ':' ||
                coalesce(l.page::text, '') || ':' || coalesce(l.tuple::text, '') || ':' ||
                coalesce(l.transactionid::text, '') || ':' || coalesce(l.objid::text, ''), ''),
       left(regexp_replace(a.query, '\\s+', ' ', 'g'), 60)
  FROM pg_stat_activity a
  LEFT JOIN pg_locks l ON l.pid = a.pid AND NOT l.granted
 WHERE a.datname = '{DB}' AND a.state = 'active' AND a.pid <> pg_backend_pid()
"""


class Sampler(threading.Thread):
    """Samples the benchmark database's active sessions and their lock waits."""

    def __init__(self):
        super().__init__(daemon=True)
        self.stop_flag = threading.Event()
        self.samples = 0
        self.states = collections.Counter()
        self.by_locktype = collections.Counter()
        self.row_waits = collections.Counter()  # (target, query) -> waiting sessions, summed over samples
        self.most_on_one_row = 0
        self.most_on_one_target = (0, None)

    def run(self):
        while not self.stop_flag.is_set():
            p = subprocess.run(["psql", "-h", bench.PG_HOST, "-p", bench.PG_PORT, "-U", bench.PG_USER,
                                "-d", DB, "-AtF", "\t", "-c", SAMPLE_SQL],
                               capture_output=True, text=True, timeout=10)
            if p.returncode == 0:
                self.samples += 1
                per_target = collections.Counter()
                for line in p.stdout.splitlines():
                    parts = line.split("\t")
                    if len(parts) < 5:
                        continue
                    _, wtype, wevent, target, query = parts
                    self.states[f"{wtype}:{wevent}" if wtype else "running"] += 1
                    if target:
                        per_target[(target, query)] += 1
                for (target, query), n in per_target.items():
                    kind = target.split(":")[0]
                    self.by_locktype[kind] += n
                    if kind in ("tuple", "transactionid"):
                        self.row_waits[f"{target} ({query})"] += n
                        self.most_on_one_row = max(self.most_on_one_row, n)
                    if n > self.most_on_one_target[0]:
                        self.most_on_one_target = (n, f"{target} ({query})")
            self.stop_flag.wait(0.1)


def permit(i, phase):
    return {"type": "residence_permit", "key": f"9{phase}{i:08d}", "body": {
        "worker": {"passport_no": f"S{phase}{i:07d}", "nationality": "CHN", "full_name": "ZHANG WEI",
                   "sex": "M", "birth_date": "1985-04-12", "passport_expires_on": "2032-01-01"},
        "kind": "ITAS", "visa_index": "E23", "sponsor_nib": "9120001234567",
        "issued_on": "2026-01-05", "valid_from": "2026-01-05", "valid_until": "2027-01-04",
        "issuing_office": "Kantor Imigrasi Samarinda", "address_region_code": "64.02.06", "status": "active"}}


def phase(instances, args, tmp, backend, client, number, kek):
    servers = []
    for k in range(instances):
        s = bench.Server(backend, tmp)
        s.env["SINERGI_KEY_ENCRYPTION_KEY"] = kek
        if args.connections:
            # The same number of database connections in every phase.
            s.env["SINERGI_DB_POOL_SIZE"] = str(max(1, args.connections // instances))
        s.log_path = tmp / f"server-{number}-{k}.log"
        s.start()
        servers.append(s)
    tokens = [bench.token(s.port, client["client_id"], client["client_secret"]) for s in servers]
    batches = [list(range(i, min(i + args.batch, args.rows))) for i in range(0, args.rows, args.batch)]
    lock = threading.Lock()
    errors = []

    def writer(n):
        api = [bench.Api(s.port, t) for s, t in zip(servers, tokens)]
        j = 0
        while True:
            with lock:
                if not batches:
                    break
                keys = batches.pop()
            body = json.dumps({"operations": [permit(i, number) for i in keys]}).encode()
            status, data = api[(n + j) % len(api)].request("POST", "/api/v1/batch", body,
                                                          {"Content-Type": "application/json"})
            j += 1
            if status != 200 or json.loads(data)["summary"]["failed"]:
                errors.append(f"{status} {data[:200]!r}")
        for a in api:
            a.close()

    sampler = Sampler()
    sampler.start()
    started = time.perf_counter()
    threads = [threading.Thread(target=writer, args=(n,)) for n in range(args.threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    secs = time.perf_counter() - started
    sampler.stop_flag.set()
    sampler.join()
    for s in servers:
        s.stop()
    if errors:
        raise bench.BenchError(f"{len(errors)} batches failed, first: {errors[0]}")
    rate = args.rows / secs
    result = {
        "instances": instances, "rows": args.rows, "seconds": round(secs, 1), "rows_per_s": round(rate),
        "samples": sampler.samples,
        "session_states": dict(sampler.states.most_common(12)),
        # advisory: sequencer rounds waiting for the round in progress (readers of
        # the feed, the checkpoint round); tuple/transactionid: sessions queued on a row.
        "lock_waits_by_type": dict(sampler.by_locktype.most_common()),
        "row_lock_waits": dict(sampler.row_waits.most_common(5)),
        "most_sessions_waiting_on_one_row": sampler.most_on_one_row,
        "most_sessions_waiting_on_one_target": sampler.most_on_one_target[0],
        "that_target": sampler.most_on_one_target[1],
    }
    bench.log(f"  {instances} instance(s): {rate:,.0f} rows/s; most sessions waiting on one row "
              f"{sampler.most_on_one_row}; lock waits {dict(sampler.by_locktype)}; "
              f"states {dict(sampler.states.most_common(6))}")
    return result


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rows", type=int, default=60_000)
    p.add_argument("--threads", type=int, default=12)
    p.add_argument("--batch", type=int, default=250)
    p.add_argument("--connections", type=int, default=0,
                   help="database connections of all instances together (default: 8 per instance)")
    p.add_argument("--no-build", action="store_true")
    p.add_argument("--out", default="scale_out.json", help="file name under bench/results/")
    args = p.parse_args()
    if not args.no_build:
        subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=bench.ROOT, check=True)
    bench.PG_DB = DB
    tmp = Path(tempfile.mkdtemp(prefix="sinergi-scale-"))
    backend = bench.Postgres(tmp)
    backend.url = f"postgres://{bench.PG_USER}@{bench.PG_HOST}:{bench.PG_PORT}/{DB}"
    try:
        backend.check()
        results = []
        # Each phase on a fresh database of the same size, so only the number of instances differs.
        for number, instances in enumerate([1, 3], start=1):
            client, kek = fresh_database(backend, tmp)
            results.append(phase(instances, args, tmp, backend, client, number, kek))
        report = {"threads": args.threads, "batch": args.batch, "binary": str(bench.BIN),
                  "connections": args.connections or "8 per instance", "phases": results,
                  "three_over_one": round(results[1]["rows_per_s"] / results[0]["rows_per_s"], 2),
                  "load": bench.loadavg()}
        out_dir = bench.ROOT / "bench" / "results"
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / args.out).write_text(json.dumps(report, indent=2) + "\n")
        print(json.dumps(report, indent=2))
    finally:
        bench.psql("postgres", f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)", timeout=120)


def fresh_database(backend, tmp):
    """A new database with an immigration client and the sponsoring employer."""
    bench.psql("postgres", f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)", timeout=120)
    bench.psql("postgres", f"CREATE DATABASE {DB}", timeout=120)
    admin = bench.Server(backend, tmp)
    admin.cli("migrate")
    admin.cli("agency", "create", "--code", "KEMNAKER", "--name", "Kemnaker", "--kind", "manpower")
    admin.cli("agency", "create", "--code", "IMI", "--name", "Imigrasi", "--kind", "immigration")
    out = admin.cli("client", "create", "--agency", "IMI", "--scopes", "records:read records:write",
                    "--purposes", "supervision", "--name", "bench", "--json")
    client = json.loads(out.strip().splitlines()[-1])
    mp = json.loads(admin.cli("client", "create", "--agency", "KEMNAKER", "--scopes",
                              "records:read records:write", "--purposes", "supervision",
                              "--name", "bench", "--json").strip().splitlines()[-1])
    admin.start()
    api = bench.Api(admin.port, bench.token(admin.port, mp["client_id"], mp["client_secret"]))
    status, data = api.request("POST", "/api/v1/batch", json.dumps({"operations": [
        {"type": "employer", "key": "9120001234567", "body": {
            "name": "PT Sponsor", "capital": "PMA", "kbli": ["05100"], "region_code": "64.02.06"}}]}).encode(),
        {"Content-Type": "application/json"})
    api.close()
    admin.stop()
    if status != 200:
        raise bench.BenchError(f"seeding the sponsor: {status} {data[:200]!r}")
    return client, admin.env["SINERGI_KEY_ENCRYPTION_KEY"]


if __name__ == "__main__":
    try:
        main()
    except bench.BenchError as e:
        print(f"scale-out benchmark failed: {e}", file=sys.stderr)
        sys.exit(1)
