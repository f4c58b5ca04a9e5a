/* r2z2: see r2z2.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/clock.h"
#include "lib/log.h"
#include "lib/out.h"
#include "lib/state.h"
#include "json/mark.h"
#include "json/ndjson.h"
#include "r2z2.h"

/* A mark after this many packages at most, and after a second. */
#define MARK_EVERY 64
#define MARK_SECONDS 1.0

static void
cursor_save(struct puller *p)
{
	char tmp[4096];
	FILE *f;

	snprintf(tmp, sizeof tmp, "%s.tmp", p->cursor_path);
	if (!(f = state_create(tmp)))
		log_fatal(EXIT_TEMP, "cannot write cursor path=%s: %s", tmp, strerror(errno));
	fprintf(f, "%lld\n", p->next);
	if (fflush(f) || fsync(fileno(f)) || fclose(f) || rename(tmp, p->cursor_path))
		log_fatal(EXIT_TEMP, "cannot save cursor path=%s: %s", p->cursor_path,
		    strerror(errno));
}

/* The saved next number, or -1 (missing, or corrupt: then a warning). */
static long long
cursor_load(struct puller *p)
{
	char b[64], *end;
	long long n;
	FILE *f;

	state_private(p->cursor_path);
	if (!(f = fopen(p->cursor_path, "r"))) {
		if (errno != ENOENT)
			log_warn("cannot read cursor path=%s: %s", p->cursor_path, strerror(errno));
		return -1;
	}
	b[0] = 0;
	if (!fgets(b, sizeof b, f))
		b[0] = 0;
	fclose(f);
	n = strtoll(b, &end, 10);
	if (end == b || (*end && *end != '\n') || n < 0) {
		log_warn("corrupt cursor ignored, starting from sequence.json path=%s",
		    p->cursor_path);
		return -1;
	}
	return n;
}

/* The position below which every package has been written: the next
 * number, or an older one that sequence_updated will fetch again. */
static long long
position(const struct puller *p)
{
	long long pos = p->next;

	for (int i = 0; i < p->nrefetch; i++)
		if (p->refetch[i] < pos)
			pos = p->refetch[i];
	return pos;
}

/* A mark when MARK_EVERY packages or MARK_SECONDS went by since the last;
 * at the head (force) whenever the position moved, and every MARK_SECONDS
 * even when it did not: a mark dropped on the way (a spliced stage, a
 * stage restarted) is then made good without a new package. */
static void
mark_out(struct puller *p, int force)
{
	struct mark m = { position(p), p->epoch };
	char line[96];
	double now = clock_mono();

	if (!p->marks)
		return;
	if (force ? m.seq == p->marked && now - p->mark_t < MARK_SECONDS :
	    m.seq == p->marked || (p->unmarked < MARK_EVERY && now - p->mark_t < MARK_SECONDS))
		return;
	out_put(line, mark_line(line, sizeof line, &m));
	out_flush();
	p->marked = m.seq;
	p->unmarked = 0;
	p->mark_t = now;
}

/* Read sequence.json into p->head, retrying until it answers; -1 when stopped. */
static int
read_head(struct puller *p)
{
	char url[2048];
	json_t *j;
	json_int_t n;

	snprintf(url, sizeof url, "%s/ephemeral/sequence.json", p->base);
	for (;;) {
		if (puller_fetch(p, url) < 0)
			return -1;
		if (p->resp.class != HTTP_OK) {
			if (puller_failed(p) < 0)
				return -1;
			continue;
		}
		j = json_loads(p->resp.body, 0, NULL);
		n = json_integer_value(json_object_get(j, "sequence"));
		json_decref(j);
		if (n > 0)
			break;
		log_warn("sequence.json without a sequence number");
		if (puller_pause(p, clock_mono() + backoff_next(&p->err)) < 0)
			return -1;
	}
	backoff_reset(&p->err);
	backoff_reset(&p->ban);
	if (n > p->head)
		p->head = n;
	return 0;
}

/* sequence.json once, without retrying: the head grows while we walk to it,
 * and the lag is measured against it. */
static void
peek_head(struct puller *p)
{
	char url[2048];
	json_t *j;
	json_int_t n;

	p->head_at = clock_mono() + p->head_every;
	snprintf(url, sizeof url, "%s/ephemeral/sequence.json", p->base);
	if (puller_fetch(p, url) < 0 || p->resp.class != HTTP_OK)
		return;
	j = json_loads(p->resp.body, 0, NULL);
	n = json_integer_value(json_object_get(j, "sequence"));
	json_decref(j);
	if (n > p->head)
		p->head = n;
}

