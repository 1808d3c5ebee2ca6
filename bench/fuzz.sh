#!/usr/bin/env bash
# Coverage-guided fuzzing of what Roundtable reads from strangers: link tokens, the signup
# form, and the text it writes into calendar entries. Each target runs for a bounded time
# (FUZZ_SECONDS, default 60) from the seeds in bench/fuzz/seeds plus the corpus it has grown;
# a crash stops the run and leaves its input in bench/fuzz/artifacts/.
# Usage: bench/fuzz.sh [target ...]   (default: all three)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT/bench/fuzz"
seconds="${FUZZ_SECONDS:-60}"
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(token join_form calendar_text)

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
