#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/log.h"
#include "lib/out.h"
#include "json/ndjson.h"
#include "json/scan.h"

/* jq (and others) write big reals such as a wormhole's 1e19 position as
 * integer literals, which jansson refuses: the scanner gives each integer
 * beyond 64 bits a ".0", and jansson reads those as reals (json/scan.h). */
json_t *
ndjson_load(const char *text, size_t len, size_t flags, json_error_t *err)
{
	json_t *j = json_loadb(text, len, flags, err);
	struct buf b = { 0 };
	const char *why;
	size_t col;

	if (j || !strstr(err->text, "too big"))
		return j;
	if (scan_bigints(text, len, &b))
		j = json_loadb(b.p, b.len, flags, err);
	else if (!scan_object(text, len, &why, &col)) {
		snprintf(err->text, sizeof err->text, "%s", why);
		err->column = (int)col;
	}
	buf_free(&b);
	return j;
}

json_t *
ndjson_parse(const char *line, size_t len, unsigned long lineno)
{
	json_error_t err;
	json_t *j = ndjson_load(line, len, JSON_ALLOW_NUL, &err);

	if (!j) {
		log_warn("malformed line skipped line=%lu col=%d error=\"%s\"",
		    lineno, err.column, err.text);
		return NULL;
	}
	if (!json_is_object(j)) {
		log_warn("line is not a JSON object, skipped line=%lu", lineno);
		json_decref(j);
		return NULL;
	}
	return j;
}

static void
dump_string(struct buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, run = 0;

	buf_addc(b, '"');
	for (i = 0; i < n; i++) {
		unsigned char c = s[i];
		char esc[6] = "\\u00";

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		buf_add(b, s + run, i - run);
		run = i + 1;
		switch (c) {
		case '"': buf_add(b, "\\\"", 2); break;
		case '\\': buf_add(b, "\\\\", 2); break;
		case '\n': buf_add(b, "\\n", 2); break;
		case '\t': buf_add(b, "\\t", 2); break;
		case '\r': buf_add(b, "\\r", 2); break;
		default:
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			buf_add(b, esc, 6);
		}
	}
	buf_add(b, s + run, n - run);
	buf_addc(b, '"');
}

/* The shortest %g that reads back as the same double: 0.95, not
 * 0.94999999999999996.  Whole numbers keep a ".0" so they stay reals. */
static void
dump_real(struct buf *b, double d)
{
	char s[40];
	int p;

	if (!isfinite(d)) {
		buf_add(b, "null", 4);
		return;
	}
	for (p = 15; p <= 17; p++) {
		snprintf(s, sizeof s, "%.*g", p, d);
		if (strtod(s, NULL) == d)
			break;
	}
	if (!strpbrk(s, ".eEn"))
		strcat(s, ".0");
	buf_add(b, s, strlen(s));
}

void
ndjson_dump(struct buf *b, const json_t *j)
{
	char s[32];
	const char *k;
	json_t *v;
	size_t i;
	int first = 1;

	switch (json_typeof(j)) {
	case JSON_OBJECT:
		buf_addc(b, '{');
		json_object_foreach((json_t *)j, k, v) {
			if (!first)
				buf_addc(b, ',');
			first = 0;
			dump_string(b, k, strlen(k));
			buf_addc(b, ':');
			ndjson_dump(b, v);
		}
		buf_addc(b, '}');
		break;
	case JSON_ARRAY:
		buf_addc(b, '[');
		json_array_foreach(j, i, v) {
			if (i)
				buf_addc(b, ',');
			ndjson_dump(b, v);
		}
		buf_addc(b, ']');
		break;
	case JSON_STRING:
		dump_string(b, json_string_value(j), json_string_length(j));
		break;
	case JSON_INTEGER:
		buf_add(b, s, snprintf(s, sizeof s, "%" JSON_INTEGER_FORMAT,
		    json_integer_value(j)));
		break;
	case JSON_REAL:
		dump_real(b, json_real_value(j));
		break;
	case JSON_TRUE: buf_add(b, "true", 4); break;
	case JSON_FALSE: buf_add(b, "false", 5); break;
	case JSON_NULL: buf_add(b, "null", 4); break;
	}
}

char *
ndjson_str(const json_t *j)
{
	struct buf b = { 0 };

	ndjson_dump(&b, j);
	return b.p;
}

int
ndjson_write(FILE *f, const json_t *j)
{
	static struct buf b;	/* reused: one allocation for the whole run */

	b.len = 0;
	ndjson_dump(&b, j);
	buf_addc(&b, '\n');
	if (fwrite(b.p, 1, b.len, f) != b.len || fflush(f))
		return -1;
	return 0;
}

void
ndjson_out(const json_t *j)
{
	if (ndjson_write(stdout, j) < 0)
		out_failed();
}
