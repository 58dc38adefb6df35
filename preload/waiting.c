/*
 * waiting.c — a thread's in-flight wait in its slot's WAITING record (see
 * waiting.h for the story and the rules).
 */
#include "waiting.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/prctl.h>

#include "sys.h"

static _Atomic uint64_t *waiting_seq_end(struct lc_rec_waiting *w)
{
	return (_Atomic uint64_t *)((uint64_t *)(w + 1) + w->frames);
}

struct lc_rec_waiting *waiting_record(struct pfile *f, uint32_t frames)
{
	size_t size = sizeof(struct lc_rec_waiting) + (size_t)frames * 8 + 8;
	struct lc_rec_waiting *w = pfile_record(f, size);
	if (!w)
		return NULL;
	w->frames = frames; /* the rest is zero: even sequence, nobody waiting */
	pfile_publish(w, LC_REC_WAITING);
	return w;
}

/* The two sequence words around a write (dumpfmt.h): odd at both ends
 * before it, the next even number after it, last word first. */
static void waiting_open(struct lc_rec_waiting *w)
{
	_Atomic uint32_t *seq = (_Atomic uint32_t *)&w->seq;
	uint32_t odd = atomic_load_explicit(seq, memory_order_relaxed) | 1;
	atomic_store_explicit(seq, odd, memory_order_relaxed);
	atomic_store_explicit(waiting_seq_end(w), odd, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
}

static void waiting_close(struct lc_rec_waiting *w)
{
	_Atomic uint32_t *seq = (_Atomic uint32_t *)&w->seq;
	uint32_t even = atomic_load_explicit(seq, memory_order_relaxed) + 1;
	atomic_store_explicit(waiting_seq_end(w), even, memory_order_release);
	atomic_store_explicit(seq, even, memory_order_release);
}

int32_t waiting_owner(const void *lock, uint32_t kind)
{
	/* glibc's own words, read once (the lock may change hands meanwhile:
	 * what we keep is the owner this wait began behind). */
	switch (kind) {
	case LC_KIND_MUTEX:
		return __atomic_load_n(&((const pthread_mutex_t *)lock)->__data.__owner,
		                       __ATOMIC_RELAXED);
	case LC_KIND_RDLOCK:
	case LC_KIND_WRLOCK:
		return (int32_t)__atomic_load_n(
		    &((const pthread_rwlock_t *)lock)->__data.__cur_writer, __ATOMIC_RELAXED);
	default: return 0;
	}
}

void waiting_thread(struct lc_rec_waiting *w, int32_t tid, const char *name)
{
	waiting_open(w);
	w->tid = tid;
	w->lock = 0;
	w->nframes = 0;
	strncpy(w->name, name, LC_THREAD_NAME - 1);
	w->name[LC_THREAD_NAME - 1] = '\0';
	waiting_close(w);
}

void waiting_name(struct lc_rec_waiting *w, const char *name)
{
	waiting_open(w);
	strncpy(w->name, name, LC_THREAD_NAME - 1);
	w->name[LC_THREAD_NAME - 1] = '\0';
	waiting_close(w);
}

void waiting_show(struct lc_rec_waiting *w, uintptr_t lock, uint32_t kind, uint64_t since_ns,
                  int32_t owner, const uintptr_t *pcs, uint32_t n, uint32_t epoch)
{
	if (n > w->frames)
		n = w->frames;
	waiting_open(w);
	w->lock = lock;
	w->since_ns = since_ns;
	w->owner_tid = owner;
	w->kind = kind;
	w->epoch = epoch;
	w->nframes = n;
	if (n)
		memcpy(w + 1, pcs, (size_t)n * sizeof(uint64_t));
	waiting_close(w);
}

void waiting_clear(struct lc_rec_waiting *w)
{
	waiting_open(w);
	w->lock = 0;
	w->nframes = 0;
	waiting_close(w);
}
