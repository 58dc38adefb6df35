/*
 * jsonw.h — JSON strings that are safe inside an HTML page's <script>.
 *
 * The HTML report (report_html.c) carries its data as JSON in a
 * <script type="application/json"> element, which ends at the first
 * "</script" in its text whatever JSON thinks of it; a "<!--" there would
 * change how the HTML parser reads on.  So every '<', '>' and '&' in a
 * string is written as a \u escape: the text between the tags then holds
 * no '<' at all, and a function named "f</script><script>..." stays a
 * string.  Quotes, backslashes and control characters are escaped as JSON
 * wants; U+2028 and U+2029 too (JavaScript once took them for line ends).
 * Names come from binaries and may not be UTF-8: each byte that does not
 * begin a well-formed UTF-8 sequence (overlong, a surrogate, past
 * U+10FFFF, cut short) is written as U+FFFD, so the result is always
 * valid JSON in valid UTF-8.
 *
 * Pure functions of their arguments; they write to a stdio stream whose
 * errors the caller checks (ferror).
 */
#ifndef LOCKCONTEND_JSONW_H
#define LOCKCONTEND_JSONW_H

#include <stdio.h>

/* s (NULL: "") as a JSON string, with its quotes. */
void jsonw_string(FILE *out, const char *s);

/* The length of the well-formed UTF-8 sequence at s (1 to 4), or 0 if the
 * byte at s does not begin one (or is NUL). */
int jsonw_utf8_len(const unsigned char *s);

#endif
