/*
 * optfail.h — getopt_long's complaint, as one line of ours.
 *
 * Bad usage is one clear line and a non-zero exit (never getopt's own line
 * and then the whole usage after it).  A tool sets opterr = 0, starts its
 * optstring with ':' (so that an option without its value comes back as
 * ':', not '?'), and on ':' or '?' calls optfail_say, then fails.
 * Header-only: the symbolizer, lockcontend-top and lockcontend-intervals
 * each include it.
 */
#ifndef LOCKCONTEND_OPTFAIL_H
#define LOCKCONTEND_OPTFAIL_H

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* One line on stderr for getopt_long's return c (':' or '?'), read right
 * after the call (optind, optopt and argv[optind - 1] are the option's). */
static inline void optfail_say(const char *prog, int c, char *const argv[])
{
	const char *arg = optind > 0 ? argv[optind - 1] : "";
	int name_len = (int)strcspn(arg, "=");
	bool is_long = arg[0] == '-' && arg[1] == '-';
	if (c == ':' && is_long)
		fprintf(stderr, "%s: %.*s needs a value (see --help)\n", prog, name_len, arg);
	else if (c == ':')
		fprintf(stderr, "%s: -%c needs a value (see --help)\n", prog, optopt);
	else if (is_long && optopt && arg[name_len] == '=')
		fprintf(stderr, "%s: %.*s takes no value (see --help)\n", prog, name_len, arg);
	else if (is_long || !optopt)
		fprintf(stderr, "%s: unknown option %.*s (see --help)\n", prog, name_len, arg);
	else
		fprintf(stderr, "%s: unknown option -%c (see --help)\n", prog, optopt);
}

#endif
