/*
 * hooks_dlopen.c — dlopen and dlmopen, followed while attached: what the
 * program loads after an attach has its GOT slots patched too
 * (attach_loaded), and the module map learns it (recorder_dlclose).  These
 * are never exported — a preload leaves dlopen to glibc — but stored in
 * the program's GOT slots by an attach (hooks_table.c).
 *
 * The trap: glibc's dlopen looks at its own return address to learn who
 * called it, and takes from that object the link-map namespace to load
 * into and the DT_RPATH/DT_RUNPATH to search (and $ORIGIN).  A wrapper
 * that simply called it would be the caller: a library found through the
 * calling object's RUNPATH would not be found, or another one would.  So
 * the real dlopen is entered by a jump (hooks_call_as), with a return
 * address pushed for it to see that lies inside the calling object: a
 * `ret` instruction (the byte 0xc3) in that object's code.  dlopen returns
 * there, and that `ret` returns into hooks_call_as, whose address was
 * pushed under it.  glibc finds the calling object (or, for code in no
 * object, the main program, as it would itself) and everything else is
 * exactly the program's own call.
 *
 * The `ret` is chosen so that a stack taken inside dlopen (a constructor
 * of the library being loaded that waits for a lock) walks through it: one
 * where the object's unwind tables say the return address is at the stack
 * pointer (cfi.h), as it is at the end of a function without a frame; any
 * `ret` of the object if it has none (such a stack then ends there); the
 * frame of that `ret` is left out of stacks (unwind_trampoline).  A process whose
 * kernel keeps a shadow stack for it (x86 CET: the return is checked
 * against the call) cannot take this path: dlopen is not followed there,
 * and objects it loads are patched at the next occasion (a dlclose, or a
 * later dlopen through another path: docs/attach.md).
 */
#include <elf.h>
#include <link.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "attach.h"
#include "cfi.h"
#include "core.h"
#include "hooks.h"
#include "real.h"
#include "sys.h"
#include "unwind.h"

#define ARCH_SHSTK_STATUS 0x5005 /* Linux 6.6: the shadow stack features enabled */
#define DLOPEN_CFI_TRIES 4096    /* `ret`s looked up in the unwind tables, at most */

typedef void *(*dlopen_fn)(const char *, int);
typedef void *(*dlmopen_fn)(Lmid_t, const char *, int);

/* fn(a, b, c), with `ret` as the return address fn sees: fn returns to
 * `ret`, whose `ret` returns to the instruction after the jump.  The stack
 * is aligned as a call would leave it. */
uintptr_t hooks_call_as(const void *fn, const void *ret, uintptr_t a, uintptr_t b, uintptr_t c)
    __attribute__((visibility("hidden")));
__asm__(".text\n"
        ".p2align 4\n"
        ".globl hooks_call_as\n"
        ".hidden hooks_call_as\n"
        ".type hooks_call_as, @function\n"
        "hooks_call_as:\n"
        "	.cfi_startproc\n"
        "	endbr64\n"
        "	push %rbp\n"
        "	.cfi_def_cfa_offset 16\n"
        "	.cfi_offset %rbp, -16\n"
        "	mov %rsp, %rbp\n"
        "	.cfi_def_cfa_register %rbp\n"
        "	sub $8, %rsp\n"
        "	mov %rdi, %rax\n"
        "	mov %rsi, %r10\n"
        "	mov %rdx, %rdi\n"
        "	mov %rcx, %rsi\n"
        "	mov %r8, %rdx\n"
        "	lea 1f(%rip), %r11\n"
        "	push %r11\n"
        "	push %r10\n"
        "	jmp *%rax\n"
        "hooks_call_as_return:\n"
        "1:	leave\n"
        "	.cfi_def_cfa %rsp, 8\n"
        "	ret\n"
        "	.cfi_endproc\n"
        ".size hooks_call_as, .-hooks_call_as\n");
extern const char hooks_call_as_return[] __attribute__((visibility("hidden")));

bool hooks_dlopen_followed(void)
{
	unsigned long features = 0;
	return sys_call(SYS_arch_prctl, ARCH_SHSTK_STATUS, (long)&features, 0, 0) != 0 ||
	       !(features & 1);
}

