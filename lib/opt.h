/* opt: the flags every tool shares, so they mean the same everywhere.
 *
 * A tool's usage text is its synopsis, an empty line, then one line per
 * flag.  -h/--help prints all of it on stdout and exits 0; a bad flag
 * prints the synopsis on stderr and exits 100; -V/--version prints
 * "PROG VERSION" and exits 0.  -v/--verbose and -q/--quiet move the log
 * level.  Flag letters kept for every tool that has the setting:
 * -s/--state-dir DIR, -S/--streams-dir DIR, -u/--esi-url URL,
 * -r/--redis-url URL. */
#ifndef OPT_H
#define OPT_H

/* For a getopt_long table: { OPT_LONG, ..., { 0 } }; and in the short
 * option string, OPT_SHORT. */
#define OPT_LONG { "help", 0, NULL, 'h' }, { "version", 0, NULL, 'V' }, \
	{ "verbose", 0, NULL, 'v' }, { "quiet", 0, NULL, 'q' }
#define OPT_SHORT "hVvq"
/* The value of --bundle, a long option only (one line per mail: see
 * json/pair.h), in the tools that take it. */
#define OPT_BUNDLE 0x100

/* The flags above; any other c is a usage error (exit 100). */
void opt_common(int c, const char *usage);
__attribute__((noreturn)) void opt_usage(const char *usage);
extern const char opt_version[];

#endif
