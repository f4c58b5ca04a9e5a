/* pairout: pair lines written to stdout; see pairout.h. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "pairout.h"

void
pairout_flush(struct buf *out)
{
	size_t off = 0;
	ssize_t w;

	while (off < out->len) {
		if ((w = write(1, out->p + off, out->len - off)) < 0 && errno == EINTR)
			continue;
		if (w < 0)
			log_fatal(EXIT_TEMP, "cannot write output: %s", strerror(errno));
		off += w;
	}
	out->len = 0;
}

static void
pairout_end(struct buf *out)
{
	buf_addc(out, '\n');
	if (out->len >= 1 << 16)
		pairout_flush(out);
}

void
pairout_line(struct buf *out, const char *line, size_t len)
{
	buf_add(out, line, len);
	pairout_end(out);
}

void
pairout_pair(struct buf *out, const char *line, size_t len, const struct pair *pr,
    const struct buf *mt)
{
	const char *b = pr->match.n ? pr->match.p : line + pr->close;
	const char *e = pr->match.n ? b + pr->match.n : b;

	buf_add(out, line, (size_t)(b - line));
	if (!pr->match.n)
		buf_add(out, ",\"match\":", 9);
	buf_add(out, mt->p, mt->len);
	buf_add(out, e, (size_t)(line + len - e));
	pairout_end(out);
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
