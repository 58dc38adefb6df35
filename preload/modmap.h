/*
 * modmap.h — the loaded objects that recorded stacks point into.
 *
 * A module is what dl_iterate_phdr reports for one object: path, load bias,
 * PT_LOAD segments and the GNU build-id, read from the PT_NOTE segment in
 * memory (no file I/O in the profiled process).  The map only grows: a
 * refresh appends objects not seen before (same path, bias and extent means
 * the same module), so an object unloaded later is still in the dump.
 *
 * Readers (modmap_covers, the dump) take no lock: entries are published
 * with a release store of the count.  Refreshes are serialised by a flag
 * taken with trylock semantics: a thread that finds a refresh under way
 * does not wait, it marks the map dirty and the dump refreshes once more.
 * modmap_refresh calls dl_iterate_phdr, which takes the loader's lock: call
 * it only from lockcontend's own merge or dump, never with a table entry
 * half-written, and never while holding another lock of ours.
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
	struct module **mods;      /* MODMAP_MAX pointers */
	_Atomic uint32_t count;
	_Atomic uint32_t refreshing;
	_Atomic uint32_t dirty;
	_Atomic uint64_t dropped;  /* objects not stored: arena or map full */
	const char *exe_path;      /* name for the main program ("" in phdr) */
};

int modmap_init(struct modmap *m, struct arena *a, const char *exe_path);
void modmap_reset(struct modmap *m);

/* True if every pc lies in a known module. */
bool modmap_covers(const struct modmap *m, const uintptr_t *pcs, uint32_t n);

/* Append objects not yet known.  Returns false if another thread was
 * refreshing (the map is then marked dirty). */
bool modmap_refresh(struct modmap *m);

uint32_t modmap_count(const struct modmap *m);
const struct module *modmap_at(const struct modmap *m, uint32_t i);

/* The executable text range of the object containing addr (for skipping
 * our own frames); false if none. */
bool modmap_self_range(const void *addr, uintptr_t *lo, uintptr_t *hi);

#endif
