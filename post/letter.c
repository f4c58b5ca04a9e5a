/* letter: the outcomes of posts (see engine.h).  Output waits in
 * engine.out until the posts of the turn are spooled, so that a pair goes
 * on only then; the loop writes it out before it waits. */
#include <string.h>
#include <stdlib.h>

#include "lib/clock.h"
#include "lib/log.h"
#include "lib/out.h"
#include "json/ndjson.h"
#include "post/engine.h"
#include "post/fold.h"
#include "post/spool.h"

/* One output line, {kind: r}; takes r. */
static void
letter_line(const char *kind, json_t *r)
{
	json_t *e = json_pack("{s:o}", kind, r);

	ndjson_dump(&engine.out, e);
	buf_addc(&engine.out, '\n');
	json_decref(e);
}

void
letter_receipt(const struct hook_job *j, const char *status, long http, const char *why)
{
	json_t *r = json_object();

	fold_done(j, status);	/* every job ends with a receipt */
	json_object_set_new(r, "target", json_string(engine.pf->name));
	json_object_set_new(r, "stream", json_string(j->stream));
	json_object_set_new(r, "killmail_id", json_integer(j->kill));
	json_object_set_new(r, "status", json_string(status));
	json_object_set_new(r, "http", http ? json_integer(http) : json_null());
	json_object_set_new(r, "attempts", json_integer(j->attempts));
	json_object_set_new(r, "ms", json_integer((json_int_t)((clock_mono() - j->t0) * 1000)));
	if (why)
		json_object_set_new(r, "reason", json_string(why));
	letter_line("receipt", r);
}

void
letter_pass(const char *line, size_t len)
{
	buf_add(&engine.out, line, len);
	buf_addc(&engine.out, '\n');
}

/* The webhook as the logs name it ("$NAME" as written): never its token. */
void
letter_render(const char *stream, json_int_t kill, const char *target,
    const char *url, const json_t *body, const char *why)
{
	char label[300];
	json_t *r = json_pack("{s:s,s:s,s:I,s:s,s:O}", "target", engine.pf->name,
	    "stream", stream, "killmail_id", kill, "webhook",
	    target[0] == '$' || !url ? target : log_url(url, label, sizeof label),
	    "body", body);

	if (why)
		json_object_set_new(r, "error", json_string(why));
	letter_line("render", r);
}

void
letter_flush(void)
{
	if (engine.out.len)
		out_put(engine.out.p, engine.out.len);
	out_flush();
	engine.out.len = 0;
}

/* Keep the post with its reason in dead/, out of the spool; a receipt.
 * entry: the post when it is not in a segment (borrowed), else NULL. */
void
letter_dead(struct hook_job *j, json_t *entry, const char *status, long http,
    const char *why)
{
	char name[300];
	struct buf b = { 0 };
	json_t *post = entry ? json_incref(entry) : j->seg ? hook_job_entry(j) : NULL;
	json_t *d = json_pack("{s:s,s:s,s:o,s:i,s:I,s:o}", "status", status,
	    "reason", why, "http", http ? json_integer(http) : json_null(),
	    "attempts", j->attempts, "time", (json_int_t)(unsigned)clock_wall(),
	    "post", post ? post : json_null());

	spool_dead_name(name, sizeof name, j->seg, j->at.idx);
	ndjson_dump(&b, d);
	buf_addc(&b, '\n');
	spool_write("dead", name, b.p, b.len, NULL);
	buf_free(&b);
	json_decref(d);
	hook_job_done(j);
	letter_receipt(j, status, http, why);
	if (!strcmp(status, "dead"))
		engine.dead++;
	else if (!strcmp(status, "rejected"))
		engine.rejected++;
	else
		engine.expired++;
	free(j);
}

/* The webhook is gone: say so once, loudly; everything queued for it and
 * everything that comes later goes to dead/ without a request. */
void
letter_kill_hook(struct hook *h, long http, const char *why)
{
	if (!h->dead) {
		log_warn("webhook is gone, its posts go to dead/ url=%s http=%ld reason=\"%s\"",
		    h->label, http, why);
		hook_dead_add(h, why);
		h->dead = 1;
	}
	while (h->head)
		letter_dead(hook_pop(h), NULL, "dead", http, why);
}

