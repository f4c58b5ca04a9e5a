/* rev: the revisions of streams that pairs carry; see rev.h. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/log.h"
#include "lib/mem.h"
#include "json/ndjson.h"
#include "rev.h"

struct rev_name {		/* a reference system written by name */
	struct rev *rev;
	char *name, *canon;	/* as written; as ESI spells it */
	int64_t id;		/* 0 while asking, -1 when it does not resolve */
};

struct rev_set {
	struct esi *esi;
	struct hash revs;	/* every revision, by text */
	struct hash ids;	/* by id, the newest revision (then idnext) */
	unsigned long answers;
};

static void
rev_free(struct rev *r)
{
	for (size_t i = 0; i < r->nnames; i++) {
		free(r->names[i].name);
		free(r->names[i].canon);
	}
	free(r->names);
	stream_free(r->s);
	free(r->text);
	free(r->id);
	free(r);
}

static const void *
rev_text_key(const void *p, size_t *len)
{
	const struct rev *r = p;

	*len = r->len;
	return r->text;
}

static const void *
rev_id_key(const void *p, size_t *len)
{
	const struct rev *r = p;

	*len = strlen(r->id);
	return r->id;
}

struct rev_set *
rev_set_new(struct esi *esi)
{
	struct rev_set *rs = mem_calloc(1, sizeof *rs);

	rs->esi = esi;
	hash_init(&rs->revs, rev_text_key);
	hash_init(&rs->ids, rev_id_key);
	return rs;
}

void
rev_set_free(struct rev_set *rs)
{
	struct rev *r;

	if (!rs)
		return;
	for (size_t i = 0; (r = hash_next(&rs->revs, &i));)
		rev_free(r);
	hash_free(&rs->revs);
	hash_free(&rs->ids);
	free(rs);
}

unsigned long
rev_answers(const struct rev_set *rs)
{
	return rs->answers;
}

static void
rev_on_ids(void *arg, enum esi_status st, json_t *j)
{
	struct rev_name *n = arg;
	json_t *e;
	size_t i;

	n->rev->set->answers++;
	n->id = -1;
	json_array_foreach(json_object_get(j, "systems"), i, e) {
		const char *nm = json_string_value(json_object_get(e, "name"));

		if (nm && !strcasecmp(nm, n->name) && json_integer_value(json_object_get(e, "id")) > 0) {
			n->id = json_integer_value(json_object_get(e, "id"));
			n->canon = mem_strdup(nm);
			break;
		}
	}
	if (n->id < 0)
		log_warn("reference system does not resolve, its near entries never hold "
		    "stream=%s name=\"%s\" status=%s", n->rev->id, n->name,
		    st == ESI_OK ? "unknown-name" : "not-found");
	n->rev->refs--;
}

/* Ask ESI for the id of every reference written by name, once. */
static void
rev_ask_names(struct rev *r, const struct match_cond *c)
{
	const struct match_near *const *nv;
	size_t i, k, n;

	if (!c)
		return;
	nv = match_nears(c, &n);
	for (i = 0; i < n; i++) {
		json_t *q;
		char *body;

		if (!nv[i]->name)
			continue;
		for (k = 0; k < r->nnames && strcasecmp(r->names[k].name, nv[i]->name); k++)
			;
		if (k < r->nnames)
			continue;
		r->names[r->nnames] = (struct rev_name){ r, mem_strdup(nv[i]->name), NULL, 0 };
		body = ndjson_str(q = json_pack("[s]", nv[i]->name));
		json_decref(q);
		r->refs++;
		esi_post(r->set->esi, "/universe/ids", body, rev_on_ids, &r->names[r->nnames++]);
		free(body);
	}
}

static void
rev_err(void *arg, const char *origin, const char *path, const char *msg)
{
	(void)origin;
	log_warn("stream does not compile: its pending pairs are dropped, the others "
	    "pass unchanged stream=%s path=%s error=\"%s\"", ((struct rev *)arg)->id, path, msg);
}

/* Compile a revision (j: its text parsed, or NULL) and ask for its names. */
static void
rev_compile(struct rev *r, json_t *j)
{
	size_t n = 0, i;

	r->compiled = 1;
	if (!j || !(r->s = stream_from_pair(j, "pair", rev_err, r)))
		return;
	match_nears(r->s->match, &n);
	for (i = 0; i < r->s->nmentions; i++) {
		size_t k = 0;

		if (r->s->mentions[i].when)
			match_nears(r->s->mentions[i].when, &k);
		n += k;
	}
	r->names = mem_calloc(n, sizeof *r->names);
	rev_ask_names(r, r->s->match);
	for (i = 0; i < r->s->nmentions; i++)
		rev_ask_names(r, r->s->mentions[i].when);
}

/* A new revision of an id replaces the older ones no pair waits for.  The
 * id's list leaves its table while revisions are freed (the table reads
 * the key of the item it holds). */
static void
rev_retire(struct rev_set *rs, const char *id)
{
	struct rev *head = hash_del(&rs->ids, id, strlen(id)), **p = &head, *r;

	while ((r = *p)) {
		if (r->refs) {
			p = &r->idnext;
			continue;
		}
		*p = r->idnext;
		hash_del(&rs->revs, r->text, r->len);
		rev_free(r);
	}
	if (head)
		hash_put(&rs->ids, head);
}

struct rev *
rev_of(struct rev_set *rs, struct pair_span sp, unsigned long lineno)
{
	struct rev *r = hash_get(&rs->revs, sp.p, sp.n);
	const char *id;
	json_t *j;

	if (r)
		return r;
	j = ndjson_parse(sp.p, sp.n, lineno);
	id = json_string_value(json_object_get(j, "id"));
	r = mem_calloc(1, sizeof *r);
	r->text = mem_realloc(NULL, sp.n);
	memcpy(r->text, sp.p, sp.n);
	r->len = sp.n;
	r->id = mem_strdup(id ? id : "");
	r->mentions = json_array_size(json_object_get(j, "mentions")) > 0;
	r->set = rs;
	rev_retire(rs, r->id);
	hash_put(&rs->revs, r);
	r->idnext = hash_put(&rs->ids, r);	/* the newest heads the list */
	if (r->mentions)
		rev_compile(r, j);
	json_decref(j);
	return r;
}

struct stream *
rev_stream(struct rev *r, unsigned long lineno)
{
	json_t *j;

	if (!r->compiled) {
		j = ndjson_parse(r->text, r->len, lineno);
		rev_compile(r, j);
		json_decref(j);
	}
	return r->s;
}

static int64_t
rev_name_id(const struct rev *r, const char *name, const char **canon)
{
	for (size_t i = 0; i < r->nnames; i++)
		if (!strcasecmp(r->names[i].name, name)) {
			if (r->names[i].canon)
				*canon = r->names[i].canon;
			return r->names[i].id;
		}
	return -1;
}

enum match_tv
rev_near(void *arg, const struct match_mail *m, const struct match_near *ref,
    struct match_distance *d)
{
	struct rev_octx *o = arg;
	const char *name = ref->name;
	int64_t at = ref->system ? ref->system : rev_name_id(o->rev, ref->name, &name);
	enum match_tv t = at < 0 ? MATCH_FALSE : at == 0 ? MATCH_UNKNOWN :
	    geo_near(o->geo, at, name, m, ref, d);

	o->unknown += t == MATCH_UNKNOWN;
	return t;
}
