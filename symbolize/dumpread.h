/*
 * dumpread.h — parse a raw lockcontend dump into memory.
 *
 * No libdw, no global state: the symbolizer, the raw printer, the tests and
 * the fuzz target all use it.  Every length in the file is checked against
 * the bytes that are really there and against the limits of dumpfmt.h, so
 * any byte string gives either a model or a one-line error, never a crash.
 *
 * Version 3 (and only 3): the file is written in place while the program
 * runs, so a file without its trailer is normal: a live profile, or one
 * whose writer died.  Its records end at a head of zeros (or at the end of
 * the file); `complete` is false, `end` says how they ended and
 * `stop_offset` where.  Only a file that ends inside a record, or at the
 * end of the file before the heading every writer puts in it whole (META,
 * LIVE, ATTACH in an attached 3.5+ file, WRITER in 3.6+), was cut short
 * (end == DUMP_END_CUT).  PENDING records (being written) are skipped.
 * Such a file has no LOST and TOTALS records: they are built from the SLOT
 * records' sums and LIVE's counters (totals_from_slots), and the buckets
 * and losses may then fall short of them by the events still in threads'
 * stashes (dump_view_in_flight), as may a snapshot's, whose closing records
 * are the slots' sums of that moment (dump_totals_while_running).  Zeros
 * may follow a trailer (the file was not cut to its records).  Whether the
 * writer still runs is not the parser's business (dumpstatus.h).
 *
 * Buckets carry a view (enum lc_view) and a lock kind, both checked against
 * their enums (a kind past LC_NKINDS, a newer writer's, is no error: the
 * record is skipped and counted in skipped_kind (a WAITING record is kept,
 * its thread not waiting: waiting_unknown_kind), a bucket's events in
 * unknown_kind); LOST comes once per view, and totals are conserved per
 * view (dump_view_totals, dump_sum).  A view with no LOST record has lost nothing
 * (lost[view] stays zero).  A frame belongs to the module that holds it in
 * the module epoch of its bucket, LOCK or LOCK_INIT record
 * (dump_frame_module): a library unloaded and another loaded at its
 * address are told apart.
 */
#ifndef LOCKCONTEND_DUMPREAD_H
#define LOCKCONTEND_DUMPREAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lockcontend/dumpfmt.h"

struct dump_module {
	uint32_t id;
	uint64_t load_bias;
	uint32_t build_id_len;
	uint8_t build_id[LC_DUMP_MAX_BUILD_ID];
	char *path;
	uint32_t nsegments;
	struct lc_rec_segment *segments;
	uint32_t epoch_first, epoch_last; /* loaded in these epochs; UINT32_MAX: still */
};

struct dump_bucket {
	uint64_t count;
	uint64_t delay_ns;
	uint64_t max_ns; /* longest single event, not scaled */
	uint64_t lock;   /* the lock's address */
	uint32_t flags;  /* LC_BUCKET_* */
	uint32_t nframes;
	uint8_t view;   /* enum lc_view, < LC_NVIEWS */
	uint8_t kind;   /* enum lc_kind, < LC_NKINDS */
	uint32_t epoch; /* module epoch when the stack was taken */
	uint64_t *pcs;  /* innermost first, return addresses */
};

/* LC_REC_LOCK: one contended lock. */
struct dump_lock {
	uint64_t addr;
	uint64_t trylock_failures;
	uint64_t timeouts;
	uint64_t uncharged_ns;
	uint32_t kind;                      /* enum lc_kind of its first contention, < LC_NKINDS */
	uint32_t nframes;                   /* 0..LC_LOCK_FIRST_FRAMES */
	uint32_t epoch;                     /* module epoch when the first stack was taken */
	uint64_t pcs[LC_LOCK_FIRST_FRAMES]; /* where it was first contended */
	/* its events that lost their stack, per view and reason: the sum of
	 * its LOCK_LOST records (3.2; zero before) */
	struct lc_lost_entry lost[LC_NVIEWS][LC_LOST_NREASONS];
	/* of uncharged_ns, the waits that found no waiter cell: the sum of its
	 * LOCK_NO_CELL records (3.12; zero before: dump.have_no_cell) */
	uint64_t no_cell_count, no_cell_ns;
};

/* One LOCK_LOST record, or one LOCK_UNCHARGED (3.11: its uncharged_ns
 * alone, lost all zero), or one LOCK_NO_CELL (3.12: its no_cell_* alone),
 * as read. */
struct dump_lock_lost {
	uint64_t addr;
	struct lc_lost_entry lost[LC_NVIEWS][LC_LOST_NREASONS];
	uint64_t uncharged_ns;
	uint64_t no_cell_count, no_cell_ns;
};

