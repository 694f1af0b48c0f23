#!/usr/bin/env bash
# The contract as integrators meet it, checked end to end against a live
# `serve --demo`:
#   1. Redocly and Spectral lint the committed document: no error, no warning
#      except those listed with a reason in .redocly.lint-ignore.yaml;
#   2. a Python client (openapi-python-client) and a TypeScript client
#      (openapi-typescript + openapi-fetch, checked by tsc) are generated and
#      each runs a multi-agency scenario using only the generated code;
#   3. Swagger UI in headless Chromium authorizes by client credentials and
#      runs "Try it out" on a personal-data read;
#   4. the README's short example runs as written.
# Tools come from the npm registry (package-lock.json) and PyPI, pinned.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$here"

bin="${SINERGI_BIN:-$root/target/debug/sinergi}"
venv="${CONTRACT_VENV:-$root/target/contract-venv}"
build="$here/build"
doc="$root/openapi/openapi.json"

say() { printf '\n--> %s\n' "$*"; }

say "installing the linters, generators and browser driver (npm ci)"
npm ci --no-audit --no-fund --loglevel=error >/dev/null
if [ ! -x "$venv/bin/openapi-python-client" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "openapi-python-client==0.29.1"
fi

say "Redocly lint (recommended rules)"
npx redocly lint "$doc" --format=stylish 2>&1 | grep -v '[║╔╚]' || true
totals="$(npx redocly lint "$doc" --format=json 2>/dev/null | node -e '
let s = ""; process.stdin.on("data", d => s += d).on("end", () => {
  const t = JSON.parse(s).totals; console.log(`${t.errors} ${t.warnings} ${t.ignored}`);
});')"
read -r errors warnings ignored <<<"$totals"
echo "redocly: $errors errors, $warnings warnings, $ignored accepted with a reason"
[ "$errors" = 0 ] && [ "$warnings" = 0 ] || { echo "FAILED: Redocly found problems" >&2; exit 1; }

say "Spectral lint (spectral:oas)"
npx spectral lint "$doc" --ruleset .spectral.yaml --fail-severity=warn

say "generating the Python client"
rm -rf "$build" && mkdir -p "$build/python" "$build/ts"
gen_log="$build/python-generator.log"
"$venv/bin/openapi-python-client" generate --path "$doc" --meta none \
    --output-path "$build/python/sinergi_client" --config python/generator.yaml >"$gen_log" 2>&1 \
    || { cat "$gen_log"; exit 1; }
if grep -qi 'warning' "$gen_log"; then
    cat "$gen_log"
    echo "FAILED: openapi-python-client warned about the document" >&2
    exit 1
fi
echo "generated with no warning"

say "generating the TypeScript types and checking the scenario with tsc"
ts_log="$build/ts-generator.log"
npx openapi-typescript "$doc" --redocly ts/redocly.yaml --output "$build/ts/schema.d.ts" >"$ts_log" 2>&1 \
    || { cat "$ts_log"; exit 1; }
if grep -q '⚠' "$ts_log"; then
    cat "$ts_log"
    echo "FAILED: openapi-typescript warned about the document" >&2
    exit 1
fi
echo "generated with no warning"
npx tsc -p ts/tsconfig.json

source "$root/.ci/demo-server.sh"
start_demo_server
creds() { awk -v a="$1" '$1 == a { print $3, $4 }' "$work/server.out"; }
read -r IMMIGRATION_ID IMMIGRATION_SECRET <<<"$(creds IMI-SMD)"
read -r MANPOWER_ID MANPOWER_SECRET <<<"$(creds DISNAKER-KUKAR)"
read -r DISTRICT_ID DISTRICT_SECRET <<<"$(creds KEC-TENGGARONG)"
export SINERGI_URL="http://127.0.0.1:$port" IMMIGRATION_ID IMMIGRATION_SECRET \
    MANPOWER_ID MANPOWER_SECRET DISTRICT_ID DISTRICT_SECRET

say "Python scenario (generated client only)"
PYTHONPATH="$build/python" "$venv/bin/python" python/scenario.py

say "TypeScript scenario (generated types + openapi-fetch only)"
node "$build/ts/out/scenario.js"

say "Swagger UI in headless Chromium: Authorize by client credentials, Try it out"
node swagger-ui.mjs

say "the README's short example, as written"
bash "$here/readme_example.sh" "$root/README.md"

echo
echo "OK: the document lints clean, both generated clients ran the scenario, Swagger UI works, the README example runs"
