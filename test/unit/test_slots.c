/*
 * test_slots.c — the per-thread slots (preload/slots.c): acquisition and
 * release, and the walk the end makes (collect_slots).
 *
 * A regression from review: the dumper used to ask for "slot i" of a count
 * read once while the count was re-read per call, so a thread taking its
 * first slot during the dump pushed the shared overflow slot out of the
 * walk.  Now the overflow slot is named apart (slots_overflow) and never
 * moves, whatever slots_used becomes.
 *
 * The per-view records (format 3.0): a slot's totals per view and
 * lost[view][reason] are an LC_REC_SLOT record in the profile file (`pub`),
 * published zero when the slot is first handed out (the overflow slot's at
 * init, which fails if the file has no room for it); a slot whose record
 * the file has no room for is not handed out (the overflow slot is).  The
 * totals survive a release and a reuse of the slot (a later thread adds to
 * the same record).  slots_reset (a fork child, whose file is new) forgets
 * the records of every slot handed out and gives the overflow slot a new
 * one, zeroes the noted event's key and the stash, and touches no slot
 * beyond those; a slot handed out after it gets a new record.
 *
 * A regression from a process tree (issue 13): a fork that stopped a parent
 * thread inside slots_acquire, after its claim of a slot and before the
 * high-water mark covered it, left the child a slot that slots_reset did not
 * clear: its `pub` pointed at the address the child's own next SLOT record
 * took, and the end added that record up twice (TOTALS 2x the buckets).
 * The test forks from inside the claim itself: this binary is linked with
 * --wrap=waiting_record (Makefile), the last call the claim makes.
 */
#include <criterion/criterion.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pfiletest.h"
#include "slots.h"

static struct arena arena;
static struct pfile file;
static struct slots slots;

static void unmap(void)
{
	if (arena.base)
		munmap(arena.base, arena.size);
	memset(&arena, 0, sizeof(arena));
	pft_close(&file);
}

/* nslots slots in a 4 MB arena, their records in a file of file_cap bytes. */
static int make_in(uint32_t nslots, size_t file_cap)
{
	cr_assert_eq(arena_init(&arena, 4u << 20), 0);
	pft_open(&file, file_cap);
	return slots_init(&slots, &arena, &file, nslots, true, 4, NULL);
}

static void make(uint32_t nslots)
{
	cr_assert_eq(make_in(nslots, 4u << 20), 0);
}

static const struct lc_rec_head *head_of(const void *payload)
{
	return (const struct lc_rec_head *)payload - 1;
}

/* sl has a published, whole SLOT record in the file. */
static void assert_record(const struct slot *sl, const char *which)
{
	cr_assert_not_null(sl->pub, "%s: no record", which);
	cr_assert(pfile_contains(&file, sl->pub), "%s: the record is not in the file", which);
	cr_assert_eq(head_of(sl->pub)->type, LC_REC_SLOT, "%s: record type %u", which,
	             head_of(sl->pub)->type);
	cr_assert_eq(head_of(sl->pub)->size, sizeof(struct lc_rec_slot), "%s: record size", which);
}

static uint64_t slot_records(void)
{
	return pft_walk_file(&file, NULL, NULL).by_type[LC_REC_SLOT];
}

TestSuite(slots, .fini = unmap);

Test(slots, overflow_slot_stays_apart_while_slots_are_handed_out)
{
	make(8);
	bool overflow;
	struct slot *a = slots_acquire(&slots, &overflow);
	cr_assert(!overflow);
	struct slot *b = slots_acquire(&slots, &overflow);
	struct slot *ovf = slots_overflow(&slots);
	uint32_t n = slots_used(&slots);
	cr_assert_eq(n, 2);
	/* the walk has started; a new thread takes a slot meanwhile */
	struct slot *c = slots_acquire(&slots, &overflow);
	cr_assert(ovf == slots_overflow(&slots));
	cr_assert(a != ovf && b != ovf && c != ovf);
	cr_assert_eq(slots_used(&slots), 3);
}

Test(slots, all_taken_gives_the_overflow_slot_and_release_frees_one)
{
	make(4);
	bool overflow;
	struct slot *got[4];
	for (int i = 0; i < 4; i++) {
		got[i] = slots_acquire(&slots, &overflow);
		cr_assert(!overflow);
	}
	cr_assert(slots_acquire(&slots, &overflow) == slots_overflow(&slots));
	cr_assert(overflow);
	slots_release(&slots, got[2]);
	cr_assert(slots_acquire(&slots, &overflow) == got[2]);
	cr_assert(!overflow);
	cr_assert_eq(slots_used(&slots), 4, "a reused slot does not grow the walk");
}

