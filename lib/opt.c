/* opt: -h, -V, -v, -q and usage errors; see opt.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "lib/opt.h"

/* The Makefile passes the VERSION file's line; a build without it says so. */
#ifndef INSIGHT_VERSION
#define INSIGHT_VERSION "unknown"
#endif
const char opt_version[] = INSIGHT_VERSION;

void
opt_usage(const char *usage)
{
	const char *end = strstr(usage, "\n\n");

	fwrite(usage, 1, end ? (size_t)(end - usage) + 1 : strlen(usage), stderr);
	fprintf(stderr, "Try '%s --help'.\n", log_prog);
	exit(EXIT_PERM);
}

static __attribute__((noreturn)) void
out(const char *s)
{
	if (fputs(s, stdout) == EOF || fflush(stdout))
		exit(EXIT_TEMP);
	exit(EXIT_DONE);
}

void
opt_common(int c, const char *usage)
{
	char line[256];

	switch (c) {
	case 'h': out(usage);
	case 'V':
		snprintf(line, sizeof line, "%s %s\n", log_prog, opt_version);
		out(line);
	case 'v': log_verbose(1); break;
	case 'q': log_verbose(-1); break;
	default: opt_usage(usage);
	}
}
