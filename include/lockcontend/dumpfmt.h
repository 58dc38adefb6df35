/*
 * dumpfmt.h — the one definition of lockcontend's raw dump format.
 *
 * Shared by the writer (preload/pfile.c, preload/dumpwrite.c) and every
 * reader (symbolize/dumpread.c, which finds each field by offsetof and
 * sizeof here: it has no offset of its own).  docs/format.md describes the
 * same layout, one table per struct and per enumeration, and the names of
 * the enumerations' values are symbolize/names.c's; test/unit/
 * test_formatdoc.c fails when the three disagree.  If you change one,
 * change the others; bump LC_DUMP_VERSION_MINOR when you add a record
 * type (older readers skip it) and LC_DUMP_VERSION_MAJOR when an old reader
 * could misread the file.  3.1 added the lost reason no_room, 3.2 the
 * LOCK_LOST record, 3.3 the LOCK_INIT record, 3.4 the WAITING and SERIES
 * records, 3.5 the ATTACH record, META's flag ATTACHED and the LIVE state
 * DETACHED (a profile made by lockcontend_attach: docs/attach.md), 3.6 the
 * WRITER record (the version of lockcontend that wrote the file), 3.7 the
 * THREAD record (one thread's share of its slot's totals, its name and id),
 * 3.8 the lost reason no_file (a wait met while the profile's file was
 * being made, longer than others wait for it: preload/filing.c), 3.9 the
 * lock kinds SEM (sem_wait and its timed variants, and the sem_post
 * charged with them) and FUTEX (a program's own futex waits, through
 * syscall()); a reader skips a record of a kind it does not know, and
 * says so; 3.10 the lock kind COND (a condition-variable wait, and the
 * signal or broadcast charged with it); 3.11 the LOCK_UNCHARGED record (a
 * lock's uncharged waiting added under its LOCK_LOST's claim); 3.12 the
 * LOCK_NO_CELL record (the part of that waiting whose waiter found every
 * waiter cell of the lock taken).
 *
 * The file is written in place while the program runs (preload/pfile.h):
 * the profile survives SIGKILL, abort and crashes, and can be read live.
 *
 * Layout: a fixed 16-byte file header, then records, each a
 * struct lc_rec_head {type, size} followed by `size` payload bytes and
 * zero padding to the next multiple of 8.  A record is appended with type
 * LC_REC_PENDING while its payload is written, then given its real type;
 * readers skip PENDING records.  After the last record, a file still being
 * written (or whose writer died) holds zeros: a head of type 0 ends the
 * records.  Every integer is little-endian;
 * the payload structs below are written as they are laid out on x86-64 and
 * aarch64 (natural alignment, no implicit padding: every struct is checked
 * by a static assertion).  The last record of a complete file is
 * LC_REC_TRAILER, whose fields repeat how many records and bytes came
 * before it, so a reader tells a complete file from one cut short; a file
 * without one is a live profile, or one whose writer died (LC_REC_LIVE
 * says which it believed, the reader checks the pid).
 *
 * Readers skip record types they do not know (a newer minor version may
 * add some) and refuse another major version.  The one older layout a
 * reader still reads is a 3.0 SLOT (struct lc_rec_slot_3_0).
 */
#ifndef LOCKCONTEND_DUMPFMT_H
#define LOCKCONTEND_DUMPFMT_H

#include <stddef.h>
#include <stdint.h>

#define LC_DUMP_MAGIC "LCKCDUMP"     /* 8 bytes, no terminator in file */
#define LC_DUMP_END_MAGIC "LCKCEND!" /* 8 bytes, closes the trailer */
#define LC_DUMP_VERSION_MAJOR 3
#define LC_DUMP_VERSION_MINOR 12
#define LC_DUMP_ENDIAN_LITTLE 1

/* Limits a reader may rely on (the writer never exceeds them). */
#define LC_DUMP_MAX_DEPTH 256   /* frames per stack */
#define LC_DUMP_MAX_PATH 4096   /* bytes of a path, without NUL */
#define LC_DUMP_MAX_BUILD_ID 64 /* bytes of a GNU build-id */
#define LC_DUMP_MAX_SEGMENTS 64 /* PT_LOAD segments per module */
#define LC_DUMP_MAX_RECORD (1u << 20)
#define LC_LOCK_FIRST_FRAMES 8 /* frames of a lock's first contended stack */
#define LC_LOCK_INIT_FRAMES 8  /* frames of the stack that initialised a lock (3.3) */
#define LC_THREAD_NAME 16      /* bytes of a thread's name, its NUL included (3.4) */
#define LC_DUMP_MAX_VERSION 64 /* bytes of the WRITER record's version (3.6) */