/* LC_REC_LOCK_INIT (3.3): where a contended lock was initialised. */
struct dump_lock_init {
	uint64_t addr;
	uint32_t epoch;                    /* module epoch when the stack was taken */
	uint32_t nframes;                  /* 1..LC_LOCK_INIT_FRAMES */
	uint64_t pcs[LC_LOCK_INIT_FRAMES]; /* innermost first, return addresses */
};

/* LC_REC_WAITING (3.4): what one slot's thread was waiting for as the file
 * was read.  A torn copy (taken while its thread wrote it, or its writer
 * died inside that write) has nothing but `torn`. */
struct dump_waiting {
	bool torn;
	int32_t tid;       /* 0: the slot has no thread now */
	uint64_t lock;     /* 0: not waiting */
	uint64_t since_ns; /* CLOCK_MONOTONIC when the wait began */
	int32_t owner_tid; /* the owner the wait began behind; 0: unknown */
	uint32_t kind;     /* enum lc_kind, < LC_NKINDS */
	uint32_t epoch;    /* module epoch when the stack was taken */
	uint32_t nframes;
	char name[LC_THREAD_NAME]; /* NUL-terminated */
	uint64_t *pcs;             /* nframes, innermost first */
};

/* One entry of a SERIES record (3.4), its place made times: [start_ns,
 * end_ns) after the profile's start (META.start_mono_ns). */
struct dump_series_entry {
	uint64_t start_ns, end_ns;
	uint64_t lock;  /* 0: no lock (or other) */
	uint64_t stack; /* lc_stack_id of its stack, 0: none (or other) */
	uint64_t count, delay_ns;
	uint8_t view;  /* < LC_NVIEWS */
	uint8_t level; /* its width is interval_ns << level */
	bool other;    /* LC_SERIES_OTHER: locks and stacks not told apart */
};

/* Whether a series can be placed in time: its entries add up to its
 * slot's totals exactly (dumpseries.c). */
enum dump_series_state {
	DUMP_SERIES_PLACED,  /* they do: every event of the slot is in it */
	DUMP_SERIES_UNEQUAL, /* they do not: written while read, or its writer
	                      * died inside it (docs/series.md) */
	DUMP_SERIES_BAD,     /* an entry out of range (a view, a level) */
	DUMP_SERIES_NO_SLOT, /* no SLOT record where it says, or a second
	                      * series for one slot */
};

/* LC_REC_SERIES (3.4): one slot's events over time. */
struct dump_series {
	uint64_t slot;        /* file offset of its SLOT record's head */
	uint64_t interval_ns; /* level-0 width, > 0 */
	uint32_t nentries, level;
	struct dump_series_entry *entries; /* [0, used) as read */
	size_t n;
	enum dump_series_state state;
};

/* What a THREAD record's figures are worth (dumpthreads.c). */
enum dump_thread_state {
	DUMP_THREAD_OK,      /* its own events: end (or its slot now) - base */
	DUMP_THREAD_NO_SLOT, /* no SLOT record where it says: figures unknown (0) */
	DUMP_THREAD_BAD,     /* end or its slot now below base, or ENDED with a
	                      * later thread on the slot missing: figures unknown */
};

/* LC_REC_THREAD (3.7): one thread that had a slot of its own, and its own
 * events (count and delay per view), computed once every record is read. */
struct dump_thread {
	uint64_t slot; /* file offset of its SLOT record's head */
	int32_t tid;
	bool ended;                /* it gave its slot back (exited) */
	uint64_t start_ns, end_ns; /* CLOCK_MONOTONIC, as the file has them; end 0: running */
	char name[LC_THREAD_NAME]; /* NUL-terminated, unprintable bytes '?' */
	uint64_t base_count[LC_NVIEWS], base_delay_ns[LC_NVIEWS];
	uint64_t end_count[LC_NVIEWS], end_delay_ns[LC_NVIEWS];
	uint64_t count[LC_NVIEWS], delay_ns[LC_NVIEWS]; /* its own (state OK) */
	enum dump_thread_state state;
};

/* How the records of a file ended. */
enum dump_end {
	DUMP_END_TRAILER, /* a valid trailer: the file is complete */
	DUMP_END_ZEROS,   /* a head of zeros: nothing more was written (live, or died) */
	DUMP_END_EOF,     /* the file ends right after a whole record, no trailer */
	DUMP_END_CUT,     /* the file ends inside a record or its head: cut short */
	DUMP_NENDS,       /* one past the last: keep it last */
};

