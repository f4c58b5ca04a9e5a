/* filter2.h: the state of filter2, one per process, shared by its main
 * (filter2.c: setup, the loop, the state file) and by take.c (the lines,
 * judged).  No other tool includes it. */
#ifndef FILTER2_H
#define FILTER2_H
#include <stddef.h>
#include <jansson.h>

#include "net/cache.h"
#include "net/esi.h"
#include "net/http.h"
#include "match/match.h"
#include "json/mark.h"
#include "json/ndjson.h"
#include "json/pair.h"
#include "geo.h"
#include "held.h"
#include "mention.h"
#include "rev.h"

struct filter2 {
	struct http *http;
	struct cache *cache;
	struct esi *esi;
	struct geo *geo;
	struct mention_state *ms;
	struct rev_set *revs;
	struct buf last;	/* the mail read last, for pair_read's fast path */
	struct pair_mail pm;	/* the mail parsed last ... */
	json_t *mj;		/* ... and prepared in m (a reference of ours) */
	struct match_mail m;
	struct match_verdict v;
	struct held_set held;
	size_t max_held;
	unsigned long seen;	/* answers absorbed, for retries */
	int sigfd, stop, eof, full;
	double drain;		/* seconds to finish a line at SIGTERM */
	char pending_path[4096];
	struct buf mt, line;		/* a new match; a line rebuilt */
	struct buf eline;		/* a pair of a bundle, as a line */
	int bundling;			/* --bundle */
	unsigned long in, bundles, passed, pending, matched, dropped, mentions, other, malformed;
	unsigned long lines;	/* lines taken: a held pair's serial */
	struct mark_wait marks;	/* the marks behind waiting pairs */
};

extern struct filter2 F;
#endif