/* The sentinel frame that stands for contention without a stored stack. */
#define LC_SENTINEL_NAME "_LostContendedLock"

struct lc_dump_header {
	char magic[8];          /* LC_DUMP_MAGIC */
	uint16_t version_major; /* LC_DUMP_VERSION_MAJOR */
	uint16_t version_minor; /* LC_DUMP_VERSION_MINOR */
	uint8_t pointer_size;   /* sizeof(void *) of the profiled process */
	uint8_t endian;         /* LC_DUMP_ENDIAN_LITTLE */
	uint16_t header_size;   /* sizeof(struct lc_dump_header) */
};

struct lc_rec_head {
	uint32_t type; /* enum lc_rec_type */
	uint32_t size; /* payload bytes, excluding this head and the padding */
};

enum lc_rec_type {
	LC_REC_META = 1,            /* exactly one, first */
	LC_REC_MODULE = 2,          /* zero or more */
	LC_REC_BUCKET = 3,          /* zero or more: one stack and its counters */
	LC_REC_LOST = 4,            /* complete files: one per view, the sentinel and why */
	LC_REC_TOTALS = 5,          /* complete files: exactly one, independent totals */
	LC_REC_TRAILER = 6,         /* complete files: exactly one, last */
	LC_REC_LOCK = 7,            /* zero or more: one contended lock */
	LC_REC_PENDING = 8,         /* being written: skip it */
	LC_REC_SLOT = 9,            /* zero or more: one thread slot's totals */
	LC_REC_LIVE = 10,           /* exactly one, after META (a file read in its first
	                             * microseconds may not have it yet): the writer's state */
	LC_REC_LOCK_LOST = 11,      /* zero or more (3.2): one lock's lost events */
	LC_REC_LOCK_INIT = 12,      /* zero or more (3.3): where a contended lock was
	                             * initialised */
	LC_REC_WAITING = 13,        /* zero or more (3.4): one per SLOT, what its thread
	                             * waits for now */
	LC_REC_SERIES = 14,         /* zero or more (3.4): one slot's events over time */
	LC_REC_ATTACH = 15,         /* one if META has ATTACHED (3.5): what the attach
	                             * rewrote and could not reach */
	LC_REC_WRITER = 16,         /* one, after LIVE (3.6): the lockcontend version
	                             * that wrote the file */
	LC_REC_THREAD = 17,         /* zero or more (3.7): one thread that had a slot,
	                             * its name, id and share of the slot's totals */
	LC_REC_LOCK_UNCHARGED = 18, /* zero or more (3.11): one per LOCK_LOST, the
	                             * lock's uncharged waiting added under its claim */
	LC_REC_LOCK_NO_CELL = 19,   /* zero or more (3.12): one per LOCK_LOST (between it
	                             * and its LOCK_UNCHARGED), the waits on the lock that
	                             * found no waiter cell free */
	LC_REC_NTYPES,              /* one past the last type: keep it last */
};

/* What a bucket (or a LOST record) measures.  One run gives all three. */
enum lc_view {
	LC_VIEW_WAIT = 0,   /* a thread waited for a lock: its stack, its wait */
	LC_VIEW_HOLDER = 1, /* an unlock released a lock others waited for: the
	                     * unlocker's stack, the waiting it caused since the
	                     * previous charge on that lock (every waiter's) */
	LC_VIEW_HOLD = 2,   /* a sampled critical section of a lock that has been
	                     * contended: the unlocker's stack, how long it held */
	LC_NVIEWS = 3,
};

/* Which lock operation an event is about. */
enum lc_kind {
	LC_KIND_MUTEX = 0,  /* pthread_mutex_*, C11 mtx_* */
	LC_KIND_RDLOCK = 1, /* pthread_rwlock_*rdlock, or a read unlock */
	LC_KIND_WRLOCK = 2, /* pthread_rwlock_*wrlock, or a write unlock */
	LC_KIND_SPIN = 3,   /* pthread_spin_lock: spinning is waiting */
	LC_KIND_SEM = 4,    /* sem_wait, sem_timedwait, sem_clockwait; a sem_post (3.9) */
	LC_KIND_FUTEX = 5,  /* syscall(SYS_futex): a wait that blocked, or the wake
	                     * charged with it; the lock is the futex word (3.9) */
	LC_KIND_COND = 6,   /* pthread_cond_*wait, C11 cnd_*wait: a condition wait,
	                     * or the signal/broadcast charged with it; the lock is
	                     * the pthread_cond_t (3.10) */
	LC_NKINDS = 7,
};

