/*
 * cfi.c — the rule of the frame at a pc, from its FDE (see cfi.h).
 *
 * The call frame instructions of DWARF 4 section 6.4, as .eh_frame holds
 * them (the CIE id is 0, an FDE points back to its CIE, pointers are
 * encoded as the CIE's augmentation says).  The CIE's initial instructions
 * run, then the FDE's, until the location passes the call; only the CFA,
 * rbp and the return address column are kept, the other registers' rules
 * are read past.  remember_state saves the CFA with the rules, as libgcc
 * does.
 */
#include "cfi.h"

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

/* libgcc's (unwind-dw2-fde.h), exported by libgcc_s as GCC_3.0. */
struct dwarf_eh_bases {
	void *tbase;
	void *dbase;
	void *func;
};
extern const void *_Unwind_Find_FDE(void *pc, struct dwarf_eh_bases *bases);

#define CFI_REG_RBP 6
#define CFI_REG_RSP 7
#define CFI_STATES 8 /* remember_state nesting followed */

enum cfi_how { HOW_SAME, HOW_OFFSET, HOW_UNDEFINED, HOW_OTHER };

struct cfi_reg {
	uint8_t how; /* enum cfi_how */
	int64_t off; /* HOW_OFFSET: saved at CFA + off */
};

struct cfi_state {
	uint64_t cfa_reg;
	int64_t cfa_off;
	bool cfa_expr;
	struct cfi_reg rbp, ra;
};

struct cie {
	uint64_t code_align;
	int64_t data_align;
	uint64_t ra_reg;
	uint8_t fde_enc;
	bool z, signal;
	const uint8_t *insns, *end;
};

struct cursor {
	const uint8_t *p, *end;
	bool bad;
};

/* ---- reading ---------------------------------------------------------- */

static uint8_t rd_u8(struct cursor *c)
{
	if (c->p >= c->end) {
		c->bad = true;
		return 0;
	}
	return *c->p++;
}

static uint64_t rd_fixed(struct cursor *c, size_t n)
{
	uint64_t v = 0;
	if ((size_t)(c->end - c->p) < n) {
		c->bad = true;
		return 0;
	}
	memcpy(&v, c->p, n); /* little-endian */
	c->p += n;
	return v;
}

/* A LEB128 number's bits; *shift how many it had, *last its last byte. */
static uint64_t rd_leb(struct cursor *c, unsigned *shift, uint8_t *last)
{
	uint64_t v = 0;
	*shift = 0;
	do {
		*last = rd_u8(c);
		if (*shift < 64)
			v |= (uint64_t)(*last & 0x7f) << *shift;
		*shift += 7;
	} while ((*last & 0x80) && !c->bad);
	return v;
}

static uint64_t rd_uleb(struct cursor *c)
{
	unsigned shift;
	uint8_t b;
	return rd_leb(c, &shift, &b);
}

static int64_t rd_sleb(struct cursor *c)
{
	unsigned shift;
	uint8_t b;
	uint64_t v = rd_leb(c, &shift, &b);
	if (shift < 64 && (b & 0x40))
		v |= ~(uint64_t)0 << shift;
	return (int64_t)v;
}

/* An encoded pointer (DW_EH_PE_*): its format's bytes, read as a number;
 * what the value is relative to does not change its size. */
static uint64_t rd_encoded(struct cursor *c, uint8_t enc)
{
	if (enc == 0xff) /* omit */
		return 0;
	if ((enc & 0x70) == 0x50) { /* aligned: not followed */
		c->bad = true;
		return 0;
	}
	switch (enc & 0x0f) {
	case 0x00: /* absptr */
	case 0x04: /* udata8 */
	case 0x0c: /* sdata8 */ return rd_fixed(c, 8);
	case 0x01: return rd_uleb(c);
	case 0x02:
	case 0x0a: return rd_fixed(c, 2);
	case 0x03:
	case 0x0b: return rd_fixed(c, 4);
	case 0x09: return (uint64_t)rd_sleb(c);
	default: c->bad = true; return 0;
	}
}

/* A length-prefixed record (CIE or FDE): its body; false for a 64-bit
 * length or a terminator. */
static bool rd_record(const uint8_t *at, struct cursor *c)
{
	uint32_t len;
	memcpy(&len, at, 4);
	if (len == 0 || len == 0xffffffff)
		return false;
	*c = (struct cursor){at + 4, at + 4 + len, false};
	return true;
}

/* The augmentation data: only R (the FDE's pointer encoding) and S (a
 * signal frame) matter; z gives its length, so the rest is skipped. */
static bool cie_augmentation(struct cursor *c, const char *aug, struct cie *cie)
{
	if (aug[0] != 'z')
		return aug[0] == '\0'; /* "eh" and the like: not followed */
	cie->z = true;
	uint64_t n = rd_uleb(c);
	if (c->bad || n > (uint64_t)(c->end - c->p))
		return false;
	const uint8_t *data_end = c->p + n;
	for (const char *a = aug + 1; *a && !c->bad; a++) {
		if (*a == 'R')
			cie->fde_enc = rd_u8(c);
		else if (*a == 'P')
			(void)rd_encoded(c, rd_u8(c));
		else if (*a == 'L')
			(void)rd_u8(c);
		else if (*a == 'S')
			cie->signal = true;
		else
			break;
	}
	c->p = data_end;
	return !c->bad;
}

