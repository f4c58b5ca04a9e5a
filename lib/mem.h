/* mem: allocation that cannot fail quietly: out of memory is fatal (111). */
#ifndef MEM_H
#define MEM_H
#include <stddef.h>
void *mem_calloc(size_t n, size_t sz);	/* zero n is one element */
void *mem_realloc(void *p, size_t sz);
char *mem_strdup(const char *s);
#endif
