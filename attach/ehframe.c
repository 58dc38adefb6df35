/*
 * ehframe.c — function extents from .eh_frame_hdr and .eh_frame (see
 * ehframe.h).
 *
 * The search table's entries are read as GNU ld and gold write them
 * (DW_EH_PE_datarel | DW_EH_PE_sdata4); an FDE's pc_begin and pc_range
 * in the encoding its CIE's 'R' augmentation gives.  Only what that needs
 * is decoded: no call frame instructions.  Every read is bounded by the
 * file's loaded bytes (elf_bytes); a malformed entry is "no FDE here".
 */
#include "ehframe.h"

#include <string.h>

#define EH_PE_OMIT 0xff
#define EH_PE_ABSPTR 0x00
#define EH_PE_ULEB128 0x01
#define EH_PE_UDATA2 0x02
#define EH_PE_UDATA4 0x03
#define EH_PE_UDATA8 0x04
#define EH_PE_SLEB128 0x09
#define EH_PE_SDATA2 0x0a
#define EH_PE_SDATA4 0x0b
#define EH_PE_SDATA8 0x0c
#define EH_PE_PCREL 0x10
#define EH_PE_DATAREL 0x30

/* A cursor over the loaded bytes of the file, at virtual address at. */
struct cursor {
	const struct elf_image *img;
	uint64_t at;
	bool bad;
};

