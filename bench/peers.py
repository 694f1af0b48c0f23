#!/usr/bin/env python3
"""Off-the-shelf peers on Sinergi's own data (`bench/run --peers`).

PostGraphile serves the PostgreSQL benchmark database as GraphQL; Datasette
serves the SQLite benchmark file as JSON and inserts the same residence
permits Sinergi ingests into a scratch copy of the records table. Both are
installed from their package registries (npm, PyPI) into bench/.peers, which
is not committed; the versions are pinned here.

This module installs them, starts and stops them (by process id, on a free
127.0.0.1 port) and holds the exact queries; bench/bench.py measures them in
interleaved rounds with Sinergi. Python standard library only.

    python3 bench/peers.py install     # what bench/run --peers does first
    python3 bench/peers.py versions
"""

import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
PEERS_DIR = Path(os.environ.get("BENCH_PEERS_DIR", BENCH / ".peers"))
POSTGRAPHILE_VERSION = "4.14.1"  # npm postgraphile@^4.14
DATASETTE_VERSION = "1.0a41"  # PyPI datasette, newest 1.0 alpha (JSON write API)
NODE_MODULES = PEERS_DIR / "node_modules"
POSTGRAPHILE_CLI = NODE_MODULES / "postgraphile" / "cli.js"
VENV = PEERS_DIR / "venv"
DATASETTE = VENV / "bin" / "datasette"

# The schema the benchmark adds to the PostgreSQL benchmark database for
# PostGraphile (dropped when PostGraphile stops): Sinergi's worker view also
# lists the findings about the worker that are not resolved, and `findings`
# has no foreign key to `workers` (a finding names its subject by kind and
# id; a possible-same-person finding names the second worker in its
# discriminator). A view with a smart-comment foreign key gives PostGraphile
# the same relation Sinergi reads (`findings::of_worker`).
PG_PEER_SCHEMA = "bench_peers"
PG_PEER_DDL = """
DROP SCHEMA IF EXISTS bench_peers CASCADE;
CREATE SCHEMA bench_peers;
CREATE VIEW bench_peers.worker_findings AS
    SELECT f.subject_id AS for_worker, f.* FROM public.findings f
     WHERE f.subject_kind = 'worker' AND f.status <> 'resolved'
    UNION ALL
    SELECT f.discriminator AS for_worker, f.* FROM public.findings f
     WHERE f.rule = 'POSSIBLE_SAME_PERSON' AND f.status <> 'resolved';
COMMENT ON VIEW bench_peers.worker_findings IS
    E'@foreignKey (for_worker) references public.workers (id)\\n@omit all';
"""

# (a) One row by primary key: the worker row.
GQL_BY_KEY = """query WorkerByKey($id: String!) {
  workerById(id: $id) { id version createdAt updatedAt mergedInto }
}"""

# (b) The nested worker: what Sinergi's GET /api/v1/workers/{id} reads, in one
# GraphQL query: the worker row, its passports (Sinergi's order), the identity
# each agency reported, every record naming the worker (residence permits,
# assignments, presence reports: Sinergi reads them in one query in this order
# and splits them by type) with the stored document, and the findings about the
# worker that are not resolved. The relations come from the foreign keys
# worker_passports / worker_identities / records -> workers, and the view above.
GQL_NESTED = """query WorkerNested($id: String!) {
  workerById(id: $id) {
    id version createdAt updatedAt mergedInto
    passports: workerPassportsByWorkerId(orderBy: [COUNTRY_ASC, NUMBER_ASC]) {
      nodes { number country expiresOn agencyCode }
    }
    identities: workerIdentitiesByWorkerId(orderBy: [AGENCY_CODE_ASC]) {
      nodes { agencyCode clientId passportNo nationality fullName sex birthDate recordType recordKey updatedAt }
    }
    records: recordsByWorkerId(orderBy: [RECORD_TYPE_ASC, CREATED_AT_ASC, RECORD_KEY_ASC]) {
      nodes { recordType recordKey agencyCode clientId sourceRef workerId version createdAt updatedAt doc }
    }
    findings: workerFindingsByForWorker(orderBy: [ID_ASC]) {
      nodes {
        id rule severity subjectKind subjectId responsible status evidence messageEn messageId
        regionCode employerNib workerId statusBy statusNote statusChangedAt firstSeenAt lastSeenAt version
      }
    }
  }
}"""

# Datasette: the worker row by primary key as JSON.
DATASETTE_ROW_PATH = "/{db}/workers/@ID@.json"


class PeerError(Exception):
    pass


