/* hook: which webhooks are on the platform's own hosts (only their global
 * 429 may pause every webhook): the host compared whole, without case,
 * port or user information; POST_PLATFORM_HOSTS adds hosts. */
#include <stdlib.h>

#include "lib/log.h"
#include "post/hook.h"
#include "tap.h"

static int
platform(const char *url)
{
	return hook_get(url)->platform;
}

int
main(void)
{
	static const char *const hosts[] = { "discord.com", "ptb.discord.com", NULL };

	log_init("hook-test");
	setenv("POST_PLATFORM_HOSTS", "127.0.0.1, Example.org\tfake.test", 1);
	hook_init(1, 300, 300, hosts);
	ok(platform("https://discord.com/api/webhooks/1/t"), "discord.com");
	ok(platform("https://DISCORD.com:443/api/webhooks/2/t"), "any case, a port");
	ok(platform("https://ptb.discord.com/api/webhooks/3/t"), "ptb.discord.com");
	ok(!platform("https://canary.discord.com/api/webhooks/4/t"), "a host not in the list");
	ok(!platform("https://discord.com.evil.example/api/webhooks/5/t"), "a longer host");
	ok(!platform("https://evildiscord.com/api/webhooks/6/t"), "a host ending like it");
	ok(!platform("https://evil.example/discord.com/api/webhooks/7/t"), "the name in the path");
	ok(!platform("https://evil.example/?h=discord.com"), "the name in the query");
	ok(!platform("https://discord.com@evil.example/api/webhooks/8/t"), "the name as a user");
	ok(platform("https://user:pw@discord.com/api/webhooks/9/t"), "a user before the host");
	ok(platform("http://127.0.0.1:8080/api/webhooks/10/t"), "POST_PLATFORM_HOSTS: 127.0.0.1");
	ok(platform("http://example.ORG/x"), "POST_PLATFORM_HOSTS: Example.org, any case");
	ok(platform("http://fake.test?x=1"), "POST_PLATFORM_HOSTS: a tab separates too");
	ok(!platform("http://localhost:8080/api/webhooks/11/t"), "localhost is not 127.0.0.1");
	ok(!platform("http://[::1]:8080/api/webhooks/12/t"), "an IPv6 literal not listed");
	return done_testing();
}
