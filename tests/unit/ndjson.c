/* ndjson: parse objects only; dump compact with shortest reals; order kept. */
#include <stdlib.h>

#include "lib/log.h"
#include "json/ndjson.h"
#include "tap.h"

static void
roundtrip(const char *in, const char *want)
{
	json_t *j = ndjson_parse(in, strlen(in), 1);
	char *s = j ? ndjson_str(j) : NULL;

	is_str(s, want, "dump of %s", in);
	free(s);
	json_decref(j);
}

int
main(void)
{
	json_t *j;
	FILE *f;

	log_init("ndjson-test");
	roundtrip("{\"b\":1,\"a\":2}", "{\"b\":1,\"a\":2}");
	roundtrip("{\"s\":0.95}", "{\"s\":0.95}");
	roundtrip("{\"s\":-1.29064861735e+17}", "{\"s\":-1.29064861735e+17}");
	roundtrip("{\"x\":1.0}", "{\"x\":1.0}");
	roundtrip("{\"x\":0.1,\"y\":0.30000000000000004}", "{\"x\":0.1,\"y\":0.30000000000000004}");
	roundtrip("{ \"a\" : [1, 2, {\"c\": null}], \"t\": true, \"f\": false }",
	    "{\"a\":[1,2,{\"c\":null}],\"t\":true,\"f\":false}");
	roundtrip("{\"u\":\"Ünïcødé \\\"q\\\" \\\\ \\n\\u0001\"}",
	    "{\"u\":\"Ünïcødé \\\"q\\\" \\\\ \\n\\u0001\"}");
	roundtrip("{\"big\":2129999999999}", "{\"big\":2129999999999}");
	roundtrip("{\"x\":10000000000000000000,\"y\":-12345678901234567890,\"s\":\"\\\"12345678901234567890\"}",
	    "{\"x\":1e+19,\"y\":-1.2345678901234567e+19,\"s\":\"\\\"12345678901234567890\"}");
	roundtrip("{\"f\":0.12345678901234567890123,\"i\":9223372036854775807}",
	    "{\"f\":0.12345678901234568,\"i\":9223372036854775807}");
	ok(!ndjson_parse("{\"a\":", 5, 7), "truncated object rejected");
	ok(!ndjson_parse("[1,2]", 5, 8), "array rejected");
	ok(!ndjson_parse("", 0, 9), "empty line rejected");

	j = json_pack("{s:i}", "k", 1);
	f = fopen("/dev/full", "w");
	ok(f && ndjson_write(f, j) < 0, "write to /dev/full fails");
	if (f)
		fclose(f);
	json_decref(j);
	return done_testing();
}
