/* held: the pairs that wait for ESI, with their mails; see held.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "held.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/state.h"

static void
held_mail_put(struct held_mail *h)
{
	if (h && !--h->refs) {
		match_mail_free(&h->m);
		json_decref(h->j);
		free(h);
	}
}

/* The mail of a pair that must wait, shared with the pair held before
 * when it is the same. */
static struct held_mail *
held_mail_of(struct held_set *hs, struct pair_span sp, json_t *mj)
{
	struct held_mail *h = hs->last;

	if (h && h->len == sp.n && !memcmp(h->text, sp.p, sp.n)) {
		h->refs++;
		return h;
	}
	h = mem_calloc(1, sizeof *h + sp.n + 1);
	memcpy(h->text, sp.p, sp.n);
	h->len = sp.n;
	h->refs = 2;		/* the pair's and hs->last's */
	if (match_mail_parse(&h->m, h->text, h->len) < 0) {
		/* never once pair_read has passed it (one definition of valid);
		 * were it to happen, the tree */
		h->j = json_incref(mj);
		match_mail_init(&h->m, h->j);
	}
	held_mail_put(hs->last);
	return hs->last = h;
}

void
held_add(struct held_set *hs, const char *line, size_t len, const struct pair *pr,
    struct rev *r, int pending, int replayed, json_t *mj)
{
	struct held *h;

	if (hs->n == hs->cap) {
		hs->cap = hs->cap ? hs->cap * 2 : 256;
		hs->v = mem_realloc(hs->v, hs->cap * sizeof *hs->v);
	}
	h = &hs->v[hs->n++];
	h->at = (size_t)(pr->mail.p - line);
	h->len = len - pr->mail.n;
	h->rest = mem_realloc(NULL, h->len + 1);
	memcpy(h->rest, line, h->at);
	memcpy(h->rest + h->at, pr->mail.p + pr->mail.n, h->len - h->at);
	h->mail = held_mail_of(hs, pr->mail, mj);
	h->rev = r;
	h->pending = pending;
	h->replayed = replayed;
	r->refs++;
	hs->replayed_left += replayed;
	if (hs->n > hs->most)
		hs->most = hs->n;
}

void
held_release(struct held_set *hs, struct held *h)
{
	free(h->rest);
	held_mail_put(h->mail);
	h->rev->refs--;
	hs->replayed_left -= h->replayed;
}

void
held_line(const struct held *h, struct buf *b)
{
	b->len = 0;
	buf_add(b, h->rest, h->at);
	buf_add(b, h->mail->text, h->mail->len);
	buf_add(b, h->rest + h->at, h->len - h->at);
}

void
held_save(const struct held_set *hs, const char *path, struct buf *b)
{
	char tmp[4200];
	FILE *f;
	size_t i;

	if (!hs->n) {
		if (unlink(path) < 0 && errno != ENOENT)
			log_warn("cannot remove path=%s: %s", path, strerror(errno));
		return;
	}
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	if (!(f = state_create(tmp)))
		log_fatal(EXIT_TEMP, "cannot save waiting pairs path=%s: %s", tmp, strerror(errno));
	for (i = 0; i < hs->n; i++) {
		held_line(&hs->v[i], b);
		buf_addc(b, '\n');
		fwrite(b->p, 1, b->len, f);
	}
	if (fflush(f) || ferror(f) || fsync(fileno(f)) || fclose(f) || rename(tmp, path))
		log_fatal(EXIT_TEMP, "cannot save waiting pairs path=%s: %s", path, strerror(errno));
	log_info("waiting pairs saved waiting=%zu path=%s", hs->n, path);
}

void
held_free(struct held_set *hs)
{
	for (size_t i = 0; i < hs->n; i++)
		held_release(hs, &hs->v[i]);
	free(hs->v);
	held_mail_put(hs->last);
	*hs = (struct held_set){ 0 };
}
