/* dedupe: see dedupe.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/hash.h"
#include "lib/clock.h"
#include "post/dedupe.h"
#include "post/keyset.h"
#include "lib/log.h"
#include "lib/state.h"
#include "json/ndjson.h"
#include "post/spool.h"

static struct {
	double window;
	struct keyset seen;
	struct hash prints;	/* key -> fingerprint of the post (| 1), when known */
	FILE *f;
	struct buf keys;	/* lines waiting for their segment's sync */
	long appended;		/* lines since the file was compacted */
	int dirty;		/* appended and not synced */
} D;

unsigned long long
dedupe_key(unsigned long long hook, json_int_t kill)
{
	return hash_fnv1a_from(hook, &kill, sizeof kill);
}

static int
dedupe_live(unsigned t)
{
	return t && D.window > 0 && (double)(unsigned)clock_wall() - t < D.window;
}

/* Rewrite the file with the live keys only (write + rename). */
static void
dedupe_compact(void)
{
	char p[1200], tmp[1200];
	struct keyset live = { 0 };
	unsigned long long k;
	unsigned t;
	FILE *f;

	spool_path(tmp, sizeof tmp, ".dedupe.tmp", "");
	if (!(f = state_create(tmp)))	/* 0600: whatever the umask, as every state file */
		log_fatal(EXIT_TEMP, "cannot write %s: %s", tmp, strerror(errno));
	for (size_t i = 0; (t = keyset_next(&D.seen, &i, &k));)
		if (dedupe_live(t)) {
			fprintf(f, "%u %016llx %016llx\n", t, k,
			    (unsigned long long)dedupe_print(k));
			keyset_put(&live, k, t);
		} else
			hash_del_int(&D.prints, k);
	if (fflush(f) || fdatasync(fileno(f)) < 0 || fclose(f) ||
	    rename(tmp, spool_path(p, sizeof p, "dedupe", "")) < 0)
		log_fatal(EXIT_TEMP, "cannot write %s: %s", p, strerror(errno));
	keyset_free(&D.seen);
	D.seen = live;
	if (D.f)
		fclose(D.f);
	if (!(D.f = fopen(p, "a")))
		log_fatal(EXIT_TEMP, "cannot open %s: %s", p, strerror(errno));
	D.appended = 0;
}

void
dedupe_open(double window)
{
	char p[1200];
	char line[80];
	int n;
	unsigned t;
	unsigned long long k, fp;
	FILE *f = fopen(spool_path(p, sizeof p, "dedupe", ""), "r");

	D.window = window;
	/* "<time> <key>", and since revisions are edited " <fingerprint>" */
	while (f && fgets(line, sizeof line, f))
		if ((n = sscanf(line, "%u %llx %llx", &t, &k, &fp)) >= 2 && dedupe_live(t)) {
			keyset_put(&D.seen, k, t);
			if (n == 3 && fp)
				hash_put_int(&D.prints, k ? k : 1, HASH_INT(fp | 1));
		}
	if (f)
		fclose(f);
	dedupe_compact();
}

void
dedupe_add(unsigned long long k, uint64_t fp)
{
	char line[60];
	unsigned t = (unsigned)clock_wall();

	if (D.window <= 0)
		return;
	keyset_put(&D.seen, k, t);
	if (fp)
		hash_put_int(&D.prints, k ? k : 1, HASH_INT(fp | 1));
	buf_add(&D.keys, line, snprintf(line, sizeof line, "%u %016llx %016llx\n", t, k ? k : 1,
	    (unsigned long long)(fp ? fp | 1 : 0)));
	D.appended++;
}

/* Appended, synced apart (dedupe_sync): kill -9 keeps it in the page
 * cache. */
void
dedupe_flush(void)
{
	if (!D.keys.len)
		return;
	if (fwrite(D.keys.p, 1, D.keys.len, D.f) != D.keys.len || fflush(D.f))
		log_fatal(EXIT_TEMP, "cannot append to dedupe: %s", strerror(errno));
	D.keys.len = 0;
	D.dirty = 1;
	if (D.appended > 2 * (long)keyset_count(&D.seen) + 10000)
		dedupe_compact();
}

void
dedupe_sync(void)
{
	if (D.dirty && fdatasync(fileno(D.f)) < 0)
		log_fatal(EXIT_TEMP, "cannot sync dedupe: %s", strerror(errno));
	D.dirty = 0;
}

int
dedupe_seen(unsigned long long k)
{
	return dedupe_live(keyset_get(&D.seen, k));
}

int
dedupe_known(unsigned long long k)
{
	return keyset_get(&D.seen, k) != 0;
}

uint64_t
dedupe_print(unsigned long long k)
{
	return (uint64_t)HASH_UINT(hash_get_int(&D.prints, k ? k : 1));
}

/* What zKillboard says of a kill, as the mail carries it: a revision
 * changes some of it; another stream's post of the same kill, however it
 * renders, changes none. */
static const char *const zkb_members[] = {
	"value", "points", "labels", "npc", "solo", "awox", NULL
};

uint64_t
dedupe_print_of(const json_t *mail)
{
	json_t *z = json_object();
	char *s;
	uint64_t h;

	for (const char *const *m = zkb_members; *m; m++)
		if (json_object_get(mail, *m))
			json_object_set(z, *m, json_object_get(mail, *m));
	s = json_dumps(z, JSON_COMPACT | JSON_SORT_KEYS);
	h = hash_fnv1a(s ? s : "", s ? strlen(s) : 0);
	free(s);
	json_decref(z);
	return h | 1;
}

size_t
dedupe_count(void)
{
	return keyset_count(&D.seen);
}

void
dedupe_close(void)
{
	hash_free(&D.prints);
	fclose(D.f);
}
