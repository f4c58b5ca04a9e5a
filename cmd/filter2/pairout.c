/* pairout: pair lines written to stdout; see pairout.h. */
#include <string.h>

#include "lib/out.h"
#include "pairout.h"

static struct {
	int on;
	struct pair_bundle b;
	struct buf line;
} B;

/* Lines go through stdio (ndjson_put): the caller sets stdout's buffer. */
void
pairout_line(const char *line, size_t len)
{
	out_put(line, len);
	out_put("\n", 1);
}

void
pairout_same(const char *line, size_t len, const struct pair *pr)
{
	if (B.on)
		pair_bundle_add(&B.b, pr->stream, pr->match);
	else
		pairout_line(line, len);
}

void
pairout_pair(const char *line, size_t len, const struct pair *pr, const struct buf *mt)
{
	const char *b = pr->match.n ? pr->match.p : line + pr->close;
	const char *e = pr->match.n ? b + pr->match.n : b;

	if (B.on) {
		pair_bundle_add(&B.b, pr->stream, (struct pair_span){ mt->p, mt->len });
		return;
	}
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

void
pairout_begin(void)
{
	B.on = 1;
}

void
pairout_end(struct pair_span mail)
{
	B.on = 0;
	B.line.len = 0;
	if (pair_bundle_line(&B.b, mail, &B.line))
		out_put(B.line.p, B.line.len);
}

void
pairout_free(void)
{
	pair_bundle_free(&B.b);
	buf_free(&B.line);
}
