/* emit: see emit.h. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/clock.h"
#include "lib/line.h"
#include "lib/log.h"
#include "lib/out.h"
#include "json/ndjson.h"
#include "emit.h"
#include "puller.h"

/* What dedupe_check found: a killmail new, written already as it is, or
 * written with another zkb (a revision zKillboard republished). */
enum { DEDUPE_NEW, DEDUPE_SAME, DEDUPE_REVISED };

/* Was id written, and with the zkb of fingerprint fp?  Remembers fp. */
static int
dedupe_check(struct emit_seen *d, long long id, uint64_t fp)
{
	void *item = HASH_INT(fp | 1);	/* never NULL */
	void *y = hash_get_int(&d->gen[0], (uint64_t)id);
	void *o = y ? y : hash_get_int(&d->gen[1], (uint64_t)id);

	if (o == item)
		return DEDUPE_SAME;
	if (y) {
		hash_put_int(&d->gen[0], (uint64_t)id, item);
		return DEDUPE_REVISED;
	}
	if (d->gen[0].n >= EMIT_SEEN_N / 2) {
		struct hash old = d->gen[1];

		d->gen[1] = d->gen[0];
		d->gen[0] = old;
		hash_clear(&d->gen[0]);
	}
	hash_put_int(&d->gen[0], (uint64_t)id, item);
	return o ? DEDUPE_REVISED : DEDUPE_NEW;
}

/* The fingerprint of a package's zkb (value, labels, ...): what a
 * revision changes. */
static uint64_t
zkb_print(json_t *pkg)
{
	char *z = json_dumps(json_object_get(pkg, "zkb"), JSON_COMPACT | JSON_SORT_KEYS |
	    JSON_ENCODE_ANY);
	uint64_t h = hash_fnv1a(z ? z : "", z ? strlen(z) : 0);

	free(z);
	return h;
}

void
emit(struct puller *p, json_t *pkg, long long seq)
{
	static struct buf line;	/* reused: one allocation for the whole run */
	json_t *idv = json_object_get(pkg, "killmail_id");
	json_int_t id = json_integer_value(idv);

	if (!json_is_integer(idv) || id <= 0) {
		log_warn("package skipped: killmail_id is not a positive integer sequence=%lld", seq);
		return;
	}
	line.len = 0;
	ndjson_dump(&line, pkg);
	if (line.len > LINE_MAX_DEFAULT) {
		log_warn("package skipped: its line is over the limit killmail_id=%lld "
		    "sequence=%lld bytes=%zu max=%u", (long long)id, seq, line.len,
		    LINE_MAX_DEFAULT);
		return;
	}
	switch (dedupe_check(&p->seen, id, zkb_print(pkg))) {
	case DEDUPE_SAME:
		p->dups++;
		log_info("duplicate killmail dropped killmail_id=%lld sequence=%lld",
		    (long long)id, seq);
		return;
	case DEDUPE_REVISED:
		p->revised++;
		log_info("revised killmail passed on killmail_id=%lld sequence=%lld",
		    (long long)id, seq);
		break;
	}
	log_trace("out", (long long)id, NULL);
	buf_addc(&line, '\n');
	out_put(line.p, line.len);
	out_flush();
	p->unmarked++;
	p->written++;
}

double
emit_time(json_t *pkg)
{
	json_t *u = json_object_get(pkg, "uploaded_at");
	const char *kt = json_string_value(json_object_get(
	    json_object_get(pkg, "esi"), "killmail_time"));
	struct tm tm = { 0 };

	if (json_is_number(u))
		return json_number_value(u);
	if (kt && strptime(kt, "%Y-%m-%dT%H:%M:%S", &tm))
		return (double)timegm(&tm);
	return clock_wall();
}

void
emit_free(struct emit_seen *s)
{
	hash_free(&s->gen[0]);
	hash_free(&s->gen[1]);
}
