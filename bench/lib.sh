# shellcheck shell=bash
# Shared by the benchmark and fault-injection scripts (sourced, not run).

# Where cargo puts what it builds: CARGO_TARGET_DIR, `build.target-dir`, or ./target, as
# cargo itself resolves them.
target_dir() {
	cargo metadata --format-version 1 --no-deps --offline 2>/dev/null |
		python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])'
}

# The path of a built binary, or a clear error naming where it was looked for. A profile's
# binaries are in a folder of its name (target/profiling/...), except cargo's own: dev and
# test build into debug/, bench into release/.
binary() { # binary PROFILE NAME
	local dir="$1" path
	case "$dir" in
	dev | test) dir=debug ;;
	bench) dir=release ;;
	esac
	path="$(target_dir)/$dir/$2"
	if [ ! -x "$path" ]; then
		echo "error: $path was not built (looked in cargo's target directory for the $1 profile)" >&2
		return 1
	fi
	printf '%s\n' "$path"
}
