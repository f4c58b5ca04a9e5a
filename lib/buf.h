/* buf: a growing byte buffer, always NUL-terminated after its bytes.
 * A zeroed struct buf is empty and ready; out of memory is fatal (mem). */
#ifndef BUF_H
#define BUF_H
#include <stddef.h>

struct buf {
	char *p;
	size_t len, cap;
};
void buf_add(struct buf *b, const char *s, size_t n);
void buf_addc(struct buf *b, char c);
void buf_free(struct buf *b);
#endif
