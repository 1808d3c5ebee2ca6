#!/usr/bin/env bash
# Fault injection for the email pipeline, on loopback only, bounded in time:
#   kill    kill -9 workers at random moments while invitations go out, restarting them
#   term    the same with SIGTERM (a graceful stop): no duplicates allowed
#   outage  the SMTP server disappears for OUTAGE seconds mid-send, then returns
#   multi   two `serve` and three `worker` processes share the database while people join
#           one circle through both servers: seats never exceed capacity, no duplicate mail
# Usage: bench/chaos.sh [kill|term|outage|multi|all]. Needs the release binaries (bench/run builds
# them) and a Postgres from scripts/dev-db. Exits non-zero when a promise is broken.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
what="${1:-all}"
server="$("$ROOT/scripts/dev-db")"
db_url="${server%/*}/roundtable_chaos"
messages="${MESSAGES:-5000}"
concurrency=16
outage="${OUTAGE:-30}"
port=25251
work="$(mktemp -d)"
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT
cargo build --release --locked --bin roundtable --bin roundtable-bench >&2

export ROUNDTABLE_PROFILE=production
export ROUNDTABLE_DATABASE__URL="$db_url"
export ROUNDTABLE_SECRETS__TOKEN_KEY="chaos-only-token-key-0123456789abcdefghijklmnop"
export ROUNDTABLE_EMAIL__SMTP_URL="smtp://127.0.0.1:$port"
export ROUNDTABLE_WORKER__CONCURRENCY="$concurrency"
export ROUNDTABLE_WORKER__LEASE_SECONDS=5
export ROUNDTABLE_WORKER__POLL_INTERVAL_MS=200
export ROUNDTABLE_WORKER__RETRY_BASE_MS=1000
export ROUNDTABLE_WORKER__RETRY_MAX_MS=10000
export ROUNDTABLE_LOG__LEVEL=error

sql() { psql -X -q -At -d "$db_url" -c "$1"; }

prepare() { # a circle of $messages members and one session whose invitations are queued
	psql -X -q -d "$server" -c "DROP DATABASE IF EXISTS roundtable_chaos WITH (FORCE)" -c "CREATE DATABASE roundtable_chaos"
	target/release/roundtable migrate 2>/dev/null
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
	target/release/roundtable-bench sink --listen "127.0.0.1:$port" --log "$work/sink.log" 2>/dev/null &
	sink=$!
	pids+=("$sink")
	sleep 0.3
	kill -0 "$sink" 2>/dev/null || {
		echo "the SMTP sink did not start (port $port in use?)" >&2
		exit 1
	}
}

stop_sink() {
	kill -9 "$sink" 2>/dev/null || true
	wait "$sink" 2>/dev/null || true
}

pending() { sql "SELECT count(*) FROM jobs WHERE state IN ('queued', 'running')"; }

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
	while [ "$(pending)" -gt 0 ] && [ "$stops" -lt 8 ] && [ "$SECONDS" -lt "$deadline" ]; do
		target/release/roundtable worker 2>/dev/null &
		local worker=$!
		pids+=("$worker")
		sleep "0.$((RANDOM % 9 + 1))"
		kill "-$signal" "$worker" 2>/dev/null || true
		wait "$worker" 2>/dev/null || true
		stops=$((stops + 1))
	done
	target/release/roundtable worker 2>/dev/null &
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
	target/release/roundtable worker 2>/dev/null &
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
	target/release/roundtable admin create-organizer --email chaos@example.org 2>/dev/null
	token="$(target/release/roundtable admin create-token --email chaos@example.org --name chaos 2>/dev/null)"
	sql "INSERT INTO circles (id, slug, name, timezone, capacity) VALUES ('00000000-0000-7000-8000-00000000000d', 'multi', 'Multi', 'UTC', 10)"
	for p in 18101 18102; do
		ROUNDTABLE_HTTP__BIND="127.0.0.1:$p" ROUNDTABLE_WORKER__ENABLED=false target/release/roundtable serve 2>/dev/null &
		pids+=("$!")
	done
	for _ in 1 2 3; do
		target/release/roundtable worker 2>/dev/null &
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

status=0
case "$what" in
kill | all) interrupt KILL || status=1 ;;&
term | all) interrupt TERM || status=1 ;;&
outage | all) smtp_outage || status=1 ;;&
multi | all) multi || status=1 ;;
kill | term | outage) ;;
*)
	echo "usage: bench/chaos.sh [kill|term|outage|multi|all]" >&2
	exit 2
	;;
esac
exit "$status"
