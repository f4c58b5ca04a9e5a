/* mention: first rule that holds, max_age, cooldowns per (stream, rule),
 * the state file (atomic, survives a restart, bad lines warned), and a
 * `when` that waits for a distance. */
#include <stdlib.h>
#include <unistd.h>

#include "lib/log.h"
#include "cmd/filter2/mention.h"
#include "tap.h"

#define T0 1783123200.0		/* 2026-07-04T00:00:00Z, the mails' time */

static struct stream *
mk(const char *id, const char *text)
{
	json_t *j = json_loads(text, 0, NULL);
	struct stream *s;

	json_object_set_new(j, "id", json_string(id));
	s = stream_from_pair(j, "test", stream_err_print, stdout);
	json_decref(j);
	return s;
}

static json_t *
mail(double value, const char *group)
{
	return json_pack("{s:i,s:s,s:{s:i,s:s},s:{s:{s:i,s:s,s:{s:i,s:s},s:n}},"
	    "s:[],s:{s:f}}", "killmail_id", 7, "time", "2026-07-04T00:00:00Z",
	    "system", "id", 30000001, "name", "Arvoda",
	    "victim", "ship", "id", 671, "name", "Erebus", "group", "id", 30, "name", group,
	    "category", "attackers", "value", "total", value);
}

static enum match_tv
unknown_oracle(void *arg, const struct match_mail *m, const struct match_near *r,
    struct match_distance *d)
{
	(void)arg, (void)m, (void)r, (void)d;
	return MATCH_UNKNOWN;
}

static int
choose(struct mention_state *ms, struct stream *s, json_t *j, double now,
    match_oracle_fn *oracle)
{
	struct match_mail m = { 0 };
	struct match_ctx cx = { .now = now, .oracle = oracle };
	int k;

	match_mail_init(&m, j);
	k = mention_choose(ms, s, &m, &cx);
	match_mail_free(&m);
	return k;
}

static void
test_rules(struct mention_state *ms)
{
	struct stream *s = mk("radar", "{\"targets\":[{\"discord\":\"$X\"}],\"mentions\":["
	    "{\"when\":{\"victim\":{\"ship_group\":[\"Titan\"]}},\"content\":\"@everyone\"},"
	    "{\"when\":{\"value\":{\"min\":5e9}},\"content\":\"<@&1>\",\"cooldown\":\"15m\"},"
	    "{\"content\":\"@here\",\"max_age\":\"10m\",\"cooldown\":\"30m\"}]}");
	json_t *titan = mail(9e10, "Titan"), *big = mail(6e9, "Carrier"),
	       *small = mail(1e6, "Carrier");

	ok(s != NULL, "stream with three rules");
	is_int(choose(ms, s, titan, T0, NULL), 0, "the first rule that holds");
	is_int(choose(ms, s, titan, T0 + 1, NULL), 0, "... again: no cooldown on it");
	is_int(choose(ms, s, big, T0, NULL), 1, "value rule");
	is_int(choose(ms, s, big, T0 + 300, NULL), 2, "in its cooldown: the next rule");
	is_int(choose(ms, s, big, T0 + 900, NULL), 1, "cooldown over after 15m");
	is_int(choose(ms, s, small, T0 + 599, NULL), -1, "@here in its cooldown (30m)");
	is_int(choose(ms, s, small, T0 + 601, NULL), -1, "the mail older than max_age");
	json_object_set_new(small, "time", json_string("2026-07-04T00:35:00Z"));
	is_int(choose(ms, s, small, T0 + 2099, NULL), -1, "a fresh mail, 1 s before the cooldown ends");
	is_int(choose(ms, s, small, T0 + 2100, NULL), 2, "... and when it ends");
	ok(mention_last(ms, "radar", 2) == T0 + 2100, "cooldown start of rule 2 kept");
	ok(mention_last(ms, "radar", 0) < 0, "a rule without cooldown leaves no record");
	ok(mention_last(ms, "other", 1) < 0, "cooldowns are per stream");
	json_decref(titan);
	json_decref(big);
	json_decref(small);
	stream_free(s);
}