def _run(cmd, timeout, env=None, cwd=None):
    full_env = dict(os.environ)
    full_env.update(env or {})
    try:
        p = subprocess.run([str(c) for c in cmd], env=full_env, cwd=cwd, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        raise PeerError(f"timed out after {timeout}s: {' '.join(map(str, cmd))[:200]}") from e
    except FileNotFoundError as e:
        raise PeerError(f"not found: {cmd[0]}") from e
    if p.returncode != 0:
        raise PeerError(f"failed ({p.returncode}): {' '.join(map(str, cmd))[:200]}\n{(p.stderr or p.stdout)[-2000:]}")
    return p.stdout


def _log(msg):
    print(f"[peers] {msg}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------ installation

def installed_versions():
    """The versions found in bench/.peers (missing ones left out)."""
    v = {}
    try:
        v["postgraphile"] = json.loads((NODE_MODULES / "postgraphile" / "package.json").read_text())["version"]
    except (OSError, ValueError, KeyError):
        pass
    if DATASETTE.exists():
        try:
            m = re.search(r"version (\S+)", _run([DATASETTE, "--version"], timeout=60))
            if m:
                v["datasette"] = m.group(1)
        except PeerError:
            pass
    return v


def install(log=_log):
    """Installs the pinned peers into bench/.peers if they are missing; returns
    the versions (peers and their runtimes)."""
    have = installed_versions()
    if have.get("postgraphile") != POSTGRAPHILE_VERSION:
        for tool in ("node", "npm"):
            if not shutil.which(tool):
                raise PeerError(f"{tool} is missing (Node 20 and npm): bench/run --peers installs Debian's")
        PEERS_DIR.mkdir(parents=True, exist_ok=True)
        pkg = PEERS_DIR / "package.json"
        if not pkg.exists():
            pkg.write_text(json.dumps({"private": True, "description": "Sinergi benchmark peers"}) + "\n")
        log(f"installing postgraphile@{POSTGRAPHILE_VERSION} from npm into {NODE_MODULES}")
        _run(["npm", "install", "--prefix", PEERS_DIR, "--no-audit", "--no-fund", "--loglevel=error",
              f"postgraphile@{POSTGRAPHILE_VERSION}"], timeout=900)
    if have.get("datasette") != DATASETTE_VERSION:
        if not (VENV / "bin" / "python").exists():
            log(f"creating {VENV}")
            _run([sys.executable, "-m", "venv", VENV], timeout=300)
        log(f"installing datasette=={DATASETTE_VERSION} from PyPI into {VENV}")
        _run([VENV / "bin" / "python", "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
              "--pre", f"datasette=={DATASETTE_VERSION}"], timeout=900)
    have = installed_versions()
    if have.get("postgraphile") != POSTGRAPHILE_VERSION or have.get("datasette") != DATASETTE_VERSION:
        raise PeerError(f"installed {have}, wanted postgraphile {POSTGRAPHILE_VERSION} and "
                        f"datasette {DATASETTE_VERSION}")
    return versions(have)


def versions(have=None):
    have = dict(have or installed_versions())
    try:
        have["node"] = _run(["node", "--version"], timeout=30).strip()
    except PeerError:
        pass
    try:
        have["datasette_python"] = _run([VENV / "bin" / "python", "-c",
                                         "import sys, sqlite3; print(sys.version.split()[0], sqlite3.sqlite_version)"],
                                        timeout=30).strip().replace(" ", ", SQLite ")
    except PeerError:
        pass
    return have


# ------------------------------------------------------------------ processes

def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Peer:
    """A peer server started by the benchmark and stopped by its process id."""
    name = "peer"

    def __init__(self, tmp):
        self.port = free_port()
        self.proc = None
        self.log_path = Path(tmp) / f"peer-{self.name}.log"

    def command(self):
        raise NotImplementedError

    def env(self):
        return {}

    # Where the peer's standard output goes (None: the log file).
    stdout = None

    def ready(self):
        raise NotImplementedError

    def start(self, timeout=120):
        logf = open(self.log_path, "ab")
        env = dict(os.environ)
        env.update(self.env())
        self.proc = subprocess.Popen([str(c) for c in self.command()], env=env,
                                     stdout=logf if self.stdout is None else self.stdout, stderr=logf,
                                     stdin=subprocess.DEVNULL, start_new_session=True, cwd=str(PEERS_DIR))
        logf.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise PeerError(f"{self.name} exited ({self.proc.returncode}):\n{self.log_tail()}")
            try:
                if self.ready():
                    return
            except (OSError, http.client.HTTPException, ValueError):
                pass
            time.sleep(0.3)
        self.stop()
        raise PeerError(f"{self.name} did not answer within {timeout} s:\n{self.log_tail()}")

    def log_tail(self, n=2000):
        return self.log_path.read_text(errors="replace")[-n:] if self.log_path.exists() else ""

    def request(self, method, path, body=None, headers=None, timeout=60):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            c.request(method, path, body=body, headers=headers or {})
            r = c.getresponse()
            return r.status, r.read()
        finally:
            c.close()

    def rss_mib(self):
        try:
            with open(f"/proc/{self.proc.pid}/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        return int(line.split()[1]) / 1024.0
        except (OSError, AttributeError):
            pass
        return None

    def stop(self):
        if not self.proc or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)  # our own child, by pid
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)


class PostGraphile(Peer):
    """PostGraphile's CLI on the benchmark database: no GraphiQL, no watch
    mode, no query log, NODE_ENV=production, default pool (10 connections)."""
    name = "postgraphile"
    application_name = "bench-postgraphile"

    def __init__(self, tmp, host, port, user, db, sslmode):
        super().__init__(tmp)
        # node-postgres reads sslmode from the URL: "no-verify" is TLS without
        # checking the certificate (what libpq's default "prefer" does).
        self.url = (f"postgres://{user}@{host}:{port}/{db}?sslmode={sslmode}"
                    f"&application_name={self.application_name}")
        self.args = ["node", POSTGRAPHILE_CLI, "-c", self.url, "-s", f"public,{PG_PEER_SCHEMA}",
                     "-n", "127.0.0.1", "-p", str(self.port), "--disable-graphiql", "--disable-query-log"]

    def command(self):
        return self.args

    def env(self):
        return {"NODE_ENV": "production"}

    def ready(self):
        status, _ = self.graphql("{ __typename }")
        return status == 200

    def graphql(self, query, variables=None):
        body = json.dumps({"query": query, "variables": variables or {}}).encode()
        status, data = self.request("POST", "/graphql", body, {"Content-Type": "application/json"})
        return status, json.loads(data) if data else None


class Datasette(Peer):
    """`datasette serve` on the given files (mutable: read through mode=ro
    connections, written through its one write connection), with the root
    actor enabled for a signed API token."""
    name = "datasette"
    # Its uvicorn writes an access-log line per request to standard output
    # (`datasette serve` has no option to turn that off); errors go to stderr.
    stdout = subprocess.DEVNULL

    def __init__(self, tmp, files, settings):
        super().__init__(tmp)
        self.secret = os.urandom(16).hex()
        self.settings = dict(settings)
        self.args = [DATASETTE, "serve", *files, "-h", "127.0.0.1", "-p", str(self.port), "--root",
                     "--secret", self.secret]
        for k, v in self.settings.items():
            self.args += ["--setting", k, str(v)]

    def command(self):
        return self.args

    def ready(self):
        status, _ = self.request("GET", "/-/versions.json", timeout=5)
        return status == 200

    def token(self):
        """A signed API token for the root actor (`datasette create-token`)."""
        return _run([DATASETTE, "create-token", "root", "--secret", self.secret], timeout=60).strip()

    def versions(self):
        """What /-/versions.json says about the running server."""
        status, data = self.request("GET", "/-/versions.json")
        if status != 200:
            return {}
        v = json.loads(data)
        return {"datasette": v.get("datasette", {}).get("version"), "python": v.get("python", {}).get("version"),
                "uvicorn": v.get("uvicorn"), "sqlite": v.get("sqlite", {}).get("version")}


def wrk_env(ids_file, path, body_file=None):
    """Environment for bench/wrk_peer.lua."""
    env = {"BENCH_IDS": str(ids_file), "BENCH_PATH": path}
    if body_file:
        env["BENCH_BODY"] = str(body_file)
    return env


def graphql_body(query):
    """A GraphQL request body with the worker id left as @ID@ for wrk_peer.lua."""
    return json.dumps({"query": query, "variables": {"id": "@ID@"}}, separators=(",", ":"))


def main():
    what = sys.argv[1] if len(sys.argv) > 1 else "versions"
    try:
        if what == "install":
            v = install()
        elif what == "versions":
            v = versions()
        else:
            sys.exit("usage: peers.py install|versions")
    except PeerError as e:
        sys.exit(f"peers: {e}")
    print(json.dumps(v, indent=2))


if __name__ == "__main__":
    main()
