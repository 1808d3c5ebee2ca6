#!/usr/bin/env bash
# HTTP scenarios against a seeded database, with the database's own ceilings measured in the
# same run. Called by bench/run (`bench/run http`); prints a table and appends JSON lines to
# the results file given as $1.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
out="$1"
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
roundtable="$(binary profiling roundtable)"
server="$DATABASE_URL"
db_name=roundtable_bench_http
db_url="${server%/*}/$db_name"
port=18080
base="http://127.0.0.1:$port"
duration="${DURATION:-10s}"
connections="${CONNECTIONS:-32}"
work="$(mktemp -d)"
trap 'kill "${pid:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT

psql -X -q -d "$server" -c "DROP DATABASE IF EXISTS $db_name WITH (FORCE)" -c "CREATE DATABASE $db_name"
export ROUNDTABLE_PROFILE=production
export ROUNDTABLE_DATABASE__URL="$db_url"
export ROUNDTABLE_HTTP__BIND="127.0.0.1:$port"
export ROUNDTABLE_HTTP__PUBLIC_URL="$base"
# Loopback only: plain http is meant here.
export ROUNDTABLE_HTTP__ALLOW_INSECURE_PUBLIC_URL=true
export ROUNDTABLE_EMAIL__SMTP_URL="smtp://127.0.0.1:25250"
export ROUNDTABLE_SECRETS__TOKEN_KEY="bench-only-token-key-0123456789abcdefghijklmnop"
export ROUNDTABLE_WORKER__ENABLED=false
export ROUNDTABLE_LIMITS__SIGNUPS_PER_IP_PER_HOUR=1000000000
export ROUNDTABLE_LIMITS__SIGNUPS_PER_ADDRESS_PER_HOUR=1000000000
export ROUNDTABLE_LOG__LEVEL=warn
"$roundtable" seed --targets "$work/targets.json" >&2
python3 - "$work" <<'PY'
import json, sys
work = sys.argv[1]
t = json.load(open(f"{work}/targets.json"))
for key in ("rsvp_paths", "confirm_paths", "calendar_paths"):
    open(f"{work}/{key}.txt", "w").write("\n".join(t[key]) + "\n")
open(f"{work}/login", "w").write(t["login_path"])
open(f"{work}/big", "w").write(t["big_circle_id"])
PY
"$roundtable" serve >"$work/serve.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do curl -fs "$base/healthz" >/dev/null && break; sleep 0.1; done
# A dashboard session for the organiser.
curl -fs -o /dev/null -c "$work/cookies" -X POST -d next=/dashboard "$base$(cat "$work/login")"
cookie="$(awk '$6 == "roundtable_session" { print $6 "=" $7 }' "$work/cookies")"

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$pid/stat"; }
ticks_per_second="$(getconf CLK_TCK)"

run() { # name, then wrk arguments
	local name="$1"
	shift
	local before after
	before="$(cpu_ticks)"
	wrk -t2 -c"$connections" -d"$duration" --latency "$@" >"$work/$name.txt" 2>&1
	after="$(cpu_ticks)"
	python3 - "$work/$name.txt" "$name" "$(( after - before ))" "$ticks_per_second" "$duration" "$pid" "$out" "$connections" <<'PY'
import json, re, sys
path, name, ticks, hz, duration, pid, out, connections = sys.argv[1:]
text = open(path).read()
def ms(v):
    m = re.match(r"([\d.]+)(us|ms|s)", v)
    n, u = float(m.group(1)), m.group(2)
    return n / 1000 if u == "us" else n * 1000 if u == "s" else n
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
pct = {p: ms(v) for p, v in re.findall(r"^\s+(50|75|90|99)%\s+(\S+)", text, re.M)}
m = re.search(r"^p99\.9 ([\d.]+)ms", text, re.M)
if m:
    pct["99.9"] = float(m.group(1))
errors = sum(int(x) for x in re.findall(r"Non-2xx or 3xx responses: (\d+)", text))
errors += sum(int(x) for x in re.findall(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)[0]) if "Socket errors" in text else 0
secs = float(duration.rstrip("s"))
cpu = int(ticks) / int(hz) / secs * 100
rss = next(int(l.split()[1]) for l in open(f"/proc/{pid}/status") if l.startswith("VmHWM")) / 1024
row = {"bench": "http", "scenario": name, "load": "closed", "requests_per_second": rps,
       "p50_ms": pct.get("50"), "p99_ms": pct.get("99"), "p99_9_ms": pct.get("99.9"),
       "errors": errors, "server_cpu_percent": round(cpu), "server_peak_rss_mb": round(rss, 1)}
open(out, "a").write(json.dumps(row) + "\n")
print(f"| {name} | closed, {connections} conn | {rps:,.0f} | {pct.get('50', 0):.2f} | {pct.get('99', 0):.2f} | {pct.get('99.9', 0):.2f} | {errors} | {cpu:.0f} % | {rss:.0f} MB |")
PY
}

