/* fold-file: the fights of fold.c in memory and in the file folds (the
 * format and its discipline: fold.h), for fold.c and fold-file.c alone. */
#ifndef FOLD_FILE_H
#define FOLD_FILE_H
#include <stdio.h>
#include <jansson.h>

#include "post/fold.h"

struct fold_state {
	int edits;		/* the platform edits messages */
	struct fight *all;
	FILE *f;		/* NULL until the first fight */
	int dirty;		/* lines written since the last sync */
	size_t lines, live;	/* lines since compaction; lines a compaction writes */
};
extern struct fold_state fold_st;

/* A line (j is stolen); a change of f, {"f": name, key: v} (v is stolen). */
void fold_put(json_t *j);
void fold_put_change(const struct fight *f, const char *key, json_t *v);
/* A kill as a line holds it; a whole fight. */
json_t *fold_kill_json(const struct fold_kill *k);
json_t *fold_fight_json(const struct fight *f);
/* A copy of s, or NULL. */
char *fold_strdup(const char *s);
/* A kill more for f; f among the fights; f out of them, and freed. */
void fold_push(struct fight *f, const struct fold_kill *k);
void fold_link(struct fight *f);
void fold_unlink(struct fight *f);
#endif