/* LC_REC_META.clock */
enum lc_clock {
	LC_CLOCK_MONOTONIC = 1,
};

/* LC_REC_META.flags */
#define LC_META_STACKS 0x1u /* stacks were captured (stacks=1) */
#define LC_META_HOLDER 0x2u /* the holder view was recorded (holder=1) */
/* started by lockcontend_attach in a program already running (3.5): see
 * LC_REC_ATTACH and docs/attach.md */
#define LC_META_ATTACHED 0x4u

struct lc_rec_meta {
	uint64_t pid;
	uint64_t start_realtime_ns; /* CLOCK_REALTIME at start-up */
	uint64_t end_realtime_ns;   /* CLOCK_REALTIME at dump time */
	uint64_t start_mono_ns;     /* CLOCK_MONOTONIC at start-up */
	uint64_t end_mono_ns;       /* CLOCK_MONOTONIC at dump time */
	uint32_t clock;             /* enum lc_clock used for every wait */
	uint32_t rate;              /* 1 in rate contentions recorded */
	uint32_t depth;             /* max frames per stack */
	uint32_t flags;             /* LC_META_* */
	uint64_t arena_bytes;       /* arena reserved at start-up */
	uint64_t arena_used;        /* bytes of it in use at dump time */
	uint32_t exe_len;           /* bytes of executable path that follow */
	uint32_t hold_rate;         /* 1 in hold_rate (hold= x rate=) acquisitions looked at for
	                             * a hold-time sample; 0: hold times off */

	/* followed by: char exe[exe_len] */
};

/* LC_REC_MODULE: one loaded object, as dl_iterate_phdr saw it. */
struct lc_rec_module {
	uint32_t id;           /* 0.., in order of discovery */
	uint32_t nsegments;    /* PT_LOAD segments that follow */
	uint64_t load_bias;    /* dlpi_addr: runtime address - ELF vaddr */
	uint32_t build_id_len; /* 0 when the object has none */
	uint32_t path_len;     /* bytes of path; "" is never written */
	uint32_t epoch_first;  /* module epochs (LC_REC_LIVE.epoch) in which */
	uint32_t epoch_last;   /* it was loaded; UINT32_MAX: still loaded */

	/* followed by: struct lc_rec_segment segments[nsegments],
	 *              uint8_t build_id[build_id_len], char path[path_len] */
};

struct lc_rec_segment {
	uint64_t vaddr;  /* p_vaddr (add load_bias for the runtime address) */
	uint64_t memsz;  /* p_memsz */
	uint64_t offset; /* p_offset in the file */
	uint32_t flags;  /* p_flags: PF_R=4 PF_W=2 PF_X=1 */
	uint32_t reserved;
};

/* LC_REC_BUCKET.flags */
#define LC_BUCKET_TRUNCATED 0x1u /* deeper frames were cut at `depth` */
/* the waits gave up without the lock: a timed/clock lock's ETIMEDOUT, a
 * jump out of the wait, a semaphore's EINTR or cancellation */
#define LC_BUCKET_TIMEDOUT 0x2u

/* One (view, kind, lock, flags, stack) and its counters.  Meaning by view:
 *   WAIT    count = contentions, delay = time waited (scaled by rate);
 *   HOLDER  count = unlocks made while sampled waiters waited (each is
 *           charged their waiting since the previous charge on that lock),
 *           delay = that waiting (scaled by rate: only sampled waiters
 *           count);
 *   HOLD    count = critical sections, delay = time held (scaled by
 *           hold_rate: an estimate; delay / count is the mean hold). */
struct lc_rec_bucket {
	uint64_t count;
	uint64_t delay_ns;
	uint64_t max_ns;  /* the longest single event, not scaled */
	uint64_t lock;    /* address of the lock (its LC_REC_LOCK, if any) */
	uint32_t flags;   /* LC_BUCKET_* */
	uint32_t nframes; /* 1..LC_DUMP_MAX_DEPTH */
	uint8_t view;     /* enum lc_view */
	uint8_t kind;     /* enum lc_kind */
	uint16_t reserved0;
	uint32_t epoch; /* module epoch when the stack was taken: a frame
	                 * belongs to the module that holds it and whose
	                 * [epoch_first, epoch_last] holds this */

	/* followed by: uint64_t pc[nframes], innermost caller first; each is a
	 * return address (the symbolizer looks up pc - 1). */
};

