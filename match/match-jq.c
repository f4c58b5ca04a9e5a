/* match-jq: jq programs run in a worker process, under a budget of time
 * and memory.  Part of the match module.
 *
 * Why a process: libjq 1.6 has no step limit and no safe way to stop a
 * program once jq_next runs, and some programs abort the whole process
 * (an assertion).  A program that never ends would hold the stage, and
 * its SIGTERM, forever; one that grows would take the machine's memory.
 * So the stage never runs jq itself: a worker forked at the first jq
 * program compiles and runs every program, one request and one answer at
 * a time over a socket pair.  The stage waits for an answer in poll(2)
 * while the worker spends at most JQ_TIME_MS of CPU time on it (CPU, not
 * wall time: on a loaded machine the worker waits for a CPU too, and
 * that is not the program's doing; 10 s of wall time at most); then it
 * kills the worker, the test does not hold, and the next request starts a
 * new worker.  The worker's address space
 * is limited to what it had when forked plus JQ_MEMORY_MB (RLIMIT_AS): a
 * program that asks for more dies there, alone.  It runs with an empty
 * environment and only the socket and /dev/null open.
 *
 * Requests: 4 numbers (op, program, stream and mail lengths, native
 * order: both ends are one binary) and the three texts.  Op 'C' compiles,
 * 'E' evaluates on {"stream":..,"mail":..}.  Answers: a status and a
 * message (the first compile error, or the jq error).  'E' is answered
 * twice: JQ_READY once the program is compiled (libjq 1.6 takes tens of
 * milliseconds to compile even a small one, as it compiles its builtins
 * each time) and the pair parsed, then the result: the budget is the
 * program's run alone, and a new worker's first test is not late for
 * having to compile. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jq.h>

#include "lib/clock.h"
#include "lib/conf.h"
#include "lib/hash.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "match/match-int.h"

#define MSG_MAX 512
#define CACHE_MAX 4096		/* compiled programs the worker keeps (~8 KiB each) */

/* ------------------------------------------------------------ worker */

struct prog {
	char *text;		/* program, then '\n', then the stream's text */
	size_t len;
	jq_state *jq;
	jv stream;
};

static struct prog cache[CACHE_MAX];
static size_t ncache;
static char *lastmail;		/* the mail of the last request, parsed */
static size_t lastlen;
static jv lastjv;

static int
full_read(int fd, void *p, size_t n)
{
	for (char *c = p; n;) {
		ssize_t r = read(fd, c, n);

		if (r <= 0 && !(r < 0 && errno == EINTR))
			return -1;
		if (r > 0)
			c += r, n -= r;
	}
	return 0;
}

static void
answer(uint32_t status, const char *msg)
{
	uint32_t h[2] = { status, msg ? strlen(msg) : 0 };
	char out[8 + MSG_MAX];

	if (h[1] > MSG_MAX)
		h[1] = MSG_MAX;
	memcpy(out, h, 8);
	memcpy(out + 8, msg ? msg : "", h[1]);
	if (write(1, out, 8 + h[1]) != (ssize_t)(8 + h[1]))
		_exit(0);
}

static void
first_error(void *arg, jv msg)
{
	char *first = arg;

	if (first && !*first && jv_get_kind(msg) == JV_KIND_STRING)
		snprintf(first, MSG_MAX, "%s", jv_string_value(msg));
	jv_free(msg);
}

