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
#        CONT_REPEAT=8         times per round test 2 runs (each time every
#                              configuration once, back to back): it is a noisy one
#        PERT_REPEAT=4         times per round test 3 passes over its grid (each cell
#                              under every configuration, back to back)
#        UNC_REPEAT=3          the same for test 1 (both kinds of pair): its runs are
#                              short, and its goals only 15% away from 1
#        UNC_PAIRS=20000000 CONT_PAIRS=2000000 CONT_CS=4 CONT_OUT=16 STACK_PATHS=10000
#        INIT_PAIRS=200000     test 6's init + destroy pairs a run
#        SYSCALL_PAIRS=2000000 test 1's syscall() calls a run (getpid, and futex EAGAIN)
#        PERT_CS="0 50 200"    test 3's critical sections (steps of work inside) ...
#        PERT_PAIRS="..."      ... the pairs of a run for each of them, in the same order ...
#        PERT_THREADS="2 4 8"  ... and its thread counts: the grid is every pair of the two
#        PROCS_N=1000          test 9: /bin/true runs a run (a shell loop)
#        SECTIONS="locks attach sym init top procs"  what to run: locks = tests 1-4 (the preload),
#                              pert = test 3 alone, attach = test 8 (attached instead of
#                              preloaded), sym = test 5 (the symbolizer), init = test 6
#                              (making locks), top = test 7 (a refresh of lockcontend-top),
#                              procs = test 9 (process start-up: /bin/true x PROCS_N and a
#                              make -j2 of the symbolizer's sources), build = test 10 (a
#                              real build, not run unless named: about 70 s);
#                              SECTIONS=sym alone takes about 45 s, SECTIONS=top about 30 s
#        BUILD_SRC=DIR         test 10: the source tree built (a fresh copy each run);
#                              default this repository's HEAD (git archive)
#        BUILD_CMD='...'       test 10: the build, run by sh in the copy; default make -j2 of
#                              build/liblockcontend.so by this repository's Makefile
#        BUILD_OUT='FILES'     test 10: what the build makes, compared between runs (bytes)
#        SYM_BIN=PATH          the binary test 5 symbolizes; default the compiler's
#                              libasan.so (`gcc -print-file-name=libasan.so`)
#        SYM_STACKS=10000 SYM_DEPTH=20 SYM_ADDRS=2500 (distinct return addresses)
#        SYMBOLIZE=PATH        the symbolizer test 5 measures; default ../build/lockcontend-symbolize
#        ATTACH_THREADS=100 ATTACH_LIBS=50  test 8: the threads and libraries of the
#                              process attached to and detached from ROUNDS times
#        TOP_REFRESHES=20      test 7: refreshes timed per run (after the first read), on the
#                              dump test 5 symbolizes (SYM_BIN, SYM_STACKS...)
# Raw result lines, one per run, go to bench/build/results.txt; `slot` numbers the
# back-to-back passes over the configurations, the unit report.awk pairs runs by.
#
# Configurations: none (no preload), fwd (build/libfwd.so, the forwarding floor),
# lc (LC_LIB, default settings), lc0 (holder=0,hold=0: no holder view, no hold
# sampling), lc1 (rate=1,stacks=1), lc100 (rate=100), lcnw (lc1 with waiting=0:
# no WAITING record written before a thread blocks), lca and lca1 (no preload:
# the program loads LC_LIB and attaches it to itself, defaults / rate=1,stacks=1;
# test 8).  Every
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
PERT_REPEAT=${PERT_REPEAT:-4}
PERT_CS=${PERT_CS:-0 50 200}
PERT_PAIRS=${PERT_PAIRS:-1000000 500000 150000}
PERT_THREADS=${PERT_THREADS:-2 4 8}
UNC_REPEAT=${UNC_REPEAT:-3}
CONT_CS=${CONT_CS:-4}
CONT_OUT=${CONT_OUT:-16}
STACK_PATHS=${STACK_PATHS:-10000}
SECTIONS=${SECTIONS:-locks attach sym init top procs}
PROCS_N=${PROCS_N:-1000}
ATTACH_THREADS=${ATTACH_THREADS:-100}
ATTACH_LIBS=${ATTACH_LIBS:-50}
TOP_REFRESHES=${TOP_REFRESHES:-20}
INIT_PAIRS=${INIT_PAIRS:-200000}
SYSCALL_PAIRS=${SYSCALL_PAIRS:-2000000}
SYM_STACKS=${SYM_STACKS:-10000}
SYM_DEPTH=${SYM_DEPTH:-20}
SYM_ADDRS=${SYM_ADDRS:-2500}
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
	local -a env=(env -u LD_PRELOAD -u LOCKCONTEND -u BENCH_ATTACH -u BENCH_ATTACH_SETTINGS)
	case $cfg in
	none) ;;
	fwd) env+=("LD_PRELOAD=$fwd") ;;
	lc) env+=("LD_PRELOAD=$lc" "LOCKCONTEND=out=$dir/lc.dump") ;;
	lc0) env+=("LD_PRELOAD=$lc" "LOCKCONTEND=holder=0,hold=0,out=$dir/lc.dump") ;;
	lc1) env+=("LD_PRELOAD=$lc" "LOCKCONTEND=rate=1,stacks=1,out=$dir/lc.dump") ;;
	lc100) env+=("LD_PRELOAD=$lc" "LOCKCONTEND=rate=100,out=$dir/lc.dump") ;;
	lcnw) env+=("LD_PRELOAD=$lc" "LOCKCONTEND=rate=1,stacks=1,waiting=0,out=$dir/lc.dump") ;;
	lcni) env+=("LD_PRELOAD=$lc" "LOCKCONTEND=inits=0,out=$dir/lc.dump") ;;
	lca) env+=("BENCH_ATTACH=$lc" "BENCH_ATTACH_SETTINGS=out=$dir/lc.dump") ;;
	lca1) env+=("BENCH_ATTACH=$lc" "BENCH_ATTACH_SETTINGS=rate=1,stacks=1,out=$dir/lc.dump") ;;
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
	# test 10: the processes of the build that met a busy lock (a profile each)
	[[ $test == build && $cfg == lc ]] && line+=" profiles=$(find "$dir" -name 'lc.dump*' | wc -l)"
	if [[ $cfg == lc* ]] && grep -q 'LOCKCONTEND:' "$dir/stderr"; then
		line+=" config_warned=1"
		config_warn_once "$cfg" "$dir/stderr"
	fi
	echo "$line" >>"$raw"
	rm -rf "$dir"
}

