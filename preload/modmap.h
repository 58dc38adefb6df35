/*
 * modmap.h — the loaded objects that recorded stacks point into.
 *
 * A module is what dl_iterate_phdr reports for one object: path, load bias,
 * PT_LOAD segments and the GNU build-id, read from the PT_NOTE segment in
 * memory (no file I/O in the profiled process).  The map only grows: a
 * refresh appends objects not seen before (same path, bias and extent means
 * the same module), so an object unloaded later is still in the dump.
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
#include <stdint.h>

#include "arena.h"
#include "lockcontend/dumpfmt.h"

#define MODMAP_MAX 4096

struct module {
	uint64_t load_bias;
	uint64_t lo, hi;         /* runtime extent of the PT_LOAD segments */
	uint32_t nsegments;
	uint32_t build_id_len;
	uint32_t path_len;
	uint8_t build_id[LC_DUMP_MAX_BUILD_ID];
	struct lc_rec_segment *segments;
	char *path;
};

struct modmap {
	struct arena *arena;
	struct module *_Atomic *mods; /* MODMAP_MAX pointers */
	_Atomic uint32_t count;       /* published entries */
	_Atomic uint32_t reserved;    /* indexes handed out */
	_Atomic uint32_t refreshing;
	_Atomic uint64_t dropped;  /* objects not stored: arena or map full */
	const char *exe_path;      /* name for the main program ("" in phdr) */
};

int modmap_init(struct modmap *m, struct arena *a, const char *exe_path);
void modmap_reset(struct modmap *m);

/* True if every pc lies in a known module. */
bool modmap_covers(const struct modmap *m, const uintptr_t *pcs, uint32_t n);

/* Append objects not yet known.  Returns false if another thread was
 * refreshing (nothing was done). */
bool modmap_refresh(struct modmap *m);

/* For the dumper: wait up to max_ns for a refresh under way, then refresh
 * whatever the flag says. */
void modmap_refresh_final(struct modmap *m, uint64_t max_ns);

uint32_t modmap_count(const struct modmap *m);
const struct module *modmap_at(const struct modmap *m, uint32_t i);

/* The executable text range of the object containing addr (for skipping
 * our own frames); false if none. */
bool modmap_self_range(const void *addr, uintptr_t *lo, uintptr_t *hi);

#endif