/* LC_REC_LOCK: a lock that was contended (or failed a trylock) at least
 * once.  Per-lock counters that are not in any bucket. */
struct lc_rec_lock {
	uint64_t addr;             /* the lock's address */
	uint64_t trylock_failures; /* EBUSY from a trylock, every one counted */
	uint64_t timeouts;         /* timed locks that gave up, scaled by rate */
	uint64_t uncharged_ns;     /* wait on it no unlock was charged for, scaled
	                            * by rate: the wake-up latency after a charge,
	                            * and the whole wait of a waiter that found no
	                            * free waiter cell (its LOCK_NO_CELL records, 3.12) */
	uint32_t kind;             /* enum lc_kind of its first contention */
	uint32_t nframes;          /* 0..LC_LOCK_FIRST_FRAMES frames that follow */
	uint32_t epoch;            /* module epoch when the first stack was taken:
	                            * its frames are in the modules loaded then, as
	                            * a bucket's (stored before nframes) */
	uint32_t reserved;
	/* followed by: uint64_t pc[nframes], innermost first: the stack where it
	 * was first contended (names a lock that is not a global).  The record
	 * has room for LC_LOCK_FIRST_FRAMES (size may exceed what nframes
	 * needs; the rest is zero). */
};

/* LC_REC_LOCK_INIT (3.3): the stack that initialised a contended lock
 * (pthread_mutex_init, pthread_rwlock_init, pthread_spin_init, mtx_init),
 * written once, when its LOCK record is made, and only for a lock whose
 * init the preload saw (not one made by a static initialiser, nor one
 * destroyed since).  The symbolizer names a heap lock after it. */
struct lc_rec_lock_init {
	uint64_t addr;    /* the lock's address (its LC_REC_LOCK's) */
	uint32_t epoch;   /* module epoch when the stack was taken: its frames
	                   * are in the modules loaded then, as a bucket's */
	uint32_t nframes; /* 1..LC_LOCK_INIT_FRAMES frames that follow */

	/* followed by: uint64_t pc[nframes], innermost first: the return
	 * address in the function that called the init function, then its
	 * callers (the symbolizer looks up pc - 1). */
};

/* Why contention was charged to the sentinel instead of a stack. */
enum lc_lost_reason {
	LC_LOST_EVICTED = 0,    /* lost the keep-one draw in a thread's stash */
	LC_LOST_ARENA_FULL = 1, /* new stack, but the arena was full */
	LC_LOST_REENTRANT = 2,  /* contention inside lockcontend's own work */
	LC_LOST_NO_STACKS = 3,  /* stacks=0: every event goes here */
	LC_LOST_NO_STACK = 4,   /* the unwinder returned no frame */
	LC_LOST_NO_SLOT = 5,    /* no per-thread slot was free */
	LC_LOST_NO_ROOM = 6,    /* the thread's stack had no room to unwind (3.1) */
	LC_LOST_NO_FILE = 7,    /* the profile's file was still being made (3.8) */
	LC_LOST_NREASONS = 8,
};

struct lc_lost_entry {
	uint64_t count;
	uint64_t delay_ns;
};

/* LC_REC_LOST: one view's sentinel bucket (_LostContendedLock) split by
 * reason; the sentinel's count and delay are the sums over reasons. */
struct lc_rec_lost {
	uint32_t view;     /* enum lc_view */
	uint32_t nreasons; /* entries that follow (LC_LOST_NREASONS) */

	/* followed by: struct lc_lost_entry reason[nreasons] */
};

/* LC_REC_LOCK_LOST (3.2): what one lock's events lost, per view and reason
 * (as a SLOT's lost; the record's size says how many reasons), kept up to
 * date in place.  Made just before the lock's LOCK record: a lock with a
 * LOCK record has one (a reader adds up every LOCK_LOST of an address).  A
 * loss with no lock (contention inside our own work) is in no such record. */
struct lc_rec_lock_lost {
	uint64_t addr;
	struct lc_lost_entry lost[LC_NVIEWS][LC_LOST_NREASONS];
};

/* LC_REC_LOCK_UNCHARGED (3.11): one lock's uncharged waiting added under the
 * claim of the LOCK_LOST record made just before it (from 3.12, with its
 * LOCK_NO_CELL between them; each LOCK_LOST has one); a reader adds it
 * to the LOCK record's uncharged_ns.  A record of its own, so that
 * readers before 3.11 skip it (they read the lock's uncharged waiting
 * short) rather than refuse a longer LOCK_LOST. */
