/*
 * pfile.h — the profile file, written in place while the program runs.
 *
 * A profile starts in memory (pfile_start): private anonymous memory over
 * an address range reserved for the most it may grow to (arena=), holding
 * the file header and whatever records come before the first thing worth
 * keeping (the heading, the module map).  At that first thing the file is
 * created (dumpwrite_create: O_EXCL, O_NOFOLLOW, mode 0600) and
 * pfile_settle copies the records so far into it and maps it MAP_SHARED
 * over the same range (MAP_FIXED): every pointer into the profile stays
 * valid, and from then on everything a reader needs — META, the module
 * map, buckets, locks, per-slot totals, the LIVE state — is a record of the
 * dump format (dumpfmt.h) stored in that mapping, so the kernel writes it
 * even if the process is killed: the file is the profile.  A store into
 * the memory between the copy and the mapping would be lost: the caller
 * (filing.c) makes sure nobody writes the profile meanwhile.  A process
 * that never settles its profile leaves no file.
 *
 * No descriptor is kept.  A program may close every descriptor it did not
 * open (closefrom, close_range) or dup2() over them, and then own the
 * number we had: so the file is reopened by its absolute path each time it
 * must grow or be cut, checked to be the very file that was created
 * (device and inode), used and closed again within the call.  A file that
 * was moved, removed or replaced is never touched: it stops growing, and
 * what does not fit goes to the sentinel.  Syscalls go through sys.h (raw:
 * never a cancellation point).
 *
 * Appending takes no lock.  A record's place is claimed by a
 * compare-and-swap of its head, at `used`, from zero to {LC_REC_PENDING,
 * size}; `used` then moves past it (any appender that finds a claimed head
 * at `used` moves it on for the claimer, so a claimer that stops — a
 * suspended, cancelled or longjmp'd thread — delays nobody).  So every byte
 * below `used` belongs to a record with a whole head, and above the last
 * claimed head the file holds zeros (a reader stops at a zero head).  The
 * caller fills the payload, then pfile_publish gives it its real type
 * (release): a reader sees PENDING (and skips it) or the whole record.
 * Counters inside published records are updated in place with atomics.
 *
 * The file grows in chunks, on disk (fallocate) before any byte of it is
 * handed out: a full disk is a failed append (the event goes to the
 * sentinel), never a SIGBUS on a store.  fallocate may run in several
 * threads at once (it never changes bytes that are there); the zero-write
 * fallback, for filesystems without it, runs in one thread at a time and a
 * thread that finds it under way fails its append instead of waiting.
 *
 * The last PFILE_RESERVE bytes of the cap are kept for the closing records:
 * a profile whose arena filled up can still be closed.
 *
 * Only the process that created the mapping writes to it (pfile_mine): a
 * child made without fork's handlers (_Fork, a raw fork or clone syscall)
 * inherits the shared mapping, and must notice before it writes.  The
 * token is a page the kernel wipes in every child (MADV_WIPEONFORK), so
 * asking costs one load.
 *
 * At a clean end the dumper seals the file (appends fail from then on),
 * adds the closing records with pfile_append_sealed and cuts the file to
 * its records (pfile_finish); the mapping past the end is replaced by
 * private memory first, so a late store of another thread lands nowhere
 * instead of raising SIGBUS.
 */
#ifndef LOCKCONTEND_PFILE_H
#define LOCKCONTEND_PFILE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lockcontend/dumpfmt.h"

#define PFILE_CHUNK (1u << 20)
#define PFILE_RESERVE 4096u /* for the closing records (dumpwrite.c) */
#define PFILE_PATH_MAX 4200

/* A growth error that is not an errno value: the file at our path is no
 * longer the one we created (moved, removed or replaced). */
#define PFILE_ENOTOURS (-2)

