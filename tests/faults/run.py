#!/usr/bin/env python3
"""Fault tests for the `sinergi` server: crashes, a database outage, SQLite
sharing and a full disk, slow and abandoned clients, a long mixed load,
graceful shutdown and the token endpoint under attack.

Each scenario runs the debug binary as a subprocess on a free 127.0.0.1 port
(loopback only), prints its checks with figures and then one PASS or FAIL
line; the script ends with `N passed, M failed` and exits non-zero when any
scenario failed. Python 3.11 standard library only. See README.md here.
"""

import base64
import http.client
import json
import os
import random
import re
import resource
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CI = bool(os.environ.get("CI"))
MIXED_SECONDS = int(os.environ.get("FAULTS_MIXED_SECONDS") or (300 if CI else 30))
# Whole-script deadline: everything but the mixed load takes ~4 minutes.
BUDGET_SECONDS = int(os.environ.get("FAULTS_BUDGET_SECONDS") or (MIXED_SECONDS + 600))
PG_HOST = "127.0.0.1"
PG_PORT = int(os.environ.get("FAULTS_PG_PORT") or 5432)
# Development only: stop/start a private cluster (pg_ctl -D DIR, run as the
# postgres user) instead of the machine's Debian cluster.
PG_DATADIR = os.environ.get("FAULTS_PG_DATADIR")
MEMORY_BOUND_MB = float(os.environ.get("FAULTS_MEMORY_BOUND_MB") or 20)
TOKEN_ATTACK_SECONDS = int(os.environ.get("FAULTS_TOKEN_ATTACK_SECONDS") or 20)
TOKEN_ATTACK_CONNECTIONS = 64
# Allowed growth of peak RSS while the token endpoint is under attack.
TOKEN_ATTACK_RSS_MB = float(os.environ.get("FAULTS_TOKEN_ATTACK_RSS_MB") or 64)
TOKEN_ATTACK_RSS_AFTER_MB = 16
REPORT_EVERY = int(os.environ.get("FAULTS_REPORT_EVERY") or 60)
ONLY = [s for s in (os.environ.get("FAULTS_ONLY") or "").split(",") if s]

SPONSOR_NIB = "9120001234567"
# Words that must never appear in an error body sent to a client.
LEAK_WORDS = [
    "diesel", "postgres", "sqlite", "libpq", "r2d2", "refused", "could not connect",
    "terminating", "server closed", "no connection", "127.0.0.1", "5432", "panick",
    "disk is full", "no space", "i/o error", "backtrace", "src/",
]

T0 = time.monotonic()
CLEANUPS = []  # callables run in reverse order at the end, whatever happens
SERVERS = []  # every server started; killed at the end of its scenario
TMP = tempfile.mkdtemp(prefix="sinergi-faults-")
BIN = None


class Budget(BaseException):
    pass


def log(msg=""):
    print(msg, flush=True)


# --------------------------------------------------------------------------- HTTP


class Resp:
    def __init__(self, status, headers, body, elapsed):
        self.status = status
        self.headers = headers
        self.body = body
        self.elapsed = elapsed

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def text(self):
        return self.body.decode("utf-8", "replace")


def _prep(body, headers):
    headers = dict(headers or {})
    if body is not None and not isinstance(body, (bytes, str)):
        body = json.dumps(body).encode()
        headers.setdefault("Content-Type", "application/json")
    return body, headers


def req(port, method, path, body=None, headers=None, timeout=10.0):
    """One request on a fresh connection. Raises OSError/HTTPException on transport errors."""
    body, headers = _prep(body, headers)
    started = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers)
        r = conn.getresponse()
        data = r.read()
        return Resp(r.status, {k.lower(): v for k, v in r.getheaders()}, data, time.monotonic() - started)
    finally:
        conn.close()


class Client:
    """A keep-alive connection that reconnects when the server closed it."""

    def __init__(self, port, timeout=15.0):
        self.port = port
        self.timeout = timeout
        self.conn = None

    def request(self, method, path, body=None, headers=None):
        body, headers = _prep(body, headers)
        for attempt in (1, 2):
            fresh = self.conn is None
            if fresh:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
            started = time.monotonic()
            try:
                self.conn.request(method, path, body=body, headers=headers)
                r = self.conn.getresponse()
                data = r.read()
                if r.getheader("connection", "").lower() == "close":
                    self.close()
                return Resp(r.status, {k.lower(): v for k, v in r.getheaders()}, data, time.monotonic() - started)
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self.close()
                # A reused connection closed by the server's keep-alive timeout: retry once.
                if fresh or attempt == 2:
                    raise
            except Exception:
                self.close()
                raise

    def close(self):
        if self.conn is not None:
            try:
                self.conn.close()
            except Exception:
                pass
            self.conn = None


def bearer(tok, purpose=False, extra=None):
    h = {"Authorization": "Bearer " + tok}
    if purpose:
        h["X-Purpose"] = "supervision"
    if extra:
        h.update(extra)
    return h


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(pred, deadline_s, interval=0.2):
    """Polls pred() until it is truthy or the deadline passes; returns (value, seconds)."""
    started = time.monotonic()
    while True:
        try:
            v = pred()
        except Exception:
            v = None
        if v:
            return v, time.monotonic() - started
        if time.monotonic() - started > deadline_s:
            return None, time.monotonic() - started
        time.sleep(interval)


def problem_ok(resp, status):
    """Whether resp is an RFC 9457 problem with this status and no internals."""
    ctype = resp.headers.get("content-type", "")
    if resp.status != status or not ctype.startswith("application/problem+json"):
        return False, f"{resp.status} {ctype} {resp.text()[:200]}"
    try:
        doc = resp.json()
    except ValueError:
        return False, "body is not JSON: " + resp.text()[:200]
    if doc.get("status") != status or not doc.get("code"):
        return False, "problem lacks status/code: " + resp.text()[:200]
    low = resp.text().lower()
    leaked = [w for w in LEAK_WORDS if w in low]
    if leaked:
        return False, f"internals leaked ({leaked}): {resp.text()[:300]}"
    return True, f"{status} {doc.get('code')}"


# ------------------------------------------------------------------ processes


# The key-encryption key of every server and command the script starts.
KEK = base64.b64encode(os.urandom(32)).decode()


