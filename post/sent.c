/* sent: see sent.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/clock.h"
#include "lib/hash.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "json/ndjson.h"
#include "post/sent.h"
#include "post/spool.h"

static struct {
	double window;
	FILE *f;
	struct hash at;		/* key -> where its message's last line starts, + 1 */
	size_t lines;		/* lines appended since the file was compacted */
} M;

/* The line of f at off, parsed (NULL when it does not read). */
static json_t *
line_at(FILE *f, long off)
{
	char *line = NULL;
	size_t cap = 0;
	json_t *j = NULL;

	if (fseek(f, off, SEEK_SET) == 0 && getline(&line, &cap, f) > 0)
		j = json_loads(line, JSON_ALLOW_NUL, NULL);
	free(line);
	return j;
}

static int
line_live(const json_t *j)
{
	return M.window > 0 && clock_wall() - json_number_value(json_object_get(j, "t")) < M.window;
}

static unsigned long long
key_of(const json_t *k)
{
	unsigned long long v = strtoull(json_string_value(k) ? json_string_value(k) : "0", NULL, 16);

	return v ? v : 1;
}

/* Append j as a line of M.f; its keys point at it. */
static void
line_add(const json_t *j)
{
	const json_t *k;
	size_t i;
	long off;
	char *s = json_dumps(j, JSON_COMPACT);

	if (fseek(M.f, 0, SEEK_END) < 0 || (off = ftell(M.f)) < 0 ||
	    fprintf(M.f, "%s\n", s) < 0 || fflush(M.f))
		log_fatal(EXIT_TEMP, "cannot append to messages: %s", strerror(errno));
	free(s);
	json_array_foreach(json_object_get(j, "keys"), i, k)
		hash_put_int(&M.at, key_of(k), HASH_INT(off + 1));
	M.lines++;
}

static int
cmp_long(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;

	return (x > y) - (x < y);
}

/* Rewrite the file with the live lines some key points at, in order. */
static void
compact(void)
{
	char p[1200], tmp[1200];
	FILE *old = M.f;
	struct hash at = M.at;
	size_t i = 0, n = 0;
	void *v;
	long *offs = mem_calloc(at.n + 1, sizeof *offs);
	json_t *j;
	int fd;

	while ((v = hash_next(&at, &i)))
		offs[n++] = (long)HASH_UINT(v) - 1;
	qsort(offs, n, sizeof *offs, cmp_long);
	spool_path(tmp, sizeof tmp, ".messages.tmp", "");
	/* 0600 whatever the umask, as every state file */
	if ((fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0 ||
	    !(M.f = fdopen(fd, "w+")))
		log_fatal(EXIT_TEMP, "cannot write %s: %s", tmp, strerror(errno));
	memset(&M.at, 0, sizeof M.at);
	M.lines = 0;
	for (i = 0; i < n; i++)
		if ((!i || offs[i] != offs[i - 1]) && (j = line_at(old, offs[i]))) {
			if (line_live(j))
				line_add(j);
			json_decref(j);
		}
	if (fflush(M.f) || fdatasync(fileno(M.f)) < 0 ||
	    rename(tmp, spool_path(p, sizeof p, "messages", "")) < 0)
		log_fatal(EXIT_TEMP, "cannot write %s: %s", p, strerror(errno));
	fclose(old);
	free(offs);
	hash_free(&at);
}

void
sent_open(double window)
{
	char p[1200], *line = NULL;
	size_t cap = 0;
	long off = 0;
	ssize_t len;
	json_t *j;

	M.window = window;
	if (!(M.f = fopen(spool_path(p, sizeof p, "messages", ""), "a+")))
		log_fatal(EXIT_TEMP, "cannot open %s: %s", p, strerror(errno));
	rewind(M.f);
	while ((len = getline(&line, &cap, M.f)) > 0) {
		const json_t *k;
		size_t i;

		/* a line cut short by a kill reads as nothing */
		if ((j = json_loadb(line, (size_t)len, JSON_ALLOW_NUL, NULL))) {
			json_array_foreach(json_object_get(j, "keys"), i, k)
				hash_put_int(&M.at, key_of(k), HASH_INT(off + 1));
			json_decref(j);
		}
		off += len;
	}
	free(line);
	compact();
}

void
sent_close(void)
{
	if (M.f)
		fclose(M.f);
	M.f = NULL;
	hash_free(&M.at);
}

void
sent_put(const char *id, const unsigned long long *keys, size_t n, const json_t *body)
{
	json_t *ks = json_array(), *j;

	for (size_t i = 0; i < n; i++)
		json_array_append_new(ks, json_sprintf("%016llx", keys[i]));
	j = json_pack("{s:I,s:s,s:o,s:O}", "t", (json_int_t)clock_wall(), "id", id,
	    "keys", ks, "body", body);
	line_add(j);
	json_decref(j);
	if (M.lines > 2 * M.at.n + 1000)
		compact();
}

json_t *
sent_get(unsigned long long k, char *id, size_t n, size_t *idx)
{
	void *v = hash_get_int(&M.at, k ? k : 1);
	json_t *j = v ? line_at(M.f, (long)HASH_UINT(v) - 1) : NULL, *body;
	const json_t *key;
	size_t i;

	if (!j)
		return NULL;
	*idx = (size_t)-1;
	json_array_foreach(json_object_get(j, "keys"), i, key)
		if (key_of(key) == (k ? k : 1))
			*idx = i;
	body = json_incref(json_object_get(j, "body"));
	snprintf(id, n, "%s", json_string_value(json_object_get(j, "id")) ?
	    json_string_value(json_object_get(j, "id")) : "");
	json_decref(j);
	if (*idx == (size_t)-1 || !json_is_object(body) || !*id) {
		json_decref(body);
		return NULL;
	}
	return body;
}

void
sent_update(unsigned long long k, const json_t *body)
{
	void *v = hash_get_int(&M.at, k ? k : 1);
	json_t *j = v ? line_at(M.f, (long)HASH_UINT(v) - 1) : NULL;

	if (!j)
		return;
	json_object_set(j, "body", (json_t *)body);
	json_object_set_new(j, "t", json_integer((json_int_t)clock_wall()));
	line_add(j);
	json_decref(j);
}

size_t
sent_keys(void)
{
	return M.at.n;
}
