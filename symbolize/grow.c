/*
 * grow.c — room in a growing array (see grow.h).
 */
#include "grow.h"

#include <stdint.h>
#include <stdlib.h>

bool grow_to(void **arr, size_t *cap, size_t want, size_t elem)
{
	if (want <= *cap)
		return true;
	size_t ncap = *cap ? *cap : 64;
	while (ncap < want) {
		if (ncap > SIZE_MAX / 2)
			return false;
		ncap *= 2;
	}
	if (elem && ncap > SIZE_MAX / elem)
		return false;
	void *a = realloc(*arr, ncap * elem);
	if (!a)
		return false;
	*arr = a;
	*cap = ncap;
	return true;
}
