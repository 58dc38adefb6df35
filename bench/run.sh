#!/usr/bin/env bash
# run.sh — run every bench program under every configuration, alternating, and
# print the table (report.awk) with medians, ratios and goals.
#
# usage: bench/run.sh          (`make` in bench/, or `make bench` at the top, runs it)
# env:   ROUNDS=5              rounds; a round runs each test under every configuration,
#                              back to back (none, fwd, lc, ...)
#        LC_LIB=PATH           the library measured as "lc"; default
#                              ../build/liblockcontend.so from bench/.  A relative PATH is
#                              tried from the current directory, then from the repository root.
#        CONT_REPEAT=8         times per round the contended tests run (each time every
#                              configuration once, back to back): they are the noisy ones
#        UNC_PAIRS=20000000 CONT_PAIRS=2000000 CONT_CS=4 CONT_OUT=16 STACK_PATHS=10000
# Raw result lines, one per run, go to bench/build/results.txt; `slot` numbers the
# back-to-back passes over the configurations, the unit report.awk pairs runs by.
#
# Configurations: none (no preload), fwd (build/libfwd.so, the forwarding floor),
# lc (LC_LIB, default settings), lc1 (rate=1,stacks=1), lc100 (rate=100).  Every
# lockcontend run gets its own directory under a temporary one, as its working
# directory and as the place of out=, and the whole tree is removed at exit.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
B=$here/build
ROUNDS=${ROUNDS:-5}
UNC_PAIRS=${UNC_PAIRS:-20000000}
CONT_PAIRS=${CONT_PAIRS:-2000000}
CONT_REPEAT=${CONT_REPEAT:-8}
CONT_CS=${CONT_CS:-4}
CONT_OUT=${CONT_OUT:-16}
STACK_PATHS=${STACK_PATHS:-10000}
RUN_TIMEOUT=300 # seconds; a hung run fails the bench instead of hanging make

die() {
	echo "run.sh: $*" >&2
	exit 1
}

lc_resolve() {
	local p=${LC_LIB:-$root/build/liblockcontend.so}
	if [[ $p != /* && ! -e $p ]]; then
		p=$root/$p
	fi
	[[ -f $p ]] || die "no library at ${LC_LIB:-$p}: build it (make at the top) or try the bench with LC_LIB=$B/libfwd.so"
	realpath "$p"
}

# The dump a lockcontend run left in $1: its size, and what dumpcount reads in it.
dump_info() {
	local f c
	f=$(find "$1" -type f ! -name stderr -print -quit)
	if [[ -z $f ]]; then
		echo "dump_bytes=0"
		return
	fi
	printf 'dump_bytes=%s' "$(stat -c %s "$f")"
	if [[ -x $B/dumpcount ]] && c=$("$B/dumpcount" "$f" 2>/dev/null); then
		printf ' %s' "${c#* }"
	fi
	echo
}

# bench_run SLOT TEST CFG PROGRAM ARGS...: one run, one line in $raw.
bench_run() {
	local slot=$1 test=$2 cfg=$3
	shift 3
	local dir=$tmp/$test.$cfg.$slot out line
	local -a env=(env -u LD_PRELOAD -u LOCKCONTEND)
	case $cfg in
	none) ;;
	fwd) env+=("LD_PRELOAD=$fwd") ;;
	lc) env+=("LD_PRELOAD=$lc" "LOCKCONTEND=out=$dir/lc.dump") ;;
	lc1) env+=("LD_PRELOAD=$lc" "LOCKCONTEND=rate=1,stacks=1,out=$dir/lc.dump") ;;
	lc100) env+=("LD_PRELOAD=$lc" "LOCKCONTEND=rate=100,out=$dir/lc.dump") ;;
	*) die "unknown configuration $cfg" ;;
	esac
	mkdir -p "$dir"
	if ! out=$(cd "$dir" && timeout "$RUN_TIMEOUT" "${env[@]}" "$@" 2>"$dir/stderr") ||
		[[ $out != *=* ]]; then
		echo "run.sh: $test under $cfg, slot $slot, failed: ${env[*]} $*" >&2
		cat "$dir/stderr" >&2
		exit 1
	fi
	line="slot=$slot test=$test cfg=$cfg ${out#* }"
	[[ $test == stacks && $cfg == lc* ]] && line+=" $(dump_info "$dir")"
	echo "$line" >>"$raw"
	rm -rf "$dir"
}

bench_round() {
	local r=$1 rep slot t c
	for c in none fwd lc; do
		bench_run "$r" unc "$c" "$B/uncontended" "$UNC_PAIRS"
	done
	for ((rep = 1; rep <= CONT_REPEAT; rep++)); do
		slot=$(((r - 1) * CONT_REPEAT + rep))
		for t in 2 4; do
			for c in none fwd lc1 lc100; do
				bench_run "$slot" "lock$t" "$c" "$B/contended" lock "$t" "$CONT_PAIRS" "$CONT_CS" "$CONT_OUT"
			done
			for c in none fwd lc1; do
				bench_run "$slot" "probe$t" "$c" "$B/contended" probe "$t" "$CONT_PAIRS" "$CONT_CS" "$CONT_OUT"
			done
		done
	done
	for c in none lc1; do
		bench_run "$r" stacks "$c" "$B/manystacks" "$STACK_PATHS"
	done
}

main() {
	local r p start=$SECONDS
	for p in uncontended contended manystacks libfwd.so; do
		[[ -e $B/$p ]] || die "$B/$p is missing: run make in $here"
	done
	fwd=$(realpath "$B/libfwd.so")
	lc=$(lc_resolve)
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/lcbench.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	raw=$B/results.txt
	: >"$raw"
	for ((r = 1; r <= ROUNDS; r++)); do
		echo "run.sh: round $r/$ROUNDS ($((SECONDS - start)) s)" >&2
		bench_round "$r"
	done
	awk -v lc="$lc" -v standin="$([[ $lc == "$fwd" ]] && echo 1 || echo 0)" \
		-v rounds="$ROUNDS" -v cont_repeat="$CONT_REPEAT" \
		-v unc_pairs="$UNC_PAIRS" -v cont_pairs="$CONT_PAIRS" -v cont_cs="$CONT_CS" \
		-v cont_out="$CONT_OUT" -v stack_paths="$STACK_PATHS" \
		-f "$here/report.awk" "$raw"
	echo "($((SECONDS - start)) s; raw lines in $raw)"
}

main "$@"
