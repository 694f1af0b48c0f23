# Sourced by the CI scripts that test a live `serve --demo`: starts it on a
# free loopback port with a fresh SQLite database, waits until it prints its
# clients, and stops it (and removes its files) when the script exits.
# Needs $bin; sets $work (its directory, with server.out) and $port.
start_demo_server() {
    work="$(mktemp -d)"
    port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')"
    SINERGI_DATABASE_URL="sqlite://$work/s.db" "$bin" serve --demo --bind "127.0.0.1:$port" \
        >"$work/server.out" 2>"$work/server.err" &
    server=$!
    trap 'kill $server 2>/dev/null || true; wait $server 2>/dev/null || true; rm -rf "$work"' EXIT
    for _ in $(seq 1 120); do
        grep -q "swagger-ui/" "$work/server.out" 2>/dev/null && return 0
        sleep 0.5
    done
    echo "the demo server did not start:" >&2
    cat "$work/server.err" >&2
    exit 1
}
