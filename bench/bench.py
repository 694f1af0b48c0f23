#!/usr/bin/env python3
"""Sinergi benchmark suite (issue 6): every figure next to its ceiling, measured
in the same run on the same machine, so the ratios survive noisy neighbours.

Run it through `bench/run` (installs wrk/sqlite3/pgbench, builds the release
binary). Python 3.11 standard library only. See bench/README.md.
"""

import argparse
import base64
import datetime as dt
import glob
import http.client
import json
import os
import random
import re
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gen  # noqa: E402
import peers  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
BIN = Path(os.environ.get("BENCH_BIN", ROOT / "target" / "release" / "sinergi"))
PG_HOST, PG_PORT, PG_USER = "127.0.0.1", "5432", "postgres"
# Per-run names: two runs (or other people's tools) never share a database.
PG_DB = f"sinergi_bench_{os.getpid()}"
PG_SCRATCH = f"sinergi_bench_pgbench_{os.getpid()}"
T0 = time.monotonic()


def log(msg):
    print(f"[bench {time.monotonic() - T0:7.1f}s] {msg}", file=sys.stderr, flush=True)


class BenchError(Exception):
    pass


def run(cmd, timeout, env=None, stdin=None, stdout=subprocess.PIPE, check=True, input_=None):
    """Runs a command with a time limit; returns CompletedProcess."""
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    try:
        p = subprocess.run(cmd, env=full_env, stdin=stdin, stdout=stdout, stderr=subprocess.PIPE,
                           timeout=timeout, input=input_, text=input_ is not None or stdout == subprocess.PIPE)
    except subprocess.TimeoutExpired as e:
        raise BenchError(f"timed out after {timeout}s: {' '.join(map(str, cmd))[:200]}") from e
    if check and p.returncode != 0:
        err = p.stderr if isinstance(p.stderr, str) else (p.stderr or b"").decode(errors="replace")
        raise BenchError(f"failed ({p.returncode}): {' '.join(map(str, cmd))[:200]}\n{err[-2000:]}")
    return p


def loadavg():
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


# ------------------------------------------------------------------ databases

def psql(db, sql, timeout=600, fmt_args=()):
    p = run(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", PG_HOST, "-p", PG_PORT, "-U", PG_USER,
             "-d", db, *fmt_args, "-c", sql], timeout=timeout)
    return p.stdout


def sql_lit(v):
    if v is None:
        return "NULL"
    if isinstance(v, int):
        return str(v)
    return "'" + str(v).replace("'", "''") + "'"


RAW_DDL = """
CREATE TABLE bench_raw_records (
    record_type  TEXT NOT NULL,
    record_key   TEXT NOT NULL,
    agency_code  TEXT NOT NULL REFERENCES agencies (code),
    client_id    TEXT NOT NULL,
    source_ref   TEXT,
    worker_id    TEXT REFERENCES workers (id),
    employer_nib TEXT,
    region_code  TEXT,
    status       TEXT,
    kind         TEXT,
    nationality  TEXT,
    ref_key      TEXT,
    valid_from   DATE,
    valid_until  DATE,
    doc          TEXT NOT NULL,
    version      BIGINT NOT NULL,
    created_at   TIMESTAMP NOT NULL,
    updated_at   TIMESTAMP NOT NULL,
    PRIMARY KEY (record_type, record_key),
    UNIQUE (record_type, agency_code, source_ref)
);
CREATE INDEX bench_raw_records_employer ON bench_raw_records (record_type, employer_nib, record_key);
CREATE INDEX bench_raw_records_region ON bench_raw_records (record_type, region_code, status, record_key);
CREATE INDEX bench_raw_records_worker ON bench_raw_records (worker_id);
CREATE INDEX bench_raw_records_ref ON bench_raw_records (record_type, ref_key, record_key);
"""


def upsert_sql(rows, distinct_op):
    """One multi-row upsert statement of `rows` into bench_raw_records, with the
    same 'unchanged content changes nothing' rule Sinergi applies."""
    cols = ", ".join(gen.RECORD_COLUMNS)
    values = ",\n".join("(" + ", ".join(sql_lit(v) for v in r) + ")" for r in rows)
    sets = ", ".join(f"{c} = excluded.{c}" for c in gen.RECORD_COLUMNS
                     if c not in ("record_type", "record_key", "version", "created_at"))
    return (f"INSERT INTO bench_raw_records ({cols}) VALUES\n{values}\n"
            f"ON CONFLICT (record_type, record_key) DO UPDATE SET {sets}, "
            f"version = bench_raw_records.version + 1 "
            f"WHERE bench_raw_records.doc {distinct_op} excluded.doc;\n")


class Postgres:
    name = "postgres"

    def __init__(self, tmp):
        self.tmp = tmp
        self.url = f"postgres://{PG_USER}@{PG_HOST}:{PG_PORT}/{PG_DB}"

    def check(self):
        run(["pg_isready", "-h", PG_HOST, "-p", PG_PORT], timeout=15)

    def create(self):
        psql("postgres", f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)", timeout=120)
        psql("postgres", f"CREATE DATABASE {PG_DB}", timeout=120)

    def drop(self):
        psql("postgres", f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)", timeout=120)

    def query(self, sql, timeout=600):
        out = psql(PG_DB, sql, timeout=timeout, fmt_args=("-F", "\t"))
        return [line.split("\t") for line in out.splitlines() if line]

    def exec_file(self, path, timeout):
        run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", PG_HOST, "-p", PG_PORT, "-U", PG_USER, "-d", PG_DB,
             "-f", str(path)], timeout=timeout, stdout=subprocess.DEVNULL)

    def raw_upsert(self, rows, batch):
        """Times the multi-row upserts (one statement and commit per batch) through psql -f."""
        self.query("DROP TABLE IF EXISTS bench_raw_records")
        psql(PG_DB, RAW_DDL)
        path = self.tmp / "raw_upsert_pg.sql"
        with open(path, "w") as f:
            for i in range(0, len(rows), batch):
                f.write(upsert_sql(rows[i:i + batch], "IS DISTINCT FROM"))
        t = time.perf_counter()
        self.exec_file(path, timeout=1800)
        secs = time.perf_counter() - t
        t = time.perf_counter()
        self.exec_file(path, timeout=1800)  # again: every row unchanged
        secs_unchanged = time.perf_counter() - t
        n = int(self.query("SELECT count(*) FROM bench_raw_records")[0][0])
        self.query("DROP TABLE bench_raw_records")
        path.unlink()
        return n, secs, secs_unchanged

    def copy_out(self, select, timeout=1800):
        """Times COPY (select) TO STDOUT through psql into /dev/null."""
        t = time.perf_counter()
        run(["psql", "-X", "-q", "-h", PG_HOST, "-p", PG_PORT, "-U", PG_USER, "-d", PG_DB,
             "-c", f"COPY ({select}) TO STDOUT"], timeout=timeout, stdout=subprocess.DEVNULL)
        return time.perf_counter() - t

    def load_presence(self, n, client_id, nib, site_ref):
        """n presence reports straight into `records`, shaped like the API's
        (headcount reports by Kesbangpol), to export in constant memory."""
        sql = f"""
INSERT INTO records (record_type, record_key, agency_code, client_id, source_ref, worker_id, employer_nib,
                     region_code, status, kind, nationality, ref_key, valid_from, valid_until, doc, version,
                     created_at, updated_at)
SELECT 'presence_report', md5('bench-presence-' || i)::uuid::text, 'KESBANGPOL-KUKAR', {sql_lit(client_id)},
       'PORA-BULK-' || lpad(i::text, 8, '0'), NULL, {sql_lit(nib)}, r, NULL, k, NULL, {sql_lit(site_ref)}, d, d,
       format('{{"source_ref":"%s","observed_on":"%s","source":"%s","region_code":"%s","work_site_ref":"%s",'
              '"employer_nib":"%s","worker":null,"headcount":%s,"activity":"%s","notes":"%s"}}',
              'PORA-BULK-' || lpad(i::text, 8, '0'), d, k, r, {sql_lit(site_ref)}, {sql_lit(nib)}, 1 + i % 40,
              (ARRAY['supervising overburden removal','inspecting the haul road','checking pit dewatering pumps',
                     'supervising barge loading','inspecting harvest blocks'])[1 + i % 5],
              'Pemeriksaan lapangan Tim PORA Kukar'),
       1, now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC'
FROM generate_series(1, {n}) AS i,
     LATERAL (SELECT (current_date - (i % 90))::date AS d,
                     '64.02.' || lpad((1 + i % 20)::text, 2, '0') AS r,
                     CASE WHEN i % 5 = 0 THEN 'employer_report' ELSE 'field_check' END AS k) AS x;
ANALYZE records;
"""
        path = self.tmp / "bulk_presence_pg.sql"
        path.write_text(sql)
        self.exec_file(path, timeout=1800)

    def version(self):
        return psql("postgres", "SHOW server_version").strip()


