/*
 * pfile.h — the profile file, written in place while the program runs.
 *
 * The file is created at start-up (dumpwrite_create: O_EXCL, O_NOFOLLOW,
 * mode 0600) and mapped MAP_SHARED over an address range reserved for the
 * most it may grow to (arena=).  Everything a reader needs — META, the
 * module map, buckets, locks, per-slot totals, the LIVE state — is a record
 * of the dump format (dumpfmt.h) stored in that mapping, so the kernel
 * writes it even if the process is killed: the file is the profile.
 *
 * Appending (pfile_record) takes the `busy` flag for a few stores: the new
 * record's head {LC_REC_PENDING, size} is written before `used` moves past
 * it.  So every byte below `used` belongs to a record with a whole head,
 * and above it the file holds zeros (a reader stops at a zero head).  The
 * caller fills the payload, then pfile_publish gives it its real type
 * (release): a reader sees PENDING (and skips it) or the whole record.
 * Counters inside published records are updated in place with atomics.
 *
 * The file grows in chunks, on disk (fallocate) before any byte of it is
 * handed out: a full disk is a failed append (the event goes to the
 * sentinel), never a SIGBUS on a store.  Every caller is inside the
 * recursion guard, and the guarded paths never append, so a signal handler
 * never spins on a flag its own thread holds.
 *
 * At a clean end the dumper seals the file (appends fail from then on),
 * adds the closing records with pfile_append_sealed (it is then the only
 * writer) and truncates the file to `used` (pfile_finish).
 */
#ifndef LOCKCONTEND_PFILE_H
#define LOCKCONTEND_PFILE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lockcontend/dumpfmt.h"

#define PFILE_CHUNK (1u << 20)

struct pfile {
	int fd;
	char *base;             /* the mapping: cap bytes reserved */
	size_t cap;
	size_t extent;          /* bytes the file has on disk (under busy) */
	_Atomic size_t used;    /* bytes of whole records */
	_Atomic uint32_t busy;
	_Atomic uint64_t records; /* records appended (the trailer counts them) */
	_Atomic bool sealed;
	int error;              /* errno of the first failed growth, 0 if none */
};

/* Map fd (a new, empty file) at `at` (MAP_FIXED: a fork child keeps the
 * parent's addresses) or anywhere (at == NULL), grow it to its first chunk
 * and write the file header.  Returns 0, or an errno value (nothing mapped
 * at `at` is then changed... unless the fixed mapping itself succeeded). */
int pfile_map(struct pfile *f, int fd, size_t cap, void *at);

/* Append a PENDING record of `size` payload bytes; returns the payload
 * (zeroed, 8-aligned) or NULL (no room, disk full, sealed). */
void *pfile_record(struct pfile *f, uint32_t size);

/* Give a filled record its type. */
void pfile_publish(void *payload, uint32_t type);

/* No appends from now on but the sealer's own. */
void pfile_seal(struct pfile *f);

/* After pfile_seal, the sealer alone: append n bytes holding `records`
 * whole records (their heads included).  The first head is stored last,
 * so a reader sees all of them or none.  Returns 0 or an errno value. */
int pfile_append_sealed(struct pfile *f, const void *buf, size_t n, uint64_t records);

/* Truncate the file to its records and close it (the mapping stays, so a
 * late store into a record is harmless).  Returns 0 or an errno value. */
int pfile_finish(struct pfile *f);

/* Forget the file without touching it (a fork child, before its own). */
void pfile_forget(struct pfile *f);

size_t pfile_used(const struct pfile *f);

/* True if p lies inside the mapping. */
bool pfile_contains(const struct pfile *f, const void *p);

#endif