struct lc_rec_lock_uncharged {
	uint64_t addr;         /* the lock */
	uint64_t uncharged_ns; /* scaled by rate, as LOCK's */
};

/* LC_REC_LOCK_NO_CELL (3.12): of one lock's uncharged waiting, the waits
 * that found every one of the lock's 16 waiter cells taken (more sampled
 * waiters at once than the holder view registers): their whole wait is
 * uncharged.  Made between a LOCK_LOST and its LOCK_UNCHARGED, and added
 * to after the LOCK_UNCHARGED, in the same claimed add, so a lock's
 * LOCK_NO_CELL delay_ns is never more than its uncharged_ns (in a live
 * file copied front to back too); what is left is the wake-up latency of
 * registered waiters.  Each LOCK_LOST has one; a reader
 * adds up every one of an address, and the profile's total is the sum of
 * them all (a record of its own, not a field of TOTALS or LOCK_UNCHARGED:
 * a reader before 3.12 calls a known record longer than its own layout
 * corrupt, and skips this one). */
struct lc_rec_lock_no_cell {
	uint64_t addr;     /* the lock */
	uint64_t count;    /* waits that found no cell, scaled by rate */
	uint64_t delay_ns; /* their waiting, scaled by rate (all of it uncharged) */
};

/* LC_REC_SLOT: one thread slot's totals, kept up to date in place (slots
 * are reused by later threads, so one slot may hold many threads' events).
 * A complete file's LOST and TOTALS are their sums; a file without them (a
 * live profile, or one whose writer died) is read from these. */
struct lc_rec_slot {
	uint64_t count[LC_NVIEWS];    /* like TOTALS: contentions, caused_count, holds */
	uint64_t delay_ns[LC_NVIEWS]; /* delay_ns, caused_ns, hold_ns */
	uint64_t timeouts;
	uint64_t uncharged_ns;
	struct lc_lost_entry lost[LC_NVIEWS][LC_LOST_NREASONS];
};

/* The lost reasons a 3.0 writer knew: LC_LOST_NO_ROOM came with 3.1; and
 * those a 3.1 to 3.7 writer knew: LC_LOST_NO_FILE came with 3.8.  A reader
 * takes the count from a SLOT's or LOCK_LOST's size (LOCK_LOST came with
 * 3.2: never fewer than LC_LOST_NREASONS_3_1). */
#define LC_LOST_NREASONS_3_0 6
#define LC_LOST_NREASONS_3_1 7

/* LC_REC_SLOT as a 3.0 writer laid it out: the same fields, but six lost
 * reasons a view.  The only layout of an older version that a 3.1 reader
 * still reads: it takes the count of reasons from the record's size (a
 * LOST record says its own, nreasons). */
struct lc_rec_slot_3_0 {
	uint64_t count[LC_NVIEWS];
	uint64_t delay_ns[LC_NVIEWS];
	uint64_t timeouts;
	uint64_t uncharged_ns;
	struct lc_lost_entry lost[LC_NVIEWS][LC_LOST_NREASONS_3_0];
};

/* LC_REC_WAITING (3.4): what the thread that owns a slot is waiting for
 * right now, kept up to date in place by that thread alone.  Made with the
 * slot's SLOT record (a slot is taken on its thread's first contended
 * wait), for every slot but the shared overflow slot.  Written before the
 * thread blocks (the stack was taken already, when the wait is sampled),
 * cleared (lock = 0) when the wait ends: so a profile whose writer hung, or
 * was killed while hung, still says who waited for what, since when, and
 * on whom.
 *
 * Torn reads: the thread sets seq (the first word) and seq_end (the last) to
 * the same odd number, writes the rest, then sets seq_end and seq to the
 * next even number.  A copy (made
 * front to back or back to front) is whole when seq == seq_end and both are
 * even; otherwise it was copied while being written (or its writer died
 * between those stores: readers say so rather than guess). */
struct lc_rec_waiting {
	uint32_t seq;      /* odd while being written */
	int32_t tid;       /* the slot's thread now; 0: none (it exited) */
	uint64_t lock;     /* the lock waited for; 0: not waiting */
	uint64_t since_ns; /* CLOCK_MONOTONIC when the wait began */
	int32_t owner_tid; /* the lock's owner as the wait began (a mutex's owner, a
	                    * rwlock's writer); 0: unknown, or readers hold it */
	uint32_t kind;     /* enum lc_kind of the wait */
	uint32_t epoch;    /* module epoch when the stack was taken (as a bucket's) */
	uint32_t nframes;  /* frames of pc[] that hold the waiting stack; 0: none
	                    * (the wait was not sampled, or no stack was taken) */
	uint32_t frames;   /* room for frames: pc[frames] follows (META.depth) */
	uint32_t reserved;
	char name[LC_THREAD_NAME]; /* the thread's name (comm), NUL-terminated */

