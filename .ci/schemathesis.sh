#!/usr/bin/env bash
# Property-based API testing: schemathesis against the live server's own
# OpenAPI document, authenticated, every operation. Fails on any server error,
# any response that violates the documented schema or content type.
set -euo pipefail
cd "$(dirname "$0")/.."

bin="${SINERGI_BIN:-target/debug/sinergi}"
venv="${SCHEMATHESIS_VENV:-target/schemathesis-venv}"
budget="${SCHEMATHESIS_SECONDS:-90}"

if [ ! -x "$venv/bin/schemathesis" ]; then
    echo "installing schemathesis into $venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==4.32.5"
fi

# Generated traffic is far above a real client's; the limiter has its own tests.
export SINERGI_RATE_LIMIT_PER_MINUTE=10000000 SINERGI_RATE_LIMIT_BURST=1000000
source .ci/demo-server.sh
start_demo_server
token_cmd="$(grep -o 'TOKEN=$(curl.*' "$work/server.out" | sed 's/^TOKEN=\$(//; s/)$//')"
[ -n "$token_cmd" ] || { echo "demo server did not start"; cat "$work/server.err"; exit 1; }
token="$(bash -c "$token_cmd")"
[ -n "$token" ] || { echo "no token from the demo server"; exit 1; }

# One worker: with two, the generator's threads parse Python sources at the
# same time, which CPython 3.11's ast module does not survive ("AST
# constructor recursion depth mismatch"), failing the run with no API fault.
"$venv/bin/schemathesis" run "http://127.0.0.1:$port/api-docs/openapi.json" \
    -H "Authorization: Bearer $token" -H "X-Purpose: supervision" \
    --checks not_a_server_error,response_schema_conformance,content_type_conformance \
    --max-time "$budget" --workers 1 --warnings off --seed 20261130
