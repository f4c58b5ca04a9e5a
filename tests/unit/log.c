/* log: URLs never show a webhook token; levels filter. */
#include "lib/log.h"
#include "tap.h"

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
	return done_testing();
}
