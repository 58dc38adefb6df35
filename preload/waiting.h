/*
 * waiting.h — what a thread is waiting for right now, in the profile file.
 *
 * Go's profiles, and ours, record a wait when it ends, so they cannot
 * explain a program that is stuck.  Each thread slot (slots.h) therefore
 * has a WAITING record (dumpfmt.h) that its thread fills just before it
 * blocks on a lock — which lock, since when, the owner it saw, and the
 * waiting stack when the wait is sampled (it was taken already) — and
 * clears when the wait ends.  The file is the profile (pfile.h), so a
 * reader sees it live, in a snapshot, and after the writer was killed
 * while it hung: the symbolizer builds the wait-for graph from these
 * records and names a deadlock.
 *
 * Rules: one writer per record, the slot's own thread (a signal handler
 * that waits on top of a shown wait leaves the record alone); writes are
 * plain stores bracketed by the record's two sequence words (dumpfmt.h
 * says how a reader tells a torn copy); no lock, no syscall, no call out
 * of this file but memcpy-sized copies: it runs on the contended path,
 * just before the futex sleep.  The thread's name is read once, when the
 * slot is taken (one prctl, slots_thread), and again when it renames itself
 * (hooks_thread.c's pthread_setname_np).
 */
#ifndef LOCKCONTEND_WAITING_H
#define LOCKCONTEND_WAITING_H

#include <stdint.h>

#include "lockcontend/dumpfmt.h"
#include "pfile.h"

/* A slot's WAITING record with room for `frames` frames, published, or
 * NULL when the file has no room (the slot then shows nothing). */
struct lc_rec_waiting *waiting_record(struct pfile *f, uint32_t frames);

/* The owner of `lock` as far as glibc's lock word tells (enum lc_kind
 * `kind`): a mutex's owner, a rwlock's writer; 0 when unknown (readers
 * hold it, a spin lock, a mutex kind that keeps no owner). */
int32_t waiting_owner(const void *lock, uint32_t kind);

/* The slot's thread from now on (tid 0: none), named `name` (its comm,
 * read by the caller): a slot is reused by later threads. */
void waiting_thread(struct lc_rec_waiting *w, int32_t tid, const char *name);

/* The thread renamed itself. */
void waiting_name(struct lc_rec_waiting *w, const char *name);

/* About to block on `lock` since `since_ns`; pcs: the waiting stack, n
 * frames (0: none). */
void waiting_show(struct lc_rec_waiting *w, uintptr_t lock, uint32_t kind, uint64_t since_ns,
                  int32_t owner, const uintptr_t *pcs, uint32_t n, uint32_t epoch);

/* The wait ended. */
void waiting_clear(struct lc_rec_waiting *w);

#endif
