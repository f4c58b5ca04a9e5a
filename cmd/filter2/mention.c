/* mention: mention rules and their cooldowns; see mention.h. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/log.h"
#include "mention.h"

struct fired {
	char *id;		/* NULL: empty slot */
	int idx;
	double t;
};

struct mention_state {
	char *path;
	struct fired *tab;	/* open addressing by (id, idx) */
	size_t cap, n;
	int dirty;
};

static size_t
slot(const struct mention_state *ms, const char *id, int idx)
{
	size_t i = (size_t)(stream_hash(id, strlen(id)) ^ (uint64_t)idx * 0x9E3779B97F4A7C15ull);

	for (i &= ms->cap - 1; ms->tab[i].id; i = (i + 1) & (ms->cap - 1))
		if (ms->tab[i].idx == idx && !strcmp(ms->tab[i].id, id))
			break;
	return i;
}

static void
put(struct mention_state *ms, const char *id, int idx, double t)
{
	size_t i;

	if ((ms->n + 1) * 2 > ms->cap) {
		struct fired *old = ms->tab;
		size_t k, ocap = ms->cap;

		ms->cap = ocap ? ocap * 2 : 64;
		if (!(ms->tab = calloc(ms->cap, sizeof *ms->tab)))
			log_fatal(EXIT_TEMP, "out of memory");
		for (k = 0; k < ocap; k++)
			if (old[k].id)
				ms->tab[slot(ms, old[k].id, old[k].idx)] = old[k];
		free(old);
	}
	i = slot(ms, id, idx);
	if (!ms->tab[i].id) {
		if (!(ms->tab[i].id = strdup(id)))
			log_fatal(EXIT_TEMP, "out of memory");
		ms->tab[i].idx = idx;
		ms->n++;
	}
	ms->tab[i].t = t;
}

double
mention_last(const struct mention_state *ms, const char *id, int idx)
{
	size_t i;

	if (!ms->cap)
		return -1;
	i = slot(ms, id, idx);
	return ms->tab[i].id ? ms->tab[i].t : -1;
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
	struct mention_state *ms = calloc(1, sizeof *ms);
	FILE *f;

	if (!ms || (path && !(ms->path = strdup(path))))
		log_fatal(EXIT_TEMP, "out of memory");
	if (!path)
		return ms;
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
	size_t i;

	if (!ms)
		return;
	for (i = 0; i < ms->cap; i++)
		free(ms->tab[i].id);
	free(ms->tab);
	free(ms->path);
	free(ms);
}

int
mention_save(struct mention_state *ms)
{
	char tmp[4096];
	FILE *f;
	size_t i;
	int e;

	if (!ms->dirty || !ms->path)
		return 0;
	snprintf(tmp, sizeof tmp, "%s.tmp", ms->path);
	if (!(f = fopen(tmp, "w")))
		return -1;
	for (i = 0; i < ms->cap; i++)
		if (ms->tab[i].id)
			fprintf(f, "%s\t%d\t%.3f\n", ms->tab[i].id, ms->tab[i].idx, ms->tab[i].t);
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