class Sqlite:
    name = "sqlite"

    def __init__(self, tmp):
        self.tmp = tmp
        self.path = tmp / "sinergi.db"
        self.url = f"sqlite://{self.path}"

    def check(self):
        pass

    def create(self):
        for p in glob.glob(str(self.path) + "*"):
            os.unlink(p)

    def drop(self):
        self.create()

    def sqlite3(self, sql, timeout=600, stdin=None):
        args = ["sqlite3", "-batch", "-bail", "-separator", "\t", "-cmd", ".timeout 20000", str(self.path)]
        if stdin is None:
            args.append(sql)
        return run(args, timeout=timeout, stdin=stdin)

    def query(self, sql, timeout=600):
        return [line.split("\t") for line in self.sqlite3(sql, timeout).stdout.splitlines() if line]

    def raw_upsert(self, rows, batch):
        """Times the multi-row upserts through sqlite3, all in one transaction,
        with Sinergi's pragmas (WAL, synchronous=NORMAL, foreign keys on)."""
        self.query("DROP TABLE IF EXISTS bench_raw_records")
        self.sqlite3(RAW_DDL)
        path = self.tmp / "raw_upsert_sqlite.sql"
        with open(path, "w") as f:
            f.write("PRAGMA foreign_keys = ON; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;\n")
            f.write("BEGIN;\n")
            for i in range(0, len(rows), batch):
                f.write(upsert_sql(rows[i:i + batch], "IS NOT"))
            f.write("COMMIT;\n")
        timings = []
        for _ in range(2):  # the second pass finds every row unchanged
            with open(path) as f:
                t = time.perf_counter()
                run(["sqlite3", "-batch", "-bail", "-cmd", ".timeout 20000", str(self.path)], timeout=1800,
                    stdin=f, stdout=subprocess.DEVNULL)
                timings.append(time.perf_counter() - t)
        secs, secs_unchanged = timings
        n = int(self.query("SELECT count(*) FROM bench_raw_records")[0][0])
        self.query("DROP TABLE bench_raw_records")
        path.unlink()
        return n, secs, secs_unchanged

    def copy_out(self, select, timeout=1800):
        t = time.perf_counter()
        run(["sqlite3", "-batch", "-readonly", "-cmd", ".timeout 20000", str(self.path), select], timeout=timeout,
            stdout=subprocess.DEVNULL)
        return time.perf_counter() - t

    def load_presence(self, n, client_id, nib, site_ref):
        acts = ["supervising overburden removal", "inspecting the haul road", "checking pit dewatering pumps",
                "supervising barge loading", "inspecting harvest blocks"]
        act_case = "CASE i % 5 " + " ".join(f"WHEN {k} THEN '{a}'" for k, a in enumerate(acts)) + " END"
        sql = f"""
PRAGMA foreign_keys = ON; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;
BEGIN;
WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {n}),
x AS (SELECT i,
             printf('%08x-%04x-4%03x-8%03x-%012x', (i * 2654435761) % 4294967296, i % 65536, i % 4096,
                    (i * 7) % 4096, i) AS k,
             'PORA-BULK-' || printf('%08d', i) AS sref,
             date('now', '-' || (i % 90) || ' days') AS d,
             '64.02.' || printf('%02d', 1 + i % 20) AS r,
             CASE WHEN i % 5 = 0 THEN 'employer_report' ELSE 'field_check' END AS src,
             {act_case} AS act
      FROM s)
INSERT INTO records (record_type, record_key, agency_code, client_id, source_ref, worker_id, employer_nib,
                     region_code, status, kind, nationality, ref_key, valid_from, valid_until, doc, version,
                     created_at, updated_at)
SELECT 'presence_report', k, 'KESBANGPOL-KUKAR', {sql_lit(client_id)}, sref, NULL, {sql_lit(nib)}, r, NULL, src,
       NULL, {sql_lit(site_ref)}, d, d,
       printf('{{"source_ref":"%s","observed_on":"%s","source":"%s","region_code":"%s","work_site_ref":"%s",'
              || '"employer_nib":"%s","worker":null,"headcount":%d,"activity":"%s","notes":"%s"}}',
              sref, d, src, r, {sql_lit(site_ref)}, {sql_lit(nib)}, 1 + i % 40, act,
              'Pemeriksaan lapangan Tim PORA Kukar'),
       1, strftime('%Y-%m-%d %H:%M:%f', 'now'), strftime('%Y-%m-%d %H:%M:%f', 'now')
FROM x;
COMMIT;
ANALYZE;
"""
        path = self.tmp / "bulk_presence_sqlite.sql"
        path.write_text(sql)
        with open(path) as f:
            run(["sqlite3", "-batch", "-bail", "-cmd", ".timeout 20000", str(self.path)], timeout=1800, stdin=f,
                stdout=subprocess.DEVNULL)

    def version(self):
        return run(["sqlite3", "--version"], timeout=10).stdout.split()[0] + " (CLI; the server bundles its own)"


# ------------------------------------------------------------------ the server

def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def proc_status(pid):
    out = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in ("VmRSS", "VmHWM"):
                    out[k] = int(v.split()[0]) / 1024.0  # MiB
    except OSError:
        pass
    return out


class Server:
    def __init__(self, backend, tmp):
        self.backend = backend
        self.tmp = tmp
        self.port = free_port()
        self.proc = None
        self.env = {
            "SINERGI_DATABASE_URL": backend.url,
            "SINERGI_RATE_LIMIT_PER_MINUTE": "100000000",
            "SINERGI_RATE_LIMIT_BURST": "10000000",
            "SINERGI_LOG": "warn",
            "SINERGI_TOKEN_TTL_SECS": "86400",
            # A throwaway key: the benchmark's signing keys are encrypted with it.
            "SINERGI_KEY_ENCRYPTION_KEY": base64.b64encode(os.urandom(32)).decode(),
        }
        self.log_path = tmp / f"server-{backend.name}.log"

    def cli(self, *args, timeout=120):
        return run([str(BIN), *args], timeout=timeout, env=self.env).stdout

    def start(self):
        logf = open(self.log_path, "ab")
        env = dict(os.environ)
        env.update(self.env)
        self.proc = subprocess.Popen([str(BIN), "serve", "--bind", f"127.0.0.1:{self.port}"], env=env,
                                     stdout=logf, stderr=logf, stdin=subprocess.DEVNULL, start_new_session=True)
        logf.close()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BenchError(f"the server exited ({self.proc.returncode}); see {self.log_path}:\n"
                                 + self.log_path.read_text()[-2000:])
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                c.request("GET", "/health/ready")
                if c.getresponse().status == 200:
                    c.close()
                    return
                c.close()
            except OSError:
                pass
            time.sleep(0.2)
        raise BenchError("the server did not become ready within 120 s")

    def status(self):
        return proc_status(self.proc.pid) if self.proc else {}

    def stop(self):
        if not self.proc or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)  # our own child, by pid
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)


class Api:
    def __init__(self, port, token=None):
        self.port = port
        self.token = token
        self.conn = None

    def _conn(self):
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=900)
        return self.conn

    def request(self, method, path, body=None, headers=None, stream=False):
        h = {"X-Purpose": "supervision"}
        if self.token:
            h["Authorization"] = f"Bearer {self.token}"
        h.update(headers or {})
        for attempt in (1, 2):
            c = self._conn()
            try:
                c.request(method, path, body=body, headers=h)
                r = c.getresponse()
                if stream:
                    return r
                data = r.read()
                return r.status, data
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.close()
                if attempt == 2:
                    raise

    def close(self):
        if self.conn:
            self.conn.close()
            self.conn = None

    def json(self, method, path, body=None, expect=200):
        headers = {"Content-Type": "application/json"} if body is not None else {}
        status, data = self.request(method, path, body, headers)
        if status != expect:
            raise BenchError(f"{method} {path.split('?')[0]} answered {status}: {data[:500]!r}")
        return json.loads(data)


def token(port, client_id, secret):
    body = urllib.parse.urlencode({"grant_type": "client_credentials", "client_id": client_id,
                                   "client_secret": secret})
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request("POST", "/api/v1/oauth/token", body=body,
              headers={"Content-Type": "application/x-www-form-urlencoded"})
    r = c.getresponse()
    data = r.read()
    c.close()
    if r.status != 200:
        raise BenchError(f"token request answered {r.status}: {data[:300]!r}")
    return json.loads(data)["access_token"]


# ------------------------------------------------------------------ load generators

UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def to_ms(text):
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    return float(m.group(1)) * UNITS[m.group(2)] if m else None


def wrk(port, paths, token_, duration, connections, threads, tmp, label):
    pfile = tmp / f"paths-{label}.txt"
    pfile.write_text("\n".join(paths) + "\n")
    env = {"BENCH_TOKEN": token_, "BENCH_PATHS": str(pfile), "BENCH_PURPOSE": "supervision"}
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency", "--timeout", "10s",
           "-s", str(BENCH / "wrk_rotate.lua"), f"http://127.0.0.1:{port}"]
    return parse_wrk(run(cmd, timeout=duration + 60, env=env).stdout)


def wrk_peer(port, env, duration, connections, threads):
    """wrk with bench/wrk_peer.lua against a peer (env from peers.wrk_env)."""
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency", "--timeout", "10s",
           "-s", str(BENCH / "wrk_peer.lua"), f"http://127.0.0.1:{port}"]
    return parse_wrk(run(cmd, timeout=duration + 60, env=env).stdout)