# Lockcontend warned about its LOCKCONTEND settings under configuration $1 (a
# key this build does not know is ignored: the run measured the defaults
# instead); the raw line says config_warned=1, and the first warning of each
# configuration is shown here.
config_warn_once() {
	[[ " $warned_cfgs " != *" $1 "* ]] || return 0
	warned_cfgs+=" $1"
	echo "run.sh: under $1: $(grep -m 1 'LOCKCONTEND:' "$2")" >&2
}

# 1 if library $1 defines pthread_rwlock_rdlock (else test 1's rwlock lc runs
# are glibc's own and report.awk says so), also when nm cannot tell.
lc_has_rwlock() {
	lc_has "$1" pthread_rwlock_rdlock
}

# 0 when library $1 does not define function $2, else 1.
lc_has() {
	local syms
	if syms=$(nm -D --defined-only "$1" 2>/dev/null) && ! grep -qw "$2" <<<"$syms"; then
		echo 0
	else
		echo 1
	fi
}

# Test 3, one pass over the grid: every critical section (PERT_CS, its pairs
# the same place in PERT_PAIRS) by every thread count, each cell under none,
# fwd and lc back to back.
pert_round() {
	local slot=$1 i t c
	local -a cs pairs
	read -r -a cs <<<"$PERT_CS"
	read -r -a pairs <<<"$PERT_PAIRS"
	for ((i = 0; i < ${#cs[@]}; i++)); do
		for t in $PERT_THREADS; do
			for c in none fwd lc; do
				bench_run "$slot" "pert_c${cs[i]}_t$t" "$c" "$B/contended" probe "$t" \
					"${pairs[i]}" "${cs[i]}" "$CONT_OUT"
			done
		done
	done
}

# Is test $1 (locks, pert) to run?  locks (tests 1-4) includes pert (test 3).
section_on() {
	[[ " $SECTIONS " == *" $1 "* || ($1 == pert && " $SECTIONS " == *" locks "*) ]]
}

bench_round() {
	local r=$1 rep slot t c k
	if section_on locks; then
		for ((rep = 1; rep <= UNC_REPEAT; rep++)); do
			slot=$(((r - 1) * UNC_REPEAT + rep))
			for k in mutex rdlock sem signal; do
				for c in none fwd lc lc0; do
					bench_run "$slot" "unc_$k" "$c" "$B/uncontended" "$k" "$UNC_PAIRS"
				done
			done
			for k in syscall eagain; do
				for c in none fwd lc lc0; do
					bench_run "$slot" "unc_$k" "$c" "$B/uncontended" "$k" "$SYSCALL_PAIRS"
				done
			done
		done
		for ((rep = 1; rep <= CONT_REPEAT; rep++)); do
			slot=$(((r - 1) * CONT_REPEAT + rep))
			for t in 2 4; do
				for c in none fwd lc1 lc100 lcnw; do
					bench_run "$slot" "lock$t" "$c" "$B/contended" lock "$t" "$CONT_PAIRS" \
						"$CONT_CS" "$CONT_OUT"
				done
			done
		done
	fi
	for ((rep = 1; rep <= PERT_REPEAT; rep++)); do
		slot=$(((r - 1) * PERT_REPEAT + rep))
		pert_round "$slot"
	done
	if section_on locks; then
		for c in none lc1; do
			bench_run "$r" stacks "$c" "$B/manystacks" "$STACK_PATHS"
		done
	fi
}

# ---- 6. making locks -----------------------------------------------------------
# pthread_mutex_init + pthread_mutex_destroy, one thread (uncontended.c init):
# none, lc (defaults: each init notes its stack) and lcni (inits=0: forwarded
# only), back to back, UNC_REPEAT times a round.
init_round() {
	local r=$1 rep slot c
	for ((rep = 1; rep <= UNC_REPEAT; rep++)); do
		slot=$(((r - 1) * UNC_REPEAT + rep))
		for c in none lc lcni; do
			bench_run "$slot" unc_init "$c" "$B/uncontended" init "$INIT_PAIRS"
		done
	done
}

# ---- 9. process start-up ---------------------------------------------------------
# What the preload costs each process it is loaded into, most of which never
# contend (a build, a shell script): /bin/true PROCS_N times from a bash
# loop, and a real build, make -j2 of this repository's symbolizer sources
# (-O2, into the run's directory), each under none, fwd and lc back to back,
# timed by runstat (wall, user, sys of the whole tree).
procs_make() {
	printf '%s\n' "SRCS := \$(wildcard $root/symbolize/*.c)" \
		"all: \$(patsubst $root/symbolize/%.c,%.o,\$(SRCS))" \
		"%.o: $root/symbolize/%.c" \
		"	cc -std=gnu11 -O2 -D_GNU_SOURCE -I$root/include -c \$< -o \$@" >"$tmp/procs.mk"
}

procs_round() {
	local r=$1 c
	for c in none fwd lc; do
		bench_run "$r" procs_true "$c" "$B/runstat" -- bash -c \
			"for ((i = 0; i < $PROCS_N; i++)); do /bin/true; done"
	done
	for c in none fwd lc; do
		bench_run "$r" procs_make "$c" "$B/runstat" -- make -s -j2 -f "$tmp/procs.mk"
	done
}

# ---- 10. a real build ---------------------------------------------------------
# A real C source tree built from clean under none, fwd and lc back to back,
# ROUNDS times, timed whole by runstat: by default this repository's own HEAD
# (git archive; a tree without git is copied without build/ and .git/), its
# preload library built by its Makefile with make -j2 (BUILD_CMD: the npm
# and Debian checks emptied, so it needs no network); BUILD_SRC another tree
# (a Debian source package: BUILD_CMD='./configure -q && make -j2 -s').
# Every run builds in the same place, a fresh copy, so that BUILD_OUT's bytes
# can be compared between runs.  One untimed run first, under strace -f when
# there is one, counts the programs the build executes (execve: each loads
# the preload anew) and its processes, and warms the page cache.
BUILD_CMD_DEFAULT='make -j2 -s NPM_STAMP= DEB_PACKAGES= DEB_COMMANDS= build/liblockcontend.so'

build_copy_source() {
	local src=$tmp/buildsrc
	mkdir -p "$src"
	if [[ -n ${BUILD_SRC:-} ]]; then
		[[ -d $BUILD_SRC ]] || die "test 10: BUILD_SRC=$BUILD_SRC is not a directory"
		cp -a "$BUILD_SRC/." "$src/"
	elif git -C "$root" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
		git -C "$root" archive HEAD | tar -x -C "$src"
	else
		tar -C "$root" --exclude=./build --exclude=./.git --exclude=./bench/build -c . | tar -x -C "$src"
	fi
}

# build_fresh: the copy the next run builds, always at $btree.
build_fresh() {
	rm -rf "$btree"
	cp -a "$tmp/buildsrc" "$btree"
}

# The untimed run: under strace -f when there is one, the successful execve
# calls (an unfinished one resumes on a line of its own) and the processes
# (distinct pids).  A line "slot=1 test=buildcount cfg=none execs=E procs=P".
build_count() {
	local log=$tmp/build.strace line=
	build_fresh
	echo "run.sh: test 10, untimed run ($((SECONDS - start)) s)" >&2
	if command -v strace >/dev/null && (cd "$btree" && timeout "$RUN_TIMEOUT" env -u LD_PRELOAD \
		-u LOCKCONTEND strace -f -qq -o "$log" -e trace=execve,fork,vfork,clone,clone3 \
		sh -c "$build_cmd" >"$tmp/build.out" 2>&1); then
		line=$(awk '/execve/ && / = 0$/ { e++ } { p[$1] } END { n = 0; for (k in p) n++
			printf "execs=%d procs=%d", e, n }' "$log")
	elif ! (cd "$btree" && timeout "$RUN_TIMEOUT" env -u LD_PRELOAD -u LOCKCONTEND \
		sh -c "$build_cmd" >"$tmp/build.out" 2>&1); then
		cat "$tmp/build.out" >&2
		die "test 10: the build failed (untimed run): cd $btree && $build_cmd"
	fi
	echo "slot=1 test=buildcount cfg=none $line" >>"$raw"
	rm -f "$log"
}

# One timed run; its raw line gets the build's status, a checksum of
# BUILD_OUT and the profiles lc left (processes that met a busy lock).
build_run() {
	local slot=$1 cfg=$2 sum
	build_fresh
	bench_run "$slot" build "$cfg" "$B/runstat" -- sh -c "cd '$btree' && $build_cmd"
	[[ $(tail -n 1 "$raw") == *" status=0"* ]] ||
		die "test 10: the build failed under $cfg, slot $slot: cd $btree && $build_cmd"
	# shellcheck disable=SC2086 # BUILD_OUT may name several files
	sum=$(cd "$btree" && cat $build_out | md5sum) || die "test 10: no $build_out after the build"
	sed -i "\$ s/\$/ out_sum=${sum%% *}/" "$raw"
}

build_section() {
	local r c
	build_cmd=${BUILD_CMD:-$BUILD_CMD_DEFAULT}
	build_out=${BUILD_OUT:-build/liblockcontend.so}
	btree=$tmp/buildtree
	build_copy_source
	build_count
	for ((r = 1; r <= ROUNDS; r++)); do
		echo "run.sh: test 10, round $r/$ROUNDS ($((SECONDS - start)) s)" >&2
		for c in none fwd lc; do
			build_run "$r" "$c"
		done
	done
}

# ---- 8. attached -------------------------------------------------------------
# The costs of a process attached to (lockcontend attach PID) rather than
# started under the preload.  lca and lca1 run the bench programs with no
# preload; each loads LC_LIB with dlopen and starts it with lockcontend_attach
# before timing (benchutil.h bench_attach): its calls then go through the GOT
# slots the library rewrote.  Test 1's pairs under fwd, lc and lca, test 2's
# contention under none, lc1 and lca1, back to back; then the stops: the
# attachee fixture with ATTACH_THREADS threads in pthread_cond_wait and
# ATTACH_LIBS libraries loaded, attached to and detached from ROUNDS times by
# build/lockcontend-attach --verbose, which says how long it stopped the
# thread it borrowed.
attach_round() {
	local r=$1 rep slot t c k
	for ((rep = 1; rep <= UNC_REPEAT; rep++)); do
		slot=$(((r - 1) * UNC_REPEAT + rep))
		for k in mutex rdlock; do
			for c in fwd lc lca; do
				bench_run "$slot" "att_unc_$k" "$c" "$B/uncontended" "$k" "$UNC_PAIRS"
			done
		done
	done
	for ((rep = 1; rep <= CONT_REPEAT / 2; rep++)); do
		slot=$(((r - 1) * CONT_REPEAT + rep))
		for t in 2 4; do
			for c in none lc1 lca1; do
				bench_run "$slot" "att_lock$t" "$c" "$B/contended" lock "$t" "$CONT_PAIRS" "$CONT_CS" "$CONT_OUT"
			done
		done
	done
}

attach_skip_because() {
	echo "slot=1 test=attsetup cfg=skip" >>"$raw"
	attach_skip=$1
	echo "run.sh: test 8's stops skipped: $1" >&2
}

# One attach and one detach of the running attachee $1 (pid $2), round $3.
attach_stops() {
	local dir=$1 pid=$2 r=$3 how err ms
	for how in start stop; do
		local -a cmd=("$attacher" "$how" "$pid" --verbose)
		[[ $how == stop ]] || cmd+=(--lib "$lc" --settings "out=$dir/r$r.dump")
		if ! err=$(timeout "$RUN_TIMEOUT" "${cmd[@]}" 2>&1); then
			echo "run.sh: test 8, round $r: ${cmd[*]} failed: $err" >&2
			return 1
		fi
		ms=$(sed -n 's/.* stopped \([0-9.]*\) ms (thread [0-9]*, \([0-9]*\) tries).*/ms=\1 tries=\2/p' <<<"$err")
		[[ -n $ms ]] || { echo "run.sh: test 8: no stop time in: $err" >&2; return 1; }
		echo "slot=$r test=att_stop cfg=$how $ms" >>"$raw"
	done
}

attach_stop_section() {
	local dir=$tmp/attachee fifo r ok=1 line rc
	local fixture=$root/build/test/fixtures/attachee
	attacher=$root/build/lockcontend-attach
	if [[ ! -x $attacher || ! -x $fixture || ! -f $root/build/test/fixtures/attachfill.so ]]; then
		attach_skip_because "build $attacher and the attachee fixture first (make bench does)"
		return
	fi
	mkdir -p "$dir"
	fifo=$dir/out
	mkfifo "$fifo"
	(cd "$dir" && exec env -u LD_PRELOAD -u LOCKCONTEND "$fixture" many "$ATTACH_THREADS" \
		"$ATTACH_LIBS" >"$fifo" 2>"$dir/stderr") &
	attachee=$!
	exec {attachee_out}<"$fifo"
	while read -r -t "$RUN_TIMEOUT" -u "$attachee_out" line && [[ $line != ready ]]; do :; done
	if [[ $line != ready ]]; then
		kill -KILL "$attachee" 2>/dev/null
		die "test 8: the attachee never got ready: $(cat "$dir/stderr")"
	fi
	for ((r = 1; r <= ROUNDS && ok; r++)); do
		echo "run.sh: test 8, stops, round $r/$ROUNDS ($((SECONDS - start)) s)" >&2
		attach_stops "$dir" "$attachee" "$r" || ok=0
	done
	echo quit >"$dir/cmd"
	# to its end (EOF: read says 1), RUN_TIMEOUT at most (more than 128): a
	# hung attachee fails the bench
	while :; do
		read -r -t "$RUN_TIMEOUT" -u "$attachee_out" line || { rc=$?; break; }
	done
	exec {attachee_out}<&-
	((rc <= 128)) || { kill -KILL "$attachee"; ok=0; }
	wait "$attachee" || ok=0
	((ok)) || die "test 8: an attach or a detach failed, or the attachee exited with an error"
}

# ---- 5. symbolize ------------------------------------------------------------
# build/lockcontend-symbolize --format=folded on a synthetic dump (mkdump: one
# module, SYM_BIN, at a load bias; SYM_STACKS distinct stacks of SYM_DEPTH
# return addresses inside its functions, SYM_ADDRS of them distinct) against
# `eu-addr2line -i -f -e SYM_BIN` on those distinct addresses: the same
# library (libdw) doing only the lookups, each address once.  llvm-symbolizer
# (another DWARF reader, from clang's LLVM) is timed beside them for
# reference, and its inline chains are the check's expected frames.  A first
# pass, not timed, writes every output for the check (and warms the page
# cache); then ROUNDS timed rounds run each tool once, back to back, the
# order alternating, output to /dev/null.  runstat gives wall time and peak RSS.

sym_setup_fail() {
	echo "slot=1 test=symsetup cfg=skip" >>"$raw"
	sym_skip=$1
	echo "run.sh: test 5 skipped: $1" >&2
}

# The binary to symbolize: SYM_BIN, else the compiler's libasan (C++, full
# DWARF 5 with inline info, installed with gcc: see README).
sym_bin() {
	local p=${SYM_BIN:-}
	if [[ -z $p ]]; then
		p=$("${CC:-gcc}" -print-file-name=libasan.so 2>/dev/null) || p=
		[[ $p == /* ]] || p=
	fi
	[[ -n $p && -f $p ]] && realpath "$p"
}

# sym_time SLOT CFG OUT: one run of one tool, output to OUT; a line in $raw.
sym_time() {
	local slot=$1 cfg=$2 out=$3 line
	local -a cmd
	case $cfg in
	lc | lc_check) cmd=("$B/runstat" -o "$out" -- "$symbolize" --format=folded "$sym/dump.raw") ;;
	eu) cmd=("$B/runstat" -i "$sym/addrs" -o "$out" -- eu-addr2line -i -f -e "$sym_bin") ;;
	eu_check) cmd=("$B/runstat" -i "$sym/addrs" -o "$out" -- eu-addr2line -a -i -f -e "$sym_bin") ;;
	llvm | llvm_check) cmd=("$B/runstat" -i "$sym/addrs" -o "$out" --
		"$llvm_symbolizer" --obj="$sym_bin" --inlining --functions=linkage) ;;
	esac
	if ! line=$(timeout "$RUN_TIMEOUT" "${cmd[@]}" 2>"$sym/stderr") || [[ $line != *" status=0"* ]]; then
		echo "run.sh: test 5, $cfg, slot $slot, failed: ${cmd[*]}" >&2
		cat "$sym/stderr" >&2
		exit 1
	fi
	echo "slot=$slot test=sym cfg=$cfg ${line#* }" >>"$raw"
}

# Frames a report must have: the length of each address's inline chain
# (eu-addr2line -a: name and place per frame after the address line;
# llvm-symbolizer: one blank-line-separated block per address, name and place
# per frame) times the frames of the dump holding it ($sym/uses).  Prints
# "frames unknown": the sum, and the names given as ??.
chain_frames() {
	case $1 in
	eu) awk 'FNR == NR { uses[FNR] = $1; next }
		/^0x/ { a++; next }
		{ k++ }
		k % 2 == 1 { chain[a]++; if ($0 ~ /^\?\?/) q++ }
		END { for (i = 1; i <= a; i++) e += chain[i] * uses[i]; printf "%d %d\n", e, q }' \
		"$sym/uses" "$sym/eu" ;;
	llvm) awk 'FNR == NR { uses[FNR] = $1; next }
		{ n = split($0, l, "\n"); for (i = 1; i <= n; i += 2) if (l[i] ~ /^\?\?/) q++
		  e += int(n / 2) * uses[FNR] }
		END { printf "%d %d\n", e, q }' "$sym/uses" RS= "$sym/llvm" ;;
	esac
}

# The check, on the untimed pass: one folded line per distinct stack, no frame
# left as module+0xoffset, and as many frames, inline ones included, as
# llvm-symbolizer's chains give (eu-addr2line's when there is no llvm-symbolizer:
# its chains are a few frames off, see README, so that check allows 1%).
sym_check() {
	local lines unres frames expect unknown eu_expect eu_unknown oracle
	read -r lines unres frames < <(awk '{
		sub(/ [0-9]+$/, ""); n = split($0, f, ";"); fr += n
		for (i = 1; i <= n; i++) if (f[i] ~ /\+0x[0-9a-f]+$/) u++
	} END { printf "%d %d %d\n", NR, u, fr }' "$sym/folded")
	read -r eu_expect eu_unknown < <(chain_frames eu)
	if [[ -n $llvm_symbolizer ]]; then
		oracle=llvm
		read -r expect unknown < <(chain_frames llvm)
	else
		oracle=eu expect=$eu_expect unknown=$eu_unknown
	fi
	echo "slot=1 test=symcheck cfg=lc lines=$lines unresolved=$unres frames=$frames" \
		"oracle=$oracle expect_frames=$expect unknown=$unknown eu_frames=$eu_expect" >>"$raw"
}

sym_section() {
	local r line c
	local -a order
	sym=$tmp/sym
	mkdir -p "$sym"
	symbolize=${SYMBOLIZE:-$root/build/lockcontend-symbolize}
	sym_bin=$(sym_bin) || sym_bin=
	llvm_symbolizer=$(command -v llvm-symbolizer || command -v llvm-symbolizer-14) || llvm_symbolizer=
	if [[ ! -x $symbolize ]]; then
		sym_setup_fail "no $symbolize: build it (make at the top)"
		return
	fi
	if [[ -z $sym_bin ]]; then
		sym_setup_fail "no binary to symbolize: set SYM_BIN (no libasan.so from ${CC:-gcc})"
		return
	fi
	if ! command -v eu-addr2line >/dev/null; then
		sym_setup_fail "no eu-addr2line: install elfutils (make deps)"
		return
	fi
	if ! line=$("$B/mkdump" -n "$SYM_STACKS" -d "$SYM_DEPTH" -a "$SYM_ADDRS" -u "$sym/uses" \
		"$sym_bin" "$sym/dump.raw" "$sym/addrs" 2>"$sym/stderr"); then
		cat "$sym/stderr" >&2
		die "test 5: mkdump failed on $sym_bin"
	fi
	echo "slot=1 test=symsetup cfg=lc ${line#* }" >>"$raw"
	echo "run.sh: test 5, untimed pass and check ($((SECONDS - start)) s)" >&2
	sym_time 1 lc_check "$sym/folded"
	sym_time 1 eu_check "$sym/eu"
	[[ -z $llvm_symbolizer ]] || sym_time 1 llvm_check "$sym/llvm"
	sym_check
	for ((r = 1; r <= ROUNDS; r++)); do
		echo "run.sh: test 5, round $r/$ROUNDS ($((SECONDS - start)) s)" >&2
		order=(lc eu)
		((r % 2)) || order=(eu lc)
		[[ -z $llvm_symbolizer ]] || order+=(llvm)
		for c in "${order[@]}"; do
			sym_time "$r" "$c" /dev/null
		done
	done
}

# ---- 7. a refresh of lockcontend-top ------------------------------------------
# bench/build/toprefresh (toprefresh.c: what lockcontend-top does at each read)
# on test 5's synthetic dump: the first read, which resolves every address,
# then TOP_REFRESHES reads through the same resolver cache; ROUNDS runs.

top_section() {
	local r line dir=$tmp/top bin
	mkdir -p "$dir"
	if [[ ! -x $B/toprefresh ]]; then
		echo "slot=1 test=topsetup cfg=skip" >>"$raw"
		top_skip="no $B/toprefresh: build the top level first (make), then bench"
		echo "run.sh: test 7 skipped: $top_skip" >&2
		return
	fi
	if [[ ! -f ${sym:-}/dump.raw ]]; then
		bin=$(sym_bin) || bin=
		[[ -n $bin ]] || { top_skip="no binary to symbolize: set SYM_BIN"; return; }
		"$B/mkdump" -n "$SYM_STACKS" -d "$SYM_DEPTH" -a "$SYM_ADDRS" "$bin" "$dir/dump.raw" \
			"$dir/addrs" >/dev/null || die "test 7: mkdump failed on $bin"
	else
		ln -s "$sym/dump.raw" "$dir/dump.raw"
	fi
	for ((r = 1; r <= ROUNDS; r++)); do
		echo "run.sh: test 7, round $r/$ROUNDS ($((SECONDS - start)) s)" >&2
		if ! line=$(timeout "$RUN_TIMEOUT" "$B/toprefresh" -n "$TOP_REFRESHES" "$dir/dump.raw" \
			2>"$dir/stderr"); then
			cat "$dir/stderr" >&2
			die "test 7, round $r, failed: $B/toprefresh -n $TOP_REFRESHES $dir/dump.raw"
		fi
		echo "slot=$r test=top cfg=lc ${line#* }" >>"$raw"
	done
}

main() {
	local r p
	start=$SECONDS
	sym_skip= top_skip= attach_skip=
	warned_cfgs=
	for p in uncontended contended manystacks libfwd.so mkdump runstat; do
		[[ -e $B/$p ]] || die "$B/$p is missing: run make in $here"
	done
	fwd=$(realpath "$B/libfwd.so")
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/lcbench.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	raw=$B/results.txt
	: >"$raw"
	lc=
	lc_rwlock=1
	lc_syscall=1
	if section_on pert; then # tests 1-4, or test 3 alone
		lc=$(lc_resolve)
		lc_rwlock=$(lc_has_rwlock "$lc")
		lc_syscall=$(lc_has "$lc" syscall)
		for ((r = 1; r <= ROUNDS; r++)); do
			echo "run.sh: round $r/$ROUNDS ($((SECONDS - start)) s)" >&2
			bench_round "$r"
		done
	fi
	if [[ " $SECTIONS " == *" init "* ]]; then
		[[ -n $lc ]] || lc=$(lc_resolve)
		for ((r = 1; r <= ROUNDS; r++)); do
			echo "run.sh: test 6, round $r/$ROUNDS ($((SECONDS - start)) s)" >&2
			init_round "$r"
		done
	fi
	if [[ " $SECTIONS " == *" attach "* ]]; then
		[[ -n $lc ]] || lc=$(lc_resolve)
		for ((r = 1; r <= ROUNDS; r++)); do
			echo "run.sh: test 8, round $r/$ROUNDS ($((SECONDS - start)) s)" >&2
			attach_round "$r"
		done
		attach_stop_section
	fi
	if [[ " $SECTIONS " == *" procs "* ]]; then
		[[ -n $lc ]] || lc=$(lc_resolve)
		procs_make
		for ((r = 1; r <= ROUNDS; r++)); do
			echo "run.sh: test 9, round $r/$ROUNDS ($((SECONDS - start)) s)" >&2
			procs_round "$r"
		done
	fi
	if [[ " $SECTIONS " == *" build "* ]]; then
		[[ -n $lc ]] || lc=$(lc_resolve)
		build_section
	fi
	if [[ " $SECTIONS " == *" sym "* ]]; then
		sym_section
	fi
	if [[ " $SECTIONS " == *" top "* ]]; then
		top_section
	fi
	awk -v lc="$lc" -v standin="$([[ -n $lc && $lc == "$fwd" ]] && echo 1 || echo 0)" \
		-v rounds="$ROUNDS" -v cont_repeat="$CONT_REPEAT" -v unc_repeat="$UNC_REPEAT" \
		-v pert_repeat="$PERT_REPEAT" -v pert_cs="$PERT_CS" -v pert_pairs="$PERT_PAIRS" \
		-v pert_threads="$PERT_THREADS" \
		-v lc_rwlock="$lc_rwlock" -v lc_syscall="$lc_syscall" -v syscall_pairs="$SYSCALL_PAIRS" \
		-v unc_pairs="$UNC_PAIRS" -v cont_pairs="$CONT_PAIRS" -v cont_cs="$CONT_CS" \
		-v cont_out="$CONT_OUT" -v stack_paths="$STACK_PATHS" -v sections="$SECTIONS" \
		-v init_pairs="$INIT_PAIRS" -v procs_n="$PROCS_N" \
		-v build_cmd="${build_cmd:-}" -v build_src="${BUILD_SRC:-this repository (HEAD)}" \
		-v build_out="${build_out:-}" \
		-v sym_bin="${sym_bin:-}" -v sym_skip="$sym_skip" -v sym_tool="${SYMBOLIZE:-}" \
		-v top_skip="$top_skip" -v top_refreshes="$TOP_REFRESHES" \
		-v attach_skip="$attach_skip" -v attach_threads="$ATTACH_THREADS" -v attach_libs="$ATTACH_LIBS" \
		-f "$here/report.awk" "$raw"
	echo "($((SECONDS - start)) s; raw lines in $raw)"
}

main "$@"
