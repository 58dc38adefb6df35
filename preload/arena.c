/*
 * arena.c — the start-up mmap and its lock-free bump allocator (arena.h).
 *
 * Invariant: used only grows (except arena_reset in a fork child), so every
 * pointer handed out stays valid and zero-initialised until first written.
 * A failed allocation leaves `used` past the end, which is harmless: every
 * later request fails too, and arena_used() clamps.
 */
#include "arena.h"

#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

int arena_init(struct arena *a, size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
	               MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return -1;
	a->base = p;
	a->size = size;
	atomic_store_explicit(&a->used, 0, memory_order_relaxed);
	return 0;
}

void *arena_alloc(struct arena *a, size_t n)
{
	n = (n + 15) & ~(size_t)15;
	if (!a->base || n > a->size)
		return NULL;
	size_t off = atomic_fetch_add_explicit(&a->used, n, memory_order_relaxed);
	if (off > a->size - n)
		return NULL;
	return a->base + off;
}

void *arena_alloc_aligned(struct arena *a, size_t n, size_t align)
{
	char *p = arena_alloc(a, n + align - 1);
	return p ? (void *)(((uintptr_t)p + align - 1) & ~(uintptr_t)(align - 1)) : NULL;
}

void arena_zero(void *p, size_t n)
{
	char *lo = p, *hi = lo + n;
	char *plo = (char *)(((uintptr_t)lo + 4095) & ~(uintptr_t)4095);
	char *phi = (char *)((uintptr_t)hi & ~(uintptr_t)4095);
	if (phi <= plo || madvise(plo, (size_t)(phi - plo), MADV_DONTNEED) != 0) {
		memset(lo, 0, n);
		return;
	}
	memset(lo, 0, (size_t)(plo - lo));
	memset(phi, 0, (size_t)(hi - phi));
}

void arena_reset(struct arena *a, size_t keep)
{
	size_t used = arena_used(a);
	if (used > keep)
		arena_zero(a->base + keep, used - keep);
	atomic_store_explicit(&a->used, keep, memory_order_relaxed);
}

size_t arena_used(const struct arena *a)
{
	size_t used = atomic_load_explicit(&a->used, memory_order_relaxed);
	return used > a->size ? a->size : used;
}
