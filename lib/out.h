/* out: the tools' standard output.  Every write is checked: EPIPE and any
 * other write error are fatal (111), so a closed or full output never
 * passes silently. */
#ifndef OUT_H
#define OUT_H
#include <stddef.h>

void out_put(const char *p, size_t n);
void out_flush(void);
/* The fatal error for a failed write to stdout (errno says why). */
void out_failed(void);
#endif