struct dump {
	uint16_t version_major, version_minor;
	struct lc_rec_meta meta;
	char *exe;
	struct dump_module *modules;
	size_t nmodules;
	struct dump_bucket *buckets;
	size_t nbuckets;
	struct dump_lock *locks;
	size_t nlocks;
	struct dump_lock_lost *lock_losts; /* LOCK_LOST, LOCK_UNCHARGED, LOCK_NO_CELL records,
	                                    * by address; each also added to its lock */
	size_t nlock_losts;
	struct dump_lock_init *inits; /* LC_REC_LOCK_INIT records, in file order */
	size_t ninits;
	struct lc_rec_slot *slots; /* LC_REC_SLOT records, in file order */
	uint64_t *slot_offsets;    /* the file offset of each one's head */
	size_t nslots;
	struct dump_waiting *waiting; /* LC_REC_WAITING records, in file order */
	size_t nwaiting;
	struct dump_series *series; /* LC_REC_SERIES records, in file order */
	size_t nseries;
	struct dump_thread *threads; /* LC_REC_THREAD records (3.7), in file order */
	size_t nthreads;
	struct lc_rec_live live;     /* LC_REC_LIVE; all zero (RUNNING) without one */
	struct lc_rec_attach attach; /* LC_REC_ATTACH (3.5): a profile made by an
	                              * attach; all zero without one */
	struct lc_lost_entry lost[LC_NVIEWS][LC_LOST_NREASONS];
	uint32_t lost_views; /* bit v: the LOST record of view v was read */
	struct lc_rec_totals totals;
	/* of totals.uncharged_ns, the waits that found no waiter cell free on
	 * their lock: the sum of every LOCK_NO_CELL record (3.12), its lock's
	 * LOCK record read or not; known when have_no_cell (a 3.12 file or
	 * newer: an older writer did not count them, and these are 0) */
	uint64_t no_cell_count, no_cell_ns;
	bool have_no_cell;
	char writer[LC_DUMP_MAX_VERSION + 1]; /* LC_REC_WRITER (3.6): the version of
	                                       * lockcontend that wrote the file, its
	                                       * unprintable bytes '?'; "" without one */
	bool have_meta, have_live, have_attach, have_writer;
	bool have_lost, have_totals; /* lost and totals are known: read from LOST and
	                              * TOTALS records, or built from the slots
	                              * (both true after a successful parse) */
	bool totals_from_slots;      /* no TOTALS record: totals and lost are the SLOT
	                              * records' sums and LIVE's counters */
	bool complete;               /* a valid trailer ended the file */
	enum dump_end end;           /* how the records ended */
	uint64_t stop_offset;        /* where parsing stopped (file size if complete) */
	size_t records;              /* records read, trailer excluded, PENDING included */
	size_t skipped;              /* records of unknown type, skipped */
	size_t skipped_kind;         /* BUCKET and LOCK records of a lock kind this reader
	                              * does not know (a newer minor version's), skipped */
	size_t skipped_kind_locks;   /* the LOCK records among them */
	size_t waiting_unknown_kind; /* WAITING records of a thread waiting for a lock of
	                              * such a kind: kept, the thread shown not waiting */
	size_t pending;              /* PENDING records (being written), skipped */
	/* the skipped buckets' count and delay, per view (dump_sum adds them) */
	struct lc_lost_entry unknown_kind[LC_NVIEWS];
	char warning[256];           /* why the file is incomplete, "" if complete */
	uint64_t file_dev, file_ino; /* the file dump_read_file read (st_dev,
	                              * st_ino); 0 after dump_parse */
};

/* Parse `len` bytes.  Returns 0 with *d filled (possibly incomplete; check
 * d->complete), or -1 with a one-line reason in err (no trailing newline)
 * and *d freed.  The caller frees a successful result with dump_free. */
int dump_parse(const uint8_t *buf, size_t len, struct dump *d, char *err, size_t errlen);

/* Read and parse a file (to its end, even if it grows while being read);
 * errors name the problem (not the file). */
int dump_read_file(const char *path, struct dump *d, char *err, size_t errlen);

void dump_free(struct dump *d);

/* "trailer", "zeros", "eof", "cut" (as lockcontend-rawdump prints them);
 * "?" out of range.  The format's own enumerations are named in names.h. */
const char *dump_end_name(enum dump_end end);

/* The module whose PT_LOAD segments contain pc and that was loaded in
 * module epoch `epoch` (a bucket's or a LOCK record's); if none was, one
 * found in the next epoch (a stack taken between a dlclose() and the
 * refresh after it); or NULL.  Several (an object listed twice): the last
 * in the file. */
const struct dump_module *dump_module_in_epoch(const struct dump *d, uint64_t pc, uint32_t epoch);

/* The module whose PT_LOAD segments contain pc, for an address that has no
 * epoch (a lock's address): of those that contain it, the one loaded at
 * the latest epoch (still loaded first), or NULL. */
const struct dump_module *dump_module_of(const struct dump *d, uint64_t pc);

/* Sum of one view's buckets plus its sentinel (every lost reason), plus
 * its buckets of a kind this reader does not know (unknown_kind). */