static void
test_max_age(void)
{
	struct mention_state *ms = mention_open(NULL);
	struct stream *s = mk("age", "{\"targets\":[{\"discord\":\"$X\"}],\"mentions\":["
	    "{\"content\":\"fresh\",\"max_age\":600},{\"content\":\"any\"}]}");
	json_t *j = mail(1, "Frigate");

	is_int(choose(ms, s, j, T0 + 600, NULL), 0, "max_age is inclusive");
	is_int(choose(ms, s, j, T0 + 601, NULL), 1, "older than max_age: the next rule");
	json_object_del(j, "time");
	is_int(choose(ms, s, j, T0, NULL), 1, "no killmail time: max_age does not hold");
	json_decref(j);
	stream_free(s);
	mention_close(ms);
}

static void
test_wait(void)
{
	struct mention_state *ms = mention_open(NULL);
	struct stream *s = mk("near", "{\"targets\":[{\"discord\":\"$X\"}],\"mentions\":["
	    "{\"when\":{\"near\":[{\"system\":30000002,\"jumps\":1}]},\"content\":\"close\","
	    "\"cooldown\":60},{\"content\":\"far\",\"cooldown\":60}]}");
	json_t *j = mail(1, "Frigate");

	is_int(choose(ms, s, j, T0, unknown_oracle), MENTION_WAIT, "unknown distance: wait");
	ok(mention_last(ms, "near", 1) < 0, "... and no cooldown started");
	json_decref(j);
	stream_free(s);
	mention_close(ms);
}

int
main(void)
{
	char dir[] = "/tmp/mention-test.XXXXXX", path[256], tmp[300];
	struct mention_state *ms;
	FILE *f;

	log_init("mention-test");
	if (!mkdtemp(dir))
		return 1;
	snprintf(path, sizeof path, "%s/cooldowns", dir);
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	ms = mention_open(path);
	test_rules(ms);
	is_int(mention_save(ms), 0, "saved");
	ok(access(tmp, F_OK) != 0, "no temporary file left");
	mention_close(ms);
	ms = mention_open(path);
	ok(mention_last(ms, "radar", 2) == T0 + 2100 && mention_last(ms, "radar", 1) == T0 + 900,
	    "cooldowns survive a restart");
	mention_close(ms);
	f = fopen(path, "a");
	fputs("garbage\nBad Id\t1\t5\n", f);
	fclose(f);
	ms = mention_open(path);
	ok(mention_last(ms, "radar", 2) == T0 + 2100, "bad lines are skipped, good ones kept");
	is_int(mention_save(ms), 0, "nothing changed: nothing to write");
	mention_close(ms);
	/* Written in order of id and index, whatever order they came in. */
	f = fopen(path, "w");
	for (int i = 39; i >= 0; i--)
		fprintf(f, "s%02d\t%d\t%d\n", i % 20, i / 20, 1000 + i);
	fclose(f);
	ms = mention_open(path);
	test_rules(ms);
	is_int(mention_save(ms), 0, "saved with 40 more");
	mention_close(ms);
	{
		char line[256], id[200], pid[200] = "";
		int n = 0, sorted = 1, idx, pidx = -1;

		f = fopen(path, "r");
		while (f && fgets(line, sizeof line, f)) {
			sscanf(line, "%199[^\t]\t%d", id, &idx);
			if (n++ && (strcmp(pid, id) > 0 || (!strcmp(pid, id) && pidx >= idx)))
				sorted = 0;
			snprintf(pid, sizeof pid, "%s", id);
			pidx = idx;
		}
		if (f)
			fclose(f);
		ok(sorted && n == 42, "the file is in order of id and index (%d lines)", n);
	}
	ms = mention_open("/nonexistent/dir/cooldowns");
	test_max_age();
	test_wait();
	ok(mention_last(ms, "x", 0) < 0, "a missing file is an empty state");
	mention_close(ms);
	unlink(path);
	rmdir(dir);
	return done_testing();
}