static uint64_t cur_bytes(struct cursor *c, size_t n)
{
	const unsigned char *p = c->bad ? NULL : elf_bytes(c->img, c->at, n);
	uint64_t v = 0;

	if (!p) {
		c->bad = true;
		return 0;
	}
	for (size_t i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	c->at += n;
	return v;
}

static uint64_t cur_leb(struct cursor *c, bool sign)
{
	uint64_t v = 0;
	unsigned shift = 0, byte;

	do {
		byte = (unsigned)cur_bytes(c, 1);
		if (shift < 64)
			v |= (uint64_t)(byte & 0x7f) << shift;
		shift += 7;
	} while ((byte & 0x80) && !c->bad);
	if (sign && shift < 64 && (byte & 0x40))
		v |= ~0ull << shift;
	return v;
}

/* A value of encoding enc; pcrel applies when pcrel_ok (pc_begin, not
 * pc_range). */
static uint64_t cur_encoded(struct cursor *c, unsigned enc, bool pcrel_ok)
{
	uint64_t field = c->at, v;

	switch (enc & 0x0f) {
	case EH_PE_ABSPTR: v = cur_bytes(c, 8); break;
	case EH_PE_ULEB128: v = cur_leb(c, false); break;
	case EH_PE_UDATA2: v = cur_bytes(c, 2); break;
	case EH_PE_UDATA4: v = cur_bytes(c, 4); break;
	case EH_PE_UDATA8: v = cur_bytes(c, 8); break;
	case EH_PE_SLEB128: v = cur_leb(c, true); break;
	case EH_PE_SDATA2: v = (uint64_t)(int64_t)(int16_t)cur_bytes(c, 2); break;
	case EH_PE_SDATA4: v = (uint64_t)(int64_t)(int32_t)cur_bytes(c, 4); break;
	case EH_PE_SDATA8: v = cur_bytes(c, 8); break;
	default: c->bad = true; return 0;
	}
	if (pcrel_ok && (enc & 0x70) == EH_PE_PCREL)
		v += field;
	else if (pcrel_ok && (enc & 0x70) != 0)
		c->bad = true; /* datarel, textrel... never in an FDE's pc_begin */
	return v;
}

/* The encoding of pc_begin and pc_range in FDEs of the CIE at cie. */
static unsigned cie_fde_encoding(const struct elf_image *img, uint64_t cie)
{
	struct cursor c = {img, cie, false};
	char aug[16];
	size_t n = 0;

	if (cur_bytes(&c, 4) == 0xffffffffu)
		cur_bytes(&c, 8);
	if (cur_bytes(&c, 4) != 0)
		return EH_PE_OMIT; /* not a CIE */
	unsigned version = (unsigned)cur_bytes(&c, 1);
	while (n < sizeof(aug) - 1 && (aug[n] = (char)cur_bytes(&c, 1)) != '\0' && !c.bad)
		n++;
	aug[n] = '\0';
	if (aug[0] != 'z')
		return aug[0] == '\0' ? EH_PE_ABSPTR : EH_PE_OMIT;
	cur_leb(&c, false); /* code alignment */
	cur_leb(&c, true);  /* data alignment */
	if (version == 1)
		cur_bytes(&c, 1);
	else
		cur_leb(&c, false);
	cur_leb(&c, false); /* augmentation length */
	for (size_t i = 1; aug[i] && !c.bad; i++) {
		if (aug[i] == 'R')
			return (unsigned)cur_bytes(&c, 1);
		if (aug[i] == 'L')
			cur_bytes(&c, 1);
		else if (aug[i] == 'P')
			cur_encoded(&c, (unsigned)cur_bytes(&c, 1) & 0x7f, false);
		else if (aug[i] != 'S' && aug[i] != 'B')
			return EH_PE_OMIT;
	}
	return c.bad ? EH_PE_OMIT : EH_PE_ABSPTR;
}

static bool fde_range(const struct elf_image *img, uint64_t fde, uint64_t *start, uint64_t *end)
{
	struct cursor c = {img, fde, false};

	if (cur_bytes(&c, 4) == 0xffffffffu)
		return false; /* 64-bit DWARF: not written for x86-64 code */
	uint64_t id_at = c.at, id = cur_bytes(&c, 4);
	if (c.bad || id == 0)
		return false;
	unsigned enc = cie_fde_encoding(img, id_at - id);
	if (enc == EH_PE_OMIT)
		return false;
	*start = cur_encoded(&c, enc, true);
	*end = *start + cur_encoded(&c, enc & 0x0f, false);
	return !c.bad && *end > *start;
}

bool ehframe_init(struct ehframe *eh, const struct elf_image *img)
{
	const Elf64_Phdr *ph = elf_phdr(img, PT_GNU_EH_FRAME);

	memset(eh, 0, sizeof(*eh));
	eh->img = img;
	if (!ph)
		return false;
	const unsigned char *h = elf_bytes(img, ph->p_vaddr, 4);
	if (!h || h[0] != 1 || h[2] != EH_PE_UDATA4 || h[3] != (EH_PE_DATAREL | EH_PE_SDATA4))
		return false;
	struct cursor c = {img, ph->p_vaddr + 4, false};
	cur_encoded(&c, h[1], true); /* eh_frame_ptr */
	uint64_t count = cur_bytes(&c, 4);
	eh->table = c.bad ? NULL : elf_bytes(img, c.at, count * 8);
	if (!eh->table)
		return false;
	eh->hdr = ph->p_vaddr;
	eh->count = count;
	return true;
}

static int32_t table_word(const struct ehframe *eh, size_t i, size_t k)
{
	int32_t v;

	memcpy(&v, eh->table + 8 * i + 4 * k, 4);
	return v;
}

bool ehframe_find(const struct ehframe *eh, uint64_t vaddr, uint64_t *start, uint64_t *end,
                  const unsigned char **fde_ptr)
{
	size_t lo = 0, hi = eh->count;

	while (lo < hi) { /* the first entry starting after vaddr */
		size_t mid = lo + (hi - lo) / 2;
		if (eh->hdr + (uint64_t)(int64_t)table_word(eh, mid, 0) <= vaddr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return false;
	uint64_t fde = eh->hdr + (uint64_t)(int64_t)table_word(eh, lo - 1, 1);
	if (!fde_range(eh->img, fde, start, end) || vaddr < *start || vaddr >= *end)
		return false;
	if (fde_ptr)
		*fde_ptr = elf_bytes(eh->img, fde, 8);
	return !fde_ptr || *fde_ptr;
}