	/* followed by: uint64_t pc[frames], innermost caller first, the first
	 * nframes of them valid (return addresses: the symbolizer looks up
	 * pc - 1); then uint64_t seq_end, the record's last word: == seq once a
	 * write is done. */
};

/* LC_REC_SERIES (3.4): one slot's events over time, made with its SLOT
 * record.  Every event the slot's totals count (every view, whether it got
 * a stack or went to the sentinel) is also added to one entry here, keyed
 * by the interval it ended in, its view, its lock and its stack; so, per
 * view, the entries add up to the SLOT record's count and delay_ns exactly
 * — a reader uses a series only when they do (docs/series.md).  Interval i
 * at level l is [i, i + 1) x (interval_ns << l) after META.start_mono_ns.
 * When the entries are full the writer makes every interval twice as wide
 * (the level goes up, equal entries merge: nothing is dropped), and when
 * even one interval has more entries than room, the smallest are folded
 * into one LC_SERIES_OTHER entry per view. */
struct lc_rec_series {
	uint64_t slot;        /* file offset of the head of the SLOT record whose
	                       * events these are */
	uint64_t interval_ns; /* width of a level-0 interval (series=) */
	uint32_t nentries;    /* entries that follow: the room */
	uint32_t used;        /* entries in use: [0, used) */
	uint32_t level;       /* the level new events are placed at */
	uint32_t reserved;

	/* followed by: struct lc_series_entry entry[nentries] */
};

/* lc_series_entry.flags.  OTHER: the events of locks and stacks there was
 * no room to tell apart (lock and stack are 0 and mean nothing). */
#define LC_SERIES_OTHER 0x1u

/* One (interval, view, lock, stack) of a SERIES record.  Its first eight
 * bytes (where it is) are stored at once, so an entry never says a place
 * it does not hold. */
struct lc_series_entry {
	uint32_t interval; /* its index at its level */
	uint8_t level;     /* its width: interval_ns << level */
	uint8_t view;      /* enum lc_view */
	uint8_t flags;     /* LC_SERIES_* */
	uint8_t reserved;
	uint64_t lock;     /* the lock's address; 0: none (contention inside
	                    * lockcontend's own work) */
	uint64_t stack;    /* lc_stack_id of the event's stack; 0: it had none */
	uint64_t count;    /* as the view counts events, scaled */
	uint64_t delay_ns; /* as the view counts time, scaled */
};

/* The id by which a SERIES entry names a stack (3.4): a hash of what makes
 * a BUCKET's stack its own but for its view and lock (its kind, flags,
 * module epoch and frames), never 0.  The writer hashes the frames of an
 * event as it settles it, a reader every bucket's, so equal ids name one
 * bucket (but for a collision: about 2^-64 a pair). */
static inline uint64_t lc_stack_id(const uint64_t *pc, uint32_t nframes, uint32_t kind,
                                   uint32_t flags, uint32_t epoch)
{
	uint64_t h = 0x9E3779B97F4A7C15ull ^ ((uint64_t)epoch << 32 | (uint64_t)flags << 8 | kind);
	for (uint32_t i = 0; i < nframes; i++) {
		h = (h ^ pc[i]) * 0xff51afd7ed558ccdull;
		h ^= h >> 32;
	}
	h ^= (uint64_t)nframes * 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 29;
	return h ? h : 1;
}

/* LC_REC_LIVE.state */
enum lc_live_state {
	LC_LIVE_RUNNING = 0,  /* still recording (or it died: no TRAILER) */
	LC_LIVE_EXITED = 1,   /* ended at exit */
	LC_LIVE_EXEC = 2,     /* ended by exec(): the new image has its own */
	LC_LIVE_SNAPSHOT = 3, /* a copy taken on request while it ran */
	LC_LIVE_DETACHED = 4, /* ended by lockcontend_detach: the program runs on (3.5) */
	LC_LIVE_NSTATES,      /* one past the last state: keep it last */
};

/* LC_REC_LIVE: the writer's state and the counters that belong to no slot,
 * updated in place. */
