/* match-int.h: the internal types of the match module, shared by its parts
 * (match.c evaluation and verdict, match-compile.c, match-cond.c,
 * match-mail.c, match-text.c, match-guard.c) and by nothing else: the condition tree
 * (enum op, struct node) that match-compile.c and match-cond.c build and the others read,
 * the small lookups the evaluator calls per node (static inline, so the
 * split costs the hot path no call; being static they keep their short
 * names), and the few functions and tables one part lends another (those
 * prefixed match_).  Only match*.c may include it; match.h is the contract. */
#ifndef MATCH_INT_H
#define MATCH_INT_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "match/match.h"

enum op {
	/* condition level */
	C_AND, C_ANY, C_NOT,
	C_VICTIM, C_ATTACKER, C_FINAL, C_INVOLVED,
	C_PLACE, C_SECURITY, C_SPACE, C_LOCATION, C_NEAR,
	C_MEASURE, C_FLAG, C_LABELS, C_AGE, C_HOUR, C_JQ,
	/* party level */
	P_AND, P_ANY, P_NOT, P_ENT, P_DAMAGE, P_SECSTATUS, P_NPC,
};

enum { PLACE_SYSTEM, PLACE_CONSTELLATION, PLACE_REGION };
enum { FLAG_NPC, FLAG_SOLO, FLAG_AWOX, FLAG_WAR };
enum role { R_VICTIM = 1, R_ATTACKER, R_FINAL, R_INVOLVED };

/* Entity lists: sorted ids, sorted lowercased names. */
struct ents {
	int64_t *id;
	size_t nid;
	char **name;
	size_t nname;
};

struct strs {
	char **v;
	size_t n;
};

struct node {
	enum op op;
	int field;			/* which place, measure, flag, party field */
	int rank;			/* evaluation order inside an AND */
	struct node **kid;
	size_t nkid;
	double lo, hi;			/* ranges (inclusive), hour from/to */
	int b;				/* flags */
	struct ents ents;		/* entity lists, locations */
	unsigned spaces;		/* bit per space class */
	struct strs any, all, none;	/* labels */
	int has_count, has_share;	/* attacker */
	double clo, chi, slo, shi;
	struct match_near *near;
	size_t nnear;
	char *prog;			/* a jq program */
	char *path;			/* where the jq program is, for warnings */
};

struct match_cond {
	struct node *root;
	const struct match_near **nears;
	size_t nnears;
	char *stream_id;		/* for warnings */
	char *stream;			/* .stream for jq, as text; NULL without jq */
	size_t stream_len;
};

/* Space classes, in the order of the bits of node.spaces. */
extern const char *const match_spaces[];

/* ASCII case-insensitive order (names); other bytes compare exactly. */
static inline int
ascii_casecmp(const char *a, const char *b)
{
	for (;; a++, b++) {
		int x = (unsigned char)*a, y = (unsigned char)*b;

		x += (x >= 'A' && x <= 'Z') ? 32 : 0;
		y += (y >= 'A' && y <= 'Z') ? 32 : 0;
		if (x != y || !x)
			return x - y;
	}
}

static inline int
cmp_id(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

static inline int
inr(double x, double lo, double hi)
{
	return !isnan(x) && x >= lo && x <= hi;
}

static inline int
ents_has_id(const struct ents *e, int64_t id)
{
	return id && e->nid && bsearch(&id, e->id, e->nid, sizeof *e->id, cmp_id);
}

static inline int
ents_has(const struct ents *e, const struct match_ent *x)
{
	size_t lo = 0, hi = e->nname;

	if (ents_has_id(e, x->id))
		return 1;
	if (!x->name)
		return 0;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = ascii_casecmp(x->name, e->name[mid]);

		if (!c)
			return 1;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return 0;
}

static inline int
index_of(const char *k, const char *const *list)
{
	for (int i = 0; list[i]; i++)
		if (!strcmp(k, list[i]))
			return i;
	return -1;
}

/* The UTC hour of a unix time, 0..23 (times before 1970 too). */
static inline long
hour_of(double t)
{
	long h = (long)fmod(floor(t / 3600), 24);

	return h < 0 ? h + 24 : h;
}

/* match-compile.c: compiling, for match-cond.c.  cc is one compilation:
 * the JSON path being compiled, the errors so far. */
struct cc {
	match_err_fn *err;
	void *arg;
	char path[1024];
	size_t plen;
	int nerr;
	struct match_cond *c;
};

/* The kind of a range: what its ends may be. */
enum { RANGE_ANY, RANGE_DURATION, RANGE_SHARE, RANGE_COUNT };

__attribute__((format(printf, 2, 3)))
void match_fail(struct cc *, const char *, ...);
size_t match_push_key(struct cc *, const char *);
size_t match_push_index(struct cc *, size_t);
void match_pop(struct cc *, size_t);
void match_unknown_key(struct cc *, const char *, const char *const *);
struct node *match_node_new(enum op, int);
void match_add_kid(struct node *, struct node *);
void match_node_free(struct node *);
int match_want_list(struct cc *, const json_t *, const char *);
int match_want_bool(struct cc *, const json_t *, int *);
int match_compile_ents(struct cc *, const json_t *, struct ents *, int);
struct node *match_compile_range_node(struct cc *, const json_t *, enum op, int, int);
struct node *match_compile_party(struct cc *, const json_t *, enum role, struct node *);

/* match-compile.c; the party keys (match-mail.c reads the entity ones)
 * are in the order of enum match_field from their fourth. */
extern const char *const match_party_keys[];
int match_party_field(const char *);

/* match-jq.c: jq programs run in a worker process under a budget.  op is
 * 'C' (compile) or 'E' (evaluate on the pair); secs the budget of the
 * run (compiling has a budget of its own, 10 s or more).  msg
 * (MATCH_JQ_MSG bytes) gets jq's message on JQ_ERROR. */
enum match_jq_r { JQ_FALSE, JQ_TRUE, JQ_ERROR, JQ_LATE, JQ_DIED, JQ_READY, JQ_REST };
#define MATCH_JQ_MSG 513
enum match_jq_r match_jq_ask(int op, const char *prog, const char *stream,
    size_t slen, const char *mail, size_t mlen, double secs, char *msg);
/* A test on a mail, under JQ_TIME_MS; JQ_REST (not run) while the test
 * rests after three failures in a row; *rest is the seconds of a rest this
 * failure begins, else 0. */
enum match_jq_r match_jq_eval(const char *prog, const char *stream, size_t slen,
    const char *mail, size_t mlen, char *msg, int *rest);
/* The mail as text for jq: its own, or its json dumped (kept in m->jq). */
const char *match_jq_mail(struct match_mail *m, size_t *len);
/* A jq message made a log value in place: one line, no '"', cut to 200. */
const char *match_jq_clean(char *msg);
long match_jq_ms(void);		/* JQ_TIME_MS */
long match_jq_mb(void);		/* JQ_MEMORY_MB */
int match_jq_trying(void);	/* match_jq_trial is on */

/* match-jqlex.c: 1 and why in why[n] when prog uses a refused feature. */
int match_jq_refused(const char *prog, char *why, size_t n);

/* match-mail.c, for match-text.c */
int match_party_npc(const struct match_party *);
double match_time_str(const char *);
const char *match_space_of(const char *, const struct match_mail *);
void match_mail_jq_free(struct match_mail *);
void match_no_labels(struct match_mail *);
void match_add_label(struct match_mail *, const char *);

#endif
