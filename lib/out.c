#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lib/log.h"
#include "lib/out.h"

void
out_failed(void)
{
	if (errno == EPIPE)
		log_fatal(EXIT_TEMP, "output closed (EPIPE)");
	log_fatal(EXIT_TEMP, "write to stdout failed: %s", strerror(errno));
}

void
out_put(const char *p, size_t n)
{
	if (fwrite(p, 1, n, stdout) != n)
		out_failed();
}

void
out_flush(void)
{
	if (fflush(stdout))
		out_failed();
}
