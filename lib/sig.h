/* sig: signals as events.  SIGTERM, SIGINT, SIGHUP (and SIGCHLD on request)
 * are blocked and read from a signalfd inside the event loop; SIGPIPE is
 * ignored so that a closed pipe is an EPIPE we can report. */
#ifndef SIG_H
#define SIG_H
int sig_init(int with_chld);	/* the signalfd (non-blocking); exits 111 on failure */
int sig_take(int fd);		/* next pending signal number, or 0 */
#endif
