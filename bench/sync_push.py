#!/usr/bin/env python3
"""`sinergi sync push` on a large file: the client's peak memory and its rate,
next to the server's own batch ingest rate on the same machine.

    python3 bench/sync_push.py                       # 1,000,000 rows, SQLite
    python3 bench/sync_push.py --rows 100000 --backend postgres

It generates an immigration ITAS spreadsheet export as CSV (Indonesian
headers, `;`, CRLF line ends, dd/mm/yyyy dates, the mapping in
docs/examples/residence-permits-imigrasi.json), starts `target/release/sinergi
serve` on a fresh database, pushes the file with `sinergi sync push` and
records the client's peak RSS (from wait4) and rows/s. Then it measures the
server alone: the same kind of rows, prebuilt in memory, posted through
`POST /api/v1/batch` in batches of the same size, one request at a time.
Standard library only; all traffic stays on 127.0.0.1. Writes
bench/results/sync_push.json.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402  (the suite's server, database and HTTP helpers)

HEADER = ("No ITAS;No Paspor;Kewarganegaraan;Nama Lengkap;Jenis Kelamin;Tgl Lahir;"
          "Paspor Berlaku Sampai;Jenis Izin;Indeks Visa;NIB Penjamin;Tgl Terbit;Berlaku Dari;"
          "Berlaku Sampai;Kode Wilayah;Status")
NATIONS = ["Tiongkok", "India", "Korea Selatan", "Jepang", "Filipina", "Malaysia"]
NAMES = ["ZHANG WEI", "LI NA", "WANG FANG", "RAJESH KUMAR", "KIM MIN-JUN", "SATO HIROSHI"]
MAPPING = bench.ROOT / "docs" / "examples" / "residence-permits-imigrasi.json"


def letters(i):
    """A name part from a number (names hold letters only)."""
    out = ""
    while True:
        out = chr(ord("A") + i % 26) + out
        i //= 26
        if i == 0:
            return out


def row(i):
    return (f"2C{i:08d};X{i:08d};{NATIONS[i % 6]};{NAMES[i % 6]} {letters(i)};{'LP'[i % 2]};"
            f"{1 + i % 28:02d}/{1 + i % 12:02d}/{1970 + i % 30};30/06/2031;ITAS;E23;9120001234567;"
            f"05/01/2026;05/01/2026;04/01/2027;64.02.{1 + i % 18:02d};Aktif")


def op(i):
    """The same row as the mapping turns it into a batch operation."""
    return (f"2D{i:08d}", {
        "worker": {"passport_no": f"Y{i:08d}", "nationality": "CHN", "full_name": f"LI NA {letters(i)}",
                   "sex": "F", "birth_date": f"{1970 + i % 30}-{1 + i % 12:02d}-{1 + i % 28:02d}",
                   "passport_expires_on": "2031-06-30"},
        "kind": "ITAS", "visa_index": "E23", "sponsor_nib": "9120001234567",
        "issued_on": "2026-01-05", "valid_from": "2026-01-05", "valid_until": "2027-01-04",
        "issuing_office": "Kantor Imigrasi Kelas I TPI Samarinda",
        "address_region_code": f"64.02.{1 + i % 18:02d}", "status": "active"})


def generate(path, rows):
    with open(path, "w", newline="") as f:
        f.write(HEADER + "\r\n")
        for i in range(rows):
            f.write(row(i) + "\r\n")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    p.add_argument("--batch-size", type=int, default=1000)
    p.add_argument("--server-rows", type=int, default=50_000,
                   help="rows posted directly for the server's own ingest rate")
    p.add_argument("--no-build", action="store_true")
    args = p.parse_args()
    if not args.no_build:
        subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=bench.ROOT, check=True)
    tmp = Path(tempfile.mkdtemp(prefix="sinergi-push-bench-"))
    backend = bench.Postgres(tmp) if args.backend == "postgres" else bench.Sqlite(tmp)
    server = None
    try:
        backend.check()
        backend.create()
        csv_path = tmp / "itas.csv"
        t = time.perf_counter()
        generate(csv_path, args.rows)
        bench.log(f"generated {args.rows:,} rows ({csv_path.stat().st_size / 2**20:,.0f} MiB) "
                  f"in {time.perf_counter() - t:.0f} s")
        server = bench.Server(backend, tmp)
        server.cli("migrate")
        server.cli("agency", "create", "--code", "IMI-SMD", "--name", "Imigrasi Samarinda",
                   "--kind", "immigration")
        out = server.cli("client", "create", "--agency", "IMI-SMD", "--scopes",
                         "records:read records:write", "--purposes", "supervision",
                         "--name", "bench", "--json")
        client = json.loads(out.strip().splitlines()[-1])
        server.start()

        env = dict(os.environ, SINERGI_CLIENT_ID=client["client_id"],
                   SINERGI_CLIENT_SECRET=client["client_secret"])
        cmd = [str(bench.BIN), "sync", "push", str(csv_path), "--to", f"http://127.0.0.1:{server.port}",
               "--mapping", str(MAPPING), "--batch-size", str(args.batch_size)]
        bench.log(f"sync push of {args.rows:,} rows to {args.backend} ...")
        t = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        stdout = proc.stdout.read().decode()
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        secs = time.perf_counter() - t
        if proc.returncode != 0:
            raise bench.BenchError(f"sync push exited {proc.returncode}:\n{stdout}")
        peak_mib = usage.ru_maxrss / 1024.0
        summary = re.search(r"created (\d+), updated (\d+), unchanged (\d+), failed (\d+)", stdout)
        client_rate = args.rows / secs
        bench.log(f"  client: {secs:,.1f} s, {client_rate:,.0f} rows/s, peak RSS {peak_mib:,.1f} MiB; "
                  f"{summary.group(0) if summary else stdout.strip()}")

        tok = bench.token(server.port, client["client_id"], client["client_secret"])
        api = bench.Api(server.port, tok)
        ops = [op(i) for i in range(args.server_rows)]
        rows, server_secs, totals = bench.post_batches(api, "residence_permit", ops, args.batch_size,
                                                       "server ingest")
        api.close()
        server_rate = rows / server_secs
        bench.log(f"  server alone: {rows:,} rows in {server_secs:,.1f} s, {server_rate:,.0f} rows/s "
                  f"({totals['created']:,} created)")
        result = {
            "backend": args.backend, "rows": args.rows, "batch_size": args.batch_size,
            "file_mib": round(csv_path.stat().st_size / 2**20, 1),
            "client": {"seconds": round(secs, 1), "rows_per_s": round(client_rate),
                       "peak_rss_mib": round(peak_mib, 1),
                       "summary": summary.group(0) if summary else None},
            "server_batch_ingest": {"rows": rows, "seconds": round(server_secs, 1),
                                    "rows_per_s": round(server_rate)},
            "client_over_server": round(client_rate / server_rate, 2),
            "server_peak_rss_mib": round(server.status().get("VmHWM", 0), 1),
        }
        out_dir = bench.ROOT / "bench" / "results"
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "sync_push.json").write_text(json.dumps(result, indent=2) + "\n")
        print(json.dumps(result, indent=2))
    finally:
        if server:
            server.stop()
        backend.drop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    try:
        main()
    except bench.BenchError as e:
        print(f"sync push benchmark failed: {e}", file=sys.stderr)
        sys.exit(1)
