/*
 * duration.c — a duration as people type it (see duration.h).
 */
#include "duration.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int duration_parse(const char *s, uint64_t *ns)
{
	static const struct {
		const char *unit;
		double ns;
	} units[] = {{"", 1e9},  {"ns", 1},   {"us", 1e3},  {"ms", 1e6},
	             {"s", 1e9}, {"m", 60e9}, {"h", 3600e9}};
	char *end;
	if (!s || !((*s >= '0' && *s <= '9') || *s == '.'))
		return -1;
	double v = strtod(s, &end);
	if (end == s || !isfinite(v) || v < 0)
		return -1;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(end, units[i].unit) != 0)
			continue;
		double t = v * units[i].ns;
		if (t >= 1.8e19)
			return -1;
		*ns = (uint64_t)(t + 0.5); /* 0.3s is 299999999.99999994 ns in a double */
		return 0;
	}
	return -1;
}
