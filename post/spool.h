/* spool: the state directory of a poster, and in it the spool of posts
 * accepted but not yet answered (the file formats and the order of the
 * durable steps are described in post.c).
 *
 * A turn's posts are added one by one (spool_add) and written together as
 * one segment (spool_commit: one fdatasync); each is later marked answered
 * (spool_done), and the segment goes with its last post.  Segments are
 * owned here; the caller keeps for each post its segment and its place
 * (struct spool_pos), and reads its text back with spool_read.  One
 * spool per process (module state). */
#ifndef SPOOL_H
#define SPOOL_H
#include <sys/types.h>
#include <jansson.h>

struct spool_seg;		/* a segment with posts not yet answered */

struct spool_pos {		/* a post's line in its segment */
	off_t off;		/* where the line starts */
	unsigned len, boff;	/* the line's length; where the body starts in it */
	unsigned idx;		/* its number in the segment, for the done line */
};

/* dir: the poster's state directory; spool/ and dead/ are made in it. */
void spool_open(const char *dir);
/* dir/sub/name (name "" for dir/sub); exits 100 when it does not fit. */
const char *spool_path(char *buf, size_t n, const char *sub, const char *name);
/* Write text to dir/sub/name atomically and durably (fdatasync, rename,
 * fsync of sub); the descriptor stays open in *keep when keep is not NULL. */
void spool_write(const char *sub, const char *name, const char *text, size_t n, int *keep);
/* The name of a dead letter: after a post's place in its segment (s not
 * NULL), so that a replay landing there again rewrites the same letter;
 * else a new name that sorts by time. */
void spool_dead_name(char *buf, size_t n, const struct spool_seg *s, unsigned idx);
/* Remove the temporary files of a run killed while it wrote them. */
void spool_clean(void);

/* One post into the segment in the making, body last; *at is its place.
 * edit: the id of the message it edits, or NULL for a new post. */
void spool_add(const char *target, const char *stream, json_int_t kill,
    json_int_t accepted, const char *edit, const json_t *body, struct spool_pos *at);
/* Bytes of the segment in the making. */
size_t spool_pending(void);
/* Write the segment in the making as name (NULL: a new name); its
 * segment, holding every post added since, or NULL when none was. */
struct spool_seg *spool_commit(const char *name);
/* n bytes of a post's line from at, NUL-terminated, in a buffer reused by
 * the next call. */
char *spool_read(struct spool_seg *s, const struct spool_pos *pos, size_t at, size_t n);
/* Post idx of s was answered: a done line, or s goes with its last post. */
void spool_done(struct spool_seg *s, unsigned idx);
/* Make the done lines and the removals of segments durable (fdatasync of
 * the segments written to, fsync of the directory); 1 when there were
 * any, 0 when nothing waited. */
int spool_sync(void);
/* Let s close its descriptor if too many are open (its done lines synced
 * first). */
void spool_idle(struct spool_seg *s);

/* Read the spool back, in the order of acceptance: for each post of a
 * segment not marked done, post(); for each single .json post put back by
 * hand, single() with the name of the segment to commit it as (the file
 * goes after).  ok: the entry has a target and a body (and, in a segment,
 * its body where spool_add puts it); e is borrowed, and is the line as a
 * string when it does not parse. */
void spool_replay(void (*post)(struct spool_seg *s, const struct spool_pos *at, json_t *e, int ok),
    void (*single)(const char *seg, json_t *e, int ok));
#endif
