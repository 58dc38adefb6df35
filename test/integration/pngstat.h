/*
 * pngstat.h — is a screenshot blank?  Decodes the PNGs Chromium takes
 * (8-bit RGB or RGBA, not interlaced) with zlib and counts their colours,
 * for the HTML report's browser test (test_html.c).
 */
#ifndef LOCKCONTEND_PNGSTAT_H
#define LOCKCONTEND_PNGSTAT_H

#include <stddef.h>

struct png_stats {
	size_t width, height;
	size_t pixels;     /* width * height */
	size_t background; /* pixels of the most common colour */
	size_t colours;    /* distinct colours, counted up to 4096 */
};

/* 0 with *st filled, or -1 with a one-line reason in err. */
int png_stats(const unsigned char *png, size_t len, struct png_stats *st, char *err, size_t errlen);

#endif
