/*
 * fail.c — the one line a failure prints (see fail.h).
 */
#include "fail.h"

#include <stdarg.h>
#include <stdio.h>

int fail_set(struct fail *f, int status, const char *fmt, ...)
{
	va_list ap;

	if (f->status != 0)
		return -1;
	f->status = status;
	va_start(ap, fmt);
	vsnprintf(f->line, sizeof(f->line), fmt, ap);
	va_end(ap);
	return -1;
}
