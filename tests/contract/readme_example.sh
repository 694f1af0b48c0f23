#!/usr/bin/env bash
# Runs the "A short example" block of the README exactly as printed, with
# only what the reader fills in: the immigration client's id and secret from
# the demo server, and the server's address when it is not 127.0.0.1:8080.
# Fails unless step 2 names a worker and step 3 shows that worker.
set -euo pipefail
readme="$1"
block="$(awk '/^## A short example/{s=1} s && /^```sh$/{c=1; next} c && /^```$/{exit} c{print}' "$readme")"
[ -n "$block" ] || { echo "FAILED: no sh block under '## A short example' in $readme" >&2; exit 1; }
grep -q 'CLIENT_ID=\.\.\.; CLIENT_SECRET=\.\.\.' <<<"$block" \
    || { echo "FAILED: the example no longer starts with CLIENT_ID=...; CLIENT_SECRET=..." >&2; exit 1; }
script="$(sed -e "s|^CLIENT_ID=\.\.\.; CLIENT_SECRET=\.\.\..*|CLIENT_ID='$IMMIGRATION_ID'; CLIENT_SECRET='$IMMIGRATION_SECRET'|" \
              -e "s|http://127.0.0.1:8080|$SINERGI_URL|g" <<<"$block")"
out="$(bash -euo pipefail -c "$script
printf '\nWORKER_ID=%s\n' \"\$WORKER_ID\"")"
worker_id="$(sed -n 's/^WORKER_ID=//p' <<<"$out" | tail -n 1)"
[[ "$worker_id" =~ ^[0-9a-f-]{36}$ ]] || { echo "$out"; echo "FAILED: step 2 did not print a worker id" >&2; exit 1; }
view="$(sed '$d' <<<"$out")"
jq -e --arg id "$worker_id" '.id == $id and (.residence_permits | length) >= 1' >/dev/null <<<"$view" \
    || { echo "$out"; echo "FAILED: step 3 did not show the worker with its permit" >&2; exit 1; }
echo "README example: step 2 stored the permit of worker $worker_id, step 3 read the joined view"