void dump_sum(const struct dump *d, enum lc_view view, uint64_t *count, uint64_t *delay_ns);

/* One view's sentinel sums only. */
void dump_lost_sum(const struct dump *d, enum lc_view view, uint64_t *count, uint64_t *delay_ns);

/* What TOTALS says one view must add up to: contentions and delay_ns
 * (WAIT), caused_count and caused_ns (HOLDER), holds and hold_ns (HOLD). */
void dump_view_totals(const struct dump *d, enum lc_view view, uint64_t *count, uint64_t *delay_ns);

/* One sentence for a dump that had records of a lock kind this reader does
 * not know (skipped_kind, waiting_unknown_kind): how many, and the waiting
 * they hold; false, with buf untouched, when there were none. */
bool dump_skipped_kind_note(const struct dump *d, char *buf, size_t cap);

/* The conservation check of one view: dump_sum == dump_view_totals.  False
 * without totals. */
bool dump_view_conserved(const struct dump *d, enum lc_view view);

/* Does the file hold as many BUCKET, MODULE and LOCK records as its totals
 * count?  A record skipped for its kind (a newer writer's) is there all the
 * same.  False without totals. */
bool dump_records_counted(const struct dump *d);

/* Were the totals taken while threads still recorded: built from the slots
 * (no TOTALS record), or the closing records of a snapshot, which are the
 * slots' sums at that moment?  Then they may hold events in flight. */
bool dump_totals_while_running(const struct dump *d);

/* What one view's totals hold beyond its buckets and sentinel: events
 * counted by a thread but still in its stash, not yet in any stack (a file
 * without trailer; 0 in a complete one that adds up).  False, with both 0,
 * when the buckets and sentinel hold more than the totals in count or delay
 * (or there are no totals): that is no event in flight. */
bool dump_view_in_flight(const struct dump *d, enum lc_view view, uint64_t *count,
                         uint64_t *delay_ns);

/* The series (3.4).  What the placed ones (DUMP_SERIES_PLACED) add up to
 * in one view; and what the totals hold beyond that: the events of slots
 * whose series cannot be placed (or that have none, or a file without
 * series), 0 when every event is placed.  False, with both 0, when the
 * placed series hold more than the totals (the file changed while it was
 * read, or a snapshot's), or there are no totals. */
void dump_series_sum(const struct dump *d, enum lc_view view, uint64_t *count, uint64_t *delay_ns);
bool dump_series_unplaced(const struct dump *d, enum lc_view view, uint64_t *count,
                          uint64_t *delay_ns);

/* Every series' state, once all records are read (dump_parse). */
void dump_series_check(struct dump *d);

/* The index of the SLOT record whose head is at file offset off, or -1. */
long dump_slot_at(const struct dump *d, uint64_t off);

/* Every thread's own figures and state, once all records are read
 * (dump_parse; dumpthreads.c). */
void dump_threads_check(struct dump *d);

/* Per view, what the threads with a THREAD record (state OK) add up to,
 * and the rest of the totals: events of threads with none (the shared
 * overflow slot's, a file before 3.7, past the writer's cap) or whose
 * figures are unknown.  False, rest 0, when the threads hold more than the
 * totals (the file changed while it was read), or there are no totals. */
bool dump_threads_rest(const struct dump *d, enum lc_view view, uint64_t *count,
                       uint64_t *delay_ns);

/* "ok", "no_slot", "bad"; "?" out of range. */
const char *dump_thread_state_name(enum dump_thread_state s);

/* "placed", "unequal", "bad", "no_slot"; "?" out of range. */
const char *dump_series_state_name(enum dump_series_state s);

/* The LOCK record of the lock at addr, or NULL (the last one if several). */
const struct dump_lock *dump_lock_of(const struct dump *d, uint64_t addr);

/* The LOCK_INIT record of the lock at addr, or NULL (the last one if
 * several; none before format 3.3). */
const struct dump_lock_init *dump_lock_init_of(const struct dump *d, uint64_t addr);

/* The one pc rule.  A frame is a return address: the address after the
 * call.  Everything about a frame — the module that holds it, its function
 * and line, and the module+0xoffset printed when it has no name — is taken
 * at pc - 1, inside the call instruction (the return address may be the
 * first byte of the next line, or of the next function after a call that
 * never returns).  So a frame and a lock named after it print the same
 * offset, the one `eu-addr2line -e MODULE` takes. */
static inline uint64_t dump_frame_addr(uint64_t pc)
{
	return pc ? pc - 1 : 0;
}

/* The module of a frame whose stack was taken in module epoch `epoch`:
 * dump_module_in_epoch at dump_frame_addr(pc). */
const struct dump_module *dump_frame_module(const struct dump *d, uint64_t pc, uint32_t epoch);

#endif