struct lc_rec_live {
	uint32_t state;            /* enum lc_live_state */
	uint32_t epoch;            /* module epoch: moves on each time a refresh of the
	                            * module map finds an object gone (dlclose) */
	uint64_t snapshots;        /* snapshot requests (signal=) so far */
	uint64_t snapshot_mono_ns; /* CLOCK_MONOTONIC of the last one */
	uint64_t trylock_failures;
	uint64_t stacks_refused;
	uint64_t locks_refused;
	uint64_t threads_seen;
	uint64_t modules_dropped; /* loaded objects the module map had no room for */
};

/* LC_REC_TOTALS: counted where each event is measured, apart from the
 * buckets, so a reader can check that nothing was dropped, per view:
 *   WAIT:   sum(bucket.count) + sum(lost.count) == contentions, same for delay;
 *   HOLDER: ... == caused_count and caused_ns;
 *   HOLD:   ... == holds and hold_ns.
 * And across views: caused_ns + uncharged_ns == delay_ns, but for waits
 * still in progress when the dump was taken. */
struct lc_rec_totals {
	uint64_t contentions;      /* recorded waits, scaled by rate */
	uint64_t delay_ns;         /* their wait, scaled by rate */
	uint64_t timeouts;         /* of which timed out, scaled by rate */
	uint64_t buckets;          /* LC_REC_BUCKET records in this file */
	uint64_t modules;          /* LC_REC_MODULE records in this file */
	uint64_t stacks_refused;   /* distinct new stacks the full arena refused */
	uint64_t threads_unread;   /* threads whose data could not be read at
	                            * dump time (their events are in no total) */
	uint64_t threads_seen;     /* threads that recorded at least once */
	uint64_t caused_count;     /* HOLDER view events, scaled by rate */
	uint64_t caused_ns;        /* waiting charged to unlockers, scaled */
	uint64_t uncharged_ns;     /* waiting no unlock was charged for, scaled:
	                            * the LOCK records' uncharged_ns, plus the
	                            * waits that registered with no lock (lost
	                            * as re-entrant, or their lock refused) */
	uint64_t holds;            /* HOLD view events, scaled by hold_rate */
	uint64_t hold_ns;          /* time held, scaled by hold_rate */
	uint64_t trylock_failures; /* EBUSY from trylocks, every one */
	uint64_t locks;            /* LC_REC_LOCK records in this file */
	uint64_t locks_refused;    /* locks the full lock table could not track */
};

/* LC_REC_ATTACH.flags.  DLOPEN: dlopen and dlmopen were followed, so objects
 * loaded after the attach were patched too; SIGNAL: signal= was installed
 * (the signal had its default action). */
#define LC_ATTACH_DLOPEN 0x1u
#define LC_ATTACH_SIGNAL 0x2u

/* LC_REC_ATTACH (3.5): how a profile started by lockcontend_attach reached
 * the program, made right after LIVE and updated in place.  Its hooks are
 * in the program's GOT slots (docs/attach.md): the slots rewritten, and
 * what could not be: a hooked function's address stored in data (calls
 * through it are not seen), a slot whose page could not be made writable.
 * Waits begun before META.start_mono_ns are in no total.  At the end by
 * lockcontend_detach, every slot is accounted for: restored + left +
 * forgotten == slots. */
struct lc_rec_attach {
	uint32_t objects;      /* loaded objects with slots rewritten */
	uint32_t later;        /* of them, loaded after the attach (dlopen followed) */
	uint64_t slots;        /* GOT slots rewritten to a hook */
	uint64_t out_of_reach; /* other relocations of hooked functions: not rewritten */
	uint64_t failed;       /* slots that could not be rewritten */
	uint64_t restored;     /* given back their old value (lockcontend_detach) */
	uint64_t left;         /* changed since by the program or the loader: left so */
	uint64_t forgotten;    /* in objects unloaded while attached */
	uint32_t flags;        /* LC_ATTACH_* */
	uint32_t reserved;
};

/* LC_REC_WRITER (3.6): which lockcontend wrote the file, made with META
 * and LIVE (after ATTACH, if any), never changed.  A record of its own,
 * not a field of META: a 3.5 reader skips it, and a file without one was
 * written before 3.6. */
struct lc_rec_writer {
	uint32_t version_len; /* bytes of version that follow, 1..LC_DUMP_MAX_VERSION */
	uint32_t reserved;

	/* followed by: char version[version_len], no NUL: the Makefile's
	 * VERSION ("0.1.0") */
};

/* LC_REC_THREAD.flags */
enum {
	LC_THREAD_ENDED = 1u << 0, /* the thread gave its slot back: end_* are set */
};

