/* geo: distances between solar systems, for the `near` conditions.
 *
 * Light years are straight-line distances between system positions
 * (ESI /universe/systems/{id}, metres) divided by GEO_LY, CCP's jump-range
 * light year.  Jumps are the shortest stargate path, found by breadth-first
 * search over an adjacency learned from ESI: /universe/systems/{id} lists a
 * system's stargates, /universe/stargates/{id} gives each one's destination
 * (system and the gate there, so the way back is known without asking).
 *
 * The search is lazy: a walk starts at each reference system the first
 * time it is asked about, and grows one level at a time only as far as the
 * largest limit asked of it; every system of a level is fetched at once.
 * A walk remembers the jumps of every system it reached, so once it covers
 * a limit each later question costs one hash lookup.  Nothing is forgotten:
 * the map is static between game patches.
 *
 * Questions answer GEO_WAIT while what they need is being fetched (the
 * request is sent then, once), so callers ask again after answers arrived:
 * geo_changes() grows with every answer absorbed.  Answers come through the
 * get function given to geo_new(), which has esi_get()'s contract (filter2
 * passes esi_get, so caching, sharing and retries are esi's; tests pass a
 * fake map): the callback runs later, never from inside the call.
 *
 * What geo learns without asking, a stargate known from the gate at its
 * other end, is handed to the keep function of geo_set_keep() as the
 * answer ESI would give for its path ({"stargate_id","system_id",
 * "destination":{"stargate_id","system_id"}}, the members a walk reads):
 * filter2 puts it in the ESI cache, so that the next process asks ESI
 * nothing a walk knew.
 *
 * Ownership: names returned by geo_name() belong to geo and live as long as
 * it does.  geo_free() may run while requests are in flight only after the
 * get function has promised never to call back (esi_free() does). */
#ifndef GEO_H
#define GEO_H
#include <stdint.h>

#include "net/esi.h"
#include "match/match.h"

#define GEO_LY 9.46e15		/* metres per light year, for jump range */

enum geo_res {
	GEO_OK,			/* answered */
	GEO_WAIT,		/* waiting for ESI: ask again later */
	GEO_NONE,		/* cannot be answered: a system without a position */
};

typedef void geo_get_fn(void *arg, const char *path, esi_fn *fn, void *fnarg);
typedef void geo_keep_fn(void *arg, const char *path, const char *json);

struct geo_stats {
	unsigned long systems;		/* /universe/systems asked */
	unsigned long gates;		/* /universe/stargates asked */
	unsigned long gates_inferred;	/* learned from the gate at the other end */
	unsigned long kept;		/* inferred answers handed to keep */
	unsigned long notfound;		/* answers ESI_NOTFOUND */
	unsigned long walks, reached;	/* walks started; systems they reached */
};

struct geo *geo_new(geo_get_fn *get, void *arg);
void geo_free(struct geo *g);
/* Where what geo infers goes (none by default). */
void geo_set_keep(struct geo *g, geo_keep_fn *keep, void *arg);

/* A position known without asking (a mail carries its system's). */
void geo_set_position(struct geo *g, int64_t sys, double x, double y, double z);
/* Light years between a and b (0 when a == b, without asking). */
enum geo_res geo_lightyears(struct geo *g, int64_t a, int64_t b, double *ly);
/* Gate jumps from ref to sys when at most limit, else *jumps = -1 (farther,
 * or no gate path at all: wormholes).  ref itself is 0 jumps.  Never
 * GEO_NONE: a system ESI does not know has no gates. */
enum geo_res geo_jumps(struct geo *g, int64_t ref, int64_t sys, long limit, long *jumps);
/* The distance oracle of match.h for one `near` entry whose reference
 * system is known to be `at` (name: its name when geo has none yet): is the
 * mail's system within ref's limits (both, when both are given)?
 * MATCH_UNKNOWN while waiting for ESI.  A system without a position fails a
 * light-year limit; one without a gate path fails a jump limit.  *d gets
 * the reference, the jumps (when a jump limit was asked, or 0 for the
 * kill's own system) and the light years (when the positions are known).
 * The mail's own system position, when it carries one, is remembered. */
enum match_tv geo_near(struct geo *g, int64_t at, const char *name,
    const struct match_mail *m, const struct match_near *ref, struct match_distance *d);
/* The name ESI gave sys, or NULL when it has not been fetched. */
const char *geo_name(const struct geo *g, int64_t sys);
/* A counter that grows with every answer geo absorbed. */
unsigned long geo_changes(const struct geo *g);
void geo_stats(const struct geo *g, struct geo_stats *s);
#endif
