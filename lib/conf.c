#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/conf.h"
#include "lib/log.h"

/* The Makefile passes the VERSION file's line (see opt.c). */
#ifndef INSIGHT_VERSION
#define INSIGHT_VERSION "unknown"
#endif
#define DEFAULT_UA "insightcore-c/" INSIGHT_VERSION " (+https://github.com/insightcore-c/insightcore-c)"

const char *
conf_str(const char *flag, const char *env, const char *def)
{
	const char *v;

	if (flag)
		return flag;
	if (env && (v = getenv(env)) && *v)
		return v;
	return def;
}

double
conf_num(const char *flag, const char *env, double def)
{
	const char *v = conf_str(flag, env, NULL);
	char *end;
	double d;

	if (!v)
		return def;
	errno = 0;
	d = strtod(v, &end);
	if (errno || end == v || *end)
		log_fatal(EXIT_PERM, "not a number: %s=%s", env ? env : "flag", v);
	return d;
}

long
conf_long(const char *flag, const char *env, long def)
{
	double d = conf_num(flag, env, def);

	if (d != (long)d)
		log_fatal(EXIT_PERM, "not a whole number: %s=%g", env ? env : "flag", d);
	return (long)d;
}

double
conf_duration(const char *s)
{
	char *end;
	double d;

	if (!s || !*s)
		return -1;
	errno = 0;
	d = strtod(s, &end);
	if (errno || end == s)
		return -1;
	switch (*end) {
	case 0: case 's': break;
	case 'm': d *= 60; break;
	case 'h': d *= 3600; break;
	case 'd': d *= 86400; break;
	default: return -1;
	}
	if (*end && end[1])
		return -1;
	return d;
}

const char *
conf_useragent(void)
{
	return conf_str(NULL, "USER_AGENT", DEFAULT_UA);
}
