/* mem: allocation that cannot fail quietly: out of memory is fatal (111).
 * The one way to allocate outside this file (tests/t/alloc.t checks it). */
#ifndef MEM_H
#define MEM_H
#include <stddef.h>
void *mem_malloc(size_t sz);			/* zero sz is one byte */
void *mem_calloc(size_t n, size_t sz);	/* zero n is one element */
void *mem_realloc(void *p, size_t sz);
char *mem_strdup(const char *s);
/* n bytes of s and a NUL (s need not be NUL-terminated). */
char *mem_strndup(const char *s, size_t n);
/* p, from an allocator not ours (curl, jq): NULL is out of memory. */
void *mem_check(void *p);
/* In a forked child that must not run the parent's exit handlers (the jq
 * worker): out of memory is then _exit(111), silently. */
void mem_child(void);
#endif
