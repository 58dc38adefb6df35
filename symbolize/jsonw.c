/*
 * jsonw.c — JSON strings safe inside <script> (see jsonw.h).
 */
#include "jsonw.h"

#include <stdint.h>

/* A continuation byte: 10xxxxxx. */
static int cont(unsigned char c)
{
	return (c & 0xc0) == 0x80;
}

int jsonw_utf8_len(const unsigned char *s)
{
	unsigned char c = s[0];
	if (c && c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return cont(s[1]) ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		/* no overlong form (e0 a0..), no surrogate (ed 80..9f) */
		unsigned char lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
		return s[1] >= lo && s[1] <= hi && cont(s[2]) ? 3 : 0;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		/* no overlong form (f0 90..), nothing past U+10FFFF (f4 80..8f) */
		unsigned char lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
		return s[1] >= lo && s[1] <= hi && cont(s[2]) && cont(s[3]) ? 4 : 0;
	}
	return 0;
}

/* One character of ASCII that JSON or HTML wants escaped, or 0. */
static const char *ascii_escape(unsigned char c)
{
	switch (c) {
	case '"': return "\\\"";
	case '\\': return "\\\\";
	case '\n': return "\\n";
	case '\t': return "\\t";
	case '\r': return "\\r";
	case '<': return "\\u003c";
	case '>': return "\\u003e";
	case '&': return "\\u0026";
	default: return NULL;
	}
}

void jsonw_string(FILE *out, const char *str)
{
	const unsigned char *s = (const unsigned char *)(str ? str : "");
	fputc('"', out);
	while (*s) {
		int n = jsonw_utf8_len(s);
		const char *esc = n == 1 ? ascii_escape(*s) : NULL;
		if (esc)
			fputs(esc, out);
		else if (n == 1 && (*s < 0x20 || *s == 0x7f))
			fprintf(out, "\\u%04x", *s);
		else if (n == 3 && s[0] == 0xe2 && s[1] == 0x80 && (s[2] == 0xa8 || s[2] == 0xa9))
			fprintf(out, "\\u%04x", s[2] == 0xa8 ? 0x2028 : 0x2029);
		else if (n)
			fwrite(s, 1, (size_t)n, out);
		else
			fputs("\\ufffd", out);
		s += n ? n : 1;
	}
	fputc('"', out);
}
