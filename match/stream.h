/* stream: the stream files of insight-streams(5), loaded, validated and compiled.
 *
 * A stream is one JSON object, read from streams.d/ID.json or from the
 * "stream" member of a pair (where it carries its "id").  Loading checks
 * every key (types, ranges, durations, entity lists, targets, mentions,
 * display), reports every problem through a stream_err_fn with the JSON
 * path ("$.match.victim.alliace: unknown key (did you mean \"alliance\"?)")
 * and compiles the match condition and the mention rules once.
 *
 * Ownership: stream_load, stream_parse and stream_from_pair return a new
 * struct stream (stream_free).  A stream holds its own reference to its
 * json; every const char * in it points into that json and lives as long
 * as the stream.  A struct stream_set owns the streams in it. */
#ifndef STREAM_H
#define STREAM_H
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "match/match.h"

enum stream_kind { STREAM_DISCORD, STREAM_SLACK, STREAM_STDOUT };

struct stream_target {
	enum stream_kind kind;
	const char *url;	/* "https://..." or "$NAME" (read from the poster's
				 * environment); NULL for stdout */
	const char *style;	/* "embed" (default), "compact" or "link" */
	const char *username;	/* discord only; NULL */
	const char *avatar_url;	/* discord only; NULL */
};

struct stream_mention {
	struct match_cond *when;	/* NULL: always (owned) */
	const char *content;
	double max_age;			/* seconds; -1: no limit */
	double cooldown;		/* seconds; 0: none */
};

enum { STREAM_KILL, STREAM_LOSS, STREAM_NEUTRAL };

struct stream_display {
	const char *color[3];	/* by kind: "#rrggbb", defaults filled in */
	int show_value, show_distance, show_fleet, show_stream_name;
};

struct stream {
	char *id;			/* the file name without .json */
	const char *name;		/* "name", or the id */
	const char *description;	/* NULL when absent */
	int enabled;
	json_t *json;			/* the object plus "id": what a pair carries */
	char *text;			/* json as one compact line (no '\n') */
	size_t len;
	uint64_t rev;			/* hash_fnv1a of text: id and revision */
	struct match_cond *match;	/* never NULL: {} matches every mail */
	struct stream_target *targets;
	size_t ntargets;		/* at least one */
	struct stream_mention *mentions;
	size_t nmentions;
	struct stream_display display;
};

/* One problem: origin (the file, or "pair"), the JSON path, the message. */
typedef void stream_err_fn(void *arg, const char *origin, const char *path,
    const char *msg);
/* The reporter of stream-fanout --check: "origin: path: msg\n" on the FILE
 * * given as arg. */
void stream_err_print(void *arg, const char *origin, const char *path,
    const char *msg);

/* Load and validate a file; its id is its name without ".json".  A file
 * that others may read and that holds a webhook URL gets a warning (the
 * URL holds the token; "$NAME" keeps it out).  NULL after reporting every
 * error. */
struct stream *stream_load(const char *file, stream_err_fn *err, void *arg);
/* Validate an object that has no "id" (a file's content); obj is copied. */
struct stream *stream_parse(const char *id, const json_t *obj,
    const char *origin, stream_err_fn *err, void *arg);
/* Validate the "stream" of a pair, which must carry a valid "id"; takes a
 * reference of its own to obj. */
struct stream *stream_from_pair(json_t *obj, const char *origin,
    stream_err_fn *err, void *arg);
void stream_free(struct stream *s);

/* [a-z0-9][a-z0-9._-]* */
int stream_id_valid(const char *id);
/* Is the stream id in shard k of n (0 <= k < n)?  The 64-bit FNV-1a of the
 * id's bytes (hash_fnv1a), modulo n, is k. */
int stream_in_shard(const char *id, unsigned k, unsigned n);

struct stream_set {
	struct stream **v;	/* sorted by id */
	size_t n;
};

/* Load every DIR/<id>.json (names beginning with '.' are skipped: editors'
 * files).  A file that does not load keeps its version from prev when prev
 * has one (moved out of prev, its slot set to NULL); a file that is gone is
 * not in out.  Returns the number of files with errors, or -1 (reported)
 * when dir cannot be read, and then out is empty. */
int stream_load_dir(const char *dir, struct stream_set *prev,
    struct stream_set *out, stream_err_fn *err, void *arg);
void stream_set_free(struct stream_set *set);

/* Every file given, or every file of every directory given (none given:
 * dir), loaded; each stream that loads goes to fn (NULL: none) with its
 * file.  Returns the number of files that did not load, a directory that
 * cannot be read counting one. */
typedef void stream_walk_fn(void *arg, const struct stream *s, const char *file);
int stream_walk(int argc, char **argv, const char *dir, stream_walk_fn *fn, void *fnarg,
    stream_err_fn *err, void *errarg);
#endif
