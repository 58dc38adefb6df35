/*
 * modmap.h — the loaded objects that recorded stacks point into.
 *
 * A module is what dl_iterate_phdr reports for one object: path, load bias,
 * PT_LOAD segments and the GNU build-id, read from the PT_NOTE segment in
 * memory (no file I/O in the profiled process).  The map only grows: a
 * refresh appends objects not seen before (same path, bias and extent means
 * the same module), so an object unloaded later is still in the dump.
 * Each module is an LC_REC_MODULE record in the profile file, written when
 * it is found.
 *
 * Module epochs tell apart two objects loaded one after the other at the
 * same address.  A refresh that finds a module gone (dlclose) marks its
 * last epoch with the current one and moves the epoch on, before it adds
 * what is new with the new epoch as their first; a stack is stamped with
 * the epoch when it is taken.  The dlclose hook refreshes before and after
 * the real call, so every object is found in the epoch it was loaded in
 * and marked gone in the one it was unloaded in.
 *
 * Readers (modmap_covers, the dump) take no lock: an entry is appended by
 * reserving its index (atomic increment), filling it, and publishing the
 * count in index order (release).  Refreshes are serialised by a flag taken
 * with trylock semantics: a thread that finds a refresh under way does not
 * wait.  The dumper waits for the flag a bounded time, then refreshes
 * anyway (the holder may be stuck in dl_iterate_phdr behind the loader's
 * lock); the append protocol keeps that safe, at worst listing an object
 * twice.  modmap_refresh calls dl_iterate_phdr, which takes the loader's
 * lock: never call it inside a slot or with any lock of ours held.
 */
#ifndef LOCKCONTEND_MODMAP_H
#define LOCKCONTEND_MODMAP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <link.h>
#include <stdint.h>

#include "arena.h"
#include "pfile.h"
#include "lockcontend/dumpfmt.h"

#define MODMAP_MAX 4096

struct module {
	struct lc_rec_module *pub; /* the record in the profile file */
	uint32_t seen;             /* the last refresh that saw it loaded */
	uint64_t load_bias;
	uint64_t lo, hi; /* runtime extent of the PT_LOAD segments */
	uint32_t nsegments;
	uint32_t build_id_len;
	uint32_t path_len;
	uint8_t build_id[LC_DUMP_MAX_BUILD_ID];
	struct lc_rec_segment *segments;
	char *path;
};

/* glibc's dl_iterate_phdr, as the preload reaches it past its own hook
 * (real.h), or the plain one in a unit test. */
typedef int (*modmap_iterate_fn)(int (*)(struct dl_phdr_info *, size_t, void *), void *);

struct modmap {
	modmap_iterate_fn iterate;
	struct arena *arena;
	struct pfile *file;
	_Atomic uint32_t *epoch; /* LC_REC_LIVE.epoch */
	/* The same, for the recorder to read (modmap_epoch): the LIVE
	 * record's line takes an add at every failed trylock */
	_Atomic uint32_t epoch_now;
	uint32_t pass;                /* refreshes so far (under refreshing) */
	struct module *_Atomic *mods; /* MODMAP_MAX pointers */
	_Atomic uint32_t count;       /* published entries */
	_Atomic uint32_t reserved;    /* indexes handed out */
	_Atomic uint32_t refreshing;
	_Atomic uint64_t dropped; /* objects not stored: arena or map full */
	const char *exe_path;     /* name for the main program ("" in phdr) */
};

int modmap_init(struct modmap *m, modmap_iterate_fn iterate, struct arena *a, struct pfile *f,
                _Atomic uint32_t *epoch, const char *exe_path);
void modmap_reset(struct modmap *m);

/* The current module epoch (LC_REC_LIVE.epoch), read where no counter
 * is written: every recorded event stamps its stack with it.  Acquire:
 * what a refresh stored before it moved the epoch on is seen. */
static inline uint32_t modmap_epoch(const struct modmap *m)
{
	return atomic_load_explicit(&m->epoch_now, memory_order_acquire);
}

/* True if every pc lies in a known module. */
bool modmap_covers(const struct modmap *m, const uintptr_t *pcs, uint32_t n);

/* Mark what was unloaded, append objects not yet known.  Returns false if
 * another thread was refreshing (nothing was done). */
bool modmap_refresh(struct modmap *m);

/* Keep refreshes out (the flag, waited for at most max_ns, yielding):
 * while the profile's memory moves into its file (filing.c), nothing may
 * be appended to it.  A refresh tried meanwhile is not made (its caller
 * refreshes later, as after any refresh under way); the end's waits.
 * false: a refresh kept the flag all along. */
bool modmap_hold(struct modmap *m, uint64_t max_ns);
void modmap_unhold(struct modmap *m);

/* For the dumper: wait up to max_ns for a refresh under way, then refresh
 * whatever the flag says. */
void modmap_refresh_final(struct modmap *m, uint64_t max_ns);

uint32_t modmap_count(const struct modmap *m);
const struct module *modmap_at(const struct modmap *m, uint32_t i);

#endif
