/* log: URLs never show a webhook token; levels filter; a value with
 * control characters stays on its one line. */
#include <stdio.h>
#include <unistd.h>

#include "lib/log.h"
#include "tap.h"

/* What one log_warn writes to stderr. */
static void
logged(char *out, size_t n, const char *value)
{
	FILE *f = tmpfile();
	int saved = dup(2);
	size_t k;

	fflush(stderr);
	dup2(fileno(f), 2);
	log_warn("skipped path=%s", value);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(f);
	k = fread(out, 1, n - 1, f);
	out[k] = 0;
	fclose(f);
}

int
main(void)
{
	char b[128];

	log_init("/usr/bin/log-test");
	is_str(log_prog, "log-test", "program name without directory");
	is_str(log_url("https://discord.com/api/webhooks/123456789/s3cr3tT0ken", b, sizeof b),
	    "discord:…/6789", "discord token cut");
	ok(!strstr(b, "s3cr3t"), "no token in discord form");
	is_str(log_url("https://hooks.slack.com/services/T000/B0XYZ123/s3cr3t", b, sizeof b),
	    "slack:…/Z123", "slack secret cut");
	is_str(log_url("http://u:pw@127.0.0.1:8080/ephemeral/1.json?x=1", b, sizeof b),
	    "127.0.0.1:8080/ephemeral/1.json", "user info and query dropped");
	is_str(log_url(NULL, b, sizeof b), "(none)", "null url");
	log_level = LOG_WARN;
	log_verbose(1);
	is_int(log_level, LOG_INFO, "-v raises the level");
	log_verbose(-9);
	is_int(log_level, LOG_FATAL, "-q floors at fatal");
	log_level = LOG_INFO;
	{
		char out[256];

		logged(out, sizeof out, "a\nlog-test: fatal: forged\r\tb\x01\x7f.json");
		is_str(out, "log-test: warning: skipped path=a\\nlog-test: fatal: forged\\r\\tb\\x01\\x7f.json\n",
		    "newline, CR, tab and other control characters escaped: one line");
		logged(out, sizeof out, "caf\xc3\xa9 \"q\" back\\slash");
		is_str(out, "log-test: warning: skipped path=caf\xc3\xa9 \"q\" back\\slash\n",
		    "UTF-8, quotes and backslashes unchanged");
	}
	return done_testing();
}
