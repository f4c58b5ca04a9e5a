/* names: the names a stream compares (match_names over its condition and
 * its mention rules) and its "$NAME" targets, as NDJSON lines for
 * esi-resolve --names and insight check:
 *
 *	{"file":F,"path":"$.match.involved.alliance[0]","kind":"alliance","name":"Pandemic Horde"}
 *	{"file":F,"path":"$.targets[0].discord","target":"discord","env":"HORDE_FEED"}
 *
 * The compiled condition keeps names lowercased; the spelling and the JSON
 * path come from the first string of the file's condition or mention rules
 * that equals the name, ignoring ASCII case, so a warning quotes what the
 * author wrote and says where.  A disabled stream posts nothing: its
 * targets are left out. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "json/ndjson.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "match/stream.h"
#include "names.h"

/* One line to write, at the place of its name in the file. */
struct out {
	long at;
	json_t *line;
};

struct seen {
	const struct stream *s;
	const char *file;
	char **keys;		/* "kind\tname" already written */
	size_t n;
	struct out *out;
	size_t nout;
};

/* Where name is written under j (path so far in path, of room size):
 * 1 and path and *spelling set, or 0.  *at counts the strings before it. */
static int
find(const json_t *j, const char *name, char *path, size_t room,
    const char **spelling, long *at)
{
	size_t len = strlen(path), i;
	const char *k;
	json_t *v;

	if (json_is_string(j) && !strcasecmp(json_string_value(j), name)) {
		*spelling = json_string_value(j);
		return 1;
	}
	*at += json_is_string(j);
	if (json_is_array(j))
		json_array_foreach(j, i, v) {
			snprintf(path + len, room - len, "[%zu]", i);
			if (find(v, name, path, room, spelling, at))
				return 1;
		}
	if (json_is_object(j))
		json_object_foreach((json_t *)j, k, v) {
			int plain = *k && strspn(k, "abcdefghijklmnopqrstuvwxyz"
			    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") == strlen(k);

			if (*k == '_' || !strcmp(k, "jq") || !strcmp(k, "labels"))
				continue;
			snprintf(path + len, room - len, plain ? ".%s" : "[\"%s\"]", k);
			if (find(v, name, path, room, spelling, at))
				return 1;
		}
	path[len] = 0;
	return 0;
}

static int
out_cmp(const void *a, const void *b)
{
	const struct out *x = a, *y = b;

	return (x->at > y->at) - (x->at < y->at);
}

static void
put(json_t *line)
{
	char *s = ndjson_str(line);

	puts(s);
	free(s);
	json_decref(line);
}

static void
on_name(void *arg, const char *kind, const char *name)
{
	struct seen *w = arg;
	const char *spelling = name;
	char key[512], path[1024] = "$.match";
	json_t *j = w->s->json;
	long at = 0;

	snprintf(key, sizeof key, "%s\t%s", kind, name);
	for (size_t i = 0; i < w->n; i++)
		if (!strcasecmp(w->keys[i], key))
			return;
	w->keys = mem_realloc(w->keys, (w->n + 1) * sizeof *w->keys);
	w->keys[w->n++] = mem_strdup(key);
	if (!find(json_object_get(j, "match"), name, path, sizeof path, &spelling, &at)) {
		strcpy(path, "$.mentions");
		if (!find(json_object_get(j, "mentions"), name, path, sizeof path,
		    &spelling, &at))
			strcpy(path, "$");
	}
	w->out = mem_realloc(w->out, (w->nout + 1) * sizeof *w->out);
	w->out[w->nout++] = (struct out){ at, json_pack("{s:s, s:s, s:s, s:s}",
	    "file", w->file, "path", path, "kind", kind, "name", spelling) };
}

static void
one(void *arg, const struct stream *s, const char *file)
{
	struct seen w = { s, file, NULL, 0, NULL, 0 };

	(void)arg;
	match_names(s->match, on_name, &w);
	for (size_t i = 0; i < s->nmentions; i++)
		match_names(s->mentions[i].when, on_name, &w);
	if (w.nout)
		qsort(w.out, w.nout, sizeof *w.out, out_cmp);	/* as written */
	for (size_t i = 0; i < w.nout; i++)
		put(w.out[i].line);
	free(w.out);
	for (size_t i = 0; s->enabled && i < s->ntargets; i++) {
		const struct stream_target *t = &s->targets[i];
		const char *platform = t->kind == STREAM_DISCORD ? "discord" : "slack";
		char path[64];

		if (!t->url || *t->url != '$')
			continue;
		snprintf(path, sizeof path, "$.targets[%zu].%s", i, platform);
		put(json_pack("{s:s, s:s, s:s, s:s}", "file", file, "path", path,
		    "target", platform, "env", t->url + 1));
	}
	for (size_t i = 0; i < w.n; i++)
		free(w.keys[i]);
	free(w.keys);
}

/* A file that does not load is for --check to report. */
static void
quiet(void *arg, const char *origin, const char *path, const char *msg)
{
	(void)arg, (void)origin, (void)path, (void)msg;
}

int
names_list(int argc, char **argv, const char *dir)
{
	int bad = stream_walk(argc, argv, dir, one, NULL, quiet, NULL);

	if (fflush(stdout) || ferror(stdout))
		log_fatal(EXIT_TEMP, "write to stdout failed");
	return bad ? EXIT_PERM : EXIT_DONE;
}