def clean_env(extra=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SINERGI_")}
    env["NO_COLOR"] = "1"
    env["SINERGI_KEY_ENCRYPTION_KEY"] = KEK
    env.update(extra or {})
    return env


def ensure_binary():
    global BIN
    built = os.path.join(ROOT, "target", "debug", "sinergi")
    if not os.path.exists(built):
        log("target/debug/sinergi is missing: cargo build")
        subprocess.run(["cargo", "build"], cwd=ROOT, check=True, timeout=1200)
    # A private copy: others may rebuild target/debug while the scenarios run.
    BIN = os.path.join(TMP, "sinergi")
    shutil.copy2(built, BIN)


def cli(db_url, *args, timeout=60):
    p = subprocess.run([BIN, *args], env=clean_env({"SINERGI_DATABASE_URL": db_url, "SINERGI_LOG": "warn"}),
                       capture_output=True, text=True, timeout=timeout, cwd=TMP)
    if p.returncode != 0:
        raise RuntimeError(f"sinergi {' '.join(args)} exited {p.returncode}: {p.stderr.strip()[-500:]}")
    return p.stdout


ANSI = re.compile(r"\x1b\[[0-9;]*m")


class Server:
    """One `sinergi serve` process on a free loopback port."""

    def __init__(self, name, db_url, env=None, preexec=None):
        self.name = name
        self.db_url = db_url
        self.env = env or {}
        self.preexec = preexec
        self.proc = None
        self.port = None
        self.log_path = os.path.join(TMP, f"{name}.log")
        self.starts = 0
        SERVERS.append(self)

    def _spawn(self):
        self.starts += 1
        self.port = free_port()
        env = clean_env({"SINERGI_DATABASE_URL": self.db_url, "SINERGI_LOG": "info"})
        env.update(self.env)
        with open(self.log_path, "a") as logf:
            logf.write(f"\n===== start #{self.starts} on port {self.port}\n")
            logf.flush()
            self.proc = subprocess.Popen([BIN, "serve", "--bind", f"127.0.0.1:{self.port}"], env=env,
                                         stdout=logf, stderr=logf, stdin=subprocess.DEVNULL, cwd=TMP,
                                         preexec_fn=self.preexec)

    def start(self, deadline=60):
        self._spawn()
        ok, _ = wait_until(lambda: self.proc.poll() is None and self.live(), deadline)
        if not ok:
            raise RuntimeError(f"server {self.name} did not become live within {deadline} s "
                               f"(exit {self.proc.poll()}): {self.log_tail()}")
        return self

    def try_start(self, deadline=60):
        """Starts; returns None once live, or the exit code if the process quit."""
        self._spawn()
        wait_until(lambda: self.proc.poll() is not None or self.live(), deadline)
        return self.proc.poll()

    def live(self):
        try:
            return req(self.port, "GET", "/health/live", timeout=2).status == 200
        except OSError:
            return False

    @property
    def pid(self):
        return self.proc.pid

    def rss_mb(self):
        try:
            with open(f"/proc/{self.proc.pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1]) / 1024.0
        except OSError:
            return None

    def threads(self):
        try:
            with open(f"/proc/{self.proc.pid}/status") as f:
                for line in f:
                    if line.startswith("Threads:"):
                        return int(line.split()[1])
        except OSError:
            return None

    def cpu_seconds(self):
        try:
            with open(f"/proc/{self.proc.pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            return None

    def signal(self, sig):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)

    def wait(self, timeout):
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass

    def stop(self, timeout=30):
        """SIGTERM, then SIGKILL after `timeout`; returns the exit code."""
        if not self.proc or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        code = self.wait(timeout)
        if code is None:
            self.kill()
            return "killed"
        return code

    def log_text(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return ANSI.sub("", f.read())
        except OSError:
            return ""

    def log_tail(self, n=15):
        return "\n      ".join(self.log_text().strip().splitlines()[-n:])


# ------------------------------------------------------------------ databases


def _run(cmd, timeout=60, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)


def pg_ready():
    return _run(["pg_isready", "-q", "-h", PG_HOST, "-p", str(PG_PORT)], timeout=10).returncode == 0


def pg_ctl(action):
    if PG_DATADIR:
        versions = sorted(os.listdir("/usr/lib/postgresql"), key=lambda v: [int(x) for x in v.split(".")])
        pgctl = f"/usr/lib/postgresql/{versions[-1]}/bin/pg_ctl"
        opts = f"-o '-p {PG_PORT} -k /tmp'" if action == "start" else ""
        cmd = ["su", "postgres", "-c",
               f"{pgctl} -D {PG_DATADIR} -m fast -w -t 60 -l {PG_DATADIR}/log {opts} {action}"]
    else:
        versions = sorted(os.listdir("/etc/postgresql"), key=lambda v: [int(x) for x in v.split(".")])
        cmd = ["pg_ctlcluster", "--skip-systemctl-redirect", versions[-1], "main", action]
    p = _run(cmd, timeout=90)
    if p.returncode != 0 and not (action == "start" and pg_ready()):
        raise RuntimeError(f"{' '.join(cmd)} exited {p.returncode}: {p.stderr.strip()}")


def pg_url(db):
    return f"postgres://postgres@{PG_HOST}:{PG_PORT}/{db}"


def pg_database(label):
    name = f"sinergi_faults_{label}_{os.getpid()}"
    base = ["-h", PG_HOST, "-p", str(PG_PORT), "-U", "postgres"]
    _run(["dropdb", *base, "--if-exists", "--force", name])
    p = _run(["createdb", *base, name])
    if p.returncode != 0:
        raise RuntimeError("createdb failed: " + p.stderr.strip())

    def drop():
        if not pg_ready():
            pg_ctl("start")
            wait_until(pg_ready, 60)
        _run(["dropdb", *base, "--if-exists", "--force", name])
    CLEANUPS.append(drop)
    return pg_url(name)


def sqlite_database(label):
    d = os.path.join(TMP, label)
    os.makedirs(d, exist_ok=True)
    return "sqlite://" + os.path.join(d, "sinergi.db"), os.path.join(d, "sinergi.db")


def sqlite_integrity(path):
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    try:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        conn.close()


# ------------------------------------------------------------------ API helpers


def setup_agencies(db_url, audit=False):
    """Creates a manpower and an immigration agency with one client each; returns credentials."""
    cli(db_url, "agency", "create", "--code", "KEMNAKER", "--name", "Kementerian Ketenagakerjaan", "--kind", "manpower")
    cli(db_url, "agency", "create", "--code", "IMI-SMD", "--name", "Kantor Imigrasi Samarinda",
        "--kind", "immigration", "--jurisdiction", "64")
    creds = {}
    for key, agency in (("mp", "KEMNAKER"), ("imi", "IMI-SMD")):
        out = cli(db_url, "client", "create", "--agency", agency, "--scopes", "records:read records:write",
                  "--purposes", "supervision", "--json")
        creds[key] = json.loads(out)
    if audit:
        cli(db_url, "agency", "create", "--code", "AUDIT", "--name", "Auditor", "--kind", "admin")
        out = cli(db_url, "client", "create", "--agency", "AUDIT", "--scopes", "audit:read", "--json")
        creds["audit"] = json.loads(out)
    return creds


def token(port, cred):
    basic = base64.b64encode(f"{cred['client_id']}:{cred['client_secret']}".encode()).decode()
    r = req(port, "POST", "/api/v1/oauth/token", body=b"grant_type=client_credentials",
             headers={"Authorization": "Basic " + basic, "Content-Type": "application/x-www-form-urlencoded"})
    if r.status != 200:
        raise RuntimeError(f"token: {r.status} {r.text()[:300]}")
    return r.json()["access_token"]


def tokens(port, creds):
    return {k: token(port, c) for k, c in creds.items()}


def employer_op(nib, name):
    return {"type": "employer", "key": nib,
            "body": {"name": name, "capital": "PMA", "kbli": ["05100"], "region_code": "64.02.06"}}


def permit_op(permit_no, passport, valid_until="2027-01-04"):
    return {"type": "residence_permit", "key": permit_no, "body": {
        "worker": {"passport_no": passport, "nationality": "CHN", "full_name": "ZHANG WEI", "sex": "M",
                   "birth_date": "1985-04-12", "passport_expires_on": "2032-01-01"},
        "kind": "ITAS", "visa_index": "E23", "sponsor_nib": SPONSOR_NIB,
        "issued_on": "2026-01-05", "valid_from": "2026-01-05", "valid_until": valid_until,
        "issuing_office": "Kantor Imigrasi Samarinda", "address_region_code": "64.02.06", "status": "active"}}


def batch(port_or_client, tok, ops, atomic=False, timeout=30, extra=None):
    body = {"atomic": atomic, "operations": ops}
    if isinstance(port_or_client, Client):
        return port_or_client.request("POST", "/api/v1/batch", body=body, headers=bearer(tok, extra=extra))
    return req(port_or_client, "POST", "/api/v1/batch", body=body, headers=bearer(tok, extra=extra), timeout=timeout)


def batch_ok(resp, n):
    if resp.status != 200:
        return False
    s = resp.json()["summary"]
    return s["failed"] == 0 and s["created"] + s["updated"] + s["unchanged"] == n


def seed_sponsor(port, mp_tok):
    r = batch(port, mp_tok, [employer_op(SPONSOR_NIB, "PT Sponsor Mahakam")])
    if not batch_ok(r, 1):
        raise RuntimeError(f"seeding the sponsor failed: {r.status} {r.text()[:300]}")


def list_all(port, tok, path, purpose=False, timeout=30):
    items, cursor = [], None
    for _ in range(10_000):
        sep = "&" if "?" in path else "?"
        q = f"{path}{sep}limit=1000" + (f"&cursor={urllib.parse.quote(cursor)}" if cursor else "")
        r = req(port, "GET", q, headers=bearer(tok, purpose), timeout=timeout)
        if r.status != 200:
            raise RuntimeError(f"GET {path}: {r.status} {r.text()[:300]}")
        page = r.json()
        items += page["items"]
        cursor = page.get("next_cursor")
        if not cursor or not page["items"]:
            return items
    raise RuntimeError("pagination did not end")


def seq_of(cursor):
    """The feed position inside an opaque cursor: base64url of `changes\\n<seq>`, or of
    `changes\\n<seq>\\n<first>-<last>` for a change signed with its page, plus a signature."""
    part = cursor.split(".")[0]
    raw = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
    return int(raw.split(b"\n")[1])


def read_feed(port, tok, after=None, timeout=30):
    out, cursor = [], after
    for _ in range(100_000):
        q = "/api/v1/changes?limit=1000" + (f"&after={urllib.parse.quote(cursor)}" if cursor else "")
        r = req(port, "GET", q, headers=bearer(tok, True), timeout=timeout)
        if r.status != 200:
            raise RuntimeError(f"GET /api/v1/changes: {r.status} {r.text()[:300]}")
        page = r.json()
        out += page["changes"]
        cursor = page["next_cursor"]
        if not page["has_more"]:
            return out, cursor
    raise RuntimeError("feed did not end")


def feed_problems(changes, start=1):
    """Gaps, duplicates or disorder in a feed read from position `start`."""
    seqs = [seq_of(c["cursor"]) for c in changes]
    problems = []
    if seqs and seqs != list(range(start, start + len(seqs))):
        missing = sorted(set(range(start, max(seqs) + 1)) - set(seqs))
        dup = len(seqs) - len(set(seqs))
        problems.append(f"positions not contiguous from {start}: {len(missing)} missing "
                        f"(first {missing[:5]}), {dup} duplicated")
    versions = {}
    for c in changes:
        if c["type"] in ("employer", "residence_permit"):
            versions.setdefault((c["type"], c["key"]), []).append(c["version"])
    bad = [k for k, v in versions.items() if v != list(range(v[0], v[0] + len(v))) or v[0] != 1]
    if bad:
        problems.append(f"{len(bad)} records with missing/repeated versions in the feed, e.g. {bad[:3]}")
    return problems


# ------------------------------------------------------------------ scenario harness


class Scenario:
    def __init__(self, name):
        self.name = name
        self.failed = []
        self.started = time.monotonic()

    def check(self, cond, what, detail=""):
        tag = "ok  " if cond else "FAIL"
        log(f"    [{tag}] {what}" + (f" — {detail}" if detail else ""))
        if not cond:
            self.failed.append(what)
        return cond

    def figure(self, text):
        log(f"    {text}")


RESULTS = []
BUDGET_RECORDED = []  # the scenario that was running when the budget ran out


def run_scenario(name, fn):
    if ONLY and name not in ONLY:
        return
    log(f"\n--- {name}")
    sc = Scenario(name)
    try:
        fn(sc)
    except Budget:
        sc.failed.append("time budget exhausted")
        RESULTS.append((name, False))
        BUDGET_RECORDED.append(name)
        log(f"FAIL {name}: the script's time budget ({BUDGET_SECONDS} s) ran out")
        raise
    except Exception as e:
        sc.failed.append(f"exception: {e}")
        log("    " + traceback.format_exc().replace("\n", "\n    "))
    finally:
        for srv in SERVERS:
            srv.kill()
        SERVERS.clear()
    secs = time.monotonic() - sc.started
    if sc.failed:
        log(f"FAIL {name} ({secs:.0f} s): {'; '.join(sc.failed)}")
    else:
        log(f"PASS {name} ({secs:.0f} s)")
    RESULTS.append((name, not sc.failed))


# ------------------------------------------------------------------ 1. SIGKILL mid-stream


def sigkill_during_batches(sc, backend):
    if backend == "postgres":
        url = pg_database("kill")
    else:
        url, _ = sqlite_database("kill")
    creds = setup_agencies(url)
    srv = Server(f"kill-{backend}", url).start()
    tok = tokens(srv.port, creds)
    seed_sponsor(srv.port, tok["mp"])
    stop = threading.Event()
    sent = {}  # batch id -> list of (type, key)
    acked = set()
    doubt = set()
    errors = []
    lock = threading.Lock()

    def writer(w, kind, size, atomic):
        b = 0
        while not stop.is_set():
            b += 1
            bid = f"{w}-{b}"
            if kind == "employer":
                keys = [("employer", f"91{w}{b:06d}{i:04d}") for i in range(size)]
                ops = [employer_op(k, f"PT Uji {bid} {i}") for i, (_, k) in enumerate(keys)]
                t = tok["mp"]
            else:
                keys = [("residence_permit", f"KIL-{w}-{b}-{i}") for i in range(size)]
                ops = [permit_op(k, f"K{w}{b:05d}{i:02d}") for i, (_, k) in enumerate(keys)]
                t = tok["imi"]
            with lock:
                sent[bid] = keys
            try:
                r = batch(srv.port, t, ops, atomic=atomic, timeout=30)
            except (OSError, http.client.HTTPException):
                with lock:
                    doubt.add(bid)
                return  # the server is gone
            with lock:
                if batch_ok(r, size):
                    acked.add(bid)
                else:
                    errors.append(f"{r.status} {r.text()[:200]}")
                    doubt.add(bid)

    follower = {"changes": [], "cursor": None, "error": None}

    def follow():
        while not stop.is_set():
            q = "/api/v1/changes?limit=500&wait=1"
            if follower["cursor"]:
                q += "&after=" + urllib.parse.quote(follower["cursor"])
            try:
                r = req(srv.port, "GET", q, headers=bearer(tok["mp"], True), timeout=10)
            except (OSError, http.client.HTTPException):
                return
            if r.status != 200:
                follower["error"] = f"{r.status} {r.text()[:200]}"
                return
            page = r.json()
            follower["changes"] += page["changes"]
            follower["cursor"] = page["next_cursor"]

    threads = [threading.Thread(target=writer, args=(1, "employer", 20, True), daemon=True),
               threading.Thread(target=writer, args=(2, "employer", 20, False), daemon=True),
               threading.Thread(target=writer, args=(3, "permit", 5, False), daemon=True),
               threading.Thread(target=follow, daemon=True)]
    for t in threads:
        t.start()
    # Let the stream run, then kill while batches are in flight.
    wait_until(lambda: len(acked) >= 30, 20)
    time.sleep(0.3)
    with lock:
        acked_before_kill = len(acked)
    srv.signal(signal.SIGKILL)
    killed_at = time.monotonic()
    code = srv.wait(10)
    stop.set()
    for t in threads:
        t.join(15)
    sc.figure(f"killed pid {srv.pid} (exit {code}) after {acked_before_kill} acknowledged batches; "
              f"{len(sent)} batches sent, {len(acked)} acknowledged, {len(doubt)} in doubt")
    sc.check(not errors, "no batch failed before the kill", "; ".join(errors[:3]))
    sc.check(acked_before_kill >= 10, "the stream was running when the server was killed",
             f"{acked_before_kill} batches acknowledged")

    srv.start()
    restart_s = time.monotonic() - killed_at
    tok = tokens(srv.port, creds)
    employers = {e["nib"] for e in list_all(srv.port, tok["mp"], "/api/v1/employers")}
    permits = {p["permit_no"] for p in list_all(srv.port, tok["imi"], "/api/v1/residence-permits", purpose=True)}
    stored = {("employer", k) for k in employers} | {("residence_permit", k) for k in permits}
    lost = [b for b in acked if any(k not in stored for k in sent[b])]
    half = [b for b in sent if 0 < sum(k in stored for k in sent[b]) < len(sent[b])]
    doubt_in = sum(all(k in stored for k in sent[b]) for b in doubt)
    sc.figure(f"restarted in {restart_s:.1f} s; {len(employers)} employers and {len(permits)} permits stored; "
              f"{doubt_in} of {len(doubt)} in-doubt batches were committed before the kill")
    sc.check(not lost, "every acknowledged batch is stored after the restart",
             f"{len(lost)} of {len(acked)} lost, e.g. {lost[:3]}")
    sc.check(not half, "no batch is half-written", f"{len(half)} partial, e.g. {half[:3]}")

    feed, _ = read_feed(srv.port, tok["mp"])
    probs = feed_problems(feed)
    sc.check(not probs, "the full change feed is gap-free, in order, each change once",
             "; ".join(probs) or f"{len(feed)} changes, positions 1..{seq_of(feed[-1]['cursor']) if feed else 0}")
    in_feed = {(c["type"], c["key"]) for c in feed if c["type"] in ("employer", "residence_permit")}
    sc.check(in_feed == stored, "the feed holds exactly the stored records",
             f"{len(stored - in_feed)} stored but not in feed, {len(in_feed - stored)} in feed but not stored")
    # The follower resumes from its last cursor across the crash.
    sc.check(follower["error"] is None, "the follower saw no error before the kill", str(follower["error"]))
    seen_before = len(follower["changes"])
    rest, _ = read_feed(srv.port, tok["mp"], after=follower["cursor"])
    resumed = follower["changes"] + rest
    probs = feed_problems(resumed)
    sc.check(not probs and len(resumed) == len(feed),
             "a follower resuming from its pre-crash cursor misses nothing and sees nothing twice",
             "; ".join(probs) or f"{seen_before} changes before the kill + {len(rest)} after = {len(resumed)}")
    sc.check(srv.stop() == 0, "the restarted server stops cleanly")


# ------------------------------------------------------------------ 2. PostgreSQL outage


def postgres_outage(sc):
    url = pg_database("outage")
    creds = setup_agencies(url)
    srv = Server("pg-outage", url).start()
    tok = tokens(srv.port, creds)
    seed_sponsor(srv.port, tok["mp"])
    r = req(srv.port, "GET", "/health/ready")
    sc.check(r.status == 200, "ready before the outage", str(r.status))

    # Background traffic through the whole outage: every answer is recorded.
    stop = threading.Event()
    seen = []  # (t, kind, status or error, elapsed, body head)
    n = [0]

    def traffic(kind):
        c = Client(srv.port, timeout=20)
        while not stop.is_set():
            n[0] += 1
            started = time.monotonic()
            try:
                if kind == "read":
                    r = c.request("GET", "/api/v1/employers?limit=5", headers=bearer(tok["mp"]))
                elif kind == "feed":
                    r = c.request("GET", "/api/v1/changes?limit=5", headers=bearer(tok["mp"], True))
                else:
                    r = batch(c, tok["mp"], [employer_op(f"93{n[0]:011d}", "PT Selama Gangguan")])
                seen.append((started, kind, r.status, r.elapsed, r.headers.get("content-type", ""), r.text()[:300]))
            except Exception as e:
                seen.append((started, kind, f"transport error {type(e).__name__}: {e}",
                             time.monotonic() - started, "", ""))
                c.close()
            time.sleep(0.1)

    # A big per-item batch is mid-transaction when PostgreSQL goes away.
    big_keys = [f"941{i:010d}" for i in range(1000)]
    big = {}

    def big_batch():
        try:
            r = batch(srv.port, tok["mp"], [employer_op(k, "PT Terputus") for k in big_keys], timeout=60)
            big.update(status=r.status, ok=batch_ok(r, 1000), resp=r)
        except Exception as e:
            big.update(status=f"{type(e).__name__}: {e}", ok=False, resp=None)

    threads = [threading.Thread(target=traffic, args=(k,), daemon=True) for k in ("read", "write", "feed")]
    for t in threads:
        t.start()
    time.sleep(1.5)
    big_thread = threading.Thread(target=big_batch, daemon=True)
    big_thread.start()
    time.sleep(0.7)
    try:
        t_stop = time.monotonic()
        pg_ctl("stop")
        stop_s = time.monotonic() - t_stop
        sc.figure(f"PostgreSQL stopped in {stop_s:.1f} s (server pid {srv.pid})")
        # Readiness turns 503 quickly, every probe answered within 10 s.
        probe_times = []

        def not_ready():
            r = req(srv.port, "GET", "/health/ready", timeout=12)
            probe_times.append(r.elapsed)
            return r.status == 503
        ok, secs = wait_until(not_ready, 15)
        sc.check(bool(ok), "/health/ready turns 503", f"after {secs:.1f} s; slowest probe {max(probe_times or [0]):.1f} s")
        r = req(srv.port, "GET", "/health/live", timeout=10)
        sc.check(r.status == 200, "/health/live stays 200 (the process is fine)", str(r.status))
        checks = [
            ("GET /api/v1/employers", lambda: req(srv.port, "GET", "/api/v1/employers", headers=bearer(tok["mp"]), timeout=15)),
            ("POST /api/v1/batch", lambda: batch(srv.port, tok["mp"], [employer_op("9400000000001", "PT X")], timeout=15)),
            ("GET /api/v1/changes", lambda: req(srv.port, "GET", "/api/v1/changes", headers=bearer(tok["mp"], True), timeout=15)),
            ("GET /api/v1/residence-permits", lambda: req(srv.port, "GET", "/api/v1/residence-permits", headers=bearer(tok["imi"], True), timeout=15)),
        ]
        for label, call in checks:
            try:
                r = call()
                good, detail = problem_ok(r, 503)
                if good and "retry-after" not in r.headers:
                    good, detail = False, "no Retry-After header"
                sc.check(good and r.elapsed < 10, f"{label} during the outage: 503 problem+json within 10 s",
                         f"{detail} in {r.elapsed:.2f} s")
            except Exception as e:
                sc.check(False, f"{label} during the outage: 503 problem+json within 10 s", f"{type(e).__name__}: {e}")
        # The token endpoint answers in the OAuth 2.0 error format (RFC 6749), by contract.
        label = "POST /api/v1/oauth/token during the outage: 503 OAuth error temporarily_unavailable within 10 s"
        try:
            r = token_raw(srv.port, creds["mp"])
            doc = r.json() if r.headers.get("content-type", "").startswith("application/json") else {}
            leaked = [w for w in LEAK_WORDS if w in r.text().lower()]
            sc.check(r.status == 503 and doc.get("error") == "temporarily_unavailable" and not leaked
                     and r.elapsed < 10, label, f"{r.status} {r.text()[:160]} in {r.elapsed:.2f} s")
        except Exception as e:
            sc.check(False, label, f"{type(e).__name__}: {e}")
        big_thread.join(30)
        if big.get("resp") is not None and big["status"] != 200:
            good, detail = problem_ok(big["resp"], 503)
        else:
            good, detail = big.get("status") == 200, str(big.get("status"))
        sc.check(good, "a 1000-operation batch cut off mid-transaction gets 200 (done before) or 503 problem+json",
                 detail)
        time.sleep(2)
    finally:
        t_start = time.monotonic()
        pg_ctl("start")
        wait_until(pg_ready, 60)
    pg_up_s = time.monotonic() - t_start
    ok, ready_s = wait_until(lambda: req(srv.port, "GET", "/health/ready", timeout=10).status == 200, 15, 0.25)
    sc.check(bool(ok), "/health/ready is 200 again within 15 s of PostgreSQL accepting connections",
             f"PostgreSQL up in {pg_up_s:.1f} s, server ready {ready_s:.1f} s later")
    ok, write_s = wait_until(lambda: batch_ok(batch(srv.port, tok["mp"], [employer_op("9400000000002", "PT Pulih")]), 1), 15, 0.25)
    sc.check(bool(ok), "writes succeed again within 15 s, without a restart", f"{write_s:.1f} s after ready")
    employers = {e["nib"] for e in list_all(srv.port, tok["mp"], "/api/v1/employers")}
    stored = sum(k in employers for k in big_keys)
    sc.check(stored in (0, 1000) and (stored == 1000) == bool(big.get("ok")),
             "the cut-off batch is all or nothing, stored exactly when acknowledged",
             f"{stored} of 1000 stored, answer {big.get('status')}")
    time.sleep(2)
    stop.set()
    for t in threads:
        t.join(25)
    t_after = time.monotonic()
    sc.check(srv.proc.poll() is None and srv.starts == 1, "the same server process served throughout", f"pid {srv.pid}")
    bad = [s for s in seen if not isinstance(s[2], int) or s[2] >= 500 and s[2] != 503]
    slow = [s for s in seen if s[3] > 10]
    bad503 = [s for s in seen if s[2] == 503 and not s[4].startswith("application/problem+json")]
    after = [s for s in seen if s[0] > t_after - 1.5]
    counts = {}
    for s in seen:
        counts[s[2] if isinstance(s[2], int) else "error"] = counts.get(s[2] if isinstance(s[2], int) else "error", 0) + 1
    sc.figure(f"background traffic: {len(seen)} requests, by status {dict(sorted(counts.items(), key=str))}, "
              f"slowest {max((s[3] for s in seen), default=0):.2f} s")
    sc.check(not bad, "no 500 and no transport error at any time (only 2xx/503)",
             "; ".join(f"{s[1]}: {s[2]} {s[5][:160]}" for s in bad[:3]))
    sc.check(not bad503, "every 503 is problem+json", "; ".join(s[4] for s in bad503[:3]))
    sc.check(not slow, "no request hung (all answered within 10 s)", f"{len(slow)} slow")
    sc.check(after and all(s[2] == 200 for s in after), "traffic is all 200 again after the recovery",
             f"{sum(1 for s in after if s[2] == 200)} of {len(after)} in the last 1.5 s")
    leaks = [l for l in srv.log_text().splitlines() if "panicked" in l]
    sc.check(not leaks, "no panic in the server log", leaks[0][:200] if leaks else "")
    sc.check(srv.stop() == 0, "the server stops cleanly")


def token_raw(port, cred):
    basic = base64.b64encode(f"{cred['client_id']}:{cred['client_secret']}".encode()).decode()
    return req(port, "POST", "/api/v1/oauth/token", body=b"grant_type=client_credentials", timeout=15,
                headers={"Authorization": "Basic " + basic, "Content-Type": "application/x-www-form-urlencoded"})


# ------------------------------------------------------------------ 3. SQLite: two processes


def sqlite_two_processes(sc):
    url, path = sqlite_database("two")
    creds = setup_agencies(url)
    a = Server("two-a", url).start()
    b = Server("two-b", url)
    code = b.try_start()
    if code is not None:
        # Refused: the second process must say why and exit non-zero, the first keeps working.
        msg = b.log_tail(3)
        sc.check(code != 0, "the second server on the same file is refused", f"exit {code}: {msg}")
        tok = tokens(a.port, creds)
        seed_sponsor(a.port, tok["mp"])
        sc.check(a.stop() == 0, "the first server keeps working and stops cleanly")
        sc.check(sqlite_integrity(path) == "ok", "integrity_check ok")
        return
    sc.figure(f"both servers run on one file (pids {a.pid}, {b.pid}): checking that sharing is safe")
    tok_a, tok_b = tokens(a.port, creds), tokens(b.port, creds)
    seed_sponsor(a.port, tok_a["mp"])
    stop = threading.Event()
    acked, statuses, lat = [], {}, []
    lock = threading.Lock()

    def writer(srv, tok, w):
        c = Client(srv.port, timeout=30)
        i = 0
        while not stop.is_set():
            i += 1
            if i % 3 == 0:
                keys = [("residence_permit", f"TWO-{w}-{i}-{j}") for j in range(3)]
                ops = [permit_op(k, f"T{w}{i:05d}{j}") for j, (_, k) in enumerate(keys)]
                t = tok["imi"]
            else:
                keys = [("employer", f"95{w}{i:06d}{j:04d}") for j in range(10)]
                ops = [employer_op(k, f"PT Dua {w} {i}") for _, k in keys]
                t = tok["mp"]
            try:
                r = batch(c, t, ops)
                st = r.status
            except Exception as e:
                st = f"transport error {type(e).__name__}"
                r = None
            with lock:
                statuses[st] = statuses.get(st, 0) + 1
                if r is not None:
                    lat.append(r.elapsed)
                    if batch_ok(r, len(ops)):
                        acked.append(keys)
                    elif r.status >= 500:
                        statuses.setdefault("examples", []).append(r.text()[:200])

    def reader(srv, tok):
        c = Client(srv.port, timeout=30)
        while not stop.is_set():
            try:
                r = c.request("GET", "/api/v1/changes?limit=50", headers=bearer(tok["mp"], True))
                st = r.status
            except Exception as e:
                st = f"transport error {type(e).__name__}"
            with lock:
                statuses[st] = statuses.get(st, 0) + 1

    threads = []
    for srv, tok, w in ((a, tok_a, 1), (a, tok_a, 2), (b, tok_b, 3), (b, tok_b, 4)):
        threads.append(threading.Thread(target=writer, args=(srv, tok, w), daemon=True))
    threads += [threading.Thread(target=reader, args=(a, tok_a), daemon=True),
                threading.Thread(target=reader, args=(b, tok_b), daemon=True)]
    for t in threads:
        t.start()
    time.sleep(12)
    stop.set()
    for t in threads:
        t.join(40)
    examples = statuses.pop("examples", [])
    lat.sort()
    sc.figure(f"12 s of writes through both: statuses {statuses}; batch latency p50 "
              f"{lat[len(lat) // 2] if lat else 0:.2f} s, max {lat[-1] if lat else 0:.2f} s")
    errs = {k: v for k, v in statuses.items() if not isinstance(k, int) or k >= 500}
    sc.check(not errs, "no 5xx (e.g. 'database is locked') and no transport error", f"{errs} {examples[:2]}")
    sc.check(len(acked) >= 10, "both servers acknowledged writes", f"{len(acked)} batches")
    stored = {("employer", e["nib"]) for e in list_all(b.port, tok_b["mp"], "/api/v1/employers")}
    stored |= {("residence_permit", p["permit_no"]) for p in list_all(a.port, tok_a["imi"], "/api/v1/residence-permits", purpose=True)}
    lost = [k for keys in acked for k in keys if k not in stored]
    sc.check(not lost, "every acknowledged write is visible through either server", f"{len(lost)} missing")
    feed, _ = read_feed(a.port, tok_a["mp"])
    probs = feed_problems(feed)
    sc.check(not probs, "the change feed written by two processes is gap-free with each change once",
             "; ".join(probs) or f"{len(feed)} changes")
    ca, cb = a.stop(), b.stop()
    sc.check(ca == 0 and cb == 0, "both servers stop cleanly", f"exit {ca}, {cb}")
    ic = sqlite_integrity(path)
    sc.check(ic == "ok", "PRAGMA integrity_check", ic)
    try:
        out = cli(url, "audit", "verify").strip()
        sc.check("intact" in out, "the audit hash chain is intact", out)
    except Exception as e:
        sc.check(False, "the audit hash chain is intact", str(e))


# ------------------------------------------------------------------ 4. SQLite: full disk


def full_disk(sc):
    d = os.path.join(TMP, "fulldisk")
    os.makedirs(d, exist_ok=True)
    method = None
    preexec = None
    if os.environ.get("FAULTS_FULL_DISK") == "fsize":
        p = subprocess.CompletedProcess([], 1, "", "skipped (FAULTS_FULL_DISK=fsize)")
    else:
        p = _run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", d])
    if p.returncode == 0:
        method = "tmpfs of 4 MiB"
        CLEANUPS.append(lambda: _run(["umount", "-l", d]))
    else:
        sc.figure(f"mount -t tmpfs refused ({p.stderr.strip()}); falling back to RLIMIT_FSIZE")
    path = os.path.join(d, "sinergi.db")
    url = "sqlite://" + path
    creds = setup_agencies(url)
    if method is None:
        limit = os.path.getsize(path) + 3 * 1024 * 1024
        method = f"RLIMIT_FSIZE {limit} bytes with SIGXFSZ ignored (write fails with EFBIG)"

        def preexec():
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    sc.figure(f"full disk made with: {method}")
    try:
        fill_the_disk(sc, d, method, path, url, creds, preexec)
    finally:
        for srv in SERVERS:
            srv.kill()
        if method.startswith("tmpfs"):
            _run(["umount", d])


def fill_the_disk(sc, d, method, path, url, creds, preexec):
    srv = Server("fulldisk", url, preexec=preexec).start()
    tok = tokens(srv.port, creds)
    seed_sponsor(srv.port, tok["mp"])
    acked, full_resp, statuses = [], None, {}
    started = time.monotonic()
    name = "PT Disk Penuh " + "x" * 150
    for i in range(2000):
        keys = [f"96{i:06d}{j:05d}" for j in range(40)]
        try:
            r = batch(srv.port, tok["mp"], [employer_op(k, name) for k in keys], timeout=30)
        except Exception as e:
            sc.check(False, "a write on a full disk is answered", f"{type(e).__name__}: {e}")
            break
        statuses[r.status] = statuses.get(r.status, 0) + 1
        if batch_ok(r, len(keys)):
            acked.append(keys)
            continue
        full_resp = r
        break
    fill_s = time.monotonic() - started
    used = shutil.disk_usage(d)
    files = ", ".join(f"{f} {os.path.getsize(os.path.join(d, f)) // 1024} KiB" for f in sorted(os.listdir(d)))
    sc.figure(f"{len(acked)} batches ({len(acked) * 40} employers) stored before the disk filled, in {fill_s:.1f} s; "
              + (f"tmpfs {used.used // 1024} KiB used of {used.total // 1024} KiB; " if method.startswith("tmpfs") else "")
              + files)
    if full_resp is None:
        sc.check(False, "the disk filled up", "no failure")
        return
    good, detail = problem_ok(full_resp, 507)
    if good:
        code = full_resp.json().get("code")
        good, detail = code == "storage_full", f"507 {code}"
    sc.check(good, "a write on the full disk gets 507 storage_full problem+json, no internals", detail)
    logtext = srv.log_text()
    sc.check(bool(re.search(r"disk is full|No space left|database or disk is full", logtext, re.I)),
             "the server log names the cause (disk full)",
             next((l.strip()[:200] for l in logtext.splitlines() if "full" in l.lower()), "no such log line"))
    late_acked = []
    again = batch(srv.port, tok["mp"], [employer_op("9600000009999", "PT Kecil")])
    if again.status == 200 and batch_ok(again, 1):
        # The failed write's WAL space can be reused (the writer reconnects and
        # SQLite resets the WAL): a small write may fit. Then it must be kept.
        late_acked.append("9600000009999")
        sc.check(True, "further writes while full fail cleanly or are stored",
                 "200: fitted into reclaimed WAL space; checked after the restart below")
    else:
        good, detail = problem_ok(again, again.status) if again.status in (503, 507) else (False, str(again.status))
        sc.check(good, "further writes while full fail cleanly or are stored", detail)
    r = req(srv.port, "GET", "/api/v1/employers?limit=1", headers=bearer(tok["mp"]))
    sc.check(r.status == 200, "reads keep working while the disk is full", str(r.status))
    r = req(srv.port, "GET", "/health/live")
    sc.check(r.status == 200 and srv.proc.poll() is None, "the server is still running", str(r.status))
    # Free space: the server recovers by itself.
    if method.startswith("tmpfs"):
        _run(["mount", "-o", "remount,size=64m", d])
        ok, secs = wait_until(lambda: batch_ok(batch(srv.port, tok["mp"], [employer_op("9600000009998", "PT Lega")]), 1), 15, 0.5)
        sc.check(bool(ok), "after space is freed, writes succeed again without a restart", f"{secs:.1f} s")
    code = srv.stop()
    sc.check(code == 0, "the server stops cleanly", f"exit {code}")
    ic = sqlite_integrity(path)
    sc.check(ic == "ok", "PRAGMA integrity_check after the full disk", ic)
    srv.start()
    tok = tokens(srv.port, creds)
    stored = {e["nib"] for e in list_all(srv.port, tok["mp"], "/api/v1/employers")}
    lost = [k for keys in acked + [late_acked] for k in keys if k not in stored]
    half = [keys[0] for keys in acked + [[f"96{len(acked):06d}{j:05d}" for j in range(40)]]
            if 0 < sum(k in stored for k in keys) < len(keys)]
    sc.check(not lost and not half, "every acknowledged write survived, the failed batch left nothing",
             f"{len(lost)} lost, {len(half)} half-written; {len(stored)} employers stored")
    feed, _ = read_feed(srv.port, tok["mp"])
    probs = feed_problems(feed)
    sc.check(not probs, "the change feed is gap-free", "; ".join(probs) or f"{len(feed)} changes")
    srv.stop()
    try:
        out = cli(url, "audit", "verify").strip()
        sc.check("intact" in out, "the audit hash chain is intact", out)
    except Exception as e:
        sc.check(False, "the audit hash chain is intact", str(e))


# ------------------------------------------------------------------ 5. slow and abandoned clients


class Trickler(threading.Thread):
    """Keeps slow connections alive: one byte a second for slow headers and bodies,
    nothing for idle ones; records when and how the server closes each."""

    def __init__(self):
        super().__init__(daemon=True)
        self.socks = []  # (kind, socket)
        self.closed = {}  # socket -> (kind, seconds after open, how)
        self.opened = {}
        self.halt = threading.Event()
        self.lock = threading.Lock()

    def add(self, kind, s):
        s.setblocking(False)
        with self.lock:
            self.socks.append((kind, s))
            self.opened[s] = time.monotonic()

    def run(self):
        while not self.halt.is_set():
            with self.lock:
                socks = list(self.socks)
            for kind, s in socks:
                if s in self.closed:
                    continue
                age = time.monotonic() - self.opened[s]
                try:
                    data = s.recv(4096)
                    how = "closed" if data == b"" else data.split(b"\r\n", 1)[0].decode("latin-1")
                    self.closed[s] = (kind, age, how)
                    continue
                except BlockingIOError:
                    pass
                except OSError as e:
                    self.closed[s] = (kind, age, type(e).__name__)
                    continue
                try:
                    if kind in ("loris", "body"):
                        s.send(b"X" if kind == "loris" else b" ")
                except BlockingIOError:
                    pass
                except OSError as e:
                    self.closed[s] = (kind, age, type(e).__name__)
            self.halt.wait(1.0)

    def summary(self, kind):
        got = [v for v in self.closed.values() if v[0] == kind]
        total = sum(1 for k, _ in self.socks if k == kind)
        how = sorted({v[2] for v in got})
        when = max((v[1] for v in got), default=0)
        return len(got), total, when, how

    def close_all(self):
        self.halt.set()
        self.join(5)
        for _, s in self.socks:
            s.close()


def slow_body_head(tok, length):
    """The start of a batch upload that announces `length` bytes; with tok None, of an
    unauthenticated token request."""
    if tok is None:
        return (f"POST /api/v1/oauth/token HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {length}\r\n\r\n"
                ).encode() + b"grant_type=client_credentials&client_id="
    return (f"POST /api/v1/batch HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {tok}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {length}\r\n\r\n").encode() + b'{"operations": ['


def slow_clients(sc):
    url, _ = sqlite_database("slow")
    creds = setup_agencies(url)
    srv = Server("slow", url).start()
    tok = tokens(srv.port, creds)
    seed_sponsor(srv.port, tok["mp"])
    N_IDLE, N_LORIS, N_BODY = 200, 40, 40
    tr = Trickler()
    for _ in range(N_IDLE):
        tr.add("idle", socket.create_connection(("127.0.0.1", srv.port), timeout=5))
    for _ in range(N_LORIS):
        s = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
        s.sendall(b"GET /api/v1/employers HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        tr.add("loris", s)
    for _ in range(N_BODY):
        s = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
        s.sendall(slow_body_head(tok["mp"], 200_000))
        tr.add("body", s)
    tr.start()
    sc.figure(f"A. opened {N_IDLE} idle connections, {N_LORIS} slow-header and {N_BODY} slow-body uploads "
              f"(one byte a second each)")
    probes = []
    calls = [
        ("live", lambda: req(srv.port, "GET", "/health/live", timeout=10)),
        ("read", lambda: req(srv.port, "GET", "/api/v1/employers?limit=10", headers=bearer(tok["mp"]), timeout=10)),
        ("write", lambda: batch(srv.port, tok["mp"], [employer_op(f"97{len(probes):011d}", "PT Cepat")], timeout=10)),
        ("feed", lambda: req(srv.port, "GET", "/api/v1/changes?limit=10", headers=bearer(tok["mp"], True), timeout=10)),
        ("token", lambda: token_raw(srv.port, creds["imi"])),
    ]
    t_end = time.monotonic() + 25
    while time.monotonic() < t_end:
        label, call = calls[len(probes) % len(calls)]
        started = time.monotonic()
        try:
            r = call()
            probes.append((label, r.status, time.monotonic() - started))
        except Exception as e:
            probes.append((label, f"{type(e).__name__}", time.monotonic() - started))
        time.sleep(0.25)
    wait_until(lambda: tr.summary("idle")[0] + tr.summary("loris")[0] >= N_IDLE + N_LORIS, 15, 1)
    worst = max(p[2] for p in probes)
    bad = [p for p in probes if not isinstance(p[1], int) or p[1] >= 300 or p[2] > 2]
    sc.figure(f"{len(probes)} requests from a normal client meanwhile: slowest {worst:.3f} s, "
              f"statuses {sorted({p[1] for p in probes}, key=str)}")
    sc.check(not bad, "other clients are answered within 2 s while slow/idle connections are open", f"{bad[:5]}")
    for kind in ("idle", "loris", "body"):
        n, total, when, how = tr.summary(kind)
        sc.figure(f"{kind}: {n} of {total} closed by the server (last after {when:.0f} s; {how[:3]})")
    reaped = tr.summary("idle")[0] + tr.summary("loris")[0]
    sc.check(reaped == N_IDLE + N_LORIS,
             "abandoned and slow-header connections are closed by the server within ~40 s",
             f"{reaped} of {N_IDLE + N_LORIS}")
    tr.close_all()
    r = req(srv.port, "GET", "/health/ready")
    sc.check(r.status == 200, "the server is still ready", str(r.status))
    sc.check(srv.stop() == 0, "the server stops cleanly")

    # B. Slow-body uploads are held without a deadline: enough of them fill every
    # connection slot the server has. Here the slots are bounded by a small file
    # descriptor limit (the same happens at any limit, with more uploads).
    nofile = 256
    capped = Server("slow-capacity", url,
                    preexec=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))).start()
    tr = Trickler()
    for _ in range(nofile + 44):
        s = socket.create_connection(("127.0.0.1", capped.port), timeout=5)
        s.sendall(slow_body_head(None, 100_000))
        tr.add("body", s)
    tr.start()
    t_open = time.monotonic()
    cpu0 = capped.cpu_seconds()
    sc.figure(f"B. server with RLIMIT_NOFILE={nofile}: opened {nofile + 44} slow-body uploads (1 byte/s) "
              f"to the token endpoint, without credentials")
    timeline = []

    def served():
        try:
            r = req(capped.port, "GET", "/health/live", timeout=2)
            timeline.append((time.monotonic() - t_open, r.status))
            return r.status == 200 and time.monotonic() - t_open > 20
        except (OSError, http.client.HTTPException) as e:
            timeline.append((time.monotonic() - t_open, type(e).__name__))
            return False
    ok, _ = wait_until(served, 60, 2)
    starved = [t for t, st in timeline if st != 200]
    sc.figure("normal client timeline (s: result): " + ", ".join(f"{t:.0f}: {st}" for t, st in timeline[::3]))
    n, total, when, how = tr.summary("body")
    cpu1 = capped.cpu_seconds()
    accept_errors = capped.log_text().count("Too many open files")
    sc.figure(f"slow-body uploads closed by the server: {n} of {total} ({how[:3]}); server CPU meanwhile "
              f"{(cpu1 or 0) - (cpu0 or 0):.1f} s; 'Too many open files' log lines: {accept_errors}")
    sc.check(bool(ok), "slow-body uploads are cut off, so they cannot hold every connection slot "
             "(a normal client is served again within 60 s)",
             f"normal client refused/timed out for {max(starved, default=0):.0f} s of {time.monotonic() - t_open:.0f} s"
             if starved else "served throughout")
    tr.close_all()
    code = capped.stop()
    sc.check(code == 0, "the capped server stops cleanly", f"exit {code}")


# ------------------------------------------------------------------ 6. mixed load


def mixed_load(sc):
    url = pg_database("mixed")
    creds = setup_agencies(url)
    env = {"SINERGI_LOG": "warn", "SINERGI_RATE_LIMIT_PER_MINUTE": "10000000", "SINERGI_RATE_LIMIT_BURST": "100000"}
    srv = Server("mixed", url, env=env).start()
    tok = tokens(srv.port, creds)
    seed_sponsor(srv.port, tok["mp"])
    nibs = [f"98{i:011d}" for i in range(2000)]
    permits = [(f"MIX-{i}", f"M{i:07d}") for i in range(300)]
    # Seed the whole bounded key set first: during the run writes are updates,
    # so the data the server reads does not grow and RSS can settle.
    for chunk in (nibs[:1000], nibs[1000:]):
        r = batch(srv.port, tok["mp"], [employer_op(n, "PT Beban 0") for n in chunk], timeout=120)
        if not batch_ok(r, len(chunk)):
            raise RuntimeError(f"seeding employers: {r.status} {r.text()[:300]}")
    r = batch(srv.port, tok["imi"], [permit_op(p, pp) for p, pp in permits], timeout=120)
    if not batch_ok(r, len(permits)):
        raise RuntimeError(f"seeding permits: {r.status} {r.text()[:300]}")
    stop = threading.Event()
    lock = threading.Lock()
    stats = {"n": 0, "by_status": {}, "errors": [], "fivexx": [], "lat": []}

    def record(kind, r=None, err=None):
        with lock:
            stats["n"] += 1
            if err is not None:
                stats["by_status"]["error"] = stats["by_status"].get("error", 0) + 1
                if len(stats["errors"]) < 5:
                    stats["errors"].append(f"{kind}: {err}")
                return
            stats["by_status"][r.status] = stats["by_status"].get(r.status, 0) + 1
            stats["lat"].append(r.elapsed)
            if r.status >= 500 and len(stats["fivexx"]) < 5:
                stats["fivexx"].append(f"{kind}: {r.status} {r.text()[:200]}")

    def loop(kind, fn, pause):
        c = Client(srv.port, timeout=30)
        rnd = random.Random(kind)
        while not stop.is_set():
            try:
                record(kind, fn(c, rnd))
            except Exception as e:
                record(kind, err=f"{type(e).__name__}: {e}")
                c.close()
            stop.wait(pause)

    counter = [0]

    def write_employers(c, rnd):
        counter[0] += 1
        ops = [employer_op(n, f"PT Beban {counter[0]}") for n in rnd.sample(nibs, 10)]
        return batch(c, tok["mp"], ops)

    def write_permits(c, rnd):
        ops = [permit_op(p, pp, f"2027-{rnd.randint(1, 12):02d}-{rnd.randint(1, 28):02d}") for p, pp in rnd.sample(permits, 5)]
        return batch(c, tok["imi"], ops)

    def read(c, rnd):
        k = rnd.randrange(8)
        if k == 0:
            return c.request("GET", "/api/v1/employers?limit=100", headers=bearer(tok["mp"]))
        if k == 1:
            return c.request("GET", f"/api/v1/employers/{rnd.choice(nibs)}", headers=bearer(tok["mp"]))
        if k == 2:
            return c.request("GET", "/api/v1/residence-permits?limit=50", headers=bearer(tok["imi"], True))
        if k == 3:
            return c.request("GET", "/api/v1/workers?limit=20", headers=bearer(tok["imi"], True))
        if k == 4:
            return c.request("GET", "/api/v1/stats/workers?group_by=nationality", headers=bearer(tok["mp"]))
        if k == 5:
            return c.request("GET", "/api/v1/findings?limit=20", headers=bearer(tok["mp"], True))
        if k == 6:
            return c.request("GET", "/health/ready")
        return c.request("GET", "/metrics")

    feed = {"cursor": None, "next": 1, "gaps": [], "count": 0}

    def poll_feed(c, rnd):
        q = "/api/v1/changes?limit=200&wait=2"
        if feed["cursor"]:
            q += "&after=" + urllib.parse.quote(feed["cursor"])
        r = c.request("GET", q, headers=bearer(tok["mp"], True))
        if r.status == 200:
            page = r.json()
            for ch in page["changes"]:
                s = seq_of(ch["cursor"])
                if s != feed["next"] and len(feed["gaps"]) < 5:
                    feed["gaps"].append((feed["next"], s))
                feed["next"] = s + 1
                feed["count"] += 1
            feed["cursor"] = page["next_cursor"]
        return r

    def get_token(c, rnd):
        return token_raw(srv.port, creds[rnd.choice(["mp", "imi"])])

    rss = []

    samples = []  # (seconds since start, RSS MB, threads)

    def sample():
        while not stop.is_set():
            v, th = srv.rss_mb(), srv.threads()
            if v is not None:
                rss.append(v)
                samples.append((time.monotonic() - started, v, th))
            stop.wait(1.0)

    workers = [("write-employers", write_employers, 0.05), ("write-permits", write_permits, 0.1),
               ("read-1", read, 0.01), ("read-2", read, 0.01), ("feed", poll_feed, 0.0),
               ("token", get_token, 2.0)]
    warmup = 30.0 if MIXED_SECONDS >= 120 else MIXED_SECONDS / 3
    threads = [threading.Thread(target=loop, args=w, daemon=True) for w in workers]
    threads.append(threading.Thread(target=sample, daemon=True))
    sc.figure(f"seeded {len(nibs)} employers and {len(permits)} permits; running for {MIXED_SECONDS} s "
              f"(FAULTS_MIXED_SECONDS): 2 writers, 2 readers, a feed poller, token requests; RSS sampled every "
              "second")
    started = time.monotonic()
    for t in threads:
        t.start()
    next_report = started + REPORT_EVERY
    while time.monotonic() - started < MIXED_SECONDS:
        time.sleep(1)
        if time.monotonic() >= next_report:
            next_report += REPORT_EVERY
            with lock:
                log(f"      ... {time.monotonic() - started:.0f} s: {stats['n']} requests, "
                    f"RSS last minute {' '.join(f'{v:.0f}' for v in rss[-60::5])} MB, "
                    f"RSS {rss[-1] if rss else 0:.1f} MB, statuses {stats['by_status']}")
    stop.set()
    for t in threads:
        t.join(40)
    secs = time.monotonic() - started
    lat = sorted(stats["lat"])
    pct = lambda p: lat[min(len(lat) - 1, int(len(lat) * p))] if lat else 0
    sc.figure(f"{stats['n']} requests in {secs:.0f} s ({stats['n'] / secs:.0f}/s); statuses {stats['by_status']}; "
              f"latency p50 {pct(0.5) * 1000:.0f} ms, p99 {pct(0.99) * 1000:.0f} ms, max {pct(1.0) * 1000:.0f} ms")
    fivexx = sum(v for k, v in stats["by_status"].items() if isinstance(k, int) and k >= 500)
    sc.check(fivexx == 0, "zero 5xx", "; ".join(stats["fivexx"]))
    sc.check(not stats["errors"], "zero transport errors", "; ".join(stats["errors"]))
    sc.check(not feed["gaps"] and feed["count"] > 0, "the feed poller saw every position once, in order",
             f"{feed['count']} changes, gaps {feed['gaps']}")
    # Pools, caches, blocking threads and allocator arenas fill during a warm-up;
    # after it, the peak RSS of the last third may exceed the first third's by < MEMORY_BOUND_MB.
    window = [x for x in samples if x[0] >= warmup]
    third = max(1, len(window) // 3)
    first, last = window[:third], window[-third:]
    if first and last:
        growth = max(x[1] for x in last) - max(x[1] for x in first)
        sc.figure(f"RSS MB: start {samples[0][1]:.1f}, after the {warmup:.0f} s warm-up: first third "
                  f"{min(x[1] for x in first):.1f}-{max(x[1] for x in first):.1f}, last third "
                  f"{min(x[1] for x in last):.1f}-{max(x[1] for x in last):.1f} (peak growth {growth:+.1f} MB); "
                  f"threads {first[0][2]} -> {last[-1][2]}; every 30 s: "
                  + " ".join(f"{x[1]:.0f}" for x in samples[::30]))
    else:
        growth = None
    if MIXED_SECONDS - warmup >= 60:
        sc.check(growth is not None and growth < MEMORY_BOUND_MB,
                 f"memory is flat (after warm-up, peak of the last third < peak of the first third + {MEMORY_BOUND_MB:.0f} MB)",
                 f"{growth:+.1f} MB" if growth is not None else "no samples")
    else:
        sc.figure(f"memory not judged: {MIXED_SECONDS} s is too short (FAULTS_MIXED_SECONDS >= 120 judges it)")
    sc.check(srv.proc.poll() is None and srv.starts == 1, "the server never restarted", f"pid {srv.pid}")
    sc.check(srv.stop() == 0, "the server stops cleanly")


# ------------------------------------------------------------------ 7. graceful shutdown


def graceful_shutdown(sc, backend):
    if backend == "postgres":
        url = pg_database("term")
        path = None
    else:
        url, path = sqlite_database("term")
    creds = setup_agencies(url, audit=True)
    srv = Server(f"term-{backend}", url).start()
    tok = tokens(srv.port, creds)
    seed_sponsor(srv.port, tok["mp"])
    _, head = read_feed(srv.port, tok["mp"])
    lock = threading.Lock()
    sent = []  # (t_sent, keys, result)
    stop = threading.Event()

    def writer(w):
        i = 0
        while not stop.is_set():
            i += 1
            keys = [f"99{w}{i:06d}{j:04d}" for j in range(10)]
            entry = [time.monotonic(), keys, None]
            with lock:
                sent.append(entry)
            try:
                r = batch(srv.port, tok["mp"], [employer_op(k, "PT Tutup") for k in keys], timeout=30)
                entry[2] = "ok" if batch_ok(r, 10) else f"{r.status}"
            except Exception as e:
                entry[2] = f"{type(e).__name__}"
                return
            time.sleep(0.02)

    big_keys = [f"990{j:010d}" for j in range(1000)]
    big = {"result": None, "elapsed": None}

    def big_batch():
        started = time.monotonic()
        try:
            r = batch(srv.port, tok["mp"], [employer_op(k, "PT Besar") for k in big_keys], atomic=True, timeout=60)
            big["result"] = r.status if not batch_ok(r, 1000) or r.status != 200 else "ok"
        except Exception as e:
            big["result"] = f"{type(e).__name__}: {e}"
        big["elapsed"] = time.monotonic() - started

    poll = {"result": None}
    poll_rid = f"faults-longpoll-{os.getpid()}"

    def long_poll():
        q = "/api/v1/changes?types=presence_report&wait=5&after=" + urllib.parse.quote(head)
        try:
            r = req(srv.port, "GET", q, headers=bearer(tok["mp"], True, {"X-Request-Id": poll_rid}), timeout=30)
            poll["result"] = r.status
        except Exception as e:
            poll["result"] = f"{type(e).__name__}: {e}"

    # A client that is slow to send its body, and an idle keep-alive connection.
    slow = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
    slow.sendall((f"POST /api/v1/batch HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {tok['mp']}\r\n"
                  f"Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n{{").encode())
    idle = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=5)
    idle.request("GET", "/health/live")
    idle.getresponse().read()

    threads = [threading.Thread(target=writer, args=(w,), daemon=True) for w in (1, 2)]
    threads += [threading.Thread(target=long_poll, daemon=True), threading.Thread(target=big_batch, daemon=True)]
    for t in threads:
        t.start()
    time.sleep(0.8)  # the long poll and the big batch are in flight now
    t_term = time.monotonic()
    srv.signal(signal.SIGTERM)
    # New connections are no longer served.
    time.sleep(0.5)
    try:
        r = req(srv.port, "GET", "/health/live", timeout=3)
        refused = f"served: {r.status}"
    except ConnectionRefusedError:
        refused = "refused"
    except (OSError, http.client.HTTPException) as e:
        refused = f"not served ({type(e).__name__})"
    code = srv.wait(30)
    exit_s = time.monotonic() - t_term
    stop.set()
    for t in threads:
        t.join(35)
    slow.close()
    idle.close()
    sc.check(not refused.startswith("served"), "a new connection after SIGTERM is not served", refused)
    sc.check(code == 0, "the process exits 0 after SIGTERM", f"exit {code} after {exit_s:.1f} s")
    sc.check(code is not None and exit_s <= 20, "it exits within the deadline (shutdown timeout 15 s + 5 s)",
             f"{exit_s:.1f} s, with a stalled upload open")
    sc.check(poll["result"] == 200, "an in-flight long poll (5 s) completes with 200", str(poll["result"]))
    sc.check(big["result"] == "ok", "an in-flight 1000-operation atomic batch completes with 200",
             f"{big['result']} in {big['elapsed'] or 0:.1f} s")
    early = [e for e in sent if e[0] < t_term - 0.2]
    cut = [e for e in early if e[2] != "ok"]
    sc.check(not cut, "every batch sent before SIGTERM is answered 200",
             f"{len(early) - len(cut)} of {len(early)}; cut: {[e[2] for e in cut[:3]]}")
    if path:
        wal = path + "-wal"
        size = os.path.getsize(wal) if os.path.exists(wal) else None
        sc.figure(f"after exit the SQLite WAL is {'absent (checkpointed)' if size is None else f'{size} bytes'}")
        ic = sqlite_integrity(path)
        sc.check(ic == "ok", "PRAGMA integrity_check after shutdown", ic)
    log_ok = "graceful shutdown" in srv.log_text()
    sc.figure(f"server log mentions the graceful shutdown: {log_ok}")

    srv.start()
    tok = tokens(srv.port, creds)
    stored = {e["nib"] for e in list_all(srv.port, tok["mp"], "/api/v1/employers")}
    acked = [e for e in sent if e[2] == "ok"]
    lost = [k for e in acked for k in e[1] if k not in stored]
    big_n = sum(k in stored for k in big_keys)
    sc.check(not lost, "every acknowledged write is stored after the restart",
             f"{len(acked)} batches acknowledged, {len(lost)} records missing")
    sc.check(big_n in (0, 1000) and (big["result"] != "ok" or big_n == 1000), "the big batch is all or nothing",
             f"{big_n} of 1000 stored")
    feed, _ = read_feed(srv.port, tok["mp"])
    probs = feed_problems(feed)
    sc.check(not probs, "the change feed is gap-free", "; ".join(probs) or f"{len(feed)} changes")
    r = req(srv.port, "GET", "/api/v1/audit-events?resource_type=change&limit=1000", headers=bearer(tok["audit"]))
    rids = [e.get("request_id") for e in r.json().get("items", [])] if r.status == 200 else []
    sc.check(poll_rid in rids, "the in-flight long poll's audit event was written before exit",
             f"{r.status}, {len(rids)} change-feed audit events")
    sc.check(srv.stop() == 0, "the restarted server stops cleanly")
    try:
        out = cli(url, "audit", "verify").strip()
        sc.check("intact" in out, "the audit hash chain is intact", out)
    except Exception as e:
        sc.check(False, "the audit hash chain is intact", str(e))


# ------------------------------------------------------------------ 8. token endpoint under attack


def _token_attack_process(port, connections, seconds, out):
    """Runs in a child process (its own interpreter lock, so the attack does not
    slow the measuring client's Python): `connections` keep-alive connections post
    client-credentials requests with unknown client ids until `seconds` pass."""
    deadline = time.monotonic() + seconds
    lock = threading.Lock()
    counts = {}

    def one(i):
        c = Client(port, timeout=15)
        rnd = random.Random(i)
        mine = {}
        while time.monotonic() < deadline:
            body = urllib.parse.urlencode({
                "grant_type": "client_credentials",
                "client_id": f"attacker-{rnd.getrandbits(64):016x}",
                "client_secret": f"{rnd.getrandbits(128):032x}",
            })
            try:
                r = c.request("POST", "/api/v1/oauth/token", body=body,
                              headers={"Content-Type": "application/x-www-form-urlencoded"})
                key = r.status
            except Exception as e:
                key = type(e).__name__
                c.close()
                time.sleep(0.05)
            mine[key] = mine.get(key, 0) + 1
        c.close()
        with lock:
            for k, v in mine.items():
                counts[k] = counts.get(k, 0) + v

    threads = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(seconds + 30)
    out.put({str(k): v for k, v in counts.items()})


def token_attack(sc):
    sc.figure("A. default settings: the attack comes from one address")
    token_attack_phase(sc, "a", {})
    sc.figure("B. address budgets lifted, as if the attack came from many addresses (or through a proxy): "
              "only the bounded secret checks protect the server")
    token_attack_phase(sc, "b", {"SINERGI_TOKEN_ATTEMPTS_PER_MINUTE_PER_ADDRESS": "1000000",
                                 "SINERGI_TOKEN_ATTEMPTS_BURST_PER_ADDRESS": "1000000",
                                 "SINERGI_TOKEN_ATTEMPTS_PER_MINUTE": "1000000",
                                 "SINERGI_TOKEN_ATTEMPTS_BURST": "1000000"})


def token_attack_phase(sc, label, env):
    import multiprocessing
    url, _ = sqlite_database(f"token-attack-{label}")
    creds = setup_agencies(url)
    srv = Server(f"token-attack-{label}", url, env={"SINERGI_LOG": "warn", **env}).start()
    tok = tokens(srv.port, creds)
    seed_sponsor(srv.port, tok["mp"])
    reader = Client(srv.port, timeout=15)
    for _ in range(50):  # warm the reader's connection, pools and caches
        reader.request("GET", "/api/v1/employers?limit=10", headers=bearer(tok["mp"]))
    stop = threading.Event()
    samples = []  # (seconds since the attack started, RSS MB)
    t_attack = [None]

    def sample():
        while not stop.is_set():
            v = srv.rss_mb()
            if v is not None:
                samples.append((time.monotonic() - (t_attack[0] or time.monotonic()), v))
            stop.wait(0.5)

    sampler = threading.Thread(target=sample, daemon=True)
    ctx = multiprocessing.get_context("fork")
    out = ctx.Queue()
    # Forked before the sampler thread starts, so the child holds no lock of ours.
    attacker = ctx.Process(target=_token_attack_process,
                           args=(srv.port, TOKEN_ATTACK_CONNECTIONS, TOKEN_ATTACK_SECONDS, out), daemon=True)
    sampler.start()
    time.sleep(3)
    rss_before = max(v for _, v in samples)
    t_attack[0] = time.monotonic()
    attacker.start()
    sc.figure(f"{TOKEN_ATTACK_CONNECTIONS} connections post client-credentials requests with unknown client ids "
              f"for {TOKEN_ATTACK_SECONDS} s while one authenticated client reads; RSS before {rss_before:.1f} MB")
    lat, reads, read_errors = [], {}, []
    while time.monotonic() - t_attack[0] < TOKEN_ATTACK_SECONDS:
        try:
            r = reader.request("GET", "/api/v1/employers?limit=10", headers=bearer(tok["mp"]))
            lat.append(r.elapsed)
            reads[r.status] = reads.get(r.status, 0) + 1
        except Exception as e:
            reads["error"] = reads.get("error", 0) + 1
            if len(read_errors) < 3:
                read_errors.append(f"{type(e).__name__}: {e}")
            reader.close()
        time.sleep(0.02)
    attacker.join(60)
    if attacker.is_alive():
        attacker.terminate()
        attacker.join(10)
    try:
        attack = out.get(timeout=5)
    except Exception:
        attack = {}
    ended = time.monotonic() - t_attack[0]
    time.sleep(5)
    stop.set()
    sampler.join(5)
    total = sum(attack.values())
    sc.figure(f"attacker: {total} requests in {ended:.0f} s ({total / max(ended, 1):.0f}/s); statuses {attack}")
    lat.sort()
    pct = lambda p: lat[min(len(lat) - 1, int(len(lat) * p))] if lat else float("inf")
    p99 = pct(0.99)
    sc.figure(f"authenticated reads: {len(lat)}, statuses {reads}; latency p50 {pct(0.5) * 1000:.1f} ms, "
              f"p99 {p99 * 1000:.1f} ms, max {pct(1.0) * 1000:.1f} ms")
    during = [v for t, v in samples if 0 <= t <= ended]
    after = [v for t, v in samples if t > ended]
    peak = max(during, default=rss_before)
    sc.figure(f"RSS MB: before {rss_before:.1f}, peak during the attack {peak:.1f} (growth {peak - rss_before:+.1f}), "
              f"5 s after {after[-1] if after else 0:.1f}; every 2 s: "
              + " ".join(f"{v:.0f}" for t, v in samples[::4]))
    sc.check(reads.get(200, 0) == len(lat) and not read_errors, f"{label.upper()}. every authenticated read is answered 200",
             f"{reads} {read_errors}")
    sc.check(p99 < 0.100, f"{label.upper()}. authenticated p99 latency < 100 ms during the attack", f"{p99 * 1000:.1f} ms")
    sc.check(peak - rss_before < TOKEN_ATTACK_RSS_MB,
             f"{label.upper()}. peak RSS grows by less than {TOKEN_ATTACK_RSS_MB:.0f} MB during the attack",
             f"{peak - rss_before:+.1f} MB")
    sc.check(bool(after) and after[-1] - rss_before < TOKEN_ATTACK_RSS_AFTER_MB,
             f"{label.upper()}. 5 s after the attack RSS is within {TOKEN_ATTACK_RSS_AFTER_MB:.0f} MB of before",
             f"{(after[-1] if after else 0) - rss_before:+.1f} MB")
    unexpected = {k: v for k, v in attack.items() if k not in ("401", "429", "503")}
    sc.check(total > 0 and not unexpected, f"{label.upper()}. the attacker gets only 401, 429 or 503, and no broken connections",
             f"{unexpected}")
    got, secs = wait_until(lambda: token_raw(srv.port, creds["imi"]).status == 200, 30, 1)
    sc.check(bool(got), f"{label.upper()}. a real client gets a token from the attacked address within 30 s after the attack",
             f"after {secs:.1f} s")
    panics = [l for l in srv.log_text().splitlines() if "panick" in l]
    sc.check(not panics, f"{label.upper()}. no panic in the server log", panics[0][:200] if panics else "")
    sc.check(srv.stop() == 0, f"{label.upper()}. the server stops cleanly")


# ------------------------------------------------------------------ main


# ------------------------------------------------------------------ batch jobs through crashes


def pg_value(url, sql):
    db = url.rsplit("/", 1)[1]
    p = _run(["psql", "-h", PG_HOST, "-p", str(PG_PORT), "-U", "postgres", "-d", db, "-Atc", sql], timeout=30)
    if p.returncode != 0:
        raise RuntimeError(f"psql: {p.stderr.strip()}")
    return p.stdout.strip()


def idempotency_takeover(sc):
    """An instance dies while it holds a keyed batch: the same batch sent to
    another instance goes through within seconds, once."""
    url = pg_database("takeover")
    creds = setup_agencies(url)
    a = Server("takeover-a", url).start()
    b = Server("takeover-b", url).start()
    toks_a, toks_b = tokens(a.port, creds), tokens(b.port, creds)
    seed_sponsor(a.port, toks_a["mp"])
    killed_in_flight = False
    key = ops = None
    for attempt in range(3):
        key = f"nightly-itas-{attempt}-{os.getpid()}"
        ops = [permit_op(f"2C9{attempt}{i:05d}", f"T{attempt}{i:07d}") for i in range(1000)]
        out = {}

        def send():
            try:
                out["resp"] = batch(a.port, toks_a["imi"], ops, timeout=60, extra={"Idempotency-Key": key})
            except Exception as e:  # the connection dies with the server
                out["error"] = str(e)
        t = threading.Thread(target=send)
        t.start()
        held, _ = wait_until(lambda: pg_value(url, f"SELECT state FROM idempotency_keys WHERE idem_key = '{key}'")
                             == "in_flight", 20, interval=0.01)
        a.kill()
        t.join(30)
        state = pg_value(url, f"SELECT state FROM idempotency_keys WHERE idem_key = '{key}'")
        if held and state == "in_flight":
            killed_in_flight = True
            break
        a.start()
        toks_a = tokens(a.port, creds)
    sc.check(killed_in_flight, "the holder was killed while the batch's key was in flight")
    started = time.monotonic()
    final, tries = None, 0
    while time.monotonic() - started < 30:
        tries += 1
        r = batch(b.port, toks_b["imi"], ops, timeout=60, extra={"Idempotency-Key": key})
        if r.status != 409:
            final = r
            break
        time.sleep(min(float(r.headers.get("retry-after", "1")), 2.0))
    took = time.monotonic() - started
    sc.figure(f"the retry on the other instance was answered {final.status if final else 'never'} "
              f"after {took:.1f} s and {tries} attempt(s)")
    sc.check(final is not None and batch_ok(final, len(ops)), "the same batch succeeds on another instance",
             final.text()[:200] if final else "still 409")
    sc.check(took <= 10, "within 10 s of the crash", f"{took:.1f} s")
    stored = pg_value(url, "SELECT count(*), coalesce(max(version), 0) FROM records "
                           f"WHERE record_type = 'residence_permit' AND record_key LIKE '2C9%'")
    count, top = (int(x) for x in stored.split("|"))
    sc.check(count == len(ops) and top == 1, "every permit stored once, at version 1",
             f"{count} stored, highest version {top}")
    again = batch(b.port, toks_b["imi"], ops, timeout=60, extra={"Idempotency-Key": key})
    sc.check(again.status == 200 and again.headers.get("idempotent-replayed") is not None,
             "a third send is replayed, not applied", f"{again.status}")


def letters(i):
    """A name part from a number (names hold letters only)."""
    out = ""
    while True:
        out = chr(ord("A") + i % 26) + out
        i //= 26
        if i == 0:
            return out


def itas_csv(path, rows):
    header = ("No ITAS;No Paspor;Kewarganegaraan;Nama Lengkap;Jenis Kelamin;Tgl Lahir;Paspor Berlaku Sampai;"
              "Jenis Izin;Indeks Visa;NIB Penjamin;Tgl Terbit;Berlaku Dari;Berlaku Sampai;Kode Wilayah;Status")
    with open(path, "w", newline="") as f:
        f.write(header + "\r\n")
        for i in range(rows):
            f.write(f"2C7{i:07d};P{i:08d};Tiongkok;ZHANG WEI {letters(i)};L;12/04/1985;30/06/2031;ITAS;E23;{SPONSOR_NIB};"
                    f"05/01/2026;05/01/2026;04/01/2027;64.02.06;Aktif\r\n")


def push_cmd(port, cred, path):
    mapping = os.path.join(ROOT, "docs", "examples", "residence-permits-imigrasi.json")
    return ([BIN, "sync", "push", path, "--to", f"http://127.0.0.1:{port}", "--mapping", mapping,
             "--batch-size", "250"],
            clean_env({"SINERGI_CLIENT_ID": cred["client_id"], "SINERGI_CLIENT_SECRET": cred["client_secret"]}))


def stored_permits(url):
    count, top = pg_value(url, "SELECT count(*), coalesce(max(version), 0) FROM records "
                               "WHERE record_type = 'residence_permit' AND record_key LIKE '2C7%'").split("|")
    return int(count), int(top)


def sync_push_killed(sc, kill_server):
    """`sinergi sync push` stopped half-way (with its server, or alone) and run
    again: every row stored once, nothing applied twice."""
    url = pg_database("push-server" if kill_server else "push-client")
    creds = setup_agencies(url)
    srv = Server("push", url).start()
    seed_sponsor(srv.port, tokens(srv.port, creds)["mp"])
    rows = 12_000
    path = os.path.join(TMP, f"itas-{'server' if kill_server else 'client'}.csv")
    itas_csv(path, rows)
    cmd, env = push_cmd(srv.port, creds["imi"], path)
    log_path = os.path.join(TMP, "push-1.log")
    with open(log_path, "w") as out:
        client = subprocess.Popen(cmd, env=env, stdout=out, stderr=out, stdin=subprocess.DEVNULL, cwd=TMP)
    half, secs = wait_until(lambda: stored_permits(url)[0] >= rows // 2, 120, interval=0.1)
    sc.check(bool(half), "the first run stored half of the file", f"after {secs:.1f} s")
    at_kill = stored_permits(url)[0]
    if kill_server:
        srv.kill()
    client.kill()
    client.wait(10)
    sc.figure(f"killed {'the server and ' if kill_server else ''}the client with {at_kill} of {rows} rows stored")
    if kill_server:
        srv.start()
    cmd, env = push_cmd(srv.port, creds["imi"], path)
    started = time.monotonic()
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300, cwd=TMP)
    sc.figure(f"the rerun took {time.monotonic() - started:.1f} s: "
              + " | ".join(line for line in p.stdout.splitlines() if line.strip())[:400])
    sc.check(p.returncode == 0, "the rerun completes", f"exit {p.returncode}: {p.stderr.strip()[-300:]}")
    sc.check("had already been sent by an earlier run" in p.stdout,
             "batches the first run stored are replayed, not applied again", p.stdout.strip()[-300:])
    count, top = stored_permits(url)
    sc.check(count == rows and top == 1, "every row stored once, at version 1 (no duplicate versions)",
             f"{count} stored, highest version {top}")
    feed_versions = pg_value(url, "SELECT count(*) FROM changes WHERE record_type = 'residence_permit' "
                                  "AND record_key LIKE '2C7%'")
    sc.check(int(feed_versions) == rows, "the change feed holds each row once", f"{feed_versions} changes")


def on_alarm(signum, frame):
    raise Budget()


def on_term(signum, frame):
    raise KeyboardInterrupt()


def main():
    signal.signal(signal.SIGALRM, on_alarm)
    signal.signal(signal.SIGTERM, on_term)
    signal.alarm(BUDGET_SECONDS)
    log(f"Sinergi fault tests: mixed load {MIXED_SECONDS} s, budget {BUDGET_SECONDS} s, "
        f"PostgreSQL {PG_HOST}:{PG_PORT}{' (private cluster ' + PG_DATADIR + ')' if PG_DATADIR else ''}, work dir {TMP}")
    interrupted = False
    try:
        if os.geteuid() != 0:
            log("note: not root; the full-disk scenario falls back to RLIMIT_FSIZE and PostgreSQL control may fail")
        ensure_binary()
        if not pg_ready():
            log("PostgreSQL is not accepting connections: starting it")
            pg_ctl("start")
            wait_until(pg_ready, 60)
        run_scenario("sigkill-mid-batch-sqlite", lambda sc: sigkill_during_batches(sc, "sqlite"))
        run_scenario("sigkill-mid-batch-postgres", lambda sc: sigkill_during_batches(sc, "postgres"))
        run_scenario("sqlite-two-processes", sqlite_two_processes)
        run_scenario("sqlite-full-disk", full_disk)
        run_scenario("slow-and-idle-clients", slow_clients)
        run_scenario("token-attack", token_attack)
        run_scenario("graceful-shutdown-sqlite", lambda sc: graceful_shutdown(sc, "sqlite"))
        run_scenario("graceful-shutdown-postgres", lambda sc: graceful_shutdown(sc, "postgres"))
        run_scenario("idempotency-takeover-postgres", idempotency_takeover)
        run_scenario("sync-push-server-killed-postgres", lambda sc: sync_push_killed(sc, True))
        run_scenario("sync-push-client-killed-postgres", lambda sc: sync_push_killed(sc, False))
        run_scenario("postgres-outage", postgres_outage)
        run_scenario("mixed-load", mixed_load)
    except (Budget, KeyboardInterrupt) as e:
        interrupted = True
        log(f"\nstopped early: {'time budget exhausted' if isinstance(e, Budget) else 'interrupted'}")
    except Exception:
        interrupted = True
        log("\nharness error:\n" + traceback.format_exc())
    finally:
        signal.alarm(0)
        # PostgreSQL must be running again whatever happened.
        try:
            if not pg_ready():
                log("restarting PostgreSQL")
                pg_ctl("start")
                wait_until(pg_ready, 60)
        except Exception as e:
            log(f"ERROR: could not restart PostgreSQL: {e}")
            interrupted = True
        for fn in reversed(CLEANUPS):
            try:
                fn()
            except Exception as e:
                log(f"cleanup: {e}")
        if os.environ.get("FAULTS_KEEP"):
            log(f"kept {TMP} (server logs: *.log)")
        else:
            shutil.rmtree(TMP, ignore_errors=True)
    passed = sum(1 for _, ok in RESULTS if ok)
    failed = sum(1 for _, ok in RESULTS if not ok) + (1 if interrupted and not BUDGET_RECORDED else 0)
    log(f"\ntotal {time.monotonic() - T0:.0f} s")
    for name, ok in RESULTS:
        log(f"  {'PASS' if ok else 'FAIL'} {name}")
    log(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
