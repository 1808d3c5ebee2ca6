#!/usr/bin/env bash
# Fault injection for the email pipeline, on loopback only, bounded in time. Each run uses
# databases of its own (roundtable_chaos_<run>, roundtable_restart_<run>) and drops them when
# it ends, whether it passes, fails or is interrupted. Exits non-zero when a promise is broken.
#
# Usage: bench/chaos.sh [kill|term|outage|multi|restart|all]
#   kill     kill -9 workers at random moments while invitations go out, restarting them
#   term     the same with SIGTERM (a graceful stop): no duplicates allowed
#   outage   the SMTP server disappears for OUTAGE seconds mid-send, then returns
#   multi    two `serve` and three `worker` processes share the database while people join
#            one circle through both servers: seats never exceed capacity, no duplicate mail
#   restart  Postgres (a private cluster from scripts/dev-db on port 55439) is stopped for a
#            few seconds during a signup load: 503s meanwhile, recovery without restarting
#            the service, and every signup that was answered 200 is in the database
#   all      all of the above (the default)
#
# Environment:
#   CHAOS_PROFILE     the cargo profile to build and run: profiling (the default; release code
#                     with line tables) or debug (the binaries the test suite builds, as CI uses)
#   MESSAGES          invitations sent in kill, term and outage (5000)
#   STOPS             worker stops in kill and term (8)
#   OUTAGE            seconds the SMTP server is down (30)
#   JOINS             joins in multi (300)
#   LOAD_SECONDS      length of the signup load in restart (20)
#   DATABASE_URL      the Postgres server to use (default: what scripts/dev-db finds)
#   CARGO_TARGET_DIR  where cargo builds (cargo's own setting)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
usage() { sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "${BASH_SOURCE[0]}"; }
refuse() { # message: the usage on stderr, exit status 2, before anything is built
	printf 'bench/chaos.sh: %s\n\n' "$1" >&2
	usage >&2
	exit 2
}
what=all
for arg in "$@"; do
	if [ "$arg" = -h ] || [ "$arg" = --help ]; then
		usage
		exit 0
	fi
done
if [ $# -gt 1 ]; then
	refuse "one scenario at a time (or all), not: $*"
elif [ $# -eq 1 ]; then
	case "$1" in
	kill | term | outage | multi | restart | all) what="$1" ;;
	-*) refuse "unknown option '$1'" ;;
	*) refuse "unknown scenario '$1'" ;;
	esac
fi
cd "$ROOT"
server="$("$ROOT/scripts/dev-db")"
# Databases named for this run, so two runs (or a run and a leftover) never share one.
run_id="$(date +%Y%m%d%H%M%S)_$$"
db_name="roundtable_chaos_$run_id"
restart_db="roundtable_restart_$run_id"
db_url="${server%/*}/$db_name"
messages="${MESSAGES:-5000}"
concurrency=16
outage="${OUTAGE:-30}"
port=25251
work="$(mktemp -d)"
pids=()
# The restart scenario's private cluster, on its own port so stopping it touches nothing
# else: `private_db` starts it and prints its URL, `private_db stop` stops it.
private_db() {
	DATABASE_URL=postgres://postgres@127.0.0.1:1/none ROUNDTABLE_DEV_DB_PORT=55439 "$ROOT/scripts/dev-db" "$@"
}
private="" # its URL while it may hold this run's database
drop_database() { # server URL, name; best effort
	PGCONNECT_TIMEOUT=3 psql -X -q -d "$1" -c "DROP DATABASE IF EXISTS $2 WITH (FORCE)" >/dev/null 2>&1 || true
}
# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
	for p in "${pids[@]}"; do
		kill -9 "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true # quietly, rather than a "Killed" line for each
	done
	drop_database "$server" "$db_name"
	if [ -n "$private" ]; then
		drop_database "$private" "$restart_db"
		private_db stop >/dev/null 2>&1 || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
stops_wanted="${STOPS:-8}"
profile="${CHAOS_PROFILE:-profiling}"
if [ "$profile" = debug ]; then
	# The binaries as the test suite builds them (same features), so CI reuses its build.
	cargo test --locked --all-targets --no-run >&2
else
	cargo build --profile "$profile" --locked --bin roundtable --bin roundtable-bench >&2