/* The compiled program and parsed stream of key (program, stream). */
static struct prog *
prog_of(const char *key, size_t len, size_t plen, char *err)
{
	struct prog *p;
	char *prog;

	for (size_t i = 0; i < ncache; i++)
		if (cache[i].len == len && !memcmp(cache[i].text, key, len))
			return &cache[i];
	if (ncache == CACHE_MAX) {	/* start afresh: streams were reloaded */
		for (size_t i = 0; i < ncache; i++) {
			jq_teardown(&cache[i].jq);
			jv_free(cache[i].stream);
			free(cache[i].text);
		}
		ncache = 0;
	}
	p = &cache[ncache];
	p->text = mem_malloc(len + 1);
	p->jq = mem_check(jq_init());
	prog = mem_strndup(key, plen);
	memcpy(p->text, key, len);
	p->len = len;
	jq_set_error_cb(p->jq, first_error, err);
	if (!jq_compile(p->jq, prog)) {
		free(prog);
		jq_teardown(&p->jq);
		free(p->text);
		return NULL;
	}
	free(prog);
	jq_set_error_cb(p->jq, first_error, NULL);
	p->stream = len > plen + 1 ? jv_parse_sized(key + plen + 1, (int)(len - plen - 1)) : jv_null();
	ncache++;
	return p;
}

static void
evaluate(struct prog *p, const char *mail, size_t mlen)
{
	jv in, out, msg;

	if (!lastmail || lastlen != mlen || memcmp(lastmail, mail, mlen)) {
		if (lastmail)
			jv_free(lastjv);
		free(lastmail);
		lastmail = mem_malloc(mlen + 1);
		memcpy(lastmail, mail, mlen);
		lastlen = mlen;
		lastjv = jv_parse_sized(mail, (int)mlen);
	}
	if (!jv_is_valid(lastjv) || !jv_is_valid(p->stream)) {
		answer(JQ_ERROR, "the pair is not JSON");
		return;
	}
	answer(JQ_READY, NULL);		/* the budget starts now */
	in = jv_object_set(jv_object(), jv_string("stream"), jv_copy(p->stream));
	in = jv_object_set(in, jv_string("mail"), jv_copy(lastjv));
	jq_start(p->jq, in, 0);
	out = jq_next(p->jq);
	if (jv_is_valid(out) || !jv_invalid_has_msg(jv_copy(out))) {
		answer(jv_get_kind(out) == JV_KIND_TRUE ? JQ_TRUE : JQ_FALSE, NULL);
		jv_free(out);
		return;
	}
	msg = jv_invalid_get_msg(out);
	msg = jv_get_kind(msg) == JV_KIND_STRING ? msg : jv_dump_string(msg, 0);
	answer(JQ_ERROR, jv_string_value(msg));
	jv_free(msg);
}

/* The worker's loop: the texts arrive as "program\nstream" and mail. */
static void
serve(void)
{
	uint32_t h[4];
	char *buf = NULL, err[MSG_MAX];
	size_t cap = 0;

	while (full_read(0, h, sizeof h) == 0) {
		size_t len = (size_t)h[1] + 1 + h[2] + h[3];
		struct prog *p;

		if (len + 1 > cap)
			buf = mem_realloc(buf, cap = len + 1);
		if (full_read(0, buf, h[1]) || full_read(0, buf + h[1] + 1, h[2] + h[3]))
			_exit(0);
		buf[h[1]] = '\n';
		*err = 0;
		if (!(p = prog_of(buf, h[1] + 1 + h[2], h[1], err)))
			answer(JQ_ERROR, *err ? err : "does not compile");
		else if (h[0] == 'E')
			evaluate(p, buf + h[1] + 1 + h[2], h[3]);
		else
			answer(JQ_TRUE, NULL);
	}
	_exit(0);
}

/* Address space now, in bytes (VmSize): the limit is this plus the budget,
 * so that a sanitizer's reserved shadow memory does not count. */
static rlim_t
vm_size(void)
{
	unsigned long pages = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f && fscanf(f, "%lu", &pages) != 1)
		pages = 0;
	if (f)
		fclose(f);
	return (rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE);
}

static void
worker(int fd, pid_t parent, long mb)
{
	struct rlimit core = { 0, 0 }, as;
	sigset_t none;
	int null = open("/dev/null", O_RDWR);

	mem_child();
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent || null < 0 || dup2(fd, 0) < 0 || dup2(fd, 1) < 0 ||
	    dup2(null, 2) < 0)
		_exit(0);
	close_range(3, ~0U, 0);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	clearenv();
	setrlimit(RLIMIT_CORE, &core);
	as.rlim_cur = as.rlim_max = vm_size() + (rlim_t)mb * 1024 * 1024;
	if (setrlimit(RLIMIT_AS, &as) < 0)
		_exit(111);
	serve();
}

