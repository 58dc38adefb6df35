/*
 * pngstat.c — the colours of a PNG screenshot (see pngstat.h).
 *
 * PNG: an 8-byte signature, then chunks (length, type, data, CRC); IHDR
 * gives the size and format, the IDATs together are one zlib stream of
 * rows, each a filter byte and then the row, filtered against the row
 * above (none, sub, up, average, Paeth).
 */
#include "pngstat.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define MAX_COLOURS 4096

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int paeth(int a, int b, int c)
{
	int p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
	return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/* Undo each row's filter in place; rows of `stride` bytes after their
 * filter byte, bpp bytes a pixel. */
static int unfilter(unsigned char *raw, size_t h, size_t stride, size_t bpp)
{
	for (size_t y = 0; y < h; y++) {
		unsigned char *row = raw + y * (stride + 1), f = row[0];
		unsigned char *cur = row + 1, *up = y ? raw + (y - 1) * (stride + 1) + 1 : NULL;
		for (size_t x = 0; x < stride; x++) {
			int a = x >= bpp ? cur[x - bpp] : 0, b = up ? up[x] : 0;
			int c = up && x >= bpp ? up[x - bpp] : 0;
			switch (f) {
			case 0: break;
			case 1: cur[x] = (unsigned char)(cur[x] + a); break;
			case 2: cur[x] = (unsigned char)(cur[x] + b); break;
			case 3: cur[x] = (unsigned char)(cur[x] + (a + b) / 2); break;
			case 4: cur[x] = (unsigned char)(cur[x] + paeth(a, b, c)); break;
			default: return -1;
			}
		}
	}
	return 0;
}

/* Distinct colours in an open-addressed set, with their counts. */
static void count_colours(const unsigned char *raw, size_t w, size_t h, size_t bpp,
                          struct png_stats *st)
{
	static uint32_t key[2 * MAX_COLOURS];
	static size_t count[2 * MAX_COLOURS];
	memset(count, 0, sizeof(count));
	for (size_t y = 0; y < h; y++) {
		const unsigned char *px = raw + y * (w * bpp + 1) + 1;
		for (size_t x = 0; x < w; x++, px += bpp) {
			uint32_t c = (uint32_t)px[0] << 16 | (uint32_t)px[1] << 8 | px[2];
			size_t i = (c * 2654435761u) % (2 * MAX_COLOURS);
			while (count[i] && key[i] != c)
				i = (i + 1) % (2 * MAX_COLOURS);
			if (!count[i] && st->colours == MAX_COLOURS)
				continue; /* full: counted up to MAX_COLOURS */
			if (!count[i]++) {
				key[i] = c;
				st->colours++;
			}
			if (count[i] > st->background)
				st->background = count[i];
		}
	}
}

int png_stats(const unsigned char *png, size_t len, struct png_stats *st, char *err, size_t errlen)
{
	static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
	memset(st, 0, sizeof(*st));
	if (len < 8 || memcmp(png, sig, 8) != 0) {
		snprintf(err, errlen, "not a PNG");
		return -1;
	}
	size_t w = 0, h = 0, bpp = 0, zlen = 0;
	unsigned char *z = malloc(len);
	for (size_t at = 8; z && at + 12 <= len;) {
		uint32_t n = be32(png + at);
		const unsigned char *type = png + at + 4, *data = png + at + 8;
		if (n > len - at - 12)
			break;
		if (memcmp(type, "IHDR", 4) == 0 && n >= 13) {
			w = be32(data);
			h = be32(data + 4);
			bpp = data[8] == 8 && data[9] == 2 ? 3 : data[8] == 8 && data[9] == 6 ? 4 : 0;
			if (data[12] != 0)
				bpp = 0; /* interlaced */
		} else if (memcmp(type, "IDAT", 4) == 0) {
			memcpy(z + zlen, data, n);
			zlen += n;
		}
		at += 12 + (size_t)n;
	}
	uLongf rawlen = (uLongf)((w * bpp + 1) * h);
	unsigned char *raw = bpp && w && h ? malloc(rawlen) : NULL;
	int rc = -1;
	if (!raw)
		snprintf(err, errlen, "not an 8-bit RGB(A) PNG of %zux%zu", w, h);
	else if (uncompress(raw, &rawlen, z, (uLong)zlen) != Z_OK || rawlen != (w * bpp + 1) * h)
		snprintf(err, errlen, "its pixels do not inflate");
	else if (unfilter(raw, h, w * bpp, bpp) != 0)
		snprintf(err, errlen, "a row has an unknown filter");
	else
		rc = 0;
	if (rc == 0) {
		st->width = w;
		st->height = h;
		st->pixels = w * h;
		count_colours(raw, w, h, bpp, st);
	}
	free(raw);
	free(z);
	return rc;
}
