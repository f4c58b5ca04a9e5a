/* pending: the input lines of the mails esi-resolve still held when it
 * stopped, saved to $STATE_DIR/esi-resolve.pending and replayed first at
 * the next start.
 *
 * The file goes when the last replayed mail is written (pending_replayed),
 * so a crash before then replays them again.  Saving at a stop writes, in
 * this order: the lines the caller gives (the mails in flight), the replay
 * lines not taken yet, the lines left in the input buffer and the line the
 * input stopped inside, read on to its end.
 *
 * Ownership: the struct owns the path and the replay lines; a line
 * pending_next() returns belongs to the caller (free it). */
#ifndef PENDING_H
#define PENDING_H
#include <stdio.h>
#include "lib/line.h"

struct pending {
	char path[4096];
	char **lines;		/* replay: the lines of the last stop */
	size_t n, next;		/* next: the first not taken yet */
	int left;		/* replayed mails not written yet */
	FILE *f;		/* the file being saved */
	size_t saved;
};

/* Make the directory dir (and its parents); the file is dir/name. */
void pending_init(struct pending *p, const char *dir, const char *name);
/* Read the lines of the last stop, if any. */
void pending_load(struct pending *p);
/* The next replay line, NULL when none is left. */
char *pending_next(struct pending *p);
/* Replay lines not taken yet? */
int pending_waiting(const struct pending *p);
/* A replayed mail was written: the last one removes the file. */
void pending_replayed(struct pending *p);
/* Saving at a stop: begin, a line per mail in flight, end. */
void pending_save_begin(struct pending *p);
void pending_save_line(struct pending *p, const char *l, size_t n);
void pending_save_end(struct pending *p, struct line_reader *lr, double deadline);
void pending_free(struct pending *p);
#endif