/* ------------------------------------------------------------ the stage */

static struct {
	pid_t pid;
	int fd;
	clockid_t cpu;		/* the worker's CPU clock */
	int has_cpu;
	long ms, mb;		/* the budget */
	int trial;		/* --check: run each program once on a test mail */
} W = { 0, -1, 0, 0, 0, 0, 0 };

static void
budget(void)
{
	if (W.ms)
		return;
	W.ms = conf_long(NULL, "JQ_TIME_MS", 100);
	W.mb = conf_long(NULL, "JQ_MEMORY_MB", 256);
	if (W.ms < 1 || W.mb < 16)
		log_fatal(EXIT_PERM, "JQ_TIME_MS must be 1 or more, JQ_MEMORY_MB 16 or more");
}

static void
stop(void)
{
	if (!W.pid)
		return;
	kill(W.pid, SIGKILL);
	while (waitpid(W.pid, NULL, 0) < 0 && errno == EINTR)
		;
	close(W.fd);
	W.pid = 0;
	W.fd = -1;
}

static int
start(void)
{
	int sv[2];
	pid_t parent = getpid();

	budget();
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		log_warn("jq worker: socketpair: %s", strerror(errno));
		return -1;
	}
	if ((W.pid = fork()) < 0) {
		log_warn("jq worker: fork: %s", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		W.pid = 0;
		return -1;
	}
	if (!W.pid)
		worker(sv[1], parent, W.mb);
	close(sv[1]);
	W.fd = sv[0];
	W.has_cpu = clock_getcpuclockid(W.pid, &W.cpu) == 0;
	return 0;
}

/* Move n bytes each way before the deadline: 0, or -1 (late or gone). */
static int
xfer(int out, void *p, size_t n, double deadline)
{
	for (char *c = p; n;) {
		struct pollfd pf = { W.fd, out ? POLLOUT : POLLIN, 0 };
		int left = (int)((deadline - clock_mono()) * 1000) + 1;
		ssize_t r;

		if (left <= 0)
			return -1;
		if (poll(&pf, 1, left) < 0 && errno != EINTR)
			return -1;
		if (!pf.revents)
			continue;
		r = out ? send(W.fd, c, n, MSG_NOSIGNAL | MSG_DONTWAIT) :
		    recv(W.fd, c, n, MSG_DONTWAIT);
		if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR))
			return -1;
		if (r > 0)
			c += r, n -= r;
	}
	return 0;
}

/* The answer to a request: its status, or -1 (late or gone). */
static int
reply(double deadline, char *msg)
{
	uint32_t a[2];

	if (xfer(0, a, sizeof a, deadline) || a[1] > MSG_MAX || xfer(0, msg, a[1], deadline))
		return -1;
	msg[a[1]] = 0;
	return (int)a[0];
}

static int
request(uint32_t op, const char *prog, const char *stream, size_t slen,
    const char *mail, size_t mlen, double deadline)
{
	uint32_t h[4] = { op, strlen(prog), slen, mlen };

	if (xfer(1, h, sizeof h, deadline) || xfer(1, (char *)prog, h[1], deadline) ||
	    xfer(1, (char *)stream, slen, deadline) || xfer(1, (char *)mail, mlen, deadline))
		return -1;
	return 0;
}

/* Compiling (and parsing the pair) gets ten times the budget, at least 10 s:
 * it is not the program's doing, and it ends. */
static double
compile_secs(void)
{
	budget();
	return W.ms * 10 > 10000 ? W.ms * 10 / 1000.0 : 10.0;
}

/* The worker's CPU time, in seconds; the wall clock if it cannot be read. */
static double
cpu_time(void)
{
	struct timespec ts;

	if (W.has_cpu && clock_gettime(W.cpu, &ts) == 0)
		return ts.tv_sec + ts.tv_nsec / 1e9;
	return clock_mono();
}

