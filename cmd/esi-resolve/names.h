/* names: esi-resolve --names, whether the names streams compare exist
 * (esi-resolve(1)). */
#ifndef NAMES_H
#define NAMES_H
#include "net/esi.h"
#include "net/http.h"

/* Reads stream-fanout --names lines on stdin, asks ESI through e (on h)
 * for at most wait seconds, and writes a line per place a name that does
 * not exist is written.  Returns the exit code: 0 whatever ESI did. */
int names_check(struct esi *e, struct http *h, double wait);
#endif
