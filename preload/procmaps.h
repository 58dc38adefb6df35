/*
 * procmaps.h — the mapping that holds an address, from /proc/self/maps.
 *
 * The kernel keeps a page's protection and a mapping's bounds; the one
 * place it tells them is /proc/self/maps.  Two callers need them: an
 * attach, which makes a read-only GOT page writable for one store and
 * gives it back exactly the protection it had (gotpatch.c), and a thread
 * that existed before the attach, whose stack bounds nobody told us
 * (stackroom.c: the mapping that holds its stack pointer).
 *
 * Read with raw system calls (sys.h: no cancellation point, no stdio, no
 * allocation) through a buffer of PROCMAPS_BUF bytes on the caller's
 * stack, a line at a time; a line longer than that (a long path) is read
 * past.  Never blocks on anything of ours; the kernel takes the address
 * space's lock for reading while it prints.  Callable from any thread,
 * with the loader's lock held (inside a dl_iterate_phdr callback), in a
 * fork child; not from a signal handler (it may run long).
 */
#ifndef LOCKCONTEND_PROCMAPS_H
#define LOCKCONTEND_PROCMAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROCMAPS_BUF 512

struct procmaps_vma {
	uintptr_t lo, hi; /* [lo, hi) */
	int prot;         /* PROT_READ | PROT_WRITE | PROT_EXEC, as mprotect takes it */
};

/* The mapping that holds addr: true with *vma filled, false if none does
 * (or /proc is not there). */
bool procmaps_find(uintptr_t addr, struct procmaps_vma *vma);

/* Parse one line's start, "lo-hi rwxp ...", into *vma; false if it is not
 * one.  For tests. */
bool procmaps_parse(const char *line, size_t len, struct procmaps_vma *vma);

#endif