struct gadget {
	uintptr_t caller;
	uintptr_t found, any;  /* a `ret` walked through, any `ret` */
	bool first, in_caller; /* visiting the first object; found in the caller's */
};

/* A frame at pc whose return address is at the stack pointer (CFA = rsp +
 * 8): the unwinders step out of it to what the `ret` returns to. */
static bool gadget_walks(uintptr_t pc)
{
	struct cfi_rule r;
	cfi_rule_at(pc, &r);
	return r.kind == CFI_STEP && !r.cfa_rbp && r.cfa_off == 8 && r.ra_off == -8 && !r.rbp_saved;
}

static void gadget_scan(const struct dl_phdr_info *info, struct gadget *g)
{
	int tries = 0;
	g->found = g->any = 0;
	for (int i = 0; i < info->dlpi_phnum && !g->found; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_LOAD || (ph->p_flags & (PF_X | PF_R)) != (PF_X | PF_R))
			continue;
		const uint8_t *p = (const uint8_t *)(info->dlpi_addr + ph->p_vaddr);
		for (uint64_t k = 0; k < ph->p_filesz && !g->found; k++) {
			if (p[k] != 0xc3)
				continue;
			if (!g->any)
				g->any = (uintptr_t)&p[k];
			if (tries++ < DLOPEN_CFI_TRIES && gadget_walks((uintptr_t)&p[k]))
				g->found = (uintptr_t)&p[k];
		}
	}
}

static bool gadget_holds(const struct dl_phdr_info *info, uintptr_t addr)
{
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type == PT_LOAD && addr - (info->dlpi_addr + ph->p_vaddr) < ph->p_memsz)
			return true;
	}
	return false;
}

/* The calling object's (or, for code in none, the main program's: the
 * first listed, which glibc uses then). */
static int gadget_visit(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	struct gadget *g = data;
	if (gadget_holds(info, g->caller)) {
		gadget_scan(info, g);
		g->in_caller = true;
		return 1;
	}
	if (g->first)
		gadget_scan(info, g);
	g->first = false;
	return 0;
}

/* The return address the real dlopen is to see, for a call from caller;
 * 0: none found (the call is then made plainly). */
static uintptr_t gadget_for(const void *caller)
{
	struct lc_tls *t = &lc_tls;
	struct loader_stretch st;
	struct gadget g = {.caller = (uintptr_t)caller, .first = true};
	lc_guard_in(t);
	if (loader_enter(&core.loader, t, &st)) {
		real_dl_iterate_phdr(gadget_visit, &g);
		loader_leave(&core.loader, t, &st);
	} else if (!core.loader.unsafe) {
		/* a fork prepared for long: the dlopen that follows takes the
		 * loader's locks anyway, and must keep its caller */
		real_dl_iterate_phdr(gadget_visit, &g);
	}
	t->guard--;
	return g.found ? g.found : g.any;
}

/* After the program's dlopen: the module map and the GOT slots learn what
 * it loaded. */
static void dlopen_after(void)
{
	int saved = errno;
	recorder_dlclose(&lc_tls);
	attach_loaded();
	errno = saved;
}

void *hook_dlopen(const char *file, int mode)
{
	const void *caller = __builtin_return_address(0);
	dlopen_fn fn = real_get(&real.dlopen);
	if (!fn)
		return NULL;
	uintptr_t ret = gadget_for(caller);
	unwind_trampoline((uintptr_t)hooks_call_as_return);
	void *h = ret ? (void *)hooks_call_as((const void *)fn, (const void *)ret, (uintptr_t)file,
	                                      (uintptr_t)mode, 0)
	              : fn(file, mode);
	dlopen_after();
	return h;
}

void *hook_dlmopen(Lmid_t lmid, const char *file, int mode)
{
	const void *caller = __builtin_return_address(0);
	dlmopen_fn fn = real_get(&real.dlmopen);
	if (!fn)
		return NULL;
	uintptr_t ret = gadget_for(caller);
	unwind_trampoline((uintptr_t)hooks_call_as_return);
	void *h = ret ? (void *)hooks_call_as((const void *)fn, (const void *)ret, (uintptr_t)lmid,
	                                      (uintptr_t)file, (uintptr_t)mode)
	              : fn(lmid, file, mode);
	dlopen_after();
	return h;
}
