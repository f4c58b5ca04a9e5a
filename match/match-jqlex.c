/* match-jqlex: the jq features a stream may not use, found by reading the
 * program's tokens before jq ever sees it.  Part of the match module.
 *
 * A jq test decides whether a mail matches; it has no business with the
 * files, the environment or the stderr of the stage that runs it.  jq 1.6
 * lets a program do all three, and its module system aborts a program
 * compiled through the library (an assertion in jv_array_concat).  So
 * these names are refused wherever they are called: in the program, in a
 * string interpolation "\(..)", after `def`.  They are allowed where they
 * are only data: a field (.env), a string ("env"), a comment, an object
 * key ({env: 1}, {env}).  A function of the stream's own that takes one of
 * these names is refused too: better one rename than a hole. */
#include <stdio.h>
#include <string.h>

#include "match/match-int.h"

static const struct {
	const char *name, *why;
} refused[] = {
	{ "include", "loads a jq module from a file" },
	{ "import", "loads a jq module from a file" },
	{ "modulemeta", "reads jq module files" },
	{ "get_search_list", "reads jq's module search path" },
	{ "get_jq_origin", "names a directory of this machine" },
	{ "get_prog_origin", "names a directory of this machine" },
	{ "$ENV", "reads the environment" },
	{ "env", "reads the environment" },
	{ "input", "reads jq's input, and a test has none but its pair" },
	{ "inputs", "reads jq's input, and a test has none but its pair" },
	{ "input_filename", "reads jq's input, and a test has none but its pair" },
	{ "input_line_number", "reads jq's input, and a test has none but its pair" },
	{ "debug", "writes to the stage's stderr" },
	{ "stderr", "writes to the stage's stderr" },
	{ "halt", "stops jq" },
	{ "halt_error", "writes to the stage's stderr and stops jq" },
	{ "localtime", "reads the machine's time zone (times are UTC: use gmtime)" },
	{ "strflocaltime", "reads the machine's time zone (times are UTC: use strftime)" },
};

struct lx {
	const char *p;
	char stack[64];		/* open brackets: ( [ { */
	int depth;
	char prev;		/* the last significant character */
	char *why;
	size_t n;
};

static int
id_start(char c)
{
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int
id_char(char c)
{
	return id_start(c) || (c >= '0' && c <= '9');
}

static const char *
skip_space(const char *p)
{
	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
			p++;
		if (*p != '#')
			return p;
		while (*p && *p != '\n')
			p++;
	}
}

/* An identifier at x->p, with jq's "module::name"; its length. */
static size_t
ident(const char *p)
{
	size_t n = 0;

	for (;;) {
		while (id_char(p[n]))
			n++;
		if (p[n] != ':' || p[n + 1] != ':' || !id_start(p[n + 2]))
			return n;
		n += 2;
	}
}

static int
refuse(struct lx *x, const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof refused / sizeof *refused; i++)
		if (strlen(refused[i].name) == len && !memcmp(refused[i].name, name, len)) {
			snprintf(x->why, x->n, "\"%s\" is not allowed: it %s",
			    refused[i].name, refused[i].why);
			return 1;
		}
	return 0;
}

/* A key of an object being built: {name: ..} or {name}. */
static int
is_key(const struct lx *x, const char *after)
{
	after = skip_space(after);
	if (!x->depth || x->stack[x->depth - 1] != '{' || (x->prev != '{' && x->prev != ','))
		return 0;
	return (*after == ':' && after[1] != ':') || *after == ',' || *after == '}';
}

static int
push(struct lx *x)
{
	if (x->depth == (int)sizeof x->stack) {
		snprintf(x->why, x->n, "brackets nested too deep to be read");
		return 1;
	}
	x->stack[x->depth++] = *x->p;
	x->prev = *x->p;
	return 0;
}

static int code(struct lx *, int);

/* A string from its opening quote; "\(..)" holds code, read as if in
 * brackets of its own. */
static int
string(struct lx *x)
{
	for (x->p++; *x->p && *x->p != '"'; x->p++) {
		if (*x->p != '\\')
			continue;
		if (x->p[1] != '(') {
			x->p += x->p[1] != 0;
			continue;
		}
		x->p++;
		if (push(x))
			return 1;
		x->p++;
		if (code(x, x->depth))
			return 1;
		x->p--;		/* on the ')' that closed it */
	}
	x->p += *x->p == '"';
	x->prev = '"';
	return 0;
}

static int
word(struct lx *x)
{
	const char *w = x->p;
	size_t n = ident(w);

	x->p += n;
	if (!is_key(x, x->p) && refuse(x, w, n))
		return 1;
	x->prev = 'a';
	return 0;
}

static int
variable(struct lx *x)
{
	char name[64] = "$";
	size_t n;

	x->p = skip_space(x->p + 1);	/* jq 1.6 reads "$ ENV" as $ENV */
	n = ident(x->p);
	snprintf(name + 1, sizeof name - 1, "%.*s", (int)n, x->p);
	x->p += n;
	x->prev = 'a';
	return refuse(x, name, strlen(name));
}

static void
number(struct lx *x)
{
	const char *p = x->p;

	while (*p >= '0' && *p <= '9')
		p++;
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9'; p++)
			;
	if ((*p == 'e' || *p == 'E') && ((p[1] >= '0' && p[1] <= '9') ||
	    ((p[1] == '+' || p[1] == '-') && p[2] >= '0' && p[2] <= '9')))
		for (p += 2; *p >= '0' && *p <= '9'; p++)
			;
	x->p = p;
	x->prev = '0';
}

/* Code up to the end of the text, or to the bracket that brings the depth
 * below base (the ')' of "\(..)"). */
static int
code(struct lx *x, int base)
{
	for (;;) {
		const char *p = x->p = skip_space(x->p);
		int r = 0;

		if (!*p)
			return 0;
		if (*p == '"')
			r = string(x);
		else if (*p == '$')
			r = variable(x);
		else if ((*p == '.' || *p == '@') && id_start(p[1])) {	/* field, format */
			x->p += 1 + ident(p + 1);
			x->prev = 'a';
		} else if (*p == '.' && p[1] == '.') {
			x->p += 2;
			x->prev = '.';
		} else if (id_start(*p))
			r = word(x);
		else if (*p == '(' || *p == '[' || *p == '{') {
			r = push(x);
			x->p++;
		} else if (*p == ')' || *p == ']' || *p == '}') {
			x->depth -= x->depth > 0;
			x->prev = *x->p++;
			if (x->depth < base)
				return 0;
		} else if (*p >= '0' && *p <= '9')
			number(x);
		else
			x->prev = *x->p++;
		if (r)
			return 1;
	}
}

int
match_jq_refused(const char *prog, char *why, size_t n)
{
	struct lx x = { .p = prog, .why = why, .n = n };

	return code(&x, 0);
}
