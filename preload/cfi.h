/*
 * cfi.h — how to step out of the frame at a pc, read from the object's
 * DWARF call frame information (.eh_frame, which every x86-64 object
 * carries: C++ exceptions need it).
 *
 * A frame's rule is what unwind.c needs to step to its caller: the frame's
 * canonical frame address (CFA: the stack pointer before the call) is rsp
 * or rbp plus an offset; the return address is at CFA + ra_off; the
 * caller's rbp is either the same or saved at CFA + rbp_off.  gcc and clang
 * emit exactly that for nearly every frame.  What this reader does not
 * follow — a CFA or a register given by a DWARF expression (stack
 * realignment), a signal trampoline's frame, the return address kept in a
 * register — it calls CFI_OTHER, and the walk leaves that stack to libgcc's
 * unwinder.  A frame whose return address is undefined is the outermost
 * (CFI_END: _start, clone3).
 *
 * The frame's FDE is found with _Unwind_Find_FDE, in our own copy of
 * libgcc's unwinder (unwind.h: lock-free, through _dl_find_object).
 * Reading the tables takes no lock and allocates nothing; it reads only
 * inside the FDE and CIE, as far as their lengths say.  Callable from any
 * thread, a signal handler, a fork child.
 */
#ifndef LOCKCONTEND_CFI_H
#define LOCKCONTEND_CFI_H

#include <stdint.h>

enum cfi_kind {
	CFI_OTHER = 0, /* not a rule this reader follows (or no FDE at all) */
	CFI_STEP = 1,  /* step out with the rule below */
	CFI_END = 2,   /* the outermost frame */
};

struct cfi_rule {
	uint8_t kind;      /* enum cfi_kind */
	uint8_t cfa_rbp;   /* CFA = rbp + cfa_off; else rsp + cfa_off */
	uint8_t rbp_saved; /* the caller's rbp is at CFA + rbp_off; else rbp is kept */
	int8_t ra_off;     /* the return address is at CFA + ra_off */
	int16_t rbp_off;
	int32_t cfa_off;
};

/* The rule of the frame whose pc is a return address (the call before it
 * is looked up: pc - 1). */
void cfi_rule_at(uintptr_t pc, struct cfi_rule *r);

/* The rule at address target (an instruction, not a return address) of
 * the function whose FDE is at fde and whose code starts at func: for a
 * reader that finds FDEs itself, as lockcontend-attach does in another
 * process's files (addresses are then the file's, fde a pointer into its
 * mapped copy).  The CIE is read where the FDE points, within its
 * lengths: the tables must be the file's own. */
void cfi_rule_in_fde(const uint8_t *fde, uintptr_t func, uintptr_t target, struct cfi_rule *r);

#endif
