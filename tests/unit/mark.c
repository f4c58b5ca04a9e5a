/* mark: the commit mark's line, the marks that wait, the state files. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "json/mark.h"
#include "lib/log.h"
#include "tap.h"

static int
reads(const char *line, struct mark *m)
{
	return mark_read(line, strlen(line), m);
}

int
main(void)
{
	struct mark m = { 0 }, w3 = { 3, 1 }, w7 = { 7, 1 }, w9 = { 9, 1 };
	struct mark_wait q = { 0 };
	char line[96], dir[] = "/tmp/mark-test.XXXXXX", path[128];

	log_init("mark-test");
	ok(reads("{\"mark\":{\"seq\":90000012,\"epoch\":3}}", &m) && m.seq == 90000012 &&
	    m.epoch == 3, "a mark read");
	ok(reads(" { \"mark\" : {\"epoch\":1, \"seq\":5}}", &m) && m.seq == 5 && m.epoch == 1,
	    "spaces and another order");
	ok(!reads("{\"stream\":{},\"mail\":{\"mark\":1}}", &m), "a pair is no mark");
	ok(!reads("{\"mark\":{\"seq\":\"5\"}}", &m), "a seq that is no integer: no mark");
	ok(!reads("{\"mark\":{\"seq\":5}", &m), "a broken line: no mark");
	m = (struct mark){ 42, 7 };
	mark_line(line, sizeof line, &m);
	is_str(line, "{\"mark\":{\"seq\":42,\"epoch\":7}}\n", "the line written");

	mark_wait_add(&q, 10, &w3);
	mark_wait_add(&q, 20, &w7);
	mark_wait_add(&q, 30, &w9);
	ok(!mark_wait_free(&q, 5, &m), "a line older than every mark held: none free");
	ok(mark_wait_free(&q, 25, &m) && m.seq == 7 && q.n == 1,
	    "oldest line held 25: the marks of 10 and 20 go, the newer written");
	ok(mark_wait_free(&q, ULONG_MAX, &m) && m.seq == 9 && q.n == 0, "nothing held: the last");
	for (int i = 0; i < MARK_WAIT + 5; i++) {
		struct mark k = { 100 + i, 1 };

		mark_wait_add(&q, 100 + i, &k);
	}
	is_int(q.n, MARK_WAIT, "bounded");
	ok(mark_wait_free(&q, 100 + MARK_WAIT - 1, &m) && m.seq == 100 + MARK_WAIT - 2,
	    "full: the newest absorbed the ones after it, the older kept their place");
	ok(!mark_wait_free(&q, 100 + MARK_WAIT + 3, &m),
	    "the absorbing mark waits for the lines before the newest it took");
	ok(mark_wait_free(&q, 100 + MARK_WAIT + 5, &m) && m.seq == 100 + MARK_WAIT + 4,
	    "and goes as the newest");

	if (!mkdtemp(dir))
		return 1;
	snprintf(path, sizeof path, "%s/commit", dir);
	is_int(mark_file_read(path), -1, "a missing file: -1");
	ok(mark_file_write(path, 90001234) == 0, "written");
	is_int(mark_file_read(path), 90001234, "read back");
	ok(access(strcat(strcpy(line, path), ".tmp"), F_OK) < 0, "no temporary left");
	FILE *f = fopen(path, "w");
	fputs("12x\n", f);
	fclose(f);
	is_int(mark_file_read(path), -1, "corrupt: -1");
	unlink(path);
	rmdir(dir);
	return done_testing();
}