/* LC_REC_THREAD (3.7): one thread that took a slot of its own (at its
 * first recorded event), made then and written in place by that thread
 * alone.  A slot is reused by later threads, so its SLOT totals are the
 * sum of its threads'; this record keeps the slot's totals as they were
 * when the thread took the slot (base_*) and, once it gives the slot back
 * at its exit, as they were then (end_*, flag ENDED).  A thread's own
 * events are end - base (a thread still running: the slot's totals now -
 * base).  So per-thread figures cost the recorder nothing per event.  The
 * name is the thread's comm, read when it takes the slot and again when it
 * renames itself (pthread_setname_np); it is written without a sequence
 * word: a copy made during a rename may mix two names (a reader cuts it at
 * the first NUL or at 15 bytes).  Threads of the shared overflow slot, and
 * threads past the writer's cap on these records, have none: their events
 * are the totals' rest. */
struct lc_rec_thread {
	uint64_t slot;                     /* file offset of the head of the SLOT record it used */
	int32_t tid;                       /* its kernel thread id */
	uint32_t flags;                    /* LC_THREAD_* */
	uint64_t start_ns;                 /* CLOCK_MONOTONIC when it took the slot */
	uint64_t end_ns;                   /* ... when it gave it back; 0 while it runs */
	char name[LC_THREAD_NAME];         /* its name (comm), NUL-terminated */
	uint64_t base_count[LC_NVIEWS];    /* the slot's count per view when it took it */
	uint64_t base_delay_ns[LC_NVIEWS]; /* ... and delay_ns */
	uint64_t end_count[LC_NVIEWS];     /* the slot's count per view when it gave it back */
	uint64_t end_delay_ns[LC_NVIEWS];  /* ... and delay_ns */
};

/* LC_REC_TRAILER: last record of a complete file. */
struct lc_rec_trailer {
	uint64_t records;  /* records before this one */
	uint64_t bytes;    /* file offset where this record's head starts */
	char end_magic[8]; /* LC_DUMP_END_MAGIC */
};

_Static_assert(sizeof(struct lc_dump_header) == 16, "header layout");
_Static_assert(sizeof(struct lc_rec_head) == 8, "record head layout");
_Static_assert(sizeof(struct lc_rec_meta) == 80, "meta layout");
_Static_assert(sizeof(struct lc_rec_module) == 32, "module layout");
_Static_assert(sizeof(struct lc_rec_segment) == 32, "segment layout");
_Static_assert(sizeof(struct lc_rec_bucket) == 48, "bucket layout");
_Static_assert(sizeof(struct lc_rec_lock) == 48, "lock layout");
_Static_assert(sizeof(struct lc_rec_lock_init) == 16, "lock init layout");
_Static_assert(sizeof(struct lc_rec_slot) == 448, "slot layout");
_Static_assert(sizeof(struct lc_rec_lock_lost) == 392, "lock lost layout");
_Static_assert(sizeof(struct lc_rec_lock_uncharged) == 16, "lock uncharged layout");
_Static_assert(sizeof(struct lc_rec_lock_no_cell) == 24, "lock no cell layout");
_Static_assert(sizeof(struct lc_rec_slot_3_0) == 352, "3.0 slot layout");
_Static_assert(offsetof(struct lc_rec_slot_3_0, lost) == offsetof(struct lc_rec_slot, lost),
               "a 3.0 slot differs only in its count of lost reasons");
_Static_assert(sizeof(struct lc_rec_live) == 64, "live layout");
_Static_assert(sizeof(struct lc_rec_waiting) == 64, "waiting layout");
_Static_assert(sizeof(struct lc_rec_series) == 32, "series layout");
_Static_assert(sizeof(struct lc_series_entry) == 40, "series entry layout");
_Static_assert(sizeof(struct lc_rec_lost) == 8, "lost layout");
_Static_assert(sizeof(struct lc_lost_entry) == 16, "lost entry layout");
_Static_assert(sizeof(struct lc_rec_totals) == 128, "totals layout");
_Static_assert(sizeof(struct lc_rec_trailer) == 24, "trailer layout");
_Static_assert(sizeof(struct lc_rec_attach) == 64, "attach layout");
_Static_assert(sizeof(struct lc_rec_writer) == 8, "writer layout");
_Static_assert(sizeof(struct lc_rec_thread) == 144, "thread layout");

/* Payload bytes are padded with zeros to this alignment. */
static inline uint32_t lc_dump_pad(uint32_t size)
{
	return (size + 7u) & ~7u;
}

#endif
