/* match-names: every name a compiled condition compares, for a check that
 * asks ESI whether they exist (stream-fanout --names).  A name that does
 * not exist is valid in the language and silently never matches: only the
 * outside world can tell, so the evaluator has no part in it. */
#include "match/match-int.h"

static const char *const place_kinds[] = { "system", "constellation", "region" };

static void
walk(const struct node *n, match_name_fn *fn, void *arg)
{
	if (!n)
		return;
	if (n->op == P_ENT)
		for (size_t i = 0; i < n->ents.nname; i++)
			fn(arg, match_party_keys[3 + n->field], n->ents.name[i]);
	else if (n->op == C_PLACE)
		for (size_t i = 0; i < n->ents.nname; i++)
			fn(arg, place_kinds[n->field], n->ents.name[i]);
	else if (n->op == C_NEAR)
		for (size_t i = 0; i < n->nnear; i++)
			if (n->near[i].name)
				fn(arg, "system", n->near[i].name);
	for (size_t i = 0; i < n->nkid; i++)
		walk(n->kid[i], fn, arg);
}

void
match_names(const struct match_cond *c, match_name_fn *fn, void *arg)
{
	if (c)
		walk(c->root, fn, arg);
}
