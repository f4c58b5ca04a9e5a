/* pairout: pair lines written to stdout; see pairout.h. */
#include <string.h>

#include "lib/out.h"
#include "pairout.h"

/* Lines go through stdio (ndjson_put): the caller sets stdout's buffer. */
void
pairout_line(const char *line, size_t len)
{
	out_put(line, len);
	out_put("\n", 1);
}

void
pairout_pair(const char *line, size_t len, const struct pair *pr, const struct buf *mt)
{
	const char *b = pr->match.n ? pr->match.p : line + pr->close;
	const char *e = pr->match.n ? b + pr->match.n : b;

	out_put(line, (size_t)(b - line));
	if (!pr->match.n)
		out_put(",\"match\":", 9);
	out_put(mt->p, mt->len);
	out_put(e, (size_t)(line + len - e));
	out_put("\n", 1);
}

void
pairout_match(struct buf *mt, struct pair_span old, json_t *verdict, const char *mention)
{
	json_t *mj = verdict ? json_incref(verdict) : old.n && *old.p == '{' ?
	    ndjson_parse(old.p, old.n, 0) : NULL;

	if (!json_is_object(mj)) {
		json_decref(mj);
		mj = json_object();
	}
	if (mention)
		json_object_set_new(mj, "mention", json_string(mention));
	mt->len = 0;
	ndjson_dump(mt, mj);
	json_decref(mj);
}