fi
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
bin="$(dirname "$(binary "$profile" roundtable)")"
binary "$profile" roundtable-bench >/dev/null

export ROUNDTABLE_PROFILE=production
export ROUNDTABLE_DATABASE__URL="$db_url"
export ROUNDTABLE_SECRETS__TOKEN_KEY="chaos-only-token-key-0123456789abcdefghijklmnop"
# Loopback only: plain http is meant here.
export ROUNDTABLE_HTTP__ALLOW_INSECURE_PUBLIC_URL=true
export ROUNDTABLE_EMAIL__SMTP_URL="smtp://127.0.0.1:$port"
export ROUNDTABLE_WORKER__CONCURRENCY="$concurrency"
export ROUNDTABLE_WORKER__LEASE_SECONDS=5
export ROUNDTABLE_WORKER__POLL_INTERVAL_MS=200
export ROUNDTABLE_WORKER__RETRY_BASE_MS=1000
export ROUNDTABLE_WORKER__RETRY_MAX_MS=10000
export ROUNDTABLE_LOG__LEVEL=error

sql() { psql -X -q -At -d "$db_url" -c "$1"; }

prepare() { # a circle of $messages members and one session whose invitations are queued
	psql -X -q -d "$server" -c "SET client_min_messages = warning" \
		-c "DROP DATABASE IF EXISTS $db_name WITH (FORCE)" -c "CREATE DATABASE $db_name"
	"$bin"/roundtable migrate >"$work/migrate.log" 2>&1 || {
		echo "error: migrating the chaos database failed:" >&2
		cat "$work/migrate.log" >&2
		exit 1
	}
	sql "INSERT INTO circles (id, slug, name, timezone) VALUES ('00000000-0000-7000-8000-00000000000c', 'chaos', 'Chaos', 'UTC')"
	sql "WITH m AS (INSERT INTO members (id, email, display_name) SELECT gen_random_uuid(), 'm' || i || '@example.org', 'Member ' || i FROM generate_series(1, $messages) i RETURNING id)
	     INSERT INTO memberships (circle_id, member_id, state) SELECT '00000000-0000-7000-8000-00000000000c', id, 'active' FROM m"
	sql "INSERT INTO sessions (id, circle_id, starts_at, ends_at, local_date, local_time, timezone, duration_minutes)
	     VALUES ('00000000-0000-7000-8000-00000000005e', '00000000-0000-7000-8000-00000000000c', now() + interval '30 days', now() + interval '30 days 1 hour', (now() + interval '30 days')::date, '19:00', 'UTC', 60)"
	sql "INSERT INTO jobs (id, kind, payload, dedupe_key) VALUES (gen_random_uuid(), 'session_fanout',
	     '{\"session_id\": \"00000000-0000-7000-8000-00000000005e\", \"message\": \"invitation\", \"sequence\": 0}', 'chaos-fanout')"
	: >"$work/sink.log"
}

start_sink() {
	"$bin"/roundtable-bench sink --listen "127.0.0.1:$port" --log "$work/sink.log" 2>"$work/sink.err" &
	sink=$!
	pids+=("$sink")
	sleep 0.3
	kill -0 "$sink" 2>/dev/null || {
		echo "error: the SMTP sink on 127.0.0.1:$port did not start:" >&2
		cat "$work/sink.err" >&2
		exit 1
	}
}

stop_sink() {
	kill -9 "$sink" 2>/dev/null || true
	wait "$sink" 2>/dev/null || true
}

# Work still to do, retries waiting out their backoff included; the rota sweep always waits
# for its next run and is not work.
pending() { sql "SELECT count(*) FROM jobs WHERE state IN ('queued', 'running') AND kind <> 'rota_sweep'"; }

check() { # name, allowed duplicates
	local name="$1" allowed="$2"
	local dead lines unique recipients
	dead="$(sql "SELECT count(*) FROM jobs WHERE state = 'dead'")"
	lines="$(wc -l <"$work/sink.log")"
	unique="$(cut -d' ' -f2 "$work/sink.log" | sort -u | wc -l)"
	recipients="$(cut -d' ' -f1 "$work/sink.log" | sort -u | wc -l)"
	local duplicates=$((lines - unique))
	printf '%s: %s messages received for %s members, %s duplicates (allowed %s), %s dead jobs, %s still pending\n' \
		"$name" "$lines" "$recipients" "$duplicates" "$allowed" "$dead" "$(pending)"
	[ "$recipients" -eq "$messages" ] && [ "$dead" -eq 0 ] && [ "$duplicates" -le "$allowed" ] && [ "$(pending)" -eq 0 ]
}

