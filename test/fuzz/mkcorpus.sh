#!/bin/sh
# mkcorpus.sh — regenerate test/fuzz/corpus/, the fuzzer's committed seeds.
#
#   test/fuzz/mkcorpus.sh        (works from anywhere; runs at the repository root)
#
# Eight real dumps (every view, LOCK, SLOT and LIVE records; lock_makers.raw
# LOCK_LOST and LOCK_INIT ones too, phases.raw SERIES ones, attach.raw an
# ATTACH one, made by an attach) from the test fixtures under the preload
# — five complete, one whose writer died (_exit: no trailer, zeros past the
# records, cut to 64 of them) — then seeds
# derived from the first one by cuts and edits (mkseed.c): the reader's paths
# for a file still being written (records ending at zeros or at the end of
# the file, PENDING records, totals from the slots, zeros after a trailer),
# cut short, skipped (a newer minor version's record type or lock kind),
# refused (other major versions, a header of zeros, a view, frame count or
# module epochs out of range, a second LOST or LIVE record) and empty input
# all start covered.
# The real dumps hold pids and addresses, so each run differs in those
# bytes; the derivations are the same every time.  Each seed is checked
# against what lockcontend-rawdump must say of it (0 read whole and adding
# up, 1 refused, 2 cut short or not adding up) so a seed cannot silently
# stop meaning what its name says.
set -eu
cd "$(dirname "$0")/../.."

make -s all build/test/fixtures/known_wait build/test/fixtures/scenarios \
	build/test/fixtures/lock_names build/test/fixtures/crash build/test/fixtures/lock_makers \
	build/test/fixtures/timed_phases build/test/fixtures/attach build/test/fixtures/attach_runpath.so \
	build/test/fixtures/attach_plugin.so build/test/fixtures/attach_rp/libattach_dep.so
out=test/fuzz/corpus
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p build/fuzz
${CC:-cc} -std=gnu11 -O1 -Wall -Wextra -Werror -Iinclude -o build/fuzz/mkseed test/fuzz/mkseed.c
seed=build/fuzz/mkseed
# The first values out of range, from dumpfmt.h (mkseed limits).
eval "$($seed limits)"

# profile DUMP CONFIG PROGRAM ARGS...: a real dump of PROGRAM.
profile() {
	dump=$1 cfg=$2
	shift 2
	LOCKCONTEND="$cfg,out=$tmp/$dump" LD_PRELOAD=$PWD/build/liblockcontend.so "$@" >/dev/null ||
		true
	cat "$tmp/$dump" >"$out/$dump"
}

# offset TYPE [NTH]: where the NTH (default first) record of TYPE starts.
offset() {
	$seed records "$out/known_wait.raw" | awk -v t="$1" -v n="${2:-1}" \
		'$2 == t && ++k == n { print $1; exit }'
}

# cut NAME BYTES: the first BYTES of the known_wait dump.
cut() {
	head -c "$2" "$out/known_wait.raw" >"$out/$1"
}

# Every seed but the two real dumps of a 3.0 writer (known_wait-3.0.raw,
# died-3.0.raw: made by this script then, kept since, for the reader's older
# paths), which this version cannot make again.
mkdir -p "$out"
find "$out" -type f ! -name '*-3.0.raw' -delete
profile known_wait.raw depth=8 build/test/fixtures/known_wait 2 5
profile timeout.raw depth=8 build/test/fixtures/scenarios timeout 1 5
profile nostacks.raw stacks=0 build/test/fixtures/known_wait 2 5
profile lock_names.raw depth=8 build/test/fixtures/lock_names 2 5
profile lock_makers.raw depth=8 build/test/fixtures/lock_makers 5
# 3.4: SERIES records, grown coarser (series=1ms over 300 ms of churn)
profile phases.raw depth=8,series=1ms build/test/fixtures/timed_phases 20 2 5 300
# 3.5: the library loaded by dlopen into a running program, attached, then
# exit: META's flag ATTACHED and an ATTACH record
build/test/fixtures/attach "$PWD/build/liblockcontend.so" "$tmp/attach.raw" - exit >/dev/null 2>&1 ||
	true
cat "$tmp/attach.raw" >"$out/attach.raw"
# _exit(3) after its waits: the file as the writer left it, a chunk long
profile exited.raw depth=8 build/test/fixtures/crash exit 2 5
$seed end "$out/exited.raw" "$out/died.raw" 0 64
rm "$out/exited.raw"

