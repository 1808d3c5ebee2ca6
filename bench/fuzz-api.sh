#!/usr/bin/env bash
# API fuzzing: schemathesis (from PyPI, in a virtualenv in cargo's target directory) against
# the OpenAPI document of a local server (debug build, port 18090, a fresh `roundtable_fuzz`
# database) with an organiser token, a bounded number of examples per operation. Fails on any
# 5xx answer or any response that does not match the schema; business rules stricter than the
# schema (ST202, answered 422) are reported but allowed.
#
# Usage: bench/fuzz-api.sh   (no arguments)
#
# Environment:
#   EXAMPLES          examples generated per operation (30)
#   DATABASE_URL      the Postgres server to use (default: what scripts/dev-db finds)
#   CARGO_TARGET_DIR  where cargo builds, and where the virtualenv is kept
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
usage() { sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "${BASH_SOURCE[0]}"; }
for arg in "$@"; do
	if [ "$arg" = -h ] || [ "$arg" = --help ]; then
		usage
		exit 0
	fi
done
if [ $# -gt 0 ]; then
	printf 'bench/fuzz-api.sh: takes no arguments, got: %s\n\n' "$*" >&2
	usage >&2
	exit 2
fi
cd "$ROOT"
examples="${EXAMPLES:-30}"
port=18090
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
venv="$(target_dir)/schemathesis-venv"
[ -x "$venv/bin/schemathesis" ] || { python3 -m venv "$venv" && "$venv/bin/pip" install -q schemathesis; }
server="$("$ROOT/scripts/dev-db")"
psql -X -q -d "$server" -c "DROP DATABASE IF EXISTS roundtable_fuzz WITH (FORCE)"
cargo build --locked --bin roundtable >&2
roundtable="$(binary debug roundtable)"
export ROUNDTABLE_DATABASE__URL="${server%/*}/roundtable_fuzz"
export ROUNDTABLE_HTTP__BIND="127.0.0.1:$port"
export ROUNDTABLE_WORKER__ENABLED=false
export ROUNDTABLE_LOG__LEVEL=error
export ROUNDTABLE_SECRETS__TOKEN_KEY="fuzz-only-token-key-0123456789abcdefghijklmnop"
"$roundtable" admin create-organizer --email fuzz@example.org 2>/dev/null
token="$("$roundtable" admin create-token --email fuzz@example.org --name fuzz 2>/dev/null)"
"$roundtable" serve >/dev/null 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
curl -fs -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
	-d '{"name": "Fuzzed", "timezone": "UTC"}' "http://127.0.0.1:$port/api/v1/circles" >/dev/null
report="$(mktemp)"
"$venv/bin/schemathesis" run "http://127.0.0.1:$port/api/openapi.json" -H "Authorization: Bearer $token" \
	--max-examples "$examples" --checks all >"$report" 2>&1 || true
grep -a -A6 "^Failures:" "$report" || true
grep -a "generated" "$report" | tail -1
if grep -a -E "ST100|ST10[1-9]|ST20[0134]" "$report" | grep -q "❌"; then
	echo "fuzzing found a server error or a schema violation; full report: $report" >&2
	exit 1
fi
rm -f "$report"