interrupt() { # signal: start workers, stop them with the signal at random moments, then finish
	local signal="$1" stops=0
	prepare
	start_sink
	local deadline=$((SECONDS + 300))
	while [ "$(pending)" -gt 0 ] && [ "$stops" -lt "$stops_wanted" ] && [ "$SECONDS" -lt "$deadline" ]; do
		"$bin"/roundtable worker 2>/dev/null &
		local worker=$!
		pids+=("$worker")
		sleep "0.$((RANDOM % 9 + 1))"
		kill "-$signal" "$worker" 2>/dev/null || true
		wait "$worker" 2>/dev/null || true
		stops=$((stops + 1))
	done
	"$bin"/roundtable worker 2>/dev/null &
	local worker=$!
	pids+=("$worker")
	while [ "$(pending)" -gt 0 ] && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.5; done
	kill -TERM "$worker" 2>/dev/null || true
	wait "$worker" 2>/dev/null || true
	stop_sink
	if [ "$signal" = KILL ]; then
		check "kill -9 x$stops" $((stops * concurrency))
	else
		check "SIGTERM x$stops" 0
	fi
}

smtp_outage() {
	prepare
	start_sink
	"$bin"/roundtable worker 2>/dev/null &
	local worker=$!
	pids+=("$worker")
	sleep 1
	stop_sink
	echo "outage: SMTP server down for ${outage} s with $(pending) jobs pending" >&2
	sleep "$outage"
	start_sink
	local deadline=$((SECONDS + 180))
	while [ "$(pending)" -gt 0 ] && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.5; done
	kill -TERM "$worker" 2>/dev/null || true
	wait "$worker" 2>/dev/null || true
	stop_sink
	check "SMTP outage ${outage}s" 0
}

multi() {
	prepare
	start_sink
	local token
	"$bin"/roundtable admin create-organizer --email chaos@example.org 2>/dev/null
	token="$("$bin"/roundtable admin create-token --email chaos@example.org --name chaos 2>/dev/null)"
	sql "INSERT INTO circles (id, slug, name, timezone, capacity) VALUES ('00000000-0000-7000-8000-00000000000d', 'multi', 'Multi', 'UTC', 10)"
	for p in 18101 18102; do
		ROUNDTABLE_HTTP__BIND="127.0.0.1:$p" ROUNDTABLE_WORKER__ENABLED=false "$bin"/roundtable serve 2>/dev/null &
		pids+=("$!")
	done
	for _ in 1 2 3; do
		"$bin"/roundtable worker 2>/dev/null &
		pids+=("$!")
	done
	sleep 1
	local joins="${JOINS:-300}"
	seq 1 "$joins" | xargs -P 16 -I{} sh -c '
		port=$((18101 + {} % 2))
		curl -s -o /dev/null -H "Authorization: Bearer '"$token"'" -H "Content-Type: application/json" \
			-d "{\"email\": \"joiner{}@example.org\"}" \
			"http://127.0.0.1:$port/api/v1/circles/00000000-0000-7000-8000-00000000000d/members"'
	local deadline=$((SECONDS + 180))
	while [ "$(pending)" -gt 0 ] && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.5; done
	local seated waiting lines unique dead
	seated="$(sql "SELECT count(*) FROM memberships m JOIN members p ON p.id = m.member_id WHERE m.circle_id = '00000000-0000-7000-8000-00000000000d' AND m.state = 'active' AND p.email LIKE 'joiner%'")"
	waiting="$(sql "SELECT count(*) FROM memberships WHERE circle_id = '00000000-0000-7000-8000-00000000000d' AND state = 'waitlisted'")"
	stop_sink
	lines="$(grep -c joiner "$work/sink.log" || true)"
	unique="$(grep joiner "$work/sink.log" | cut -d' ' -f2 | sort -u | wc -l)"
	dead="$(sql "SELECT count(*) FROM jobs WHERE state = 'dead'")"
	printf 'multi: %s joins through 2 servers, 3 workers: %s seated (capacity 10), %s waitlisted, %s emails to joiners, %s duplicates, %s dead\n' \
		"$joins" "$seated" "$waiting" "$lines" "$((lines - unique))" "$dead"
	[ "$seated" -le 10 ] && [ "$((seated + waiting))" -eq "$joins" ] && [ "$lines" -eq "$unique" ] && [ "$lines" -eq "$joins" ] && [ "$dead" -eq 0 ]
}

