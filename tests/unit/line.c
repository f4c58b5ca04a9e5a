/* line: complete lines, a partial last line, an over-long line skipped. */
#include <stdlib.h>
#include <unistd.h>

#include "lib/line.h"
#include "lib/log.h"
#include "tap.h"

static int
pipe_with(const char *data, size_t n)
{
	int p[2];

	if (pipe(p) < 0 || write(p[1], data, n) != (ssize_t)n)
		return -1;
	close(p[1]);
	return p[0];
}

int
main(void)
{
	struct line_reader lr;
	char *l, big[300];
	size_t n;
	int fd;

	log_init("line-test");
	fd = pipe_with("one\ntwo\n\nlast", 14);
	line_init(&lr, fd, 0);
	ok(line_get(&lr, &l, &n) == 1 && n == 3, "first line");
	is_str(l, "one", "first line text");
	ok(line_get(&lr, &l, &n) == 1, "second line");
	is_str(l, "two", "second line text");
	ok(line_get(&lr, &l, &n) == 1 && n == 0, "empty line");
	ok(line_get(&lr, &l, &n) == 1 && lr.partial, "partial last line returned");
	is_str(l, "last", "partial last line text");
	ok(line_get(&lr, &l, &n) == -1, "then end of input");
	line_free(&lr);
	close(fd);

	memset(big, 'x', sizeof big);
	big[200] = '\n';
	big[299] = '\n';
	fd = pipe_with(big, sizeof big);
	line_init(&lr, fd, 100);
	ok(line_get(&lr, &l, &n) == 1 && n == 98, "over-long line skipped, next kept");
	ok(line_get(&lr, &l, &n) == -1, "end after the short line");
	line_free(&lr);
	close(fd);

	fd = pipe_with("", 0);
	line_init(&lr, fd, 0);
	ok(line_get(&lr, &l, &n) == -1, "empty input: end at once");
	line_free(&lr);
	return done_testing();
}
