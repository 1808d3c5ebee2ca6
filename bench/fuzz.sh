#!/usr/bin/env bash
# Coverage-guided fuzzing of what Roundtable reads from strangers: link tokens, the signup
# form, and the text it writes into calendar entries. Each target runs for a bounded time
# from the seeds in bench/fuzz/seeds plus the corpus it has grown; a crash stops the run and
# leaves its input in bench/fuzz/artifacts/. Installs cargo-fuzz when it is missing and uses
# a nightly toolchain when there is one.
#
# Usage: bench/fuzz.sh [TARGET ...]   (default: every target, listed below)
#
# Environment:
#   FUZZ_SECONDS  how long each target runs (60)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# The targets are the files in bench/fuzz/fuzz_targets/ (`cargo fuzz add` makes one).
all_targets=()
for file in "$ROOT"/bench/fuzz/fuzz_targets/*.rs; do
	name="${file##*/}"
	all_targets+=("${name%.rs}")
done
usage() {
	sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "${BASH_SOURCE[0]}"
	printf '\nTargets: %s\n' "${all_targets[*]}"
}
refuse() { # message: the usage on stderr, exit status 2, before anything is built
	printf 'bench/fuzz.sh: %s\n\n' "$1" >&2
	usage >&2
	exit 2
}
for arg in "$@"; do
	if [ "$arg" = -h ] || [ "$arg" = --help ]; then
		usage
		exit 0
	fi
done
is_target() {
	local t
	for t in "${all_targets[@]}"; do [ "$t" = "$1" ] && return 0; done
	return 1
}
for arg in "$@"; do
	if ! is_target "$arg"; then
		case "$arg" in
		-*) refuse "unknown option '$arg'" ;;
		*) refuse "unknown target '$arg'" ;;
		esac
	fi
done
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${all_targets[@]}")
cd "$ROOT/bench/fuzz"
seconds="${FUZZ_SECONDS:-60}"

command -v cargo-fuzz >/dev/null 2>&1 || cargo install --locked cargo-fuzz
# libFuzzer's instrumentation needs unstable compiler flags: a nightly toolchain when there is
# one, else the stable compiler told to accept them.
if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
	fuzz=(cargo +nightly fuzz)
else
	export RUSTC_BOOTSTRAP=1
	fuzz=(cargo fuzz)
fi
"${fuzz[@]}" build --fuzz-dir . -O
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
for target in "${targets[@]}"; do
	echo "==> fuzz $target for ${seconds}s"
	mkdir -p "corpus/$target"
	if ! "${fuzz[@]}" run --fuzz-dir . -O "$target" "corpus/$target" "seeds/$target" -- \
		-max_total_time="$seconds" -rss_limit_mb=2048 -print_final_stats=1 >"$log" 2>&1; then
		grep -E -A12 'panicked|ERROR|SUMMARY|Test unit written' "$log" || tail -40 "$log"
		echo "fuzz $target: crashed (input saved under bench/fuzz/artifacts/$target/)" >&2
		exit 1
	fi
	grep -E '^(Done|stat::peak_rss_mb)' "$log"
done