def parse_wrk(out):
    res = {"raw": out}
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    res["rps"] = float(m.group(1)) if m else None
    m = re.search(r"(\d+) requests in ([\d.]+\w+)", out)
    res["requests"] = int(m.group(1)) if m else None
    for pct in ("50", "75", "90", "99"):
        m = re.search(rf"^\s+{pct}%\s+(\S+)", out, re.M)
        res[f"p{pct}_ms"] = to_ms(m.group(1)) if m else None
    m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    res["non_2xx"] = int(m.group(1)) if m else 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    res["socket_errors"] = sum(map(int, m.groups())) if m else 0
    return res


def find_pgbench():
    if os.environ.get("BENCH_PGBENCH"):
        return os.environ["BENCH_PGBENCH"]
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pgbench"), key=lambda p: int(p.split("/")[4]))
    if found:
        return found[-1]
    return shutil.which("pgbench") or "pgbench"


def pgbench(duration, clients, threads, mode, tmp, log_latency):
    exe = find_pgbench()
    args = [exe, "-h", PG_HOST, "-p", PG_PORT, "-U", PG_USER, "-n", "-S", "-c", str(clients), "-j", str(threads),
            "-T", str(duration), "-M", mode]
    logdir = tmp / f"pgbench-{mode}"
    if log_latency:
        shutil.rmtree(logdir, ignore_errors=True)
        logdir.mkdir()
        args += ["-l", f"--log-prefix={logdir}/pgbench_log"]
    tls = {}
    sampler = None
    if log_latency:
        # Which of pgbench's connections use TLS, looked up once while it runs.
        def sample():
            try:
                tls.update(pg_tls(PG_SCRATCH))
            except BenchError as e:
                tls["error"] = str(e)[:200]
        sampler = threading.Timer(min(2.0, duration / 2), sample)
        sampler.start()
    try:
        out = run(args + [PG_SCRATCH], timeout=duration + 120).stdout
    finally:
        if sampler:
            sampler.join()
    m = re.search(r"tps = ([\d.]+)", out)
    res = {"mode": mode, "tps": float(m.group(1)) if m else None}
    if tls:
        res["tls"] = tls
    m = re.search(r"latency average = ([\d.]+) ms", out)
    res["latency_avg_ms"] = float(m.group(1)) if m else None
    if log_latency:
        lat = []
        for p in logdir.glob("pgbench_log*"):
            with open(p) as f:
                for line in f:
                    parts = line.split()
                    if len(parts) >= 3:
                        lat.append(int(parts[2]) / 1000.0)
        if lat:
            lat.sort()
            res["p50_ms"] = round(lat[len(lat) // 2], 3)
            res["p99_ms"] = round(lat[min(len(lat) - 1, int(len(lat) * 0.99))], 3)
        shutil.rmtree(logdir, ignore_errors=True)
    return res


def pg_tls(db, application_name=None):
    """How many client connections to `db` use TLS (pg_stat_ssl), with the
    protocol versions and ciphers; the query's own connection left out."""
    where = (f"a.datname = {sql_lit(db)} AND a.pid <> pg_backend_pid() AND a.backend_type = 'client backend'")
    if application_name:
        where += f" AND a.application_name = {sql_lit(application_name)}"
    out = psql("postgres", "SELECT count(*), count(*) FILTER (WHERE s.ssl), "
               "coalesce(string_agg(DISTINCT s.version, ','), ''), coalesce(string_agg(DISTINCT s.cipher, ','), '') "
               f"FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid) WHERE {where}",
               timeout=30, fmt_args=("-F", "\t"))
    n, n_tls, version, cipher = out.strip("\n").split("\t")
    return {"connections": int(n), "tls": int(n_tls), "tls_version": version or None, "cipher": cipher or None}


def tls_text(t):
    if not t or "connections" not in t:
        return "not sampled"
    text = f"{t['tls']} of {t['connections']} over TLS"
    return text + (f" ({t['tls_version']})" if t.get("tls_version") else "")


# ------------------------------------------------------------------ the suite

class Results:
    def __init__(self):
        self.rows = []

    def add(self, metric, backend, unit, sinergi, ceiling=None, ceiling_label=None, goal=None, note=None,
            kind=None):
        """goal: ('ratio>=', x) | ('ratio>', x) | ('<', x) | ('<=', x) | None (information).
        kind 'peer': the comparison is an off-the-shelf peer on the same data,
        not a ceiling (its own table in the markdown)."""
        ratio = None
        if sinergi is not None and ceiling and unit not in ("ms", "MiB"):
            ratio = sinergi / ceiling
        met = None
        if goal and sinergi is not None:
            op, x = goal
            if op == "ratio>=":
                met = ratio is not None and ratio >= x
            elif op == "ratio>":
                met = ratio is not None and ratio > x
            elif op == "<":
                met = sinergi < x
            elif op == "<=":
                met = sinergi <= x
        row = {
            "metric": metric, "backend": backend, "unit": unit,
            "sinergi": None if sinergi is None else round(sinergi, 3),
            "ceiling": None if ceiling is None else round(ceiling, 3), "ceiling_label": ceiling_label,
            "ratio": None if ratio is None else round(ratio, 3),
            "goal": None if not goal else {"op": goal[0], "value": goal[1]}, "met": met, "note": note,
        }
        if kind:
            row["kind"] = kind
        self.rows.append(row)


def fmt_num(v, unit):
    if v is None:
        return "—"
    if unit in ("ms", "MiB"):
        return f"{v:,.1f}" if v >= 10 else f"{v:,.2f}"
    return f"{v:,.0f}"


def goal_text(g, against="ceiling"):
    if not g:
        return "—"
    op, v = g["op"], g["value"]
    if op == "ratio>=":
        return f"≥ {v} × {against}"
    if op == "ratio>":
        return f"above {against}" if v == 1 else f"> {v} × {against}"
    return f"{op} {v}"


def markdown(report):
    lines = ["# Sinergi benchmark results", ""]
    cfg, mach = report["config"], report["machine"]
    lines.append(f"Run {report['started_at']} · {cfg['workers']:,} workers · backends {', '.join(cfg['backends'])} · "
                 f"commit {cfg['git'].get('commit', '?')[:10]}{' (dirty)' if cfg['git'].get('dirty') else ''}")
    lines.append(f"Machine: {mach['nproc']} cores, load average at start {mach['loadavg_start']}, "
                 f"at end {mach.get('loadavg_end')}; every ratio is measured against its ceiling in this run.")
    tls = report.get("postgres_tls")
    if tls:
        parts = [f"server ssl = {tls.get('server_ssl', '?')}, client sslmode {tls.get('client_sslmode', '?')}"]
        for who, label in (("sinergi", "Sinergi's pool"), ("pgbench", "pgbench's"), ("postgraphile", "PostGraphile's")):
            if who in tls:
                parts.append(f"{label} connections {tls_text(tls[who])}")
        lines.append("PostgreSQL TLS: " + "; ".join(parts) + ".")
    lines.append("")
    lines.append("| metric | backend | Sinergi | ceiling | ratio | goal | met? |")
    lines.append("|---|---|---:|---:|---:|---|:-:|")
    for r in report["results"]:
        if r.get("kind") == "peer":
            continue
        ceiling = "—" if r["ceiling"] is None else f"{fmt_num(r['ceiling'], r['unit'])} ({r['ceiling_label']})"
        met = {True: "yes", False: "**no**", None: "—"}[r["met"]]
        sin = f"{fmt_num(r['sinergi'], r['unit'])} {r['unit']}"
        if r.get("note"):
            sin += f" ({r['note']})"
        ratio = "—" if r["ratio"] is None else f"{r['ratio']:.2f}"
        lines.append(f"| {r['metric']} | {r['backend']} | {sin} | {ceiling} | {ratio} | {goal_text(r['goal'])} | {met} |")
    peer_rows = [r for r in report["results"] if r.get("kind") == "peer"]
    if peer_rows or report.get("peers"):
        pv = report.get("peers", {}).get("versions", {})
        lines.append("")
        n = cfg.get("peer_rounds")
        ran = [b for b, v in report["backends"].items() if "peers" in v]
        who = []
        if "postgres" in ran:
            who.append(f"PostGraphile {pv.get('postgraphile', '?')} (Node {pv.get('node', '?')}) on the PostgreSQL "
                       "benchmark database")
        if "sqlite" in ran:
            who.append(f"Datasette {pv.get('datasette', '?')} (Python {pv.get('datasette_python', '?')}) on the "
                       "SQLite benchmark file")
        lines.append(f"Peers on the same data, in this run: {' and '.join(who) or 'none ran'}. Reads are medians of "
                     f"{n} interleaved round{'' if n == 1 else 's'} (Sinergi's GET /workers/{{id}}, then each peer "
                     f"query; {cfg['connections']} connections, {cfg['duration_s']} s each); the queries are in "
                     "bench/README.md.")
        lines.append("")
        lines.append("| metric | backend | Sinergi | peer | ratio to peer | goal | met? |")
        lines.append("|---|---|---:|---:|---:|---|:-:|")
        for r in peer_rows:
            peer = "—" if r["ceiling"] is None else f"{fmt_num(r['ceiling'], r['unit'])} ({r['ceiling_label']})"
            met = {True: "yes", False: "**no**", None: "—"}[r["met"]]
            sin = f"{fmt_num(r['sinergi'], r['unit'])} {r['unit']}"
            if r.get("note"):
                sin += f" ({r['note']})"
            ratio = "—" if r["ratio"] is None else f"{r['ratio']:.2f}"
            lines.append(f"| {r['metric']} | {r['backend']} | {sin} | {peer} | {ratio} | "
                         f"{goal_text(r['goal'], 'peer')} | {met} |")
        for b, v in report["backends"].items():
            err = (v.get("peers") or {}).get("error")
            if err:
                lines.append("")
                lines.append(f"- **{b} peers failed**: {err.splitlines()[0]}")
    errors = {b: v["error"] for b, v in report["backends"].items() if v.get("error")}
    if errors:
        lines.append("")
        for b, e in errors.items():
            lines.append(f"- **{b} failed**: {e.splitlines()[0] if e else e}")
    lines.append("")
    ds = report.get("dataset", {})
    if ds:
        lines.append("Data set: " + ", ".join(f"{v:,} {k.replace('_', ' ')}" for k, v in ds.items()) + ".")
        lines.append("")
    return "\n".join(lines)


def post_batches(api, rtype, ops, batch_size, label):
    """Pushes ops [(key|None, body)] through POST /api/v1/batch, `batch_size`
    at a time; returns (rows, seconds, summary). A batch the server refuses as
    too large (413) is split in halves, and the sizes that went through are
    reported in the summary (`batch_sizes`)."""
    def encode(chunk):
        items = []
        for key, body in chunk:
            op = {"type": rtype, "body": body}
            if key is not None:
                op["key"] = key
            items.append(op)
        return json.dumps({"operations": items}, separators=(",", ":")).encode()

    pending = [(ops[i:i + batch_size], encode(ops[i:i + batch_size])) for i in range(0, len(ops), batch_size)]
    total = {"created": 0, "updated": 0, "unchanged": 0, "failed": 0}
    sizes, refused = {}, {}
    first_failure = None
    done = 0
    t = time.perf_counter()
    last_log = t
    while pending:
        chunk, body = pending.pop(0)
        status, data = api.request("POST", "/api/v1/batch", body, {"Content-Type": "application/json"})
        if status == 413 and len(chunk) > 1:
            refused[len(chunk)] = max(refused.get(len(chunk), 0), len(body))
            half = len(chunk) // 2
            a, b = chunk[:half], chunk[half:]
            pending[0:0] = [(a, encode(a)), (b, encode(b))]
            continue
        if status != 200:
            raise BenchError(f"batch of {len(chunk)} {rtype} ({len(body):,} bytes) answered {status}: {data[:500]!r}")
        resp = json.loads(data)
        for k in ("created", "updated", "unchanged", "failed"):
            total[k] += resp["summary"][k]
        sizes[len(chunk)] = sizes.get(len(chunk), 0) + 1
        done += len(chunk)
        if resp["summary"]["failed"] and first_failure is None:
            first_failure = next(r for r in resp["results"] if r["outcome"] == "failed")
        now = time.perf_counter()
        if now - last_log > 15:
            log(f"  {label}: {done:,}/{len(ops):,} ({done / (now - t):,.0f} rows/s)")
            last_log = now
    secs = time.perf_counter() - t
    if first_failure:
        log(f"  {label}: {total['failed']} operations failed, first: {json.dumps(first_failure)[:400]}")
    if refused:
        log(f"  {label}: the server refused batches as too large (413) at sizes "
            f"{', '.join(f'{n} ops/{b:,} bytes' for n, b in sorted(refused.items()))}; sent {sizes}")
        total["refused_413"] = {str(k): v for k, v in sorted(refused.items())}
    total["batch_sizes"] = {str(k): v for k, v in sorted(sizes.items())}
    return len(ops), secs, total


def read_changes(api, target, page):
    """Reads the change feed from the start, `page` at a time, until `target` changes."""
    got, after, pages = 0, None, 0
    t = time.perf_counter()
    while got < target:
        q = f"/api/v1/changes?limit={min(page, target - got)}" + (f"&after={after}" if after else "")
        status, data = api.request("GET", q)
        if status != 200:
            raise BenchError(f"changes answered {status}: {data[:300]!r}")
        # The page ends with next_cursor and has_more; skip a full parse on the client.
        tail = data[-600:]
        m = re.search(rb'"next_cursor":"([^"]+)","has_more":(true|false)\}$', tail)
        if m and pages > 0:
            n = data.count(b'"op":"')
            cursor, more = m.group(1).decode(), m.group(2) == b"true"
        else:
            page_json = json.loads(data)
            n = len(page_json["changes"])
            cursor, more = page_json["next_cursor"], page_json["has_more"]
        got += n
        pages += 1
        after = urllib.parse.quote(cursor, safe="")
        if not more or n == 0:
            break
    return got, time.perf_counter() - t


def stream_export(port, tok, rtype, sampler=None):
    """Streams GET /api/v1/export/{rtype} (NDJSON); returns (records, seconds, trailer)."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=900)
    t = time.perf_counter()
    c.request("GET", f"/api/v1/export/{rtype}",
              headers={"Authorization": f"Bearer {tok}", "X-Purpose": "supervision"})
    r = c.getresponse()
    if r.status != 200:
        raise BenchError(f"export answered {r.status}: {r.read()[:300]!r}")
    lines, tail = 0, b""
    while True:
        chunk = r.read(1 << 16)
        if not chunk:
            break
        lines += chunk.count(b"\n")
        tail = (tail + chunk)[-400:]
        if sampler:
            sampler.progress = lines
    secs = time.perf_counter() - t
    c.close()
    last = tail.rstrip(b"\n").rsplit(b"\n", 1)[-1]
    trailer = json.loads(last) if last.startswith(b'{"') and b"export_complete" in last else None
    if not trailer:
        raise BenchError("the export ended without its export_complete line")
    return lines - 1, secs, trailer


class RssSampler(threading.Thread):
    """Samples the server's VmRSS every 100 ms with the export's progress."""

    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid = pid
        self.samples = []
        self.progress = 0
        self.stop_flag = threading.Event()

    def run(self):
        while not self.stop_flag.is_set():
            s = proc_status(self.pid)
            if "VmRSS" in s:
                self.samples.append((time.perf_counter(), s["VmRSS"], self.progress))
            self.stop_flag.wait(0.1)


def setup_agencies(server):
    """Agencies and one client each (CLI); returns {agency: (client_id, secret)}."""
    clients = {}
    for code, name, kind, juris in gen.AGENCIES:
        args = ["agency", "create", "--code", code, "--name", name, "--kind", kind]
        if juris:
            args += ["--jurisdiction", juris]
        server.cli(*args)
        out = server.cli("client", "create", "--agency", code, "--scopes", "records:read records:write",
                         "--purposes", "supervision", "--name", "bench", "--json")
        c = json.loads(out.strip().splitlines()[-1])
        clients[code] = (c["client_id"], c["client_secret"])
    return clients


def bench_backend(backend, data, args, tmp, results, ceilings):
    out = {"load": {}, "loadavg": {}, "rss_by_phase_mib": {}, "hwm_by_phase_mib": {}}
    name = backend.name
    backend.check()
    backend.create()
    server = Server(backend, tmp)
    try:
        log(f"[{name}] registering agencies and clients")
        clients = setup_agencies(server)
        server.start()
        out["rss_after_start_mib"] = server.status().get("VmRSS")
        toks = {code: token(server.port, *c) for code, c in clients.items()}
        apis = {code: Api(server.port, t) for code, t in toks.items()}

        # 1. Reference data and assignments (manpower), as the demo pushes them.
        def phase(label):
            st = server.status()
            out["rss_by_phase_mib"][label] = st.get("VmRSS")
            out["hwm_by_phase_mib"][label] = st.get("VmHWM")

        def load(label, agency, rtype, ops):
            n, secs, summary = post_batches(apis[agency], rtype, ops, args.batch, f"{name} {label}")
            phase(f"after {label}")
            out["load"][label] = {"rows": n, "seconds": round(secs, 2), "rows_per_s": round(n / secs, 1),
                                  "summary": summary}
            log(f"[{name}] {label}: {n:,} in {secs:.1f} s = {n / secs:,.0f} rows/s {summary}")
            return n, secs, summary

        log(f"[{name}] loading employers, sites, approvals, assignments through POST /api/v1/batch")
        load("employers", gen.DISNAKER, "employer", data.employers)
        load("work_sites", gen.DISNAKER, "work_site", [(None, b) for b in data.sites])
        load("rptka_approvals", gen.KEMNAKER, "rptka_approval", data.approvals)
        for agency in (gen.KEMNAKER, gen.DISNAKER):
            ops = [(None, b) for a, b in data.assignments if a == agency]
            load(f"assignments_{agency}", agency, "assignment", ops)

        # 2. Ingest: residence permits with the worker identity, next to the raw upsert.
        log(f"[{name}] ingest: {len(data.permits):,} residence permits in batches of {args.batch}")
        out["loadavg"]["ingest"] = loadavg()
        n, secs, summary = load("residence_permits", gen.IMI, "residence_permit", data.permits)
        if summary["failed"]:
            raise BenchError(f"{summary['failed']} permits failed; see the log above")
        note = None
        if summary.get("refused_413"):
            note = "413 at 1,000; sent " + ", ".join(f"{v}×{k}" for k, v in summary["batch_sizes"].items())
        sinergi_rate = n / secs
        ids = dict((k, w) for k, w in backend.query(
            "SELECT record_key, worker_id FROM records WHERE record_type = 'residence_permit'"))
        now = dt.datetime.utcnow().strftime("%Y-%m-%d %H:%M:%S.%f")
        rows = gen.permit_rows(data, clients[gen.IMI][0], now)
        rows = [r[:5] + (ids.get(r[1], r[5]),) + r[6:] for r in rows]
        permit_rows = rows  # the peers' insert posts these too
        # The raw rows must carry the same documents Sinergi stored.
        sample = backend.query("SELECT record_key, doc FROM records WHERE record_type = 'residence_permit' "
                               "ORDER BY record_key LIMIT 200")
        by_key = {r[1]: r[14] for r in rows}
        same = sum(1 for k, d in sample if by_key.get(k) == d)
        out["raw_doc_match"] = f"{same}/{len(sample)}"
        if same != len(sample):
            log(f"[{name}] warning: only {same}/{len(sample)} raw documents equal the stored ones")
        raw_n, raw_secs, raw_secs_unchanged = backend.raw_upsert(rows, args.batch)
        raw_rate = raw_n / raw_secs
        raw_unchanged_rate = raw_n / raw_secs_unchanged
        log(f"[{name}] raw multi-row upsert: {raw_n:,} in {raw_secs:.1f} s = {raw_rate:,.0f} rows/s "
            f"(unchanged again: {raw_unchanged_rate:,.0f} rows/s)")
        out["ingest"] = {"rows": n, "seconds": round(secs, 2), "rows_per_s": round(sinergi_rate, 1),
                         "raw_rows": raw_n, "raw_seconds": round(raw_secs, 2), "raw_rows_per_s": round(raw_rate, 1),
                         "raw_unchanged_rows_per_s": round(raw_unchanged_rate, 1)}
        results.add(f"ingest permits (batch of {args.batch:,})", name, "rows/s", sinergi_rate, raw_rate,
                    "multi-row upsert", ("ratio>=", 0.35), note=note)

        log(f"[{name}] loading presence reports")
        for agency in (gen.KESBANGPOL, gen.IMI):
            ops = [(None, b) for a, b in data.presence if a == agency]
            load(f"presence_{agency}", agency, "presence_report", ops)

        # Re-push of permits already stored: a nightly sync where nothing changed (information).
        repush = data.permits[:args.repush]
        n2, secs2, summary2 = load("residence_permits_unchanged", gen.IMI, "residence_permit", repush)
        results.add("re-push unchanged permits", name, "rows/s", n2 / secs2, raw_unchanged_rate,
                    "upsert, unchanged", note=f"{summary2['unchanged']:,} of {n2:,} unchanged")

        # 3. Reads at 32 connections, next to pgbench primary-key selects.
        reader = toks[gen.IMI]
        worker_ids = [r[0] for r in backend.query("SELECT id FROM workers")]
        random.Random(3).shuffle(worker_ids)
        worker_paths = [f"/api/v1/workers/{w}" for w in worker_ids[:20000]]
        list_paths = [f"/api/v1/residence-permits?region=64.02.{s}&status=active&limit={args.list_limit}"
                      for s in sorted(gen.DISTRICTS)]
        # Warm the caches and check both answer 200 before measuring.
        for p in (worker_paths[0], list_paths[0]):
            st, body = apis[gen.IMI].request("GET", p)
            if st != 200:
                raise BenchError(f"GET {p.split('?')[0]} answered {st}: {body[:300]!r}")
        out["worker_view_bytes"] = len(apis[gen.IMI].request("GET", worker_paths[1])[1])
        out["list_page_bytes"] = len(apis[gen.IMI].request("GET", list_paths[5])[1])
        log(f"[{name}] pgbench -S (simple, then prepared), {args.clients} clients, {args.duration} s each")
        out["loadavg"]["reads"] = loadavg()
        pg_simple = pgbench(args.duration, args.clients, args.threads, "simple", tmp, log_latency=True)
        pg_prep = pgbench(args.duration, args.clients, args.threads, "prepared", tmp, log_latency=False)
        ceilings.setdefault("pgbench", {})[name] = {"simple": pg_simple, "prepared": pg_prep}
        log(f"[{name}] pgbench simple {pg_simple['tps']:,.0f} TPS, prepared {pg_prep['tps']:,.0f} TPS")
        wrk(server.port, worker_paths, reader, 3, args.clients, args.threads, tmp, "warmup")
        reads = {}
        for label, paths in (("worker_view", worker_paths), ("list_page", list_paths)):
            log(f"[{name}] wrk {label}: {args.clients} connections, {args.duration} s")
            r = wrk(server.port, paths, reader, args.duration, args.clients, args.threads, tmp, label)
            reads[label] = {k: v for k, v in r.items() if k != "raw"}
            reads[label]["wrk_output"] = r["raw"]
            log(f"[{name}] {label}: {r['rps']:,.0f} req/s, p50 {r['p50_ms']} ms, p99 {r['p99_ms']} ms, "
                f"non-2xx {r['non_2xx']}, socket errors {r['socket_errors']}")
            if r["non_2xx"] or r["socket_errors"]:
                log(f"[{name}] warning: {label} had errors; its figures are not valid")
        out["reads"] = reads
        phase("after reads")
        wv, lp = reads["worker_view"], reads["list_page"]
        results.add("GET /workers/{id} (joined view)", name, "req/s", wv["rps"], pg_simple["tps"],
                    "pgbench -S simple", ("ratio>=", 0.20 if name == "postgres" else 0.30))
        results.add("GET /workers/{id} p50", name, "ms", wv["p50_ms"], pg_simple.get("p50_ms"), "pgbench p50")
        results.add("GET /workers/{id} p99", name, "ms", wv["p99_ms"], pg_simple.get("p99_ms"), "pgbench p99",
                    ("<", 15))
        results.add(f"GET /residence-permits filtered, limit {args.list_limit}", name, "req/s", lp["rps"],
                    pg_simple["tps"], "pgbench -S simple", ("ratio>=", 0.20))
        results.add("list page p50", name, "ms", lp["p50_ms"], pg_simple.get("p50_ms"), "pgbench p50")
        results.add("list page p99", name, "ms", lp["p99_ms"], pg_simple.get("p99_ms"), "pgbench p99", ("<", 15))
        results.add("GET /workers/{id} vs prepared", name, "req/s", wv["rps"], pg_prep["tps"], "pgbench -S prepared")
        if name == "postgres":
            try:
                out["tls"] = pg_tls(PG_DB)  # Sinergi's pooled connections
            except BenchError as e:
                out["tls"] = {"error": str(e)[:300]}

        # 3b. Off-the-shelf peers on the same data, in rounds interleaved with Sinergi's worker view.
        if args.peers:
            def sinergi_round(label):
                return wrk(server.port, worker_paths, reader, args.duration, args.clients, args.threads, tmp, label)

            def sinergi_view(wid):
                st, body = apis[gen.IMI].request("GET", f"/api/v1/workers/{wid}")
                return json.loads(body) if st == 200 else None

            try:
                if name == "postgres":
                    out["peers"] = peers_postgres(args, tmp, results, worker_ids[:20000], sinergi_round,
                                                  sinergi_view, out.get("tls"))
                else:
                    out["peers"] = peers_sqlite(args, tmp, results, backend, worker_ids[:20000], sinergi_round,
                                                permit_rows, sinergi_rate)
            except (BenchError, peers.PeerError, OSError, KeyError, ValueError, TypeError,
                    http.client.HTTPException) as e:
                log(f"[{name}] peers FAILED: {e}")
                traceback.print_exc()
                out["peers"] = {"error": str(e)}
            phase("after peers")

        # 4. Change feed and export, next to COPY ... TO STDOUT of the same table.
        head = int(backend.query("SELECT max(seq) FROM changes")[0][0] or 0)
        target = min(args.changes, head)
        log(f"[{name}] change feed: reading {target:,} changes (feed holds {head:,})")
        out["loadavg"]["changes"] = loadavg()
        got, secs = read_changes(apis[gen.IMI], target, 1000)
        copy_secs = backend.copy_out(f"SELECT * FROM changes ORDER BY seq LIMIT {got}")
        out["changes"] = {"rows": got, "seconds": round(secs, 2), "rows_per_s": round(got / secs, 1),
                          "copy_seconds": round(copy_secs, 3), "copy_rows_per_s": round(got / copy_secs, 1)}
        log(f"[{name}] changes: {got / secs:,.0f} rows/s; COPY {got / copy_secs:,.0f} rows/s")
        phase("after change feed")
        results.add(f"change feed ({got:,} changes, pages of 1,000)", name, "rows/s", got / secs, got / copy_secs,
                    "COPY changes", ("ratio>=", 0.7))

        log(f"[{name}] export residence-permits as NDJSON")
        n, secs, trailer = stream_export(server.port, reader, "residence-permits")
        sel = "SELECT * FROM records WHERE record_type = 'residence_permit' ORDER BY record_key"
        copy_secs = backend.copy_out(sel)
        out["export"] = {"rows": n, "seconds": round(secs, 2), "rows_per_s": round(n / secs, 1),
                         "trailer_count": trailer.get("count"), "copy_seconds": round(copy_secs, 3),
                         "copy_rows_per_s": round(n / copy_secs, 1)}
        log(f"[{name}] export: {n:,} in {secs:.1f} s = {n / secs:,.0f} rows/s; COPY {n / copy_secs:,.0f} rows/s")
        phase("after export")
        results.add(f"export permits NDJSON ({n:,})", name, "rows/s", n / secs, n / copy_secs, "COPY records",
                    ("ratio>=", 0.7))

        # 5. Constant memory: export a million presence reports loaded with SQL.
        emp_nib = data.employers[0][0]
        site_ref = data.sites[0]["source_ref"]
        log(f"[{name}] loading {args.export_rows:,} presence reports with SQL")
        t = time.perf_counter()
        backend.load_presence(args.export_rows, clients[gen.KESBANGPOL][0], emp_nib, site_ref)
        log(f"[{name}] loaded in {time.perf_counter() - t:.1f} s; exporting presence-reports")
        out["loadavg"]["export_1m"] = loadavg()
        sampler = RssSampler(server.proc.pid)
        start_rss = server.status().get("VmRSS")
        sampler.start()
        try:
            n, secs, trailer = stream_export(server.port, reader, "presence-reports", sampler)
        finally:
            sampler.stop_flag.set()
            sampler.join()
        time.sleep(0.3)
        end_rss = server.status().get("VmRSS")
        samples = sampler.samples
        peak = max([s[1] for s in samples] + [start_rss or 0, end_rss or 0])
        tenth = next((s[1] for s in samples if s[2] >= n * 0.1), start_rss)
        growth = peak - tenth
        copy_secs = backend.copy_out("SELECT * FROM records WHERE record_type = 'presence_report' "
                                     "ORDER BY record_key")
        out["export_memory"] = {
            "rows": n, "seconds": round(secs, 2), "rows_per_s": round(n / secs, 1),
            "rss_start_mib": start_rss, "rss_at_10pct_mib": tenth, "rss_peak_mib": peak, "rss_end_mib": end_rss,
            "growth_after_10pct_mib": round(growth, 2), "samples": len(samples),
            "copy_seconds": round(copy_secs, 3), "copy_rows_per_s": round(n / copy_secs, 1),
            "rss_curve_mib": [round(s[1], 1) for s in samples[:: max(1, len(samples) // 40)]],
        }
        log(f"[{name}] export of {n:,}: {n / secs:,.0f} rows/s, RSS start {start_rss:.1f} / peak {peak:.1f} / "
            f"end {end_rss:.1f} MiB (growth after 10%: {growth:.1f} MiB)")
        results.add(f"export {n:,} rows: RSS growth after 10%", name, "MiB", growth, None, None, ("<=", 10),
                    note=f"start {start_rss:.0f}, peak {peak:.0f}, end {end_rss:.0f}")
        results.add(f"export {n:,} presence reports", name, "rows/s", n / secs, n / copy_secs, "COPY records")

        # 6. Metrics and peak memory of the whole run.
        status, body = Api(server.port, reader).request("GET", "/metrics")
        out["metrics"] = parse_metrics(body.decode()) if status == 200 else {"status": status}
        st = server.status()
        out["vm_hwm_mib"] = st.get("VmHWM")
        out["vm_rss_end_mib"] = st.get("VmRSS")
        results.add("server peak RSS (VmHWM, whole run)", name, "MiB", st.get("VmHWM"), None, None, ("<", 64))
        for a in apis.values():
            a.close()
    finally:
        server.stop()
        out["server_log_tail"] = server.log_path.read_text(errors="replace")[-3000:] if server.log_path.exists() else ""
        if not args.keep:
            try:
                backend.drop()
            except BenchError as e:
                log(f"[{name}] could not drop the database: {e}")
    return out


# ------------------------------------------------------------------ peers

def summarise_rounds(rounds):
    """Medians over wrk rounds, with every round's figures."""
    def med(k):
        vals = [r[k] for r in rounds if r.get(k) is not None]
        return round(statistics.median(vals), 3) if vals else None
    return {"rps": med("rps"), "p50_ms": med("p50_ms"), "p99_ms": med("p99_ms"),
            "non_2xx": sum(r.get("non_2xx", 0) for r in rounds),
            "socket_errors": sum(r.get("socket_errors", 0) for r in rounds),
            "rounds": [{k: v for k, v in r.items() if k != "raw"} for r in rounds],
            "wrk_output_last": rounds[-1]["raw"] if rounds else None}


def interleaved(args, name, sinergi_round, peer_runs):
    """args.peer_rounds rounds of: Sinergi's GET /workers/{id}, then each peer
    query in turn, all with the same connections, threads and duration."""
    got = {"sinergi_worker_view": [], **{k: [] for k in peer_runs}}
    for i in range(args.peer_rounds):
        r = sinergi_round(f"peer-round-{i}")
        got["sinergi_worker_view"].append(r)
        line = [f"Sinergi {r['rps']:,.0f}"]
        for k, fn in peer_runs.items():
            pr = fn()
            got[k].append(pr)
            line.append(f"{k} {pr['rps']:,.0f}" if pr.get("rps") is not None else f"{k} ?")
            if pr["non_2xx"] or pr["socket_errors"]:
                log(f"[{name}] warning: {k} had {pr['non_2xx']} non-2xx and {pr['socket_errors']} socket errors")
        log(f"[{name}] peer round {i + 1}/{args.peer_rounds}: " + ", ".join(line) + " req/s")
    return {k: summarise_rounds(v) for k, v in got.items()}


def add_peer_reads(results, name, label, sinergi, peer, goal=None):
    results.add(f"GET /workers/{{id}} vs {label}", name, "req/s", sinergi["rps"], peer["rps"], label, goal,
                kind="peer")
    results.add(f"GET /workers/{{id}} p50 vs {label}", name, "ms", sinergi["p50_ms"], peer["p50_ms"], label,
                kind="peer")
    results.add(f"GET /workers/{{id}} p99 vs {label}", name, "ms", sinergi["p99_ms"], peer["p99_ms"], label,
                kind="peer")


def peers_postgres(args, tmp, results, ids, sinergi_round, sinergi_view, sinergi_tls):
    """PostGraphile on the benchmark database: one worker row by key, and the
    nested worker (what GET /workers/{id} reads), against Sinergi's worker view."""
    name = "postgres"
    label_key = f"PostGraphile {peers.POSTGRAPHILE_VERSION} by key"
    label_nested = f"PostGraphile {peers.POSTGRAPHILE_VERSION} nested worker"
    # The same transport as Sinergi's connections: TLS when they use it.
    all_tls = bool(sinergi_tls and sinergi_tls.get("connections") and sinergi_tls["tls"] == sinergi_tls["connections"])
    sslmode = "no-verify" if all_tls else "disable"
    out = {"peer": "postgraphile", "version": peers.POSTGRAPHILE_VERSION, "sslmode": sslmode,
           "queries": {"by_key": peers.GQL_BY_KEY, "nested_worker": peers.GQL_NESTED},
           "schema_added": peers.PG_PEER_DDL.strip()}
    log(f"[{name}] PostGraphile {peers.POSTGRAPHILE_VERSION}: schema {peers.PG_PEER_SCHEMA} "
        f"(findings of a worker), sslmode={sslmode}")
    psql(PG_DB, peers.PG_PEER_DDL, timeout=120)
    pg = peers.PostGraphile(tmp, PG_HOST, PG_PORT, PG_USER, PG_DB, sslmode)
    out["command"] = " ".join(str(a) for a in pg.args).replace(str(peers.PEERS_DIR), "bench/.peers")
    try:
        pg.start()
        out["port"] = pg.port
        # The nested answer holds what Sinergi's view holds, for a few workers.
        checks = []
        for wid in ids[:5]:
            body = json.dumps({"query": peers.GQL_NESTED, "variables": {"id": wid}}).encode()
            st, raw = pg.request("POST", "/graphql", body, {"Content-Type": "application/json"})
            ans = json.loads(raw)
            if st != 200 or ans.get("errors") or not (ans.get("data") or {}).get("workerById"):
                raise BenchError(f"PostGraphile answered {st}: {raw[:500]!r}")
            w = ans["data"]["workerById"]
            mine = {k: len(w[k]["nodes"]) for k in ("passports", "identities", "records", "findings")}
            view = sinergi_view(wid)
            theirs = None
            if view is not None:
                theirs = {"passports": len(view.get("passports", [])), "identities": len(view.get("identities", [])),
                          "records": sum(len(view.get(k, [])) for k in
                                         ("residence_permits", "assignments", "presence_reports")),
                          "findings": len(view.get("findings", []))}
            checks.append({"id": wid, "postgraphile": mine, "sinergi": theirs, "postgraphile_bytes": len(raw),
                           "sinergi_bytes": None if view is None else len(json.dumps(view, separators=(",", ":")))})
            if theirs is not None and mine != theirs:
                log(f"[{name}] warning: PostGraphile's nested worker {wid} has {mine}, Sinergi's view {theirs}")
        out["content_check"] = checks
        st, raw = pg.request("POST", "/graphql", json.dumps({"query": peers.GQL_BY_KEY,
                                                              "variables": {"id": ids[0]}}).encode(),
                             {"Content-Type": "application/json"})
        if st != 200 or b'"errors"' in raw or b'"workerById":null' in raw:
            raise BenchError(f"PostGraphile by key answered {st}: {raw[:300]!r}")
        out["by_key_bytes"] = len(raw)

        ids_file = tmp / "peer-ids-postgres.txt"
        ids_file.write_text("\n".join(ids) + "\n")
        env = {}
        for k, q in (("by_key", peers.GQL_BY_KEY), ("nested_worker", peers.GQL_NESTED)):
            f = tmp / f"peer-body-{k}.json"
            f.write_text(peers.graphql_body(q))
            env[k] = peers.wrk_env(ids_file, "/graphql", f)
        log(f"[{name}] PostGraphile warm-up, then {args.peer_rounds} interleaved rounds of {args.duration} s")
        wrk_peer(pg.port, env["nested_worker"], 3, args.clients, args.threads)
        runs = {k: (lambda e=e: wrk_peer(pg.port, e, args.duration, args.clients, args.threads))
                for k, e in env.items()}
        rounds = interleaved(args, name, sinergi_round, runs)
        out["tls"] = pg_tls(PG_DB, peers.PostGraphile.application_name)
        out["vm_hwm_mib"] = pg.rss_mib()
        out["reads"] = rounds
    finally:
        pg.stop()
        out["log_tail"] = pg.log_tail(1500)
        try:
            psql(PG_DB, f"DROP SCHEMA IF EXISTS {peers.PG_PEER_SCHEMA} CASCADE", timeout=120)
        except BenchError as e:
            log(f"[{name}] could not drop schema {peers.PG_PEER_SCHEMA}: {e}")
    sin = rounds["sinergi_worker_view"]
    add_peer_reads(results, name, label_nested, sin, rounds["nested_worker"], ("ratio>=", 3))
    add_peer_reads(results, name, label_key, sin, rounds["by_key"])
    for k in ("nested_worker", "by_key"):
        r = rounds[k]
        log(f"[{name}] PostGraphile {k}: {r['rps']:,.0f} req/s, p50 {r['p50_ms']} ms, p99 {r['p99_ms']} ms; "
            f"Sinergi {sin['rps']:,.0f} req/s (ratio {sin['rps'] / r['rps']:.2f})")
    return out


def scratch_records(src_path, dst_path):
    """An empty copy of Sinergi's `records` table (its own DDL and indexes) in a
    scratch file, with the agencies and workers its foreign keys name."""
    src = sqlite3.connect(f"file:{src_path}?mode=ro", uri=True, timeout=30)
    try:
        ddl = [r[0] for r in src.execute(
            "SELECT sql FROM sqlite_master WHERE tbl_name IN ('agencies', 'workers', 'records') AND sql IS NOT NULL "
            "ORDER BY type = 'index', CASE tbl_name WHEN 'agencies' THEN 0 WHEN 'workers' THEN 1 ELSE 2 END, name")]
    finally:
        src.close()
    dst = sqlite3.connect(str(dst_path), timeout=30)
    try:
        dst.execute("PRAGMA journal_mode = WAL")
        for stmt in ddl:
            dst.execute(stmt)
        dst.execute("ATTACH DATABASE ? AS s", (str(src_path),))
        dst.execute("INSERT INTO agencies SELECT * FROM s.agencies")
        dst.execute("INSERT INTO workers SELECT * FROM s.workers")
        dst.commit()
        dst.execute("DETACH DATABASE s")
    finally:
        dst.close()
    return ddl


def peers_sqlite(args, tmp, results, backend, ids, sinergi_round, permit_rows, ingest_rate):
    """Datasette on the SQLite file: the worker row by key as JSON against
    Sinergi's worker view, and its insert API with the permits Sinergi ingested."""
    name = "sqlite"
    label_row = f"Datasette {peers.DATASETTE_VERSION} row JSON"
    label_ins = f"Datasette {peers.DATASETTE_VERSION} insert"
    db_name = backend.path.stem
    scratch = tmp / "peer_scratch.db"
    for f in glob.glob(str(scratch) + "*"):
        os.unlink(f)
    ddl = scratch_records(backend.path, scratch)
    bodies = []
    for i in range(0, len(permit_rows), args.batch):
        chunk = [dict(zip(gen.RECORD_COLUMNS, r)) for r in permit_rows[i:i + args.batch]]
        bodies.append((len(chunk), json.dumps({"rows": chunk}, separators=(",", ":")).encode()))
    settings = {"max_insert_rows": args.batch,
                "max_post_body_bytes": max(2 * 1024 * 1024, 2 * max(len(b) for _, b in bodies))}
    row_path = peers.DATASETTE_ROW_PATH.format(db=db_name)
    out = {"peer": "datasette", "version": peers.DATASETTE_VERSION, "settings": settings,
           "row_path": row_path, "insert_path": f"/{scratch.stem}/records/-/insert", "scratch_ddl": ddl}
    ds = peers.Datasette(tmp, [backend.path, scratch], settings)
    out["command"] = " ".join(str(a) for a in ds.args).replace(ds.secret, "<secret>").replace(
        str(peers.PEERS_DIR), "bench/.peers")
    log(f"[{name}] Datasette {peers.DATASETTE_VERSION} on {backend.path.name} and {scratch.name}")
    try:
        ds.start()
        out["port"] = ds.port
        out["versions"] = ds.versions()
        st, raw = ds.request("GET", row_path.replace("@ID@", ids[0]))
        if st != 200 or ids[0].encode() not in raw:
            raise BenchError(f"Datasette {row_path} answered {st}: {raw[:300]!r}")
        out["row_bytes"] = len(raw)
        out["row_example"] = json.loads(raw)
        ids_file = tmp / "peer-ids-sqlite.txt"
        ids_file.write_text("\n".join(ids) + "\n")
        env = peers.wrk_env(ids_file, row_path)
        log(f"[{name}] Datasette warm-up, then {args.peer_rounds} interleaved rounds of {args.duration} s")
        wrk_peer(ds.port, env, 3, args.clients, args.threads)
        rounds = interleaved(args, name, sinergi_round,
                             {"row_json": lambda: wrk_peer(ds.port, env, args.duration, args.clients, args.threads)})
        out["reads"] = rounds

        # Insert: the same permits, in batches of the same size, one request at a time.
        tok = ds.token()
        path = out["insert_path"]
        headers = {"Authorization": f"Bearer {tok}", "Content-Type": "application/json"}
        log(f"[{name}] Datasette insert: {len(permit_rows):,} permits in batches of {args.batch} into {path}")
        c = http.client.HTTPConnection("127.0.0.1", ds.port, timeout=600)
        n = 0
        t = time.perf_counter()
        try:
            for count, body in bodies:
                c.request("POST", path, body=body, headers=headers)
                r = c.getresponse()
                data = r.read()
                if r.status != 201:
                    raise BenchError(f"Datasette insert answered {r.status}: {data[:500]!r}")
                n += count
        finally:
            c.close()
        secs = time.perf_counter() - t
        out["vm_hwm_mib"] = ds.rss_mib()
    finally:
        ds.stop()
        out["log_tail"] = ds.log_tail(1500)
    check = sqlite3.connect(f"file:{scratch}?mode=ro", uri=True, timeout=30)
    try:
        stored = check.execute("SELECT count(*) FROM records").fetchone()[0]
    finally:
        check.close()
    if stored != n:
        raise BenchError(f"Datasette's insert stored {stored} of {n} rows")
    out["insert"] = {"rows": n, "seconds": round(secs, 2), "rows_per_s": round(n / secs, 1), "stored": stored,
                     "requests": len(bodies), "bytes": sum(len(b) for _, b in bodies)}
    sin, row = rounds["sinergi_worker_view"], rounds["row_json"]
    log(f"[{name}] Datasette row JSON: {row['rps']:,.0f} req/s, p50 {row['p50_ms']} ms, p99 {row['p99_ms']} ms; "
        f"Sinergi {sin['rps']:,.0f} req/s (ratio {sin['rps'] / row['rps']:.2f})")
    log(f"[{name}] Datasette insert: {n:,} in {secs:.1f} s = {n / secs:,.0f} rows/s; "
        f"Sinergi ingest {ingest_rate:,.0f} rows/s (ratio {ingest_rate / (n / secs):.2f})")
    add_peer_reads(results, name, label_row, sin, row)
    results.add(f"ingest permits (batch of {args.batch:,}) vs {label_ins}", name, "rows/s", ingest_rate, n / secs,
                label_ins, ("ratio>", 1), kind="peer")
    return out


def parse_metrics(text):
    requests, other = [], {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r'(\w+)(?:\{(.*)\})?\s+(\S+)$', line)
        if not m:
            continue
        name, labels, value = m.groups()
        if name.endswith("_bucket"):
            continue
        lab = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', labels or ""))
        if name == "sinergi_http_requests_total":
            requests.append({**lab, "count": int(float(value))})
        elif not labels or name.endswith(("_count", "_sum", "_total")):
            key = name + ("{" + labels + "}" if labels else "")
            if "request_duration" not in name:
                other[key] = float(value)
    return {"requests": requests, "other": other}


def git_info():
    info = {}
    try:
        info["commit"] = run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], timeout=10).stdout.strip()
        info["dirty"] = bool(run(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
                                 timeout=30).stdout.strip())
    except BenchError:
        pass
    return info