open_loop() { # name, rate (req/s), URL file, then oha arguments: a fixed arrival rate, with
	# latency measured from when each request was due (no coordinated omission)
	local name="$1" rate="$2" urls="$3"
	shift 3
	local before after
	before="$(cpu_ticks)"
	oha --no-tui --output-format json -z "$duration" -q "$rate" --latency-correction -c "$connections" \
		--urls-from-file "$@" "$urls" >"$work/$name.json" 2>"$work/$name.err"
	after="$(cpu_ticks)"
	python3 - "$work/$name.json" "$name" "$rate" "$(( after - before ))" "$ticks_per_second" "$duration" "$pid" "$out" <<'PY'
import json, sys
path, name, rate, ticks, hz, duration, pid, out = sys.argv[1:]
r = json.load(open(path))
s, lat = r["summary"], r["latencyPercentiles"]
codes = r.get("statusCodeDistribution", {})
errors = sum(n for c, n in codes.items() if not c.startswith(("2", "3"))) + sum(r.get("errorDistribution", {}).values())
ms = lambda k: (lat.get(k) or 0) * 1000
cpu = int(ticks) / int(hz) / float(duration.rstrip("s")) * 100
rss = next(int(l.split()[1]) for l in open(f"/proc/{pid}/status") if l.startswith("VmHWM")) / 1024
row = {"bench": "http", "scenario": name, "load": "open", "target_rate": int(rate), "requests_per_second": s["requestsPerSec"],
       "p50_ms": ms("p50"), "p99_ms": ms("p99"), "p99_9_ms": ms("p99.9"), "errors": errors,
       "server_cpu_percent": round(cpu), "server_peak_rss_mb": round(rss, 1)}
open(out, "a").write(json.dumps(row) + "\n")
print(f"| {name} | open, {rate} req/s | {s['requestsPerSec']:,.0f} | {ms('p50'):.2f} | {ms('p99'):.2f} | {ms('p99.9'):.2f} | {errors} | {cpu:.0f} % | {rss:.0f} MB |")
PY
}
sed "s|^|$base|" "$work/rsvp_paths.txt" >"$work/rsvp_urls.txt"
echo "$base/dashboard/circles/$(cat "$work/big")/members" >"$work/dashboard_urls.txt"
echo /c/seed-circle-1 >"$work/circle_paths.txt"
echo "/dashboard/circles/$(cat "$work/big")/members" >"$work/dashboard_paths.txt"

echo "| scenario | load | req/s | p50 ms | p99 ms | p99.9 ms | errors | server CPU | server peak RSS |"
echo "|---|---|---|---|---|---|---|---|---|"
PATHS_FILE="$work/circle_paths.txt" run public-circle-page -s bench/lua/paths.lua "$base"
PATHS_FILE="$work/rsvp_paths.txt" run rsvp-page -s bench/lua/paths.lua "$base"
open_loop rsvp-page "${RSVP_RATE:-1000}" "$work/rsvp_urls.txt"
PATHS_FILE="$work/rsvp_paths.txt" METHOD=POST BODY="response=yes" run rsvp-post -s bench/lua/paths.lua "$base"
CIRCLES=1 run signup-post-one-circle -s bench/lua/signup.lua "$base"
CIRCLES=300 run signup-post-300-circles -s bench/lua/signup.lua "$base"
PATHS_FILE="$work/confirm_paths.txt" METHOD=POST run confirm-post -s bench/lua/paths.lua "$base"
PATHS_FILE="$work/calendar_paths.txt" run calendar-feed -s bench/lua/paths.lua "$base"
PATHS_FILE="$work/dashboard_paths.txt" COOKIE="$cookie" run dashboard-circle-page -s bench/lua/paths.lua "$base"
open_loop dashboard-circle-page "${DASHBOARD_RATE:-50}" "$work/dashboard_urls.txt" -H "Cookie: $cookie"

# Ceilings: the database alone running the same transactions, and pgbench's select-only test.
psql -X -q -d "$db_url" -c "CREATE TABLE bench_pairs AS SELECT row_number() OVER () AS n, s.id AS session_id, m.member_id FROM sessions s JOIN memberships m ON m.circle_id = s.circle_id LIMIT 20000" -c "ALTER TABLE bench_pairs ADD PRIMARY KEY (n)"
ceiling() { # name, pgbench arguments
	local name="$1"
	shift
	local tps
	tps="$(pgbench -n -c "$connections" -j 2 -T "${duration%s}" "$@" 2>/dev/null | awk '/^tps/ { print $3; exit }')"
	echo "| ceiling: $name | pgbench, $connections clients | ${tps%.*} tps | | | | | | |"
	printf '{"bench":"ceiling","scenario":"%s","transactions_per_second":%s}\n' "$name" "${tps:-0}" >>"$out"
}
ceiling signup-transaction-one-circle -D circles=1 -f bench/pgbench-signup.sql "$db_url"
ceiling signup-transaction-300-circles -D circles=300 -f bench/pgbench-signup.sql "$db_url"
ceiling rsvp-transaction -f bench/pgbench-rsvp.sql "$db_url"
psql -X -q -d "$server" -c "DROP DATABASE IF EXISTS pgbench_select WITH (FORCE)" -c "CREATE DATABASE pgbench_select"
pgbench -q -i -s 10 "${server%/*}/pgbench_select" >/dev/null 2>&1
ceiling select-only -S "${server%/*}/pgbench_select"
