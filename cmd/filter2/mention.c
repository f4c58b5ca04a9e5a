/* mention: mention rules and their cooldowns; see mention.h. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/hash.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/state.h"
#include "mention.h"

/* When rule idx of stream id last fired.  Its key in the table is the
 * id, a NUL and the bytes of idx (no id holds a NUL). */
struct fired {
	double t;
	int idx;
	size_t klen;
	char key[];		/* the id first: a string */
};

struct mention_state {
	char *path;
	struct hash fired;	/* by (id, idx) */
	int dirty;
};

static const void *
fired_key(const void *p, size_t *len)
{
	const struct fired *f = p;

	*len = f->klen;
	return f->key;
}

/* The key of (id, idx) into k (room for strlen(id) + 1 + sizeof idx). */
static size_t
key_of(char *k, const char *id, size_t idlen, int idx)
{
	memcpy(k, id, idlen + 1);
	memcpy(k + idlen + 1, &idx, sizeof idx);
	return idlen + 1 + sizeof idx;
}

static struct fired *
find(const struct mention_state *ms, const char *id, int idx)
{
	size_t n = strlen(id);
	char buf[128], *k = n + 1 + sizeof idx <= sizeof buf ? buf : mem_malloc(n + 1 + sizeof idx);
	struct fired *f = hash_get(&ms->fired, k, key_of(k, id, n, idx));

	if (k != buf)
		free(k);
	return f;
}

static void
put(struct mention_state *ms, const char *id, int idx, double t)
{
	struct fired *f = find(ms, id, idx);
	size_t n = strlen(id);

	if (!f) {
		f = mem_malloc(sizeof *f + n + 1 + sizeof idx);
		f->idx = idx;
		f->klen = key_of(f->key, id, n, idx);
		hash_put(&ms->fired, f);
	}
	f->t = t;
}

double
mention_last(const struct mention_state *ms, const char *id, int idx)
{
	struct fired *f = find(ms, id, idx);

	return f ? f->t : -1;
}

static void
load(struct mention_state *ms, FILE *f)
{
	char line[1024], id[512];
	unsigned long n = 0;
	double t;
	int idx;

	while (fgets(line, sizeof line, f)) {
		n++;
		if (sscanf(line, "%511[^\t]\t%d\t%lf", id, &idx, &t) == 3 && idx >= 0 &&
		    stream_id_valid(id))
			put(ms, id, idx, t);
		else
			log_warn("cooldown line ignored path=%s line=%lu", ms->path, n);
	}
}

struct mention_state *
mention_open(const char *path)
{
	struct mention_state *ms = mem_calloc(1, sizeof *ms);
	FILE *f;

	hash_init(&ms->fired, fired_key);
	if (!path)
		return ms;
	ms->path = mem_strdup(path);
	state_private(path);
	if ((f = fopen(path, "r"))) {
		load(ms, f);
		fclose(f);
	} else if (errno != ENOENT) {
		log_warn("cannot read cooldowns path=%s: %s", path, strerror(errno));
	}
	return ms;
}

void
mention_close(struct mention_state *ms)
{
	struct fired *f;

	if (!ms)
		return;
	for (size_t i = 0; (f = hash_next(&ms->fired, &i));)
		free(f);
	hash_free(&ms->fired);
	free(ms->path);
	free(ms);
}

static int
cmp_fired(const void *a, const void *b)
{
	const struct fired *x = *(struct fired *const *)a, *y = *(struct fired *const *)b;
	int c = strcmp(x->key, y->key);

	return c ? c : (x->idx > y->idx) - (x->idx < y->idx);
}

/* The lines in order of id and index, whatever the table's order. */
static void
write_sorted(const struct mention_state *ms, FILE *f)
{
	struct fired **v = mem_calloc(ms->fired.n + 1, sizeof *v);
	size_t i, n = 0;

	for (i = 0; (v[n] = hash_next(&ms->fired, &i)); n++)
		;
	qsort(v, n, sizeof *v, cmp_fired);
	for (i = 0; i < n; i++)
		fprintf(f, "%s\t%d\t%.3f\n", v[i]->key, v[i]->idx, v[i]->t);
	free(v);
}

int
mention_save(struct mention_state *ms)
{
	char tmp[4096];
	FILE *f;
	int e;

	if (!ms->dirty || !ms->path)
		return 0;
	snprintf(tmp, sizeof tmp, "%s.tmp", ms->path);
	if (!(f = state_create(tmp)))
		return -1;
	write_sorted(ms, f);
	/* fsync before rename: after a crash the file is the old or the new one. */
	if (fflush(f) || fsync(fileno(f))) {
		e = errno;
		fclose(f);
		errno = e;
		return -1;
	}
	if (fclose(f) || rename(tmp, ms->path))
		return -1;
	ms->dirty = 0;
	return 0;
}

/* Does rule r allow a mention now, apart from its `when`? */
static int
rule_ready(const struct mention_state *ms, const struct stream *s, int idx,
    const struct match_mail *m, double now)
{
	const struct stream_mention *r = &s->mentions[idx];
	double last;

	if (r->max_age >= 0 && (isnan(m->time) || now - m->time > r->max_age))
		return 0;
	if (r->cooldown > 0 && (last = mention_last(ms, s->id, idx)) >= 0 &&
	    now - last < r->cooldown)
		return 0;
	return 1;
}

int
mention_choose(struct mention_state *ms, const struct stream *s,
    struct match_mail *m, const struct match_ctx *cx)
{
	size_t i;

	for (i = 0; i < s->nmentions; i++) {
		const struct stream_mention *r = &s->mentions[i];
		enum match_tv t;

		if (!rule_ready(ms, s, (int)i, m, cx->now))
			continue;
		t = r->when ? match_eval(r->when, m, cx, NULL) : MATCH_TRUE;
		/* An unknown rule may be the first that holds: nothing can be
		 * chosen before it is known. */
		if (t == MATCH_UNKNOWN)
			return MENTION_WAIT;
		if (t == MATCH_FALSE)
			continue;
		if (r->cooldown > 0) {
			put(ms, s->id, (int)i, cx->now);
			ms->dirty = 1;
		}
		return (int)i;
	}
	return -1;
}
