/* stream-file: streams read from files (stream.h): one file, read without
 * blocking and then validated by stream_parse, and a directory of them,
 * where a file that breaks keeps the version loaded before. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/mem.h"
#include "match/stream.h"

#define FILE_MAX (16u << 20)

/* Opened without blocking: a FIFO or a device named x.json must not hold
 * the stage (or --check) in open(2) or read(2).  Symbolic links are
 * followed: admins link stream files. */
static char *
read_file(const char *file, size_t *len, struct stat *st, const char **why)
{
	int fd = open(file, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	char *p = NULL;
	ssize_t r = 0;

	*why = NULL;
	*len = 0;
	if (fd < 0 || fstat(fd, st) < 0)
		*why = strerror(errno);
	else if (!S_ISREG(st->st_mode))
		*why = "not a regular file";
	else if (st->st_size > FILE_MAX)
		*why = "larger than 16 MiB";
	else {
		p = mem_malloc(st->st_size + 1);
		while (*len < (size_t)st->st_size &&
		    ((r = read(fd, p + *len, st->st_size - *len)) > 0 || (r < 0 && errno == EINTR)))
			*len += r > 0 ? r : 0;
	}
	if (!*why && (r < 0 || *len != (size_t)st->st_size))
		*why = r < 0 ? strerror(errno) : "short read";
	if (fd >= 0)
		close(fd);
	if (*why) {
		free(p);
		return NULL;
	}
	return p;
}

/* The id of a file: its name without the directory and ".json". */
static char *
id_of(const char *file)
{
	const char *b = strrchr(file, '/');
	char *id = mem_strdup(b ? b + 1 : file);
	size_t n = strlen(id);

	if (n > 5 && !strcmp(id + n - 5, ".json"))
		id[n - 5] = 0;
	return id;
}

/* Webhook URLs hold their token: others should not read the file. */
static void
warn_readable(const char *file, const struct stat *st, const struct stream *s)
{
	if (!(st->st_mode & S_IROTH))
		return;
	for (size_t i = 0; i < s->ntargets; i++)
		if (s->targets[i].url && *s->targets[i].url != '$') {
			log_warn("%s: $.targets[%zu]: world-readable file holds a webhook "
			    "token (chmod o-r, or write \"$NAME\" and keep the URL in "
			    "the poster's environment)", file, i);
			return;
		}
}

struct stream *
stream_load(const char *file, stream_err_fn *err, void *arg)
{
	struct stream *s = NULL;
	const char *why;
	json_error_t je;
	struct stat st;
	size_t len = 0;
	char *text = read_file(file, &len, &st, &why), *id = id_of(file);
	json_t *j = NULL;
	char msg[1024];

	if (!text) {
		snprintf(msg, sizeof msg, "cannot read: %s", why);
		if (err)
			err(arg, file, "$", msg);
	} else if (!(j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je))) {
		snprintf(msg, sizeof msg, "invalid JSON at line %d, column %d: %s",
		    je.line, je.column, je.text);
		if (err)
			err(arg, file, "$", msg);
	} else if ((s = stream_parse(id, j, file, err, arg)))
		warn_readable(file, &st, s);
	json_decref(j);
	free(text);
	free(id);
	return s;
}

static int
cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The *.json names of dir, sorted; editors' dot files left out. */
static char **
list_dir(const char *dir, size_t *n)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **v = NULL;

	*n = 0;
	if (!d)
		return NULL;
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name);

		if (e->d_name[0] == '.' || l <= 5 || strcmp(e->d_name + l - 5, ".json"))
			continue;
		v = mem_realloc(v, (*n + 1) * sizeof *v);
		v[(*n)++] = mem_strdup(e->d_name);
	}
	closedir(d);
	if (*n)
		qsort(v, *n, sizeof *v, cmp_name);
	return v ? v : mem_calloc(1, sizeof *v);
}

/* A FIFO, a socket, a device or a directory named x.json is no stream
 * file (the link a symbolic link names is what counts).  One that cannot
 * be stat'ed is loaded, to report why. */
static int
regular(const char *path)
{
	struct stat st;

	return stat(path, &st) < 0 || S_ISREG(st.st_mode);
}

/* Move prev's version of id out of prev, if it has one. */
static struct stream *
take_prev(struct stream_set *prev, const char *id)
{
	for (size_t i = 0; prev && i < prev->n; i++)
		if (prev->v[i] && !strcmp(prev->v[i]->id, id)) {
			struct stream *s = prev->v[i];

			prev->v[i] = NULL;
			return s;
		}
	return NULL;
}

int
stream_load_dir(const char *dir, struct stream_set *prev,
    struct stream_set *out, stream_err_fn *err, void *arg)
{
	size_t n, i;
	char **names = list_dir(dir, &n), path[4096];
	int bad = 0;

	*out = (struct stream_set){ NULL, 0 };
	if (!names) {
		if (err)
			err(arg, dir, "$", strerror(errno));
		return -1;
	}
	out->v = mem_calloc(n, sizeof *out->v);
	for (i = 0; i < n; i++) {
		struct stream *s;
		char *id = id_of(names[i]);

		snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		if (!regular(path)) {
			log_warn("not a regular file, skipped path=%s", path);
			free(id);
			free(names[i]);
			continue;
		}
		if (!(s = stream_load(path, err, arg))) {
			bad++;
			s = take_prev(prev, id);
		}
		if (s)
			out->v[out->n++] = s;
		free(id);
		free(names[i]);
	}
	free(names);
	return bad;
}

void
stream_set_free(struct stream_set *set)
{
	for (size_t i = 0; i < set->n; i++)
		stream_free(set->v[i]);
	free(set->v);
	*set = (struct stream_set){ NULL, 0 };
}

int
stream_walk(int argc, char **argv, const char *dir, stream_walk_fn *fn, void *fnarg,
    stream_err_fn *err, void *errarg)
{
	int bad = 0;

	if (!argc) {
		argc = 1;
		argv = (char **)&dir;
	}
	for (int i = 0; i < argc; i++) {
		struct stream_set set;
		struct stat st;

		if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
			int b = stream_load_dir(argv[i], NULL, &set, err, errarg);
			char file[4096];

			bad += b < 0 ? 1 : b;
			for (size_t k = 0; fn && k < set.n; k++) {
				snprintf(file, sizeof file, "%s/%s.json", argv[i], set.v[k]->id);
				fn(fnarg, set.v[k], file);
			}
			stream_set_free(&set);
		} else {
			struct stream *s = stream_load(argv[i], err, errarg);

			bad += !s;
			if (s && fn)
				fn(fnarg, s, argv[i]);
			stream_free(s);
		}
	}
	return bad;
}
