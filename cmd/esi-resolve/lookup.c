/* lookup: see lookup.h. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "lib/mem.h"
#include "lookup.h"

/* The ESI path of each enum mailbuild_kind; names go through esi_name(). */
static const char *paths[] = { NULL, "/universe/systems/%" PRId64,
	"/universe/constellations/%" PRId64, "/universe/regions/%" PRId64,
	"/universe/types/%" PRId64, "/universe/groups/%" PRId64,
	"/universe/categories/%" PRId64, NULL, "/corporations/%" PRId64,
	"/alliances/%" PRId64 };

/* One thing a mail needs; its key in the lookup's table is (kind, id). */
struct lookup_slot {
	struct slot_key {
		int64_t kind, id;
	} key;
	struct lookup *l;
	json_t *val;		/* the answer; NULL: not found */
};

static void need(struct lookup *l, enum mailbuild_kind k, int64_t id);

static const void *
slot_key(const void *p, size_t *len)
{
	const struct lookup_slot *s = p;

	*len = sizeof s->key;
	return &s->key;
}

static struct lookup_slot *
slot_of(struct lookup *l, enum mailbuild_kind k, int64_t id)
{
	struct slot_key key = { k, id };

	return hash_get(&l->slots, &key, sizeof key);
}

json_t *
lookup_got(void *arg, enum mailbuild_kind k, int64_t id)
{
	struct lookup_slot *s = slot_of(arg, k, id);

	return s ? s->val : NULL;
}

/* An answer: fill the slot, ask what it leads to, done when all came. */
static void
on_answer(void *arg, enum esi_status st, json_t *j)
{
	struct lookup_slot *s = arg;
	struct lookup *l = s->l;

	(void)st;
	s->val = json_incref(j);
	switch (s->key.kind) {
	case MB_SYSTEM: need(l, MB_CONST, mailbuild_id(j, "constellation_id")); break;
	case MB_CONST: need(l, MB_REGION, mailbuild_id(j, "region_id")); break;
	case MB_TYPE: need(l, MB_GROUP, mailbuild_id(j, "group_id")); break;
	case MB_GROUP: need(l, MB_CAT, mailbuild_id(j, "category_id")); break;
	default: break;
	}
	if (--l->pending == 0)
		l->done(l->arg);
}

static void
need(struct lookup *l, enum mailbuild_kind k, int64_t id)
{
	struct lookup_slot *s;
	char path[64];

	if (id <= 0 || slot_of(l, k, id))
		return;
	s = mem_calloc(1, sizeof *s);
	s->l = l;
	s->key = (struct slot_key){ k, id };
	hash_put(&l->slots, s);
	l->pending++;
	if (k == MB_NAME) {
		esi_name(l->esi, id, on_answer, s);
		return;
	}
	snprintf(path, sizeof path, paths[k], id);
	esi_get(l->esi, path, on_answer, s);
}

/* Everything a party of the mail names: who, and what they flew. */
static void
need_party(struct lookup *l, json_t *p)
{
	static const char *who[] = { "character_id", "corporation_id",
		"alliance_id", "faction_id" };

	for (int i = 0; i < 4; i++)
		need(l, MB_NAME, mailbuild_id(p, who[i]));
	if (l->tickers) {
		need(l, MB_CORP, mailbuild_id(p, "corporation_id"));
		need(l, MB_ALLI, mailbuild_id(p, "alliance_id"));
	}
	need(l, MB_TYPE, mailbuild_id(p, "ship_type_id"));
	need(l, MB_TYPE, mailbuild_id(p, "weapon_type_id"));
}

void
lookup_init(struct lookup *l, struct esi *esi, int tickers,
    void (*done)(void *arg), void *arg)
{
	hash_init(&l->slots, slot_key);
	l->pending = 0;
	l->tickers = tickers;
	l->esi = esi;
	l->done = done;
	l->arg = arg;
}

void
lookup_start(struct lookup *l, json_t *km)
{
	json_t *a;
	size_t i;

	l->pending++;		/* so no answer ends the lookup mid-way */
	need(l, MB_SYSTEM, mailbuild_id(km, "solar_system_id"));
	need_party(l, json_object_get(km, "victim"));
	json_array_foreach(json_object_get(km, "attackers"), i, a)
		need_party(l, a);
	if (--l->pending == 0)
		l->done(l->arg);
}

void
lookup_free(struct lookup *l)
{
	struct lookup_slot *s;

	for (size_t i = 0; (s = hash_next(&l->slots, &i));) {
		json_decref(s->val);
		free(s);
	}
	hash_free(&l->slots);
}
