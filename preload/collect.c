/*
 * collect.c — reading every slot: the sums the end writes, and snapshots.
 *
 * At the end (lifecycle.c) each slot is closed for good (slots.h: waiting a
 * bounded time for its owner), what it still holds is settled and
 * published, and its totals and lost counters are added up: the TOTALS and
 * LOST records a reader checks the buckets against.  A snapshot (signal=)
 * closes nothing: it copies the file and adds up the slots as they are.
 */
#include "core.h"

#include <errno.h>
#include <string.h>

#include "text.h"
#include "threadrec.h"

/* Add one slot's totals and lost counters to in. */
static void collect_sum_slot(struct dump_input *in, const struct lc_rec_slot *p)
{
	in->totals.contentions += p->count[LC_VIEW_WAIT];
	in->totals.delay_ns += p->delay_ns[LC_VIEW_WAIT];
	in->totals.timeouts += p->timeouts;
	in->totals.caused_count += p->count[LC_VIEW_HOLDER];
	in->totals.caused_ns += p->delay_ns[LC_VIEW_HOLDER];
	in->totals.uncharged_ns += p->uncharged_ns;
	in->totals.holds += p->count[LC_VIEW_HOLD];
	in->totals.hold_ns += p->delay_ns[LC_VIEW_HOLD];
	for (int v = 0; v < LC_NVIEWS; v++)
		for (int r = 0; r < LC_LOST_NREASONS; r++) {
			in->lost[v][r].count += p->lost[v][r].count;
			in->lost[v][r].delay_ns += p->lost[v][r].delay_ns;
		}
}

/* The counters that belong to no slot, into in and the LIVE record. */
void collect_counters(struct dump_input *in)
{
	struct lc_rec_live *l = core.live;
	atomic_store(live_u64(&l->stacks_refused), atomic_load(&core.tab.refused));
	atomic_store(live_u64(&l->locks_refused), atomic_load(&core.locks.refused));
	atomic_store(live_u64(&l->modules_dropped), atomic_load(&core.modmap.dropped));
	in->totals.stacks_refused = atomic_load(live_u64(&l->stacks_refused));
	in->totals.locks_refused = atomic_load(live_u64(&l->locks_refused));
	in->totals.threads_seen = atomic_load(live_u64(&l->threads_seen));
	in->totals.trylock_failures = atomic_load(live_u64(&l->trylock_failures));
	in->totals.buckets = stacktab_count(&core.tab); /* nbuckets may miss one a jump cut */
	in->totals.modules = modmap_count(&core.modmap);
	in->totals.locks = lockstate_count_used(&core.locks);
}

void collect_slots(struct dump_input *in)
{
	uint64_t rng = recorder_now() | 1; /* for keep-one draws of others' events */
	/* Every slot ever handed out, then the shared overflow slot. */
	uint32_t n = slots_used(&core.slots);
	for (uint32_t i = 0; i <= n; i++) {
		struct slot *sl = i < n ? &core.slots.slot[i] : slots_overflow(&core.slots);
		if (!sl->pub)
			continue; /* never handed out */
		if (!slot_close(sl, CORE_CLOSE_WAIT_NS)) {
			const struct lc_rec_slot *p = sl->pub;
			if (p->count[LC_VIEW_WAIT] || p->count[LC_VIEW_HOLDER] ||
			    p->count[LC_VIEW_HOLD])
				in->totals.threads_unread++;
			continue;
		}
		recorder_publish_all(sl, &rng); /* the module map is refreshed once, below */
		collect_sum_slot(in, sl->pub);
		if (sl->thread && atomic_load(&sl->in_use)) /* still running: its name now */
			threadrec_name_now(sl->thread);
	}
}

void collect_summary(const struct dump_input *in, const char *path)
{
	char buf[1024 + 256];
	struct text t;
	uint64_t lost_count = 0;
	for (int r = 0; r < LC_LOST_NREASONS; r++)
		lost_count += in->lost[LC_VIEW_WAIT][r].count;
	text_init(&t, buf, sizeof(buf));
	text_u64(&t, in->totals.contentions);
	text_str(&t, " contentions, ");
	text_duration(&t, in->totals.delay_ns);
	text_str(&t, " total wait, ");
	text_u64(&t, atomic_load(&core.tab.nbuckets));
	text_str(&t, " stacks, ");
	text_u64(&t, lost_count);
	text_str(&t, " lost; profile ");
	text_str(&t, path);
	text_warn(buf);
}

/* ---- snapshots on request ------------------------------------------------- */

/* The signal handler of signal=: mark the point in LIVE, and write a
 * complete copy of the file as it is (closed with the slots' sums as they
 * are: events in flight may make them differ a little from the buckets).
 * Only reads of our memory, open/write/rename: async-signal-safe.  One at
 * a time (core.snapshotting); none once the end has begun. */

/* The slots' sums as they are, read after the file was copied: the
 * copy's stacks never hold more than its totals (what came in between is
 * in flight). */
static void collect_snapshot_sums(struct dump_input *in)
{
	memset(in, 0, sizeof(*in));
	uint32_t n = slots_used(&core.slots);
	for (uint32_t i = 0; i <= n; i++) {
		struct slot *sl = i < n ? &core.slots.slot[i] : slots_overflow(&core.slots);
		if (sl->pub)
			collect_sum_slot(in, sl->pub);
	}
	collect_counters(in);
}

void collect_snapshot(int sig)
{
	(void)sig;
	int saved = errno;
	struct lc_tls *t = &lc_tls;
	core_enter(t); /* attached: a detach waits for us (core.h) */
	/* A profile still in memory has recorded nothing worth a copy, and
	 * must not be written while it moves into its file (filing.c). */
	if (!core_recording() || atomic_load(&core.filing) != FILING_MADE ||
	    atomic_exchange(&core.snapshotting, 1)) {
		core_leave(t);
		errno = saved;
		return;
	}
	uint64_t nth = atomic_fetch_add(live_u64(&core.live->snapshots), 1) + 1;
	atomic_store(live_u64(&core.live->snapshot_mono_ns), recorder_now());
	static char path[PFILE_PATH_MAX + 32], err[PFILE_PATH_MAX + 128]; /* one at a time */
	struct text tx;
	text_init(&tx, path, sizeof(path));
	text_str(&tx, core.path);
	text_str(&tx, ".snap");
	text_u64(&tx, nth);
	if (dumpwrite_snapshot(&core.file, collect_snapshot_sums, path, err, sizeof(err)) != 0)
		text_warn(err);
	core_leave(t);
	atomic_store(&core.snapshotting, 0);
	errno = saved;
}
