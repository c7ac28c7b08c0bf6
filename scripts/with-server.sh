#!/usr/bin/env bash
# Runs a command against a fresh local server, for `make demo` and `make load`.
#
#   scripts/with-server.sh CMD [ARGS...]
#
# Builds cmd/cadred, starts it on a free loopback port (SERVER_PORT to choose one) with a fresh
# temporary data dir and the configuration in CADRE_CONFIG (default config/demo.json), waits for
# GET /v1/health, then runs CMD with every "{url}" in ARGS replaced by the server's URL. The server
# is always stopped and the data dir removed afterwards; on failure the end of the server's log is
# shown. SERVER_RSS=1 prints the server's peak RSS. CADRED_BIN runs that cadred binary instead of
# building one (A/B measurements against an older build), with the extra flags in CADRED_ARGS.
# Exits with CMD's status.
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}

tmp=$(mktemp -d)
srv=
cleanup() {
	if [[ -n $srv ]]; then
		kill "$srv" 2>/dev/null || true
		wait "$srv" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

if [[ -n ${CADRED_BIN:-} ]]; then
	cp "$CADRED_BIN" "$tmp/cadred"
else
	"$GO" build -o "$tmp/cadred" ./cmd/cadred
fi
port=${SERVER_PORT:-}
while [[ -z $port ]]; do
	p=$((20000 + RANDOM % 40000))
	if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then port=$p; fi
done
url=http://127.0.0.1:$port
# shellcheck disable=SC2086 # CADRED_ARGS is a list of flags
CADRE_DATA_DIR="$tmp/data" "$tmp/cadred" -addr "127.0.0.1:$port" -store embedded ${CADRED_ARGS:-} 2>"$tmp/cadred.log" &
srv=$!

healthy=
for _ in $(seq 1 150); do
	if curl -fsS -o /dev/null "$url/v1/health" 2>/dev/null; then healthy=1; break; fi
	if ! kill -0 "$srv" 2>/dev/null; then
		echo "cadred did not start:" >&2
		cat "$tmp/cadred.log" >&2
		exit 1
	fi
	sleep 0.1
done
if [[ -z $healthy ]]; then
	echo "cadred not healthy at $url after 15s:" >&2
	tail -20 "$tmp/cadred.log" >&2
	exit 1
fi
echo "cadred on $url (data dir $tmp/data, removed afterwards)"

args=()
for a in "$@"; do args+=("${a//\{url\}/$url}"); done
rc=0
"${args[@]}" || rc=$?
if [[ ${SERVER_RSS:-} == 1 ]]; then
	echo "cadred peak RSS: $(awk '/VmHWM/ {print $2, $3}' "/proc/$srv/status" 2>/dev/null || echo unknown)"
fi
if ((rc != 0)); then
	echo "--- cadred log (last 30 lines):" >&2
	tail -30 "$tmp/cadred.log" >&2
fi
exit "$rc"