db_restart() {
	private="$(private_db)"
	local url="${private%/*}/$restart_db"
	ROUNDTABLE_DATABASE__URL="$url" "$bin"/roundtable migrate >"$work/migrate.log" 2>&1 || {
		echo "error: migrating the restart scenario's database failed:" >&2
		cat "$work/migrate.log" >&2
		exit 1
	}
	psql -X -q -d "$url" -c "INSERT INTO circles (id, slug, name, timezone) VALUES (gen_random_uuid(), 'restart', 'Restart', 'UTC')"
	# Nobody confirms during the load, so the circle's cap on unconfirmed signups is lifted:
	# past it a signup is answered as usual and stored nothing, which this scenario would count
	# as lost.
	ROUNDTABLE_DATABASE__URL="$url" ROUNDTABLE_HTTP__BIND=127.0.0.1:18103 ROUNDTABLE_WORKER__ENABLED=false \
		ROUNDTABLE_LIMITS__SIGNUPS_PER_IP_PER_HOUR=100000000 ROUNDTABLE_LIMITS__UNCONFIRMED_SIGNUPS_PER_CIRCLE=1000000 \
		ROUNDTABLE_DATABASE__ACQUIRE_TIMEOUT_MS=1000 "$bin"/roundtable serve 2>/dev/null &
	pids+=("$!")
	sleep 1
	: >"$work/answers"
	local end=$((SECONDS + ${LOAD_SECONDS:-20}))
	(
		i=0
		while [ "$SECONDS" -lt "$end" ]; do
			i=$((i + 1))
			for j in 1 2 3 4; do
				email="restart-$i-$j@example.org"
				code="$(curl -s -o /dev/null -m 5 -w '%{http_code} %{time_total}' \
					--data-urlencode "email=$email" -d display_name=Load -d website= \
					http://127.0.0.1:18103/c/restart/join)"
				echo "$email $code" >>"$work/answers"
			done &
			wait
		done
	) &
	local load=$!
	sleep 5
	private_db stop >/dev/null
	echo "restart: Postgres stopped" >&2
	sleep 5
	private_db >/dev/null
	echo "restart: Postgres back" >&2
	wait "$load"
	local ok unavailable other slowest lost
	ok="$(awk '$2 == 200' "$work/answers" | wc -l)"
	unavailable="$(awk '$2 == 503' "$work/answers" | wc -l)"
	other="$(awk '$2 != 200 && $2 != 503' "$work/answers" | wc -l)"
	slowest="$(awk '$2 == 503 { if ($3 > m) m = $3 } END { print m + 0 }' "$work/answers")"
	awk '$2 == 200 { print $1 }' "$work/answers" | sort >"$work/acknowledged"
	psql -X -q -At -d "$url" -c "SELECT email FROM members" | sort >"$work/stored"
	lost="$(comm -23 "$work/acknowledged" "$work/stored" | wc -l)"
	local recovered
	recovered="$(tail -n 8 "$work/answers" | awk '$2 == 200' | wc -l)"
	drop_database "$private" "$restart_db"
	private_db stop >/dev/null
	private=""
	printf 'restart: %s signups answered 200, %s answered 503 (slowest %ss), %s other, %s acknowledged but missing; %s of the last 8 succeeded\n' \
		"$ok" "$unavailable" "$slowest" "$other" "$lost" "$recovered"
	[ "$lost" -eq 0 ] && [ "$other" -eq 0 ] && [ "$unavailable" -gt 0 ] && [ "$recovered" -eq 8 ]
}

status=0
case "$what" in
kill | all) interrupt KILL || status=1 ;;&
term | all) interrupt TERM || status=1 ;;&
outage | all) smtp_outage || status=1 ;;&
multi | all) multi || status=1 ;;&
restart | all) db_restart || status=1 ;;
esac
exit "$status"
