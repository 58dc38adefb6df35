/*
 * text.h — build short lines of text without malloc or stdio.
 *
 * Used where stdio is not allowed: hooks, the exit-time dump, warnings
 * printed while LOCKCONTEND is parsed.  A struct text is a fixed buffer that
 * silently stops growing when full (the line is cut, never overrun), so every
 * function here is async-signal-safe and may be called from anywhere.
 */
#ifndef LOCKCONTEND_TEXT_H
#define LOCKCONTEND_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct text {
	char *buf;
	size_t cap; /* bytes in buf, including room for the NUL */
	size_t len;
};

void text_init(struct text *t, char *buf, size_t cap);
void text_str(struct text *t, const char *s);
void text_strn(struct text *t, const char *s, size_t n);
void text_u64(struct text *t, uint64_t v);
/* A duration in human units: "812 ns", "3.25 us", "1.50 ms", "2.01 s". */
void text_duration(struct text *t, uint64_t ns);

/* Write "lockcontend: <line>\n" to stderr with write(2); never fails loudly.
 * Nothing at all once text_quiet is set: attached to someone's daemon, the
 * library prints nothing (attach.c answers with error numbers instead). */
void text_warn(const char *line);
extern bool text_quiet;

#endif
