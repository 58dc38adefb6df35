/*
 * threadrec.h — one thread's record in the profile: who it was, and its
 * share of the slot it used.
 *
 * A slot (slots.h) keeps totals that later threads go on adding to, so on
 * its own it cannot say which thread waited and which made others wait.
 * Each thread that takes a slot of its own therefore gets an
 * LC_REC_THREAD record (dumpfmt.h): its tid, its name, and the slot's
 * totals per view as they were when it took the slot (base) and when it
 * gave it back at its exit (end).  A reader takes end - base (or the
 * slot's totals now - base, while it runs): per-thread figures with no
 * work per event — the lock and unlock paths are untouched, and the
 * contended path only pays once per thread, when it takes its slot.
 *
 * Rules: called by the slot's own thread only, while it owns the slot
 * (slots_acquire .. slots_release), from the recorder's guarded paths: no
 * allocation but the record in the file (pfile_record, lock-free), no
 * lock, no stdio.  The base is read as the thread takes the slot, which
 * nobody else writes then (its last owner flushed its events as it
 * exited); the end inside the slot (slots_thread_end, from
 * recorder_thread_end), since the dumper settles a closed slot's last
 * event into its totals: a thread that exits after the profile ended has
 * no end, and a reader takes the slot's totals, which no longer move.
 * At its exit a thread reads its name again (a name another thread gave
 * it is known to the kernel only); the dumper does so, from /proc, for
 * the threads still running at the end (threadrec_name_now).
 */
#ifndef LOCKCONTEND_THREADREC_H
#define LOCKCONTEND_THREADREC_H

#include <stdint.h>

#include "lockcontend/dumpfmt.h"
#include "pfile.h"

/* A published THREAD record for the thread `tid` named `name` that took
 * the slot whose SLOT record is `slot` at `now_ns`, or NULL: no room. */
struct lc_rec_thread *threadrec_make(struct pfile *f, const struct lc_rec_slot *slot, int32_t tid,
                                     const char *name, uint64_t now_ns);

/* The thread renamed itself. */
void threadrec_name(struct lc_rec_thread *r, const char *name);

/* The dumper, at the end, for a thread that still runs: its name now, from
 * /proc/self/task/TID/comm (another thread may have named it after it
 * took its slot: pthread_setname_np only tells the thread that calls it).
 * Raw syscalls, no allocation; left as it was if that cannot be read. */
void threadrec_name_now(struct lc_rec_thread *r);

/* The thread gives `slot` back at `now_ns`: its end totals, then ENDED. */
void threadrec_end(struct lc_rec_thread *r, const struct lc_rec_slot *slot, uint64_t now_ns);

#endif