struct pfile {
	char *base; /* the mapping: cap bytes reserved */
	size_t cap;
	_Atomic size_t extent;    /* bytes the file has on disk */
	_Atomic size_t used;      /* bytes of claimed records */
	_Atomic uint64_t records; /* records claimed */
	_Atomic bool sealed;
	_Atomic bool full;        /* an append found the cap reached */
	_Atomic int error;        /* errno of the first failed growth (or
	                           * PFILE_ENOTOURS), 0 if none */
	_Atomic uint32_t zeroing; /* the zero-write fallback is under way */
	_Atomic uint32_t growers; /* threads inside pfile_grow */
	_Atomic bool finishing;   /* pfile_finish began: no growth any more */
	bool finished;
	bool unfiled; /* in memory still: no file yet (pfile_settle) */
	dev_t dev;
	ino_t ino;
	pid_t owner_pid;           /* where MADV_WIPEONFORK is missing */
	char path[PFILE_PATH_MAX]; /* absolute */
};

/* Start a profile in memory at `at` (MAP_FIXED: a fork child keeps the
 * parent's addresses) or anywhere (at == NULL), with its file header.
 * Returns 0 or an errno value. */
int pfile_start(struct pfile *f, size_t cap, void *at);

/* Move the profile begun by pfile_start into fd (a new, empty regular
 * file, whose absolute path is `path`): give the file its first chunks on
 * disk, copy the records so far, map it over the memory and close fd.
 * Nobody may write the profile meanwhile.  Returns 0, or an errno value
 * (fd is closed either way; the profile is then lost: private zeros). */
int pfile_settle(struct pfile *f, int fd, const char *path);

/* pfile_start and pfile_settle at once (an attach, the tests). */
int pfile_map(struct pfile *f, int fd, const char *path, size_t cap, void *at);

/* Append a PENDING record of `size` payload bytes; returns the payload
 * (zeroed, 8-aligned) or NULL (no room, disk full, sealed, not ours). */
void *pfile_record(struct pfile *f, uint32_t size);

/* Give a filled record its type. */
void pfile_publish(void *payload, uint32_t type);

/* Has the record at payload been published with that type? */
bool pfile_is_published(const void *payload, uint32_t type);

/* No appends from now on but the sealer's own. */
void pfile_seal(struct pfile *f);

/* After pfile_seal, the sealer alone: claim n bytes (at most
 * PFILE_RESERVE, a multiple of 8) for the closing records.  Returns their
 * offset, or (size_t)-1 with *err set. */
size_t pfile_seal_claim(struct pfile *f, size_t n, int *err);

/* Store the n bytes of whole records (their heads included) claimed at
 * off.  The first head is stored last, so a reader sees all of them or
 * none. */
void pfile_seal_write(struct pfile *f, size_t off, const void *buf, size_t n);

/* Cut the file to len bytes, the end of its closing records (the mapping
 * stays, so a late store into a record is harmless; a record claimed after
 * them is not in the file, and the file never grows again).  Returns 0,
 * an errno value or PFILE_ENOTOURS. */
int pfile_finish(struct pfile *f, size_t len);

/* Forget the file without touching it (a fork child, before its own). */
void pfile_forget(struct pfile *f);

/* A fork child whose thread goes on with the parent's work (a signal
 * handler forked on top of it): the mapping becomes a private copy of the
 * records so far, where that work's stores land and nobody reads them;
 * the parent's file is never written by the child.  In memory still, it
 * is private already.  No copy to be had: private zeros. */
void pfile_apart(struct pfile *f);

/* Private zeros at [at, at+len), in place of whatever was mapped there:
 * the addresses stay ours, so a late store of our own work lands in memory
 * nobody reads, never in a file or a hole it would fault on. */
void pfile_blank(void *at, size_t len);

/* Does this process own the mapping (it created it, or a fork child made
 * its own)?  One load. */
bool pfile_mine(const struct pfile *f);

size_t pfile_used(const struct pfile *f);

/* True if p lies inside the mapping. */
bool pfile_contains(const struct pfile *f, const void *p);

/* Records in [header, used) — every head, PENDING ones too. */
uint64_t pfile_walk(const char *base, size_t used);

/* One line's worth of why the file stopped growing. */
const char *pfile_strerror(int e);

#endif
