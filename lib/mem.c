#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/mem.h"

static int child;

void
mem_child(void)
{
	child = 1;
}

void *
mem_check(void *p)
{
	if (!p && child)
		_exit(EXIT_TEMP);
	if (!p)
		log_fatal(EXIT_TEMP, "out of memory");
	return p;
}

void *
mem_malloc(size_t sz)
{
	return mem_check(malloc(sz ? sz : 1));
}

void *
mem_calloc(size_t n, size_t sz)
{
	return mem_check(calloc(n ? n : 1, sz ? sz : 1));
}

void *
mem_realloc(void *p, size_t sz)
{
	return mem_check(realloc(p, sz ? sz : 1));
}

char *
mem_strdup(const char *s)
{
	return mem_check(strdup(s));
}

char *
mem_strndup(const char *s, size_t n)
{
	char *d = mem_malloc(n + 1);

	memcpy(d, s, n);
	d[n] = 0;
	return d;
}
