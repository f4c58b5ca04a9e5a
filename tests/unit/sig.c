/* sig: signals arrive through the fd, not as handlers; SIGPIPE is EPIPE. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/sig.h"
#include "tap.h"

int
main(void)
{
	struct pollfd p;
	int fd, pp[2];

	log_init("sig-test");
	fd = sig_init(0);
	ok(fd >= 0, "signalfd made");
	is_int(sig_take(fd), 0, "nothing pending at first");
	kill(getpid(), SIGHUP);
	kill(getpid(), SIGTERM);
	p = (struct pollfd){ .fd = fd, .events = POLLIN };
	ok(poll(&p, 1, 5000) == 1, "the fd is readable once signalled");
	int a = sig_take(fd), b = sig_take(fd);
	ok((a == SIGHUP && b == SIGTERM) || (a == SIGTERM && b == SIGHUP),
	    "both signals read, the process still alive");
	is_int(sig_take(fd), 0, "then nothing");
	if (pipe(pp) < 0)
		return 1;
	close(pp[0]);
	ok(write(pp[1], "x", 1) < 0 && errno == EPIPE, "a closed pipe is EPIPE, not death");
	return done_testing();
}
