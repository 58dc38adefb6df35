/*
 * ehframe.h — the extent of every function of an ELF file, named or not,
 * from its unwind table.
 *
 * .dynsym names only the exported functions; the static ones (malloc's
 * _int_malloc, _mid_memalign), the cold parts gcc splits off
 * (pthread_create.cold) and anything else compiled with unwind tables
 * have an FDE in .eh_frame, and .eh_frame_hdr (PT_GNU_EH_FRAME) lists the
 * FDEs sorted by address.  ehframe_find gives the [start, end) of the FDE
 * that holds an address: the function (or part) it is in.  Virtual
 * addresses of the file, no bias.
 */
#ifndef LOCKCONTEND_ATTACH_EHFRAME_H
#define LOCKCONTEND_ATTACH_EHFRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "elfimage.h"

struct ehframe {
	const struct elf_image *img;
	uint64_t hdr;               /* vaddr of .eh_frame_hdr */
	const unsigned char *table; /* (start, fde) pairs, each sdata4 from hdr */
	size_t count;
};

/* false if the file has no usable .eh_frame_hdr search table. */
bool ehframe_init(struct ehframe *eh, const struct elf_image *img);

/* The FDE range holding vaddr; false if none does.  fde (if not NULL)
 * gets a pointer to the FDE in the mapped file, for cfi_rule_in_fde. */
bool ehframe_find(const struct ehframe *eh, uint64_t vaddr, uint64_t *start, uint64_t *end,
                  const unsigned char **fde);

#endif