Test(slots, closed_slot_refuses_its_owner_and_the_shared_wait_is_bounded)
{
	make(2);
	bool overflow;
	struct slot *a = slots_acquire(&slots, &overflow);
	cr_assert(slot_close(a, 1000000));
	cr_assert(!slot_enter(a, false, SLOT_BUSY), "a closed slot must refuse its owner");
	struct slot *ovf = slots_overflow(&slots);
	cr_assert(slot_enter(ovf, true, SLOT_BUSY));
	/* BUSY by "another thread" (or this one, in a signal handler): a
	 * second entry must give up after SLOT_SHARED_WAIT_NS, not hang */
	cr_assert(!slot_enter(ovf, true, SLOT_BUSY));
	slot_leave(ovf);
	cr_assert(slot_enter(ovf, true, SLOT_BUSY));
	slot_leave(ovf);
}

/* The value fill_views puts in lost[v][r] (+1: count, +2: delay_ns). */
static uint64_t lost_value(uint64_t base, int v, int r)
{
	return base + 100 * (uint64_t)v + 2 * (uint64_t)r;
}

/* The private part of a slot: the noted event and the stash. */
static void fill_private(struct slot *sl, uint64_t base)
{
	struct slot_raw *r = &sl->raw[LC_VIEW_HOLDER];
	r->key = (struct event_key){.lock = 0x1000 + base, .view = LC_VIEW_HOLDER, .kind = 2};
	r->max = base + 9;
	for (int v = 0; v < LC_NVIEWS; v++) {
		sl->stash[v].count = 1;
		sl->stash[v].max_ns = base + 10 + (uint64_t)v;
		sl->stash[v].key = r->key;
	}
}

/* Distinct non-zero values in every per-view field of sl's record, from
 * `base`, and in its private part. */
static void fill_views(struct slot *sl, uint64_t base)
{
	struct lc_rec_slot *p = sl->pub;
	for (int v = 0; v < LC_NVIEWS; v++) {
		p->count[v] = base + 10 * (uint64_t)v + 1;
		p->delay_ns[v] = base + 10 * (uint64_t)v + 2;
		for (int r = 0; r < LC_LOST_NREASONS; r++) {
			p->lost[v][r].count = lost_value(base, v, r) + 1;
			p->lost[v][r].delay_ns = lost_value(base, v, r) + 2;
		}
	}
	p->timeouts = base + 7;
	p->uncharged_ns = base + 8;
	fill_private(sl, base);
}

static void assert_private(const struct slot *sl, uint64_t base)
{
	cr_assert_eq(sl->raw[LC_VIEW_HOLDER].key.lock, 0x1000 + base);
	cr_assert_eq(sl->raw[LC_VIEW_HOLDER].max, base + 9);
	for (int v = 0; v < LC_NVIEWS; v++)
		cr_assert_eq(sl->stash[v].max_ns, base + 10 + (uint64_t)v);
}

static void assert_views(const struct slot *sl, uint64_t base)
{
	const struct lc_rec_slot *p = sl->pub;
	for (int v = 0; v < LC_NVIEWS; v++) {
		cr_assert_eq(p->count[v], base + 10 * (uint64_t)v + 1, "count[%d]", v);
		cr_assert_eq(p->delay_ns[v], base + 10 * (uint64_t)v + 2, "delay_ns[%d]", v);
		for (int r = 0; r < LC_LOST_NREASONS; r++) {
			cr_assert_eq(p->lost[v][r].count, lost_value(base, v, r) + 1,
			             "lost[%d][%d].count", v, r);
			cr_assert_eq(p->lost[v][r].delay_ns, lost_value(base, v, r) + 2,
			             "lost[%d][%d].delay_ns", v, r);
		}
	}
	cr_assert_eq(p->timeouts, base + 7);
	cr_assert_eq(p->uncharged_ns, base + 8);
	assert_private(sl, base);
}

