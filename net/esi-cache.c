/* esi-cache: what the cache keeps of ESI's answers, and answers from it;
 * see esi.h ("Caching") and esi-int.h. */
#include <stdlib.h>
#include <string.h>

#include "lib/mem.h"
#include "json/ndjson.h"
#include "net/esi-int.h"


/* ---- what the cache keeps ---- */

static int
prefix(const char *s, const char *p)
{
	return !strncmp(s, p, strlen(p));
}

/* Static universe data: may be served stale while ESI fails. */
int
esi_is_static(const struct want *w)
{
	return w->kind == K_GET && prefix(w->path, "/universe/");
}

/* Drop what no stage reads, so values stay small in the LRU and Redis. */
void
esi_slim(const char *path, json_t *j)
{
	static const char *drop[][3] = {
		{ "/universe/types/", "dogma_attributes", "dogma_effects" },
		{ "/universe/systems/", "planets", "stations" },
		{ "/universe/groups/", "types", NULL },
		{ "/universe/categories/", "groups", NULL },
		{ "/universe/constellations/", "systems", NULL },
		{ "/universe/regions/", "constellations", NULL },
	};

	if (!json_is_object(j))
		return;
	json_object_del(j, "description");
	for (size_t i = 0; i < sizeof drop / sizeof *drop; i++)
		if (prefix(path, drop[i][0]))
			for (int k = 1; k < 3 && drop[i][k]; k++)
				json_object_del(j, drop[i][k]);
	if (prefix(path, "/killmails/"))
		json_object_del(json_object_get(j, "victim"), "items");
}

static double
ttl_for(struct esi *e, const struct want *w, double ttl)
{
	if (w->kind == K_GET && prefix(w->path, "/killmails/"))
		return e->o.ttl_max;	/* a killmail never changes */
	if (ttl < 0)
		ttl = e->o.ttl_default;
	if (ttl < e->o.ttl_min)
		ttl = e->o.ttl_min;
	return ttl > e->o.ttl_max ? e->o.ttl_max : ttl;
}

static void
memo_free(void *j)
{
	json_decref(j);
}

/* The LRU keeps the parsed answer beside its bytes (see cache_set_memo). */
void
esi_store(struct esi *e, const struct want *w, json_t *j, double ttl)
{
	char *s = j ? ndjson_str(j) : mem_strdup("null");

	cache_put(e->c, w->key, s, strlen(s), j ? ttl_for(e, w, ttl) : e->o.neg_ttl,
	    j && esi_is_static(w) ? e->o.stale_max : 0);
	if (j)
		cache_set_memo(e->c, w->key, json_incref(j), memo_free);
	free(s);
}

/* A cached value answers the want: "null" is a remembered not-found.
 * memo: the parsed form the LRU holds, if any; memoize: give it one. */
int
esi_from_cache(struct esi *e, struct want *w, const char *val, size_t len,
    json_t *memo, int memoize)
{
	json_t *j = memo ? json_incref(memo) : json_loadb(val, len, 0, NULL);

	if (!j && (len != 4 || memcmp(val, "null", 4)))
		return -1;
	if (j && !memo && memoize)
		cache_set_memo(e->c, w->key, json_incref(j), memo_free);
	e->st.cached++;
	esi_complete(e, w, j ? ESI_OK : ESI_NOTFOUND, j, 1);
	json_decref(j);
	return 0;
}
