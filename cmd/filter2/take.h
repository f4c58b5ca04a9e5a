/* take: filter2's input lines.  A pair is written as it came (filter1
 * decided it and its stream has no mention rules), judged (its pending
 * distances, its mention) and written with its new match, dropped, or
 * held until ESI has answered (held.h); other lines pass, but a commit
 * mark waits until every pair before it is written or dropped. */
#ifndef TAKE_H
#define TAKE_H
#include <stddef.h>

#include "lib/line.h"

/* One line (lineno for warnings); replayed: it comes from the state file. */
void take_line(const char *line, size_t len, unsigned long lineno, int replayed);
/* Take the complete lines read, while there is room to hold pairs (or all
 * of them: a line read is never lost).  -1 once the input has ended. */
int take_lines(struct line_reader *lr, int all);
/* Decide again the waiting pairs, in order, when ESI has said something. */
void take_retry(void);
#endif
