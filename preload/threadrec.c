/*
 * threadrec.c — a thread's THREAD record (see threadrec.h for the story
 * and the rules).
 */
#include "threadrec.h"

#include <stdatomic.h>
#include <string.h>

#include "sys.h"
#include "text.h"

/* The slot's totals, view by view: each word as one relaxed load, so a
 * reader that copies the record mid-way never sees half a word. */
static void threadrec_copy(uint64_t count[LC_NVIEWS], uint64_t delay[LC_NVIEWS],
                           const struct lc_rec_slot *slot)
{
	for (int v = 0; v < LC_NVIEWS; v++) {
		atomic_store_explicit((_Atomic uint64_t *)&count[v],
		                      __atomic_load_n(&slot->count[v], __ATOMIC_RELAXED),
		                      memory_order_relaxed);
		atomic_store_explicit((_Atomic uint64_t *)&delay[v],
		                      __atomic_load_n(&slot->delay_ns[v], __ATOMIC_RELAXED),
		                      memory_order_relaxed);
	}
}

struct lc_rec_thread *threadrec_make(struct pfile *f, const struct lc_rec_slot *slot, int32_t tid,
                                     const char *name, uint64_t now_ns)
{
	struct lc_rec_thread *r = pfile_record(f, sizeof(*r));
	if (!r)
		return NULL;
	r->slot = (uint64_t)((const char *)slot - f->base) - sizeof(struct lc_rec_head);
	r->tid = tid;
	r->start_ns = now_ns;
	threadrec_name(r, name);
	threadrec_copy(r->base_count, r->base_delay_ns, slot);
	pfile_publish(r, LC_REC_THREAD);
	return r;
}

void threadrec_name(struct lc_rec_thread *r, const char *name)
{
	/* byte by byte: a reader copying meanwhile sees old or new bytes,
	 * and the last one stays NUL */
	size_t i = 0;
	for (; i < LC_THREAD_NAME - 1 && name[i]; i++)
		__atomic_store_n(&r->name[i], name[i], __ATOMIC_RELAXED);
	for (; i < LC_THREAD_NAME; i++)
		__atomic_store_n(&r->name[i], '\0', __ATOMIC_RELAXED);
}

void threadrec_end(struct lc_rec_thread *r, const struct lc_rec_slot *slot, uint64_t now_ns)
{
	threadrec_copy(r->end_count, r->end_delay_ns, slot);
	__atomic_store_n(&r->end_ns, now_ns, __ATOMIC_RELAXED);
	__atomic_store_n(&r->flags, r->flags | LC_THREAD_ENDED, __ATOMIC_RELEASE);
}

void threadrec_name_now(struct lc_rec_thread *r)
{
	char path[64], name[LC_THREAD_NAME + 1];
	struct text t;
	text_init(&t, path, sizeof(path));
	text_str(&t, "/proc/self/task/");
	text_u64(&t, (uint64_t)(uint32_t)r->tid);
	text_str(&t, "/comm");
	int fd = sys_open(path, O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return;
	long n = sys_call(SYS_read, fd, (long)name, LC_THREAD_NAME, 0);
	sys_call(SYS_close, fd, 0, 0, 0);
	if (n <= 0)
		return;
	name[n] = '\0';
	char *nl = strchr(name, '\n'); /* comm ends with one */
	if (nl)
		*nl = '\0';
	threadrec_name(r, name);
}