static bool cie_read(const uint8_t *at, struct cie *cie)
{
	struct cursor c;
	if (!rd_record(at, &c) || rd_fixed(&c, 4) != 0) /* CIE id */
		return false;
	uint8_t version = rd_u8(&c);
	if (version != 1 && version != 3)
		return false;
	const char *aug = (const char *)c.p;
	size_t alen = strnlen(aug, (size_t)(c.end - c.p));
	if (alen == (size_t)(c.end - c.p))
		return false;
	c.p += alen + 1;
	memset(cie, 0, sizeof(*cie));
	cie->code_align = rd_uleb(&c);
	cie->data_align = rd_sleb(&c);
	cie->ra_reg = version == 1 ? rd_u8(&c) : rd_uleb(&c);
	if (c.bad || !cie_augmentation(&c, aug, cie))
		return false;
	cie->insns = c.p;
	cie->end = c.end;
	return true;
}

/* ---- the instructions ------------------------------------------------- */

static struct cfi_reg *cfi_tracked(struct cfi_state *st, const struct cie *cie, uint64_t reg)
{
	if (reg == CFI_REG_RBP)
		return &st->rbp;
	if (reg == cie->ra_reg)
		return &st->ra;
	return NULL;
}

static void cfi_set(struct cfi_state *st, const struct cie *cie, uint64_t reg, uint8_t how,
                    int64_t off)
{
	struct cfi_reg *r = cfi_tracked(st, cie, reg);
	if (r)
		*r = (struct cfi_reg){how, off};
}

static void cfi_restore(struct cfi_state *st, const struct cie *cie, uint64_t reg,
                        const struct cfi_state *init)
{
	struct cfi_reg *r = cfi_tracked(st, cie, reg);
	if (r && init)
		*r = *cfi_tracked((struct cfi_state *)init, cie, reg);
}

/* Skip a DWARF expression block. */
static void cfi_skip_block(struct cursor *c)
{
	uint64_t n = rd_uleb(c);
	if (c->bad || n > (uint64_t)(c->end - c->p))
		c->bad = true;
	else
		c->p += n;
}

/* One instruction that is not an advance; false if it is not followed. */
static bool cfi_op(struct cursor *c, uint8_t op, const struct cie *cie, struct cfi_state *st,
                   const struct cfi_state *init, struct cfi_state *saved, int *nsaved)
{
	uint64_t reg;
	int64_t da = cie->data_align;
	switch (op & 0xc0) {
	case 0x80: /* offset */
		cfi_set(st, cie, op & 0x3f, HOW_OFFSET, (int64_t)rd_uleb(c) * da);
		return true;
	case 0xc0: /* restore */ cfi_restore(st, cie, op & 0x3f, init); return true;
	}
	switch (op) {
	case 0x00: /* nop */
	case 0x2e: /* GNU_args_size */
		if (op)
			(void)rd_uleb(c);
		return true;
	case 0x05: /* offset_extended */
		reg = rd_uleb(c);
		cfi_set(st, cie, reg, HOW_OFFSET, (int64_t)rd_uleb(c) * da);
		return true;
	case 0x11: /* offset_extended_sf */
		reg = rd_uleb(c);
		cfi_set(st, cie, reg, HOW_OFFSET, rd_sleb(c) * da);
		return true;
	case 0x2f: /* GNU_negative_offset_extended */
		reg = rd_uleb(c);
		cfi_set(st, cie, reg, HOW_OFFSET, -(int64_t)rd_uleb(c) * da);
		return true;
	case 0x06: /* restore_extended */ cfi_restore(st, cie, rd_uleb(c), init); return true;
	case 0x07: /* undefined */ cfi_set(st, cie, rd_uleb(c), HOW_UNDEFINED, 0); return true;
	case 0x08: /* same_value */ cfi_set(st, cie, rd_uleb(c), HOW_SAME, 0); return true;
	case 0x09: /* register */
	case 0x14: /* val_offset */
		reg = rd_uleb(c);
		(void)rd_uleb(c);
		cfi_set(st, cie, reg, HOW_OTHER, 0);
		return true;
	case 0x15: /* val_offset_sf */
		reg = rd_uleb(c);
		(void)rd_sleb(c);
		cfi_set(st, cie, reg, HOW_OTHER, 0);
		return true;
	case 0x10: /* expression */
	case 0x16: /* val_expression */
		reg = rd_uleb(c);
		cfi_skip_block(c);
		cfi_set(st, cie, reg, HOW_OTHER, 0);
		return true;
	case 0x0a: /* remember_state */
		if (*nsaved == CFI_STATES)
			return false;
		saved[(*nsaved)++] = *st;
		return true;
	case 0x0b: /* restore_state */
		if (!*nsaved)
			return false;
		*st = saved[--*nsaved];
		return true;
	case 0x0c: /* def_cfa */
		st->cfa_reg = rd_uleb(c);
		st->cfa_off = (int64_t)rd_uleb(c);
		st->cfa_expr = false;
		return true;
	case 0x12: /* def_cfa_sf */
		st->cfa_reg = rd_uleb(c);
		st->cfa_off = rd_sleb(c) * da;
		st->cfa_expr = false;
		return true;
	case 0x0d: /* def_cfa_register */
		st->cfa_reg = rd_uleb(c);
		st->cfa_expr = false;
		return true;
	case 0x0e: /* def_cfa_offset */ st->cfa_off = (int64_t)rd_uleb(c); return true;
	case 0x13: /* def_cfa_offset_sf */ st->cfa_off = rd_sleb(c) * da; return true;
	case 0x0f: /* def_cfa_expression */
		cfi_skip_block(c);
		st->cfa_expr = true;
		return true;
	default: /* set_loc, GNU_window_save, vendor extensions */ return false;
	}
}

