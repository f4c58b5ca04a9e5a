/* mark: the commit mark; see mark.h. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "json/mark.h"
#include "json/ndjson.h"
#include "lib/log.h"

/* Only a line that opens with the key "mark" is parsed: the test costs a
 * few compares on the lines that are not marks. */
int
mark_read(const char *line, size_t len, struct mark *m)
{
	const char *p = line, *end = line + len;
	json_t *j, *o;
	int ok;

	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if (p == end || *p++ != '{')
		return 0;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if (end - p < 6 || memcmp(p, "\"mark\"", 6))
		return 0;
	if (!(j = json_loadb(line, len, 0, NULL)))
		return 0;
	o = json_object_get(j, "mark");
	ok = json_is_integer(json_object_get(o, "seq"));
	if (ok) {
		m->seq = json_integer_value(json_object_get(o, "seq"));
		m->epoch = json_integer_value(json_object_get(o, "epoch"));
	}
	json_decref(j);
	return ok;
}

size_t
mark_line(char *b, size_t n, const struct mark *m)
{
	int k = snprintf(b, n, "{\"mark\":{\"seq\":%lld,\"epoch\":%lld}}\n", m->seq, m->epoch);

	return k < 0 ? 0 : (size_t)k < n ? (size_t)k : n - 1;
}

void
mark_wait_add(struct mark_wait *w, unsigned long after, const struct mark *m)
{
	if (w->n == MARK_WAIT)
		w->n--;		/* the newest waits longer, for the same lines and more */
	w->v[w->n].after = after;
	w->v[w->n].m = *m;
	w->n++;
}

int
mark_wait_free(struct mark_wait *w, unsigned long oldest, struct mark *m)
{
	int k = 0;

	while (k < w->n && w->v[k].after < oldest)
		k++;
	if (!k)
		return 0;
	*m = w->v[k - 1].m;
	memmove(w->v, w->v + k, (w->n - k) * sizeof w->v[0]);
	w->n -= k;
	return 1;
}

long long
mark_file_read(const char *path)
{
	char b[64], *e;
	long long n;
	FILE *f = fopen(path, "r");

	if (!f) {
		if (errno != ENOENT)
			log_warn("cannot read path=%s: %s", path, strerror(errno));
		return -1;
	}
	if (!fgets(b, sizeof b, f))
		b[0] = 0;
	fclose(f);
	n = strtoll(b, &e, 10);
	if (e == b || (*e && *e != '\n') || n < 0) {
		log_warn("corrupt file ignored path=%s", path);
		return -1;
	}
	return n;
}

int
mark_file_write(const char *path, long long n)
{
	char tmp[4096], dir[4096];
	int fd, dfd, r;
	FILE *f;

	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	if (!(f = fopen(tmp, "w")))
		return -1;
	fprintf(f, "%lld\n", n);
	r = fflush(f) || fdatasync(fileno(f));
	if (fclose(f) || r || rename(tmp, path))
		return -1;
	snprintf(dir, sizeof dir, "%s", path);
	if ((dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -1;
	r = fsync(dfd);
	fd = errno;
	close(dfd);
	errno = fd;
	return r;
}