: >"$out/empty.raw"
head -c 4096 /dev/zero >"$out/zeros.raw" # a file created, its header not yet written
# Record types (dumpfmt.h): 1 meta, 2 module, 3 bucket, 4 lost, 5 totals,
# 6 trailer, 7 lock, 8 pending, 9 slot, 10 live, 11 lock_lost, 12 lock_init,
# 13 waiting, 14 series, 15 attach.
{ head -c 16 "$out/known_wait.raw"; head -c 64 /dev/zero; } >"$out/header-only.raw"
cut cut-after-meta.raw "$(offset 10)"              # at a record boundary: whole
cut cut-before-trailer.raw "$(offset 6)"           # every record but the trailer: whole
cut cut-mid-module.raw "$(($(offset 2) + 8 + 36))" # inside the first segment
cut cut-mid-bucket.raw "$(($(offset 3) + 8 + 52))" # inside the first frame
cut cut-mid-lock.raw "$(($(offset 7) + 8 + 52))"   # inside its first frame
cut cut-mid-slot.raw "$(($(offset 9) + 8 + 100))"  # inside its losses
cut cut-mid-live.raw "$(($(offset 10) + 8 + 20))"
cut cut-mid-lost.raw "$(($(offset 4 2) + 8 + 12))" # the holder view's reasons
cut cut-mid-trailer.raw "$(($(offset 6) + 8 + 12))"
# What a running writer (or one that died) leaves: the records, then zeros.
$seed end "$out/known_wait.raw" "$out/live.raw" 4 256
$seed end "$out/known_wait.raw" "$out/live-at-eof.raw" 4 0
$seed retype "$out/live.raw" "$out/live-pending-bucket.raw" 3 2 8 # in flight
$seed insert "$out/known_wait.raw" "$out/pending.raw" 8 40 4     # skipped, counted
{ cat "$out/known_wait.raw"; head -c 64 /dev/zero; } >"$out/zeros-after-trailer.raw"
$seed set "$out/known_wait.raw" "$out/snapshot.raw" 10 1 0 4 3   # LIVE.state
# Module epochs: the executable unloaded at epoch 1, a bucket and a lock's
# first stack taken at 2.
$seed set "$out/known_wait.raw" "$tmp/epoch.raw" 2 1 28 4 1
$seed set "$tmp/epoch.raw" "$tmp/epoch-bucket.raw" 3 1 44 4 2
$seed set "$tmp/epoch-bucket.raw" "$out/epoch-unloaded.raw" 7 1 40 4 2
# A lock kind this reader does not know (a newer writer's), in a bucket and
# in a lock: the record skipped and counted, the file read whole.
$seed set "$out/known_wait.raw" "$out/newer-kind.raw" 3 1 41 1 "$new_kind"
$seed set "$out/known_wait.raw" "$out/newer-lock-kind.raw" 7 1 32 4 "$new_kind"
# A record type this reader does not know, valid otherwise: skipped.
$seed insert "$out/known_wait.raw" "$out/unknown-record.raw" 99 5 3
# What a newer minor version may write: a record type past this reader's
# last, under the next minor version (both from dumpfmt.h).  Read.
$seed insert "$out/known_wait.raw" "$tmp/minor.raw" "$new_type" 24 4
$seed version "$tmp/minor.raw" "$out/minor-next.raw" "$major" "$new_minor"
# Another major version, older or newer: refused.
$seed version "$out/known_wait.raw" "$out/major-2.0.raw" 2 0
$seed version "$out/known_wait.raw" "$out/major-4.0.raw" 4 0
# Values out of range, one field each: refused.
$seed set "$out/known_wait.raw" "$out/bad-view.raw" 3 1 40 1 "$bad_view"      # bucket view
$seed set "$out/known_wait.raw" "$out/lock-9-frames.raw" 7 1 36 4 "$bad_frames" # nframes
$seed set "$out/known_wait.raw" "$out/epochs-reversed.raw" 2 1 24 4 2 # loaded at 2, gone at 1
$seed set "$out/epochs-reversed.raw" "$out/epochs-reversed.raw" 2 1 28 4 1
$seed set "$out/known_wait.raw" "$out/lost-view-3.raw" 4 3 0 4 "$bad_view" # LOST view
$seed set "$out/known_wait.raw" "$out/lost-twice.raw" 4 2 0 4 0      # two for the waiter
$seed insert "$out/known_wait.raw" "$out/live-twice.raw" 10 64 4     # a second LIVE
$seed insert "$out/attach.raw" "$out/attach-twice.raw" 15 64 4       # a second ATTACH
# Read, but a view does not add up (caused_count + 1): rawdump says so.
caused=$(od -An -tu8 -j $(($(offset 5) + 8 + 64)) -N8 "$out/known_wait.raw")
$seed set "$out/known_wait.raw" "$out/not-conserved.raw" 5 1 64 8 $((caused + 1))

# expect STATUS FILE...: lockcontend-rawdump's verdict on each.
expect() {
	want=$1
	shift
	for f in "$@"; do
		rc=0
		build/lockcontend-rawdump "$out/$f" >/dev/null 2>&1 || rc=$?
		[ "$rc" = "$want" ] || { echo "mkcorpus: $f: rawdump exit $rc, want $want" >&2; exit 1; }
	done
}
expect 0 known_wait-3.0.raw died-3.0.raw known_wait.raw timeout.raw nostacks.raw lock_names.raw lock_makers.raw phases.raw died.raw \
	cut-after-meta.raw cut-before-trailer.raw live.raw live-at-eof.raw live-pending-bucket.raw \
	pending.raw zeros-after-trailer.raw snapshot.raw epoch-unloaded.raw unknown-record.raw \
	minor-next.raw newer-kind.raw newer-lock-kind.raw attach.raw
expect 1 empty.raw zeros.raw header-only.raw major-2.0.raw major-4.0.raw bad-view.raw \
	lock-9-frames.raw epochs-reversed.raw lost-view-3.raw \
	lost-twice.raw live-twice.raw attach-twice.raw
expect 2 cut-mid-module.raw cut-mid-bucket.raw cut-mid-lock.raw cut-mid-slot.raw \
	cut-mid-live.raw cut-mid-lost.raw cut-mid-trailer.raw not-conserved.raw
ls -l "$out"