/* Wait for the answer while the worker spends less than secs of CPU time
 * on it (a loaded machine's waits for the CPU are not the program's),
 * and less than cap of wall time.  0: the answer is there; -1: late. */
static int
await(double secs, double cap)
{
	double c0 = cpu_time(), t0 = clock_mono();

	for (;;) {
		struct pollfd pf = { W.fd, POLLIN, 0 };
		double left = secs - (cpu_time() - c0), wall = cap - (clock_mono() - t0);

		if (left <= 0 || wall <= 0)
			return -1;
		if (poll(&pf, 1, (int)((left < wall ? left : wall) * 1000) + 1) > 0)
			return 0;
	}
}

enum match_jq_r
match_jq_ask(int op, const char *prog, const char *stream, size_t slen,
    const char *mail, size_t mlen, double secs, char *msg)
{
	double t = clock_mono();
	int r, late = 0;

	*msg = 0;
	if (!W.pid && start() < 0)
		return JQ_DIED;
	if ((r = request(op, prog, stream ? stream : "", slen, mail ? mail : "",
	    mlen, t + compile_secs())) == 0 && (r = reply(t + compile_secs(), msg)) == JQ_READY) {
		late = await(secs, compile_secs()) < 0;
		r = late ? -1 : reply(clock_mono() + compile_secs(), msg);
	}
	if (r >= 0 && r != JQ_READY)
		return r;
	stop();
	return late ? JQ_LATE : JQ_DIED;
}

/* A test over budget three times in a row rests for 30 s: it does not hold
 * and is not run, so one broken stream costs the stage one budget per
 * 30 s, not one per mail.  Keyed by a hash of program and stream; a
 * collision shares a count, never hides a success. */
#define STRIKES 3
#define REST 30.0

static struct strike {
	uint64_t key;
	int n;
	double until;
} strikes[256];

enum match_jq_r
match_jq_eval(const char *prog, const char *stream, size_t slen,
    const char *mail, size_t mlen, char *msg, int *rest)
{
	uint64_t key = hash_fnv1a_from(hash_fnv1a(prog, strlen(prog)), stream, slen);
	struct strike *k = &strikes[key % 256];
	enum match_jq_r r;

	*rest = 0;
	if (k->key == key && k->until > clock_mono())
		return JQ_REST;
	r = match_jq_ask('E', prog, stream, slen, mail, mlen, match_jq_ms() / 1000.0, msg);
	if (r != JQ_LATE && r != JQ_DIED) {
		if (k->key == key)
			k->n = 0;
		return r;
	}
	if (k->key != key)
		*k = (struct strike){ key, 0, 0 };
	if (++k->n >= STRIKES) {
		k->n = 0;
		k->until = clock_mono() + REST;
		*rest = REST;
	}
	return r;
}

long
match_jq_ms(void)
{
	budget();
	return W.ms;
}

long
match_jq_mb(void)
{
	budget();
	return W.mb;
}

void
match_jq_trial(int on)
{
	W.trial = on;
}

int
match_jq_trying(void)
{
	return W.trial;
}

/* The mail as text for the jq worker: its own, or jansson's dump of it
 * (kept in m->jq until the mail changes). */
const char *
match_jq_mail(struct match_mail *m, size_t *len)
{
	if (m->text) {
		*len = m->len;
		return m->text;
	}
	if (!m->jq)
		m->jq = mem_check(json_dumps(m->json, JSON_COMPACT));
	*len = strlen(m->jq);
	return m->jq;
}

/* A jq message as a log value: one line, no quotes, at most 200 bytes
 * (not cut inside a UTF-8 character). */
const char *
match_jq_clean(char *msg)
{
	size_t n = strlen(msg);

	if (n > 200) {
		for (n = 200; n && ((unsigned char)msg[n] & 0xc0) == 0x80; n--)
			;
		strcpy(msg + n, "...");
	}
	for (char *p = msg; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
		else if (*p == '"')
			*p = '\'';
	return msg;
}
