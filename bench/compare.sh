#!/usr/bin/env bash
# Time one scenario against two builds of Roundtable side by side, in alternating rounds,
# for before/after figures of a change. Build each with `cargo build --profile profiling
# --locked --bin roundtable` (it lands in target/profiling/roundtable) and copy it aside.
# Each binary gets its own freshly seeded database and port; only one is under load at a
# time. Prints page size, req/s per round and the after/before ratio. Loopback only; needs wrk.
#
# Usage: bench/compare.sh BEFORE_BINARY AFTER_BINARY [SCENARIO ...]
#   members     the 1,000-member circle's dashboard members page (the default)
#   home        the organiser's dashboard front page (300 circles and the big one)
#   signup-one  public signups to one circle
#   signup-300  public signups spread over 300 circles
#   rsvp-page   members opening their RSVP links
#   rsvp-no     members answering "no"
#
# Environment:
#   ROUNDS        rounds per binary and scenario (3)
#   DURATION      length of each round (10s)
#   CONNECTIONS   wrk connections (32)
#   DATABASE_URL  the Postgres server to use (default: what scripts/dev-db finds)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
usage() { sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "${BASH_SOURCE[0]}"; }
refuse() { # message: the usage on stderr, exit status 2
	printf 'bench/compare.sh: %s\n\n' "$1" >&2
	usage >&2
	exit 2
}
for arg in "$@"; do
	if [ "$arg" = -h ] || [ "$arg" = --help ]; then
		usage
		exit 0
	fi
done
[ $# -ge 2 ] || refuse "two binaries are needed, before and after"
for arg in "$@"; do
	case "$arg" in -*) refuse "unknown option '$arg'" ;; esac
done
before_bin="$1" after_bin="$2"
shift 2
for scenario in "$@"; do
	case "$scenario" in
	members | home | signup-one | signup-300 | rsvp-page | rsvp-no) ;;
	*) refuse "unknown scenario '$scenario'" ;;
	esac
done
scenarios=("${@:-members}")
cd "$ROOT"
command -v wrk >/dev/null 2>&1 || { echo "error: wrk is not installed (apt-get install wrk)" >&2; exit 1; }
server="${DATABASE_URL:-$("$ROOT/scripts/dev-db")}"
duration="${DURATION:-10s}"
rounds="${ROUNDS:-3}"
connections="${CONNECTIONS:-32}"
work="$(mktemp -d)"
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"' EXIT

start() { # start NAME BINARY PORT: seed, serve, sign in; leaves $work/NAME.{base,cookie,path}
	local name="$1" bin="$2" port="$3" db="roundtable_bench_compare_$1"
	psql -X -q -d "$server" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db"
	(
		export ROUNDTABLE_PROFILE=production ROUNDTABLE_DATABASE__URL="${server%/*}/$db"
		export ROUNDTABLE_HTTP__BIND="127.0.0.1:$port" ROUNDTABLE_HTTP__PUBLIC_URL="http://127.0.0.1:$port"
		export ROUNDTABLE_HTTP__ALLOW_INSECURE_PUBLIC_URL=true ROUNDTABLE_WORKER__ENABLED=false
		export ROUNDTABLE_EMAIL__SMTP_URL="smtp://127.0.0.1:25250" ROUNDTABLE_LOG__LEVEL=warn
		export ROUNDTABLE_SECRETS__TOKEN_KEY="bench-only-token-key-0123456789abcdefghijklmnop"
		export ROUNDTABLE_LIMITS__SIGNUPS_PER_IP_PER_HOUR=1000000000
		export ROUNDTABLE_LIMITS__SIGNUPS_PER_ADDRESS_PER_HOUR=1000000000
		"$bin" seed --targets "$work/$name.json" >&2
		exec "$bin" serve >"$work/$name.log" 2>&1
	) &
	pids+=($!)
	local base="http://127.0.0.1:$port"
	for _ in $(seq 1 600); do
		[ -f "$work/$name.json" ] && curl -fs "$base/healthz" >/dev/null 2>&1 && break
		sleep 0.1
	done
	python3 -c 'import json,sys; t=json.load(open(sys.argv[1])); print(t["login_path"]); print("/dashboard/circles/%s/members" % t["big_circle_id"])' "$work/$name.json" >"$work/$name.targets"
	curl -fs -o /dev/null -c "$work/$name.cookies" -X POST -d next=/dashboard "$base$(sed -n 1p "$work/$name.targets")"
	awk '$6 == "roundtable_session" { print $6 "=" $7 }' "$work/$name.cookies" >"$work/$name.cookie"
	sed -n 2p "$work/$name.targets" >"$work/$name.path"
	echo /dashboard >"$work/$name.home"
	python3 -c 'import json,sys; print("\n".join(json.load(open(sys.argv[1]))["rsvp_paths"]))' "$work/$name.json" >"$work/$name.rsvp"
	echo "$base" >"$work/$name.base"
}

start before "$before_bin" 18181
start after "$after_bin" 18182
for name in before after; do
	for page in path home; do
		bytes="$(curl -fs -H "Cookie: $(cat "$work/$name.cookie")" "$(cat "$work/$name.base")$(cat "$work/$name.$page")" | wc -c)"
		echo "$name: $(cat "$work/$name.$page") $bytes bytes"
	done
done
load() { # load NAME SCENARIO: one wrk run, printing req/s
	local name="$1" base
	base="$(cat "$work/$1.base")"
	case "$2" in
	members) PATHS_FILE="$work/$name.path" COOKIE="$(cat "$work/$name.cookie")" \
		wrk -t2 -c"$connections" -d"$duration" -s bench/lua/paths.lua "$base" ;;
	home) PATHS_FILE="$work/$name.home" COOKIE="$(cat "$work/$name.cookie")" \
		wrk -t2 -c"$connections" -d"$duration" -s bench/lua/paths.lua "$base" ;;
	signup-one) CIRCLES=1 wrk -t2 -c"$connections" -d"$duration" -s bench/lua/signup.lua "$base" ;;
	signup-300) CIRCLES=300 wrk -t2 -c"$connections" -d"$duration" -s bench/lua/signup.lua "$base" ;;
	rsvp-page) PATHS_FILE="$work/$name.rsvp" wrk -t2 -c"$connections" -d"$duration" -s bench/lua/paths.lua "$base" ;;
	rsvp-no) PATHS_FILE="$work/$name.rsvp" METHOD=POST BODY="response=no" \
		wrk -t2 -c"$connections" -d"$duration" -s bench/lua/paths.lua "$base" ;;
	*) echo "unknown scenario $2" >&2; exit 2 ;;
	esac | awk '/Requests\/sec/ { print $2 } /Non-2xx/ { print "errors: " $0 > "/dev/stderr" }'
}
for scenario in "${scenarios[@]}"; do
	declare -A total=([before]=0 [after]=0)
	for round in $(seq 1 "$rounds"); do
		for name in before after; do
			rps="$(load "$name" "$scenario")"
			echo "$scenario round $round $name: $rps req/s"
			total[$name]="$(python3 -c "print(${total[$name]} + $rps)")"
		done
	done
	python3 -c "b, a = ${total[before]} / $rounds, ${total[after]} / $rounds; print(f'$scenario mean: before {b:,.0f} req/s, after {a:,.0f} req/s, after/before {a / b:.2f}x')"
done
