/*
 * symcache.h — what the resolver learnt, kept beyond one resolver: per
 * module, return address -> frames and lock address -> data symbol.
 *
 * A resolver (resolve.h) belongs to one dump and forgets everything when it
 * is closed; reading a live profile again (lockcontend-top, every refresh)
 * would resolve every address again, most of a second on a large program.
 * A symcache outlives the resolvers: a module is known by what makes its
 * lookups give the same answers — its recorded path, build-id, load bias
 * and segments (resolve.c's same_object) — so the same object of the next
 * read of the file, or of another dump of the same run, finds its answers
 * here, and a resolver that finds every answer never starts libdwfl.
 *
 * One cache serves one set of resolve_opts (sysroot, debug directories,
 * demangling): the answers depend on them.  It only grows; strings in it
 * (function, file and symbol names) are interned and live as long as the
 * cache.  Not thread-safe, like the resolver.
 */
#ifndef LOCKCONTEND_SYMCACHE_H
#define LOCKCONTEND_SYMCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dumpread.h"

struct resolve_frame;
struct symcache;

/* One object at one place, as a dump's module records it (its lookups:
 * symcache.c). */
struct symcache_module {
	int found;   /* its file was found with a matching build-id: 1, 0, or -1 not asked yet */
	bool warned; /* its missing file was reported */
};

struct symcache *symcache_new(void);
void symcache_free(struct symcache *c);

/* The entry of dump module m (added if new, found == -1); NULL out of
 * memory. */
struct symcache_module *symcache_module(struct symcache *c, const struct dump_module *m);

/* The frames cached for return address pc: their number (0: no symbol) with
 * *frames pointing at them (valid until the next symcache_put_frames), or
 * -1 if pc was not looked up yet. */
int symcache_frames(const struct symcache_module *cm, uint64_t pc,
                    const struct resolve_frame **frames);

/* Keep the n frames found for pc (strings copied); 0, or -1 out of
 * memory (nothing kept). */
int symcache_put_frames(struct symcache *c, struct symcache_module *cm, uint64_t pc,
                        const struct resolve_frame *frames, int n);

/* The data symbol cached for addr: true with *rc as resolver_data_symbol
 * returned it and *name what it wrote; false if not looked up yet. */
bool symcache_data(const struct symcache_module *cm, uint64_t addr, int *rc, const char **name);

/* Keep resolver_data_symbol's answer for addr; 0, or -1 out of memory. */
int symcache_put_data(struct symcache *c, struct symcache_module *cm, uint64_t addr, int rc,
                      const char *name);

#endif