/* again: seq was fetched once more, for a sequence_updated. */
static void
take_package(struct puller *p, long long seq, int again)
{
	json_t *pkg = ndjson_parse(p->resp.body, p->resp.len, (unsigned long)seq);
	json_int_t upd;

	if (!pkg)
		return;		/* warned; a broken file is skipped like a missing one */
	emit(p, pkg, seq);
	p->uploaded = emit_time(pkg);
	upd = json_integer_value(json_object_get(pkg, "sequence_updated"));
	/* Only the forward walk sends us back: each rewrite is announced by a
	 * newer file, and following what a refetched file names would walk a
	 * chain N -> N-1 -> ... again from every link (quadratic) and two
	 * files naming each other forever. */
	if (!again && upd > 0 && upd < seq && p->nrefetch < 64)
		p->refetch[p->nrefetch++] = upd;
	if (seq > p->head)
		p->head = seq;
	json_decref(pkg);
}

static void
skip_missing(struct puller *p)
{
	log_warn("missing file below the head skipped sequence=%lld tries=%d",
	    p->next, p->tries);
	p->next++;
	p->tries = 0;
	cursor_save(p);
	if (++p->skipped_run < p->resync_after)
		return;
	/* Files live about a day: a long run of holes means we fell behind. */
	p->skipped_run = 0;
	if (read_head(p) == 0 && p->head > p->next) {
		log_warn("resync: jumping forward from=%lld to=%lld skipped=%lld",
		    p->next, p->head, p->head - p->next);
		p->next = p->head;
		cursor_save(p);
	}
}

/* A 404: the head (wait, same number) or a hole below it (skip). */
static int
on_missing(struct puller *p)
{
	p->tries++;
	p->at_head = p->next >= p->head;
	if (p->next >= p->head && (p->tries >= p->missing_tries || p->once))
		if (read_head(p) < 0)
			return -1;
	if (p->next < p->head && p->tries >= p->missing_tries) {
		skip_missing(p);
		return 0;
	}
	mark_out(p, 1);
	if (p->once && p->next >= p->head)
		return -1;	/* at the head: --once is done */
	return puller_pause(p, clock_mono() + p->head_wait);
}

int
r2z2_step(struct puller *p)
{
	char url[2048];
	long long seq;
	int again;

	if (!p->once && clock_mono() >= p->head_at)
		peek_head(p);
	if (p->stop)
		return -1;
	seq = p->nrefetch ? p->refetch[--p->nrefetch] : p->next;
	again = seq != p->next;
	snprintf(url, sizeof url, "%s/ephemeral/%lld.json", p->base, seq);
	if (puller_fetch(p, url) < 0)
		return -1;
	if (p->resp.class == HTTP_OK || p->resp.class == HTTP_NOTFOUND)
		p->failing_since = 0;	/* it answers */
	if (p->resp.class == HTTP_OK) {
		backoff_reset(&p->err);
		backoff_reset(&p->ban);
		p->at_head = 0;
		take_package(p, seq, again);
		if (!again) {
			p->next++;
			p->tries = p->skipped_run = 0;
			cursor_save(p);
		}
		mark_out(p, 0);
		return 0;
	}
	if (again && p->resp.class == HTTP_NOTFOUND)
		return 0;	/* the rewritten file is gone again: nothing to add */
	if (again)
		p->refetch[p->nrefetch++] = seq;
	if (p->resp.class == HTTP_NOTFOUND)
		return on_missing(p);
	return puller_failed(p);
}

int
r2z2_start(struct puller *p, long long from)
{
	if (from >= 0) {
		p->next = from;
	} else if (p->marks && (p->next = mark_file_read(p->commit_path)) >= 0) {
		long long read = cursor_load(p);

		log_info("starting at the committed position sequence=%lld read=%lld again=%lld",
		    p->next, read, read > p->next ? read - p->next : 0);
	} else if ((p->next = cursor_load(p)) < 0) {
		if (read_head(p) < 0)
			return -1;
		p->next = p->head;
		log_info("no cursor, starting at sequence.json sequence=%lld", p->next);
	}
	return 0;
}