static bool all_zero(const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

/* After a reset: the private part zeroed; the record is checked apart. */
static void assert_private_zero(const struct slot *sl, const char *which)
{
	cr_assert(all_zero(sl->raw, sizeof(sl->raw)), "%s: noted events not reset", which);
	for (int v = 0; v < LC_NVIEWS; v++) {
		cr_assert(!stash_full(&sl->stash[v]) && sl->stash[v].max_ns == 0,
		          "%s: stash %d not reset", which, v);
		cr_assert(all_zero(&sl->stash[v].key, sizeof(sl->stash[v].key)), "%s: stash key %d",
		          which, v);
	}
}

Test(slots, records_are_made_on_first_use_and_kept_on_reuse)
{
	make(1);
	assert_record(slots_overflow(&slots), "overflow slot, at init");
	cr_assert_eq(slot_records(), 1, "init makes the overflow slot's record only");
	cr_assert(all_zero(slots_overflow(&slots)->pub, sizeof(struct lc_rec_slot)));
	bool overflow;
	struct slot *a = slots_acquire(&slots, &overflow);
	assert_record(a, "first slot");
	cr_assert(all_zero(a->pub, sizeof(struct lc_rec_slot)), "a new record is not zero");
	cr_assert_neq(a->pub, slots_overflow(&slots)->pub);
	cr_assert_eq(slot_records(), 2);
	struct lc_rec_slot *pub = a->pub;
	slots_release(&slots, a);
	cr_assert(slots_acquire(&slots, &overflow) == a);
	cr_assert_eq(a->pub, pub, "a reused slot got a new record");
	cr_assert_eq(slot_records(), 2);
	/* what the owner writes is what a reader of the file sees */
	a->pub->count[LC_VIEW_WAIT] = 42;
	const struct lc_rec_slot *seen = pft_nth(&file, LC_REC_SLOT, 1);
	cr_assert_eq(seen, a->pub);
	cr_assert_eq(seen->count[LC_VIEW_WAIT], 42);
}

/* With a series (series.h): each slot's SERIES record right after its
 * SLOT record, naming it, kept on reuse; a reset (a fork child) makes the
 * overflow slot a new one, and a slot handed out after it too; a file with
 * room for a SLOT record but not its series hands the slot out without one. */
Test(slots, each_slot_has_its_series_through_reuse_and_reset)
{
	cr_assert_eq(arena_init(&arena, 4u << 20), 0);
	pft_open(&file, 4u << 20);
	struct series_conf c = {.interval_ns = 1000, .nentries = 16};
	cr_assert_eq(slots_init(&slots, &arena, &file, 1, false, 0, &c), 0);
	bool overflow;
	struct slot *a = slots_acquire(&slots, &overflow);
	struct slot *all[] = {slots_overflow(&slots), a};
	for (int i = 0; i < 2; i++) {
		struct lc_rec_series *r = all[i]->series;
		cr_assert_not_null(r);
		cr_assert_eq(head_of(r)->type, LC_REC_SERIES);
		cr_assert_eq((const char *)r - 8 - sizeof(struct lc_rec_slot),
		             (const char *)all[i]->pub, "right after its SLOT record");
		cr_assert_eq(r->slot, (uint64_t)((const char *)head_of(all[i]->pub) - file.base));
		cr_assert_eq(r->interval_ns, 1000);
		cr_assert_eq(r->nentries, 16);
		cr_assert_eq(head_of(r)->size, sizeof(*r) + 16 * sizeof(struct lc_series_entry));
	}
	struct lc_rec_series *series = a->series, *ovf_series = all[0]->series;
	slots_release(&slots, a);
	cr_assert(slots_acquire(&slots, &overflow) == a);
	cr_assert_eq(a->series, series, "a reused slot goes on with its series");
	slots_reset(&slots);
	cr_assert_null(a->series);
	cr_assert_not_null(slots_overflow(&slots)->series);
	cr_assert_neq(slots_overflow(&slots)->series, ovf_series);
	a = slots_acquire(&slots, &overflow);
	cr_assert_not_null(a->series);
	cr_assert_neq(a->series, series, "a new file, a new series");
}

Test(slots, without_a_series_conf_no_series)
{
	make(2);
	bool overflow;
	cr_assert_null(slots_acquire(&slots, &overflow)->series);
	cr_assert_null(slots_overflow(&slots)->series);
	cr_assert_eq(pft_walk_file(&file, NULL, NULL).by_type[LC_REC_SERIES], 0);
}

Test(slots, init_fails_without_room_for_the_overflow_record)
{
	/* a file with room for the header and a record less 8 bytes */
	cr_assert_eq(make_in(4, PFILE_RESERVE + 16 + 8 + sizeof(struct lc_rec_slot) - 8), -1);
}

/* A WAITING record with room for make_in's 4 frames, its head included. */
#define WAITING_BYTES (8 + sizeof(struct lc_rec_waiting) + 4 * 8 + 8)

Test(slots, no_room_for_a_record_gives_the_overflow_slot)
{
	/* room for the overflow slot's record and two more, each with its
	 * WAITING record */
	cr_assert_eq(make_in(8, PFILE_RESERVE + 16 + 3 * (8 + sizeof(struct lc_rec_slot)) +
	                            2 * WAITING_BYTES),
	             0);
	bool overflow;
	struct slot *a = slots_acquire(&slots, &overflow);
	struct slot *b = slots_acquire(&slots, &overflow);
	cr_assert(!overflow);
	assert_record(a, "a");
	assert_record(b, "b");
	struct slot *c = slots_acquire(&slots, &overflow);
	cr_assert(overflow, "a slot was handed out without a record");
	cr_assert(c == slots_overflow(&slots));
	/* the slot whose record failed was claimed, so it is in the walk (a
	 * fork then must clear it); no other */
	cr_assert_eq(slots_used(&slots), 3, "the walk grew over slots never claimed");
	cr_assert_eq(atomic_load(&slots.slot[2].in_use), 0, "the refused slot stays taken");
	/* A released slot has its record: it is handed out again, though the
	 * search (from the hint, slot 2) meets slots without one first.  (It
	 * gave up at the first of those, and every new thread shared the
	 * overflow slot, while a slot with a record was free.) */
	slots_release(&slots, b);
	struct slot *again = slots_acquire(&slots, &overflow);
	cr_assert(again == b && !overflow, "got %s, not the free slot b",
	          again == slots_overflow(&slots) ? "the overflow slot" : "another slot");
	cr_assert_eq(slot_records(), 3);
	for (uint32_t i = 2; i < 8; i++)
		cr_assert_eq(atomic_load(&slots.slot[i].in_use), 0, "slot %u left taken", i);
}

/* A slot handed out has its WAITING record (made once: a slot reused keeps
 * it), nobody waiting, room for the frames asked; the overflow slot none;
 * a release leaves it without a thread. */
Test(slots, each_slot_has_a_waiting_record_made_once)
{
	make(2);
	bool overflow;
	struct slot *a = slots_acquire(&slots, &overflow);
	cr_assert(!overflow && a->waiting, "a slot without its WAITING record");
	cr_assert_eq(head_of(a->waiting)->type, LC_REC_WAITING);
	cr_assert_eq(head_of(a->waiting)->size, sizeof(struct lc_rec_waiting) + 4 * 8 + 8);
	cr_assert_eq(a->waiting->frames, 4);
	cr_assert_eq(a->waiting->lock, 0);
	cr_assert(!slots_overflow(&slots)->waiting, "the shared overflow slot shows no wait");
	struct lc_rec_waiting *w = a->waiting;
	w->tid = 42;
	struct slot *b = slots_acquire(&slots, &overflow);
	cr_assert(!overflow && b->waiting && b->waiting != w);
	slots_release(&slots, a);
	cr_assert_eq(w->tid, 0, "a released slot still names its thread");
	cr_assert_eq(w->seq % 2, 0, "the release left the record being written");
	struct slot *again = slots_acquire(&slots, &overflow);
	cr_assert(again == a && again->waiting == w, "a reused slot got a second WAITING record");
	cr_assert_eq(pft_walk_file(&file, NULL, NULL).by_type[LC_REC_WAITING], 2);
}

/* waiting=0: no WAITING record at all. */
Test(slots, waiting_off_makes_no_waiting_record)
{
	cr_assert_eq(arena_init(&arena, 4u << 20), 0);
	pft_open(&file, 4u << 20);
	cr_assert_eq(slots_init(&slots, &arena, &file, 2, false, 4, NULL), 0);
	bool overflow;
	struct slot *a = slots_acquire(&slots, &overflow);
	cr_assert(!overflow && !a->waiting);
	cr_assert_eq(pft_walk_file(&file, NULL, NULL).by_type[LC_REC_WAITING], 0);
}

Test(slots, per_view_totals_and_lost_survive_release_and_reuse)
{
	make(1);
	bool overflow;
	struct slot *a = slots_acquire(&slots, &overflow);
	fill_views(a, 1000);
	slots_release(&slots, a);
	struct slot *b = slots_acquire(&slots, &overflow);
	cr_assert(b == a && !overflow, "the only slot was not reused");
	assert_views(b, 1000);
	/* the cells are apart: raising one view's lost reason moves no other */
	b->pub->lost[LC_VIEW_HOLDER][LC_LOST_EVICTED].count += 5;
	cr_assert_eq(b->pub->lost[LC_VIEW_WAIT][LC_LOST_EVICTED].count, 1001);
	cr_assert_eq(b->pub->lost[LC_VIEW_HOLD][LC_LOST_EVICTED].count, 1201);
	cr_assert_eq(b->pub->lost[LC_VIEW_HOLDER][LC_LOST_EVICTED + 1].count, 1103);
}

Test(slots, reset_forgets_records_and_zeroes_handed_out_and_overflow_slots_only)
{
	make(8);
	bool overflow;
	struct slot *got[3];
	for (int i = 0; i < 3; i++) {
		got[i] = slots_acquire(&slots, &overflow);
		fill_views(got[i], 1000 * (uint64_t)(i + 1));
	}
	struct lc_rec_slot *old_ovf = slots_overflow(&slots)->pub;
	fill_views(slots_overflow(&slots), 9000);
	/* Never handed out: reset must leave it alone (a fork child would
	 * fault in the whole array).  Written here only to see that. */
	struct slot *beyond = &slots.slot[6];
	fill_private(beyond, 7000);
	uint64_t before = slot_records();
	slots_reset(&slots);
	cr_assert_eq(slots_used(&slots), 0);
	/* The records belong to the parent's file: a child must not write them. */
	for (int i = 0; i < 3; i++) {
		cr_assert_null(got[i]->pub, "a handed-out slot kept its record");
		assert_private_zero(got[i], "handed-out slot");
	}
	struct slot *ovf = slots_overflow(&slots);
	assert_record(ovf, "overflow slot after reset");
	cr_assert_neq(ovf->pub, old_ovf, "the overflow slot kept its old record");
	cr_assert(all_zero(ovf->pub, sizeof(struct lc_rec_slot)), "the new record is not zero");
	assert_private_zero(ovf, "overflow slot");
	cr_assert_eq(slot_records(), before + 1);
	assert_private(beyond, 7000);
	/* the old records are as they were (in a fork, the parent's file) */
	cr_assert_eq(old_ovf->timeouts, 9000 + 7);
	/* a slot handed out after the reset gets a new, zero record */
	struct slot *a = slots_acquire(&slots, &overflow);
	cr_assert(a == got[0] && !overflow);
	assert_record(a, "slot after reset");
	cr_assert(all_zero(a->pub, sizeof(struct lc_rec_slot)), "old totals in a new record");
	cr_assert_eq(slot_records(), before + 2);
}

/* A fork from inside slots_acquire (fork_in_claim set): the child resets as
 * a fork child's profile does, takes a slot, and exits 0 if no slot but that
 * one has a record or a claim; else 1 + the stale slot's index. */
struct lc_rec_waiting *__real_waiting_record(struct pfile *f, uint32_t frames);
static bool fork_in_claim;
static pid_t claim_child;

static void child_check(void)
{
	/* the child's own file, as a fork child's profile has */
	memset(&file, 0, sizeof(file));
	pft_open(&file, 4u << 20);
	slots_reset(&slots);
	bool overflow;
	struct slot *mine = slots_acquire(&slots, &overflow);
	for (uint32_t i = 0; i < slots.nslots; i++) {
		struct slot *sl = &slots.slot[i];
		if (sl != mine && (sl->pub || atomic_load(&sl->in_use)))
			_exit(1 + (int)i);
	}
	pft_close(&file);
	_exit(overflow ? 100 : 0);
}

struct lc_rec_waiting *__wrap_waiting_record(struct pfile *f, uint32_t frames)
{
	if (fork_in_claim) {
		fork_in_claim = false;
		claim_child = fork();
		if (claim_child == 0)
			child_check();
	}
	return __real_waiting_record(f, frames);
}

Test(slots, a_fork_inside_a_claim_leaves_the_child_no_stale_slot)
{
	make(8);
	fork_in_claim = true;
	bool overflow;
	struct slot *a = slots_acquire(&slots, &overflow);
	cr_assert(!overflow && a == &slots.slot[0]);
	cr_assert_gt(claim_child, 0, "the claim made no WAITING record (no fork)");
	int st = 0;
	cr_assert_eq(waitpid(claim_child, &st, 0), claim_child);
	cr_assert(WIFEXITED(st), "the child died (status %#x)", st);
	cr_assert_eq(WEXITSTATUS(st), 0,
	             "the child kept slot %d of the parent's claim under way (100: overflow)",
	             WEXITSTATUS(st) - 1);
}
