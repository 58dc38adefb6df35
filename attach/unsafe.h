/*
 * unsafe.h — the code a borrowed thread must not be in: the safe-point
 * rule's set of address ranges in the target.
 *
 * A thread may be borrowed to run dlopen (and the library's own start)
 * only if it holds none of the libc-internal locks those take: the
 * loader's, malloc's, the thread-stack cache's, atexit's, the stdio
 * list's, the environment's, gettext's.  Every such lock is held only by
 * code of a small set of functions (unsafe.c lists them, with why), and a
 * thread that is inside one has, on its stack, the return address of a
 * call made from inside it, or its instruction pointer is in it.  So the
 * set holds, in target addresses:
 *
 *   - all of the dynamic loader's executable text;
 *   - the extent (.dynsym st_value, st_size) of each listed function of
 *     libc.so.6, and of the allocator functions of any other object that
 *     defines them (an interposed jemalloc or tcmalloc);
 *   - every function, or cold part, that code in the set jumps to rather
 *     than calls (a tail call leaves no return address behind: aligned_alloc
 *     jumps to _mid_memalign, which takes the arena lock), found from the
 *     jump's target and the unwind table's extent of the code there
 *     (ehframe.h), again and again until nothing new is reached.
 *
 * Also kept: the address of libc's signal return trampoline (__restore_rt),
 * so that a scan recognises a signal frame and follows the interrupted
 * stack pointer (stackscan.h).
 *
 * Built once, before any thread is stopped; read-only afterwards.
 */
#ifndef LOCKCONTEND_ATTACH_UNSAFE_H
#define LOCKCONTEND_ATTACH_UNSAFE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "elfimage.h"
#include "fail.h"

#define UNSAFE_MAX_RESTORERS 4

struct unsafe_range {
	uint64_t start, end; /* [start, end), target addresses */
	const char *name;    /* the listed function, or "the dynamic loader" */
	bool reached;        /* reached by a jump from `name`, not `name` itself */
};

struct unsafe_set {
	struct unsafe_range *v;
	size_t n, cap;
	size_t listed, reached; /* ranges from the list, and from jumps */
	uint64_t lo, hi;        /* the lowest start and highest end */
	uint64_t restorers[UNSAFE_MAX_RESTORERS];
	size_t nrestorers;
};

/* Add libc's listed functions and what they jump to (loaded at bias). */
int unsafe_add_libc(struct unsafe_set *s, const struct elf_image *libc, uint64_t bias,
                    struct fail *f);

/* Add the allocator functions that another object (not libc) defines,
 * and what they jump to; nothing if it defines none. */
int unsafe_add_allocator(struct unsafe_set *s, const struct elf_image *img, uint64_t bias,
                         struct fail *f);

/* Add [start, end) whole (the dynamic loader's text). */
int unsafe_add_text(struct unsafe_set *s, uint64_t start, uint64_t end, const char *name);

/* Sort and merge; call once, after the adds. */
void unsafe_finish(struct unsafe_set *s);
void unsafe_free(struct unsafe_set *s);

/* The range a stack word points into as a return address (start < v <= end:
 * a call as a function's last instruction returns to its end; a pointer
 * to a function's first byte is not a return address into it), or NULL. */
const struct unsafe_range *unsafe_word(const struct unsafe_set *s, uint64_t v);

/* The range an instruction pointer is in (start <= pc < end), or NULL. */
const struct unsafe_range *unsafe_pc(const struct unsafe_set *s, uint64_t pc);

bool unsafe_is_restorer(const struct unsafe_set *s, uint64_t v);

#endif
