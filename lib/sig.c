#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/sig.h"

int
sig_init(int with_chld)
{
	sigset_t set;
	int fd;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (with_chld)
		sigaddset(&set, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0 ||
	    (fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) < 0)
		log_fatal(EXIT_TEMP, "signalfd: %s", strerror(errno));
	return fd;
}

int
sig_take(int fd)
{
	struct signalfd_siginfo si;

	if (read(fd, &si, sizeof si) != sizeof si)
		return 0;
	return si.ssi_signo;
}
