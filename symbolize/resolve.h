/*
 * resolve.h — return addresses to functions, files and lines, with libdwfl.
 *
 * One resolver per dump: its modules are reported to libdwfl at the load
 * biases the dump recorded.  A module's file is used only if its GNU
 * build-id matches the one in the dump (a rebuilt binary would give wrong
 * names); otherwise, or if it is missing, it is looked up by build-id in
 * <dir>/.build-id/xx/rest[.debug] for every --debug-dir and /usr/lib/debug.
 * Separate debug files are found by build-id or .gnu_debuglink (libdwfl's
 * standard search).  --sysroot DIR is prefixed to every recorded path.
 * Only regular files are opened, without blocking (safeopen.h; libdwfl's
 * own opens: openguard.c): a FIFO or a device at a path is a missing file.
 * A module with no usable file gets one warning, the first time a frame
 * points into it, and its frames print as module+0xoffset: never a wrong
 * name.
 *
 * Modules may overlap: a library unloaded and another loaded at its address
 * are two modules of the dump, told apart by their epochs.  So a lookup is
 * made in the module the caller chose (dump_frame_module for the frame of a
 * bucket, LOCK or LOCK_INIT record, dump_module_of for a lock's address), never
 * by address alone; the same object listed twice (unloaded and loaded
 * again at the same place) is read once.
 *
 * Lock addresses are named from the ELF symbol table of the module whose
 * PT_LOAD segments hold them (resolver_data_symbol): only a symbol whose
 * extent contains the address names it, so padding between two globals is
 * never charged to the one below it.
 *
 * libdwfl is set up, and the dump's modules reported to it, only when the
 * first answer is needed that the cache (resolve_opts.cache, symcache.h)
 * does not hold: a resolver whose every answer is cached reads no file.
 *
 * Not thread-safe; strings returned by resolver_lookup are valid until the
 * next call (with a cache, as long as the cache).
 */
#ifndef LOCKCONTEND_RESOLVE_H
#define LOCKCONTEND_RESOLVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "dumpread.h"

struct symcache;

struct resolve_opts {
	const char *sysroot;           /* NULL: none */
	const char *const *debug_dirs; /* extra build-id / debug directories */
	size_t ndebug_dirs;
	bool demangle;
	struct symcache *cache; /* NULL: none; else every answer is kept there, and
	                         * asked there first (symcache.h: one cache per set
	                         * of these options) */
};

struct resolve_frame {
	const char *function;    /* demangled (if asked), never NULL */
	const char *system_name; /* as in the binary */
	const char *file;        /* "" if unknown */
	int line;                /* 0 if unknown */
};

#define RESOLVE_MAX_INLINE 32

struct resolver;

/* Report every module of d; warnings (one line each) go to warn. o must
 * outlive the resolver. */
struct resolver *resolver_open(const struct dump *d, const struct resolve_opts *o, FILE *warn);
void resolver_close(struct resolver *r);

/* Frames at return address pc (looked up at dump_frame_addr(pc), pc - 1:
 * the one pc rule of dumpread.h) in module m of the
 * dump, innermost first: the inline chain, then the function that contains
 * it.  Returns the number of frames, 0 when m is NULL or the address has no
 * symbol (the caller prints module+0xoffset). */
int resolver_lookup(struct resolver *r, const struct dump_module *m, uint64_t pc,
                    struct resolve_frame *frames, int max);

/* The data object at addr (in dump_module_of's module): "name", or
 * "name+0xoff" inside it (demangled if asked), into buf.  Returns 1 when a
 * symbol names it; 0 when addr is in a module but no symbol of a matching
 * file contains it (buf gets
 * "module+0xoff", the ELF address); -1 when addr is in no module of the
 * dump (heap, stack, TLS: buf untouched). */
int resolver_data_symbol(struct resolver *r, uint64_t addr, char *buf, size_t cap);

/* Was module m (of the dump) found on disk with a matching build-id? */
bool resolver_module_found(struct resolver *r, const struct dump_module *m);

#endif