def main():
    ap = argparse.ArgumentParser(description="Sinergi benchmark suite: every figure next to its ceiling.")
    ap.add_argument("--workers", type=int, default=100_000, help="foreign workers to generate (default 100000)")
    ap.add_argument("--quick", action="store_true",
                    help="10,000 workers, 6 s measurements, 200,000-row memory export: a try-out")
    ap.add_argument("--backends", default="postgres,sqlite", help="comma-separated: postgres,sqlite")
    ap.add_argument("--out", default=str(BENCH / "results"), help="directory for latest.json / latest.md")
    ap.add_argument("--duration", type=int, default=15, help="seconds per wrk/pgbench measurement (default 15)")
    ap.add_argument("--clients", type=int, default=32, help="concurrent connections (default 32)")
    ap.add_argument("--threads", type=int, default=2, help="wrk/pgbench threads (default 2)")
    ap.add_argument("--batch", type=int, default=1000, help="operations per batch (default 1000)")
    ap.add_argument("--list-limit", type=int, default=20, help="page size of the filtered list (default 20)")
    ap.add_argument("--changes", type=int, default=100_000, help="changes to read from the feed (default 100000)")
    ap.add_argument("--export-rows", type=int, default=1_000_000,
                    help="presence reports loaded with SQL for the constant-memory export (default 1000000)")
    ap.add_argument("--repush", type=int, default=20_000,
                    help="permits pushed a second time, unchanged (default 20000)")
    ap.add_argument("--keep", action="store_true", help="keep the databases and temp files")
    ap.add_argument("--peers", action="store_true",
                    help="also measure PostGraphile (PostgreSQL) and Datasette (SQLite) on the same data "
                         "(installed into bench/.peers from npm and PyPI)")
    ap.add_argument("--peer-rounds", type=int, default=3,
                    help="interleaved rounds of Sinergi and each peer query, medians reported (default 3)")
    ap.add_argument("--no-build", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.quick:
        if args.workers == 100_000:
            args.workers = 10_000
        if args.duration == 15:
            args.duration = 6
        if args.export_rows == 1_000_000:
            args.export_rows = 200_000
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    for b in backends:
        if b not in ("postgres", "sqlite"):
            ap.error(f"unknown backend {b}")
    if not BIN.exists():
        sys.exit(f"{BIN} is missing: run bench/run (it builds with cargo build --release)")
    for tool in ("wrk", "psql", "sqlite3"):
        if not shutil.which(tool):
            sys.exit(f"{tool} is missing: run bench/run, which installs it")
    if args.peer_rounds < 1:
        ap.error("--peer-rounds must be at least 1")
    peer_versions = None
    if args.peers:
        try:
            peer_versions = peers.install(log=log)
        except peers.PeerError as e:
            sys.exit(f"the peers could not be installed: {e}")
        log("peers: " + ", ".join(f"{k} {v}" for k, v in peer_versions.items()))

    started = dt.datetime.now(dt.timezone.utc)
    tmp = Path(tempfile.mkdtemp(prefix="sinergi-bench-"))
    report = {
        "suite": "sinergi-bench", "format": 1, "started_at": started.isoformat(timespec="seconds"),
        "config": {"workers": args.workers, "quick": args.quick, "backends": backends, "batch": args.batch,
                   "connections": args.clients, "threads": args.threads, "duration_s": args.duration,
                   "list_limit": args.list_limit, "changes": args.changes, "repush": args.repush, "export_rows": args.export_rows,
                   "git": git_info()},
        "machine": {"nproc": os.cpu_count(), "loadavg_start": loadavg(), "kernel": os.uname().release},
        "backends": {}, "ceilings": {},
    }
    if args.peers:
        report["config"]["peers"] = True
        report["config"]["peer_rounds"] = args.peer_rounds
        report["peers"] = {"versions": peer_versions}
    # Whether PostgreSQL's connections use TLS: the server's setting and the
    # client's sslmode (libpq's default when neither the URLs nor PGSSLMODE name one).
    pg_tls_report = {"client_sslmode": os.environ.get("PGSSLMODE") or "prefer (libpq default)"}
    results = Results()
    try:
        log(f"generating {args.workers:,} workers (the demo generator, scaled up)")
        data = gen.generate(args.workers)
        report["dataset"] = data.counts()
        log("data set: " + ", ".join(f"{v:,} {k}" for k, v in report["dataset"].items()))
        if "postgres" in backends:
            try:
                Postgres(tmp).check()
                report["machine"]["postgres"] = Postgres(tmp).version()
                pg_tls_report["server_ssl"] = psql("postgres", "SHOW ssl", timeout=30).strip()
                log("pgbench -i -s 10 on a scratch database")
                psql("postgres", f"DROP DATABASE IF EXISTS {PG_SCRATCH} WITH (FORCE)", timeout=120)
                psql("postgres", f"CREATE DATABASE {PG_SCRATCH}", timeout=120)
                run([find_pgbench(), "-h", PG_HOST, "-p", PG_PORT, "-U", PG_USER, "-i", "-s", "10", "-q",
                     PG_SCRATCH], timeout=600)
            except BenchError as e:
                sys.exit(f"PostgreSQL is needed at {PG_HOST}:{PG_PORT} (user {PG_USER}, trust auth): {e}")
        else:
            log("note: the read ceilings come from pgbench, which needs PostgreSQL at 127.0.0.1:5432")
            psql("postgres", f"DROP DATABASE IF EXISTS {PG_SCRATCH} WITH (FORCE)", timeout=120)
            psql("postgres", f"CREATE DATABASE {PG_SCRATCH}", timeout=120)
            run([find_pgbench(), "-h", PG_HOST, "-p", PG_PORT, "-U", PG_USER, "-i", "-s", "10", "-q", PG_SCRATCH],
                timeout=600)
        report["machine"]["sqlite_cli"] = Sqlite(tmp).version()
        for b in backends:
            backend = Postgres(tmp) if b == "postgres" else Sqlite(tmp)
            log(f"===== {b} =====")
            try:
                report["backends"][b] = bench_backend(backend, data, args, tmp, results, report["ceilings"])
            except (BenchError, OSError, KeyError, ValueError, json.JSONDecodeError) as e:
                log(f"[{b}] FAILED: {e}")
                traceback.print_exc()
                report["backends"][b] = {"error": str(e)}
    except KeyboardInterrupt:
        log("interrupted; writing what was measured")
        report["interrupted"] = True
    finally:
        try:
            psql("postgres", f"DROP DATABASE IF EXISTS {PG_SCRATCH} WITH (FORCE)", timeout=120)
        except BenchError:
            pass
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    pgb = report["ceilings"].get("pgbench", {})
    for b in ("postgres", "sqlite"):
        if pgb.get(b, {}).get("simple", {}).get("tls"):
            pg_tls_report["pgbench"] = pgb[b]["simple"]["tls"]
            break
    pgr = report["backends"].get("postgres", {})
    if pgr.get("tls"):
        pg_tls_report["sinergi"] = pgr["tls"]
    if (pgr.get("peers") or {}).get("tls"):
        pg_tls_report["postgraphile"] = pgr["peers"]["tls"]
    if len(pg_tls_report) > 1:
        if "server_ssl" not in pg_tls_report:
            try:
                pg_tls_report["server_ssl"] = psql("postgres", "SHOW ssl", timeout=30).strip()
            except BenchError:
                pass
        report["postgres_tls"] = pg_tls_report
    report["results"] = results.rows
    report["machine"]["loadavg_end"] = loadavg()
    report["finished_at"] = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    report["duration_s"] = round(time.monotonic() - T0, 1)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "latest.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    md = markdown(report)
    (out / "latest.md").write_text(md)
    print(md)
    log(f"wrote {out / 'latest.json'} and {out / 'latest.md'}")
    failed = [b for b, v in report["backends"].items() if v.get("error")]
    return 1 if failed or report.get("interrupted") else 0


if __name__ == "__main__":
    sys.exit(main())