/* Run the instructions in c until the location passes target (or they
 * end); false if one of them is not followed. */
static bool cfi_run(struct cursor *c, const struct cie *cie, uintptr_t *loc, uintptr_t target,
                    struct cfi_state *st, const struct cfi_state *init)
{
	struct cfi_state saved[CFI_STATES];
	int nsaved = 0;
	while (c->p < c->end && !c->bad) {
		uint8_t op = rd_u8(c);
		uint64_t delta;
		if ((op & 0xc0) == 0x40)
			delta = op & 0x3f;
		else if (op == 0x02)
			delta = rd_u8(c);
		else if (op == 0x03)
			delta = rd_fixed(c, 2);
		else if (op == 0x04)
			delta = rd_fixed(c, 4);
		else if (!cfi_op(c, op, cie, st, init, saved, &nsaved))
			return false;
		else
			continue;
		*loc += delta * cie->code_align;
		if (*loc > target)
			break;
	}
	return !c->bad;
}

/* ---- the rule --------------------------------------------------------- */

/* What the state at the call says, as a rule. */
static void cfi_rule_from(const struct cfi_state *st, struct cfi_rule *r)
{
	r->kind = CFI_OTHER;
	if (st->cfa_expr || (st->cfa_reg != CFI_REG_RSP && st->cfa_reg != CFI_REG_RBP) ||
	    st->cfa_off != (int32_t)st->cfa_off)
		return;
	if (st->ra.how == HOW_UNDEFINED) {
		r->kind = CFI_END;
		return;
	}
	if (st->ra.how != HOW_OFFSET || st->ra.off != (int8_t)st->ra.off)
		return;
	if (st->rbp.how == HOW_OFFSET && st->rbp.off == (int16_t)st->rbp.off)
		r->rbp_saved = 1;
	else if (st->rbp.how != HOW_SAME)
		return;
	r->kind = CFI_STEP;
	r->cfa_rbp = st->cfa_reg == CFI_REG_RBP;
	r->cfa_off = (int32_t)st->cfa_off;
	r->ra_off = (int8_t)st->ra.off;
	r->rbp_off = r->rbp_saved ? (int16_t)st->rbp.off : 0;
}

void cfi_rule_in_fde(const uint8_t *fde, uintptr_t func, uintptr_t target, struct cfi_rule *r)
{
	struct cursor c;
	struct cie cie;

	memset(r, 0, sizeof(*r));
	if (!rd_record(fde, &c))
		return;
	uint32_t cie_delta = (uint32_t)rd_fixed(&c, 4);
	if (c.bad || !cie_read(fde + 4 - cie_delta, &cie) || cie.signal)
		return;
	(void)rd_encoded(&c, cie.fde_enc);                   /* pc_begin: func */
	uint64_t range = rd_encoded(&c, cie.fde_enc & 0x0f); /* pc_range: no base */
	if (cie.z)
		cfi_skip_block(&c);
	if (c.bad || target < func || target - func >= range)
		return;
	struct cfi_state st = {.cfa_reg = UINT64_MAX};
	uintptr_t loc = func;
	struct cursor ci = {cie.insns, cie.end, false};
	if (!cfi_run(&ci, &cie, &loc, target, &st, NULL))
		return;
	struct cfi_state init = st;
	loc = func;
	if (!cfi_run(&c, &cie, &loc, target, &st, &init))
		return;
	cfi_rule_from(&st, r);
}

void cfi_rule_at(uintptr_t pc, struct cfi_rule *r)
{
	uintptr_t target = pc - 1; /* inside the call */
	struct dwarf_eh_bases bases;
	const uint8_t *fde = _Unwind_Find_FDE((void *)target, &bases);

	if (!fde) {
		memset(r, 0, sizeof(*r));
		return;
	}
	cfi_rule_in_fde(fde, (uintptr_t)bases.func, target, r);
}
