/*
 * gotpatch.h — interposing after the fact: the program's GOT slots of the
 * functions we hook, rewritten to our hooks, remembered, and given back.
 *
 * A preloaded library is interposed by the loader, which binds every
 * object's reference to pthread_mutex_lock to the first definition it
 * finds: ours.  A library loaded into a program that is already running
 * (an attach: docs/attach.md) comes after glibc in every search, and the
 * references were bound long ago.  So an attach does what the loader did:
 * for every loaded object it reads PT_DYNAMIC, walks its relocations
 * (DT_JMPREL: the PLT's R_X86_64_JUMP_SLOT; DT_RELA: R_X86_64_GLOB_DAT,
 * the GOT entries that code calling through the GOT, or taking the
 * function's address, reads), and for every one whose symbol name is in
 * the table of hooks stores the hook's address in the slot — one aligned
 * 8-byte compare-and-swap, so a thread that calls through it at that
 * moment reads the old target or the new one, never a torn pointer.
 * Names only, not versions: the loader binds a versioned reference to an
 * unversioned definition (ours) just so.  Any other relocation of such a
 * symbol (R_X86_64_64: the function's address stored in data) cannot be
 * rewritten without knowing what the program did with the copies it
 * made; it is counted, out of reach.
 *
 * A slot in a page that is not writable (full RELRO puts the whole GOT in
 * PT_GNU_RELRO, which the loader made read-only) is made writable for the
 * store and given back exactly the protection /proc/self/maps said it
 * had (procmaps.h).  Each slot is remembered with the value it held
 * (glibc's function, another interposer's, or for lazy binding the PLT
 * stub that resolves it), so that gotpatch_restore puts back exactly that
 * where the slot still holds our hook, and leaves (and counts) a slot
 * that the program or the loader changed since.
 *
 * Which objects: every object dl_iterate_phdr lists but our own library
 * (`self`), the dynamic linker (AT_BASE) and the vDSO (AT_SYSINFO_EHDR):
 * the executable, libc and every library.  Only objects of the base
 * link-map namespace, as a preload reaches (dlmopen's other namespaces
 * have their own libc: glibc's dl_iterate_phdr lists only its caller's
 * namespace, and an object another loader listed that is not in
 * _r_debug's list is left alone), and only once the loader has finished with them:
 * an object is taken when _dl_find_object knows it, which glibc makes
 * true after its relocation and RELRO and before its constructors.  One
 * still being loaded is left for the next pass.  Objects are told apart
 * by their load address and PT_DYNAMIC; one that a pass no longer finds
 * was unloaded, and its slots are forgotten (they would be another
 * object's memory now).
 *
 * Everything that touches an object happens inside dl_iterate_phdr's
 * callback, holding the loader's lock that dlclose needs to take an
 * object off the list before unmapping it: no object goes away under a
 * store or a restore.  Nothing in here calls a function that takes the
 * loader's other lock (dlsym, dladdr, dlinfo).
 *
 * Not thread-safe: the caller serialises every call (attach.c's lock),
 * blocks signals, and makes each one a loader stretch (loader.h).
 */
#ifndef LOCKCONTEND_GOTPATCH_H
#define LOCKCONTEND_GOTPATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "modmap.h"

#define GOTPATCH_MAX_OBJECTS 4096
#define GOTPATCH_MAX_SLOTS 65536

/* One function to interpose: its name, and the hook that takes its place. */
struct gotpatch_hook {
	const char *name;
	const void *to;
};

/* What the passes did, summed since gotpatch_init. */
struct gotpatch_counts {
	uint32_t objects;      /* objects with at least one slot rewritten */
	uint64_t slots;        /* slots rewritten */
	uint64_t out_of_reach; /* other relocations of a hooked name: not rewritten */
	uint64_t failed;       /* slots that could not be rewritten (protection, no room) */
	uint64_t restored;     /* slots given back their old value */
	uint64_t left;         /* slots found changed since: left as they were */
	uint64_t forgotten;    /* slots of objects unloaded meanwhile */
};

struct gotpatch_obj;
struct gotpatch_slot;

struct gotpatch {
	const struct gotpatch_hook *hooks; /* sorted by name (strcmp) */
	size_t nhooks;
	const void *self;          /* an address in the object never patched: ours */
	modmap_iterate_fn iterate; /* dl_iterate_phdr, past our own hook */
	uintptr_t page;            /* the page size */
	struct gotpatch_obj *objs;
	uint32_t nobjs;
	struct gotpatch_slot *slots;
	uint32_t nslots;
	uint32_t pass;               /* passes so far */
	uint64_t adds, subs;         /* dl_iterate_phdr's counters at the last full pass */
	bool dirty;                  /* an object was left for later: no shortcut */
	struct gotpatch_counts sums; /* since gotpatch_init */
};

/* Reserve the tables (one mapping, touched as it fills).  hooks: n
 * entries sorted by name, which must outlive g.  0, or an errno value. */
int gotpatch_init(struct gotpatch *g, const struct gotpatch_hook *hooks, size_t n, const void *self,
                  modmap_iterate_fn iterate);

/* Rewrite the slots of every object not patched yet; forget the objects
 * gone.  Cheap when nothing was loaded or unloaded since the last pass
 * (one dl_iterate_phdr callback). */
void gotpatch_update(struct gotpatch *g);

/* Give every slot that still holds our hook its old value back, count
 * the others, and forget every object: none is patched afterwards. */
void gotpatch_restore(struct gotpatch *g);

/* The same in a fork child, without the loader (whose lock another thread
 * of the parent may have held at the fork, for good): the child has one
 * thread, and nothing is unloaded under it; a slot whose page is not
 * mapped any more is forgotten.  consistent false: a pass was halfway
 * through the tables when the child was made; nothing is read from them,
 * every slot is forgotten where it is. */
void gotpatch_restore_child(struct gotpatch *g, bool consistent);

/* Slots rewritten now (patched, not restored). */
uint32_t gotpatch_live(const struct gotpatch *g);

#endif
