#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "lib/mem.h"

void *
mem_calloc(size_t n, size_t sz)
{
	void *p = calloc(n ? n : 1, sz);

	if (!p)
		log_fatal(EXIT_TEMP, "out of memory");
	return p;
}

void *
mem_realloc(void *p, size_t sz)
{
	if (!(p = realloc(p, sz ? sz : 1)))
		log_fatal(EXIT_TEMP, "out of memory");
	return p;
}

char *
mem_strdup(const char *s)
{
	char *d = strdup(s);

	if (!d)
		log_fatal(EXIT_TEMP, "out of memory");
	return d;
}
