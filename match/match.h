/* match: the condition language of insight-streams(5), compiled once and evaluated
 * three-valued (Kleene) against mails.  One evaluator serves filter1 (no
 * distance oracle: every `near` is unknown), filter2 (with an oracle) and
 * stream-fanout's index (through the guards at the end of this file).
 *
 *	struct match_cond *c = match_compile(json, "$.match", stream, err, arg);
 *	struct match_mail m = { 0 };
 *	struct match_verdict v = { 0 };
 *	struct match_ctx cx = { .now = clock_wall() };
 *	match_mail_init(&m, mailjson);
 *	if (match_eval(c, &m, &cx, &v) != MATCH_FALSE)
 *		... match_verdict_json(&v, &m) ...
 *	match_verdict_free(&v); match_mail_free(&m); match_free(c);
 *
 * (match_mail_parse(&m, text, len) reads the mail from its text instead.)
 *
 * Ownership: match_compile returns a new condition (match_free); it copies
 * what it keeps of its json arguments.  A struct match_mail borrows its json
 * or its text (keep it alive while the mail is used) and owns the rest
 * (match_mail_free).
 * A struct match_verdict belongs to the caller (match_verdict_free).
 * match_verdict_json returns a new reference.  Nothing else allocates for
 * the caller. */
#ifndef MATCH_H
#define MATCH_H
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

enum match_tv { MATCH_FALSE = 0, MATCH_TRUE = 1, MATCH_UNKNOWN = 2 };

/* Compile errors: called once per problem, path like "$.match.victim.ship",
 * msg like "unknown key (did you mean \"alliance\"?)". */
typedef void match_err_fn(void *arg, const char *path, const char *msg);

struct match_cond;

/* Compile the condition j (NULL: the empty condition, which matches every
 * mail).  path names j in error messages.  stream is the stream object the
 * jq tests see as .stream (NULL: null); it is copied when a jq test needs
 * it.  Reports every error through err and returns NULL if there was any.
 * Each jq program is compiled here, once. */
struct match_cond *match_compile(const json_t *j, const char *path,
    const json_t *stream, match_err_fn *err, void *arg);
void match_free(struct match_cond *c);

/* On: match_compile also runs each jq program once on a small test mail,
 * under ten times the time budget, and reports one that does not finish
 * or dies as an error (stream-fanout --check). */
void match_jq_trial(int on);

/* A duration of insight-streams(5): a number of seconds, or a string of a number and
 * one unit s, m, h or d ("90s", "1.5h").  0 and the seconds, or -1. */
int match_duration(const json_t *j, double *secs);

/* The word of valid (NULL-terminated) nearest to word by edit distance:
 * the "did you mean" of error messages. */
const char *match_nearest(const char *word, const char *const *valid);

/* Every name c compares (entity lists, places, `near` references), with
 * repeats, in no particular order: fn(arg, kind, name), kind the key that
 * holds it ("alliance", "ship_group", "system", ...; a `near` reference is
 * a "system"), name lowercased as it is compared (entity lists) or as
 * written (`near`).  For checks that ask ESI whether the names exist. */
typedef void match_name_fn(void *arg, const char *kind, const char *name);
void match_names(const struct match_cond *c, match_name_fn *fn, void *arg);

/* ------------------------------------------------------------------ mail */

/* The entity fields of a party, in this order everywhere. */
enum match_field {
	MATCH_CHARACTER, MATCH_CORPORATION, MATCH_ALLIANCE, MATCH_FACTION,
	MATCH_SHIP, MATCH_SHIP_GROUP, MATCH_SHIP_CATEGORY,
	MATCH_WEAPON, MATCH_WEAPON_GROUP, MATCH_WEAPON_CATEGORY,
	MATCH_NFIELDS
};

struct match_ent {
	int64_t id;		/* 0: the mail has no such entity */
	const char *name;	/* NULL: absent or unresolved */
};

struct match_party {
	struct match_ent ent[MATCH_NFIELDS];
	double damage;		/* taken (victim) or done (attacker); NAN missing */
	double security_status;	/* attackers; NAN missing */
	int npc;		/* zKillboard's rule, see insight-streams(5) */
};

/* A mail prepared for evaluation.  Zero it before the first
 * match_mail_init or match_mail_parse; either may be called again on the
 * same struct (it reuses its memory).  Strings point into the json, or
 * into the struct's own memory when the mail was parsed from its text. */
struct match_mail {
	const json_t *json;		/* the mail (borrowed); NULL when parsed */
	const char *text;		/* its text (borrowed) when parsed */
	size_t len;
	const char *why;		/* match_mail_parse's -1: what is wrong */
	size_t why_col;			/* and where (from 1) */
	int64_t killmail_id;
	double time;			/* unix seconds; NAN missing */
	struct match_ent system, constellation, region;
	double security;		/* system security; NAN missing */
	const char *space;		/* "highsec", ...; NULL unknown */
	int64_t location;		/* 0 missing */
	struct match_party victim;
	struct match_party *attackers;
	size_t nattackers;
	long final_blow;		/* attacker index, -1 none */
	double value[4];		/* total, fitted, dropped, destroyed; NAN missing */
	double points;			/* NAN missing */
	int npc, solo, awox;		/* zkb flags: 0, 1, -1 missing */
	int war;			/* a war_id is set */
	const char **labels;		/* the labels; NULL when missing */
	size_t nlabels;
	/* private */
	size_t cap, caplabels;
	const char **labelstore;
	char *arena;			/* parsed strings */
	size_t caparena;
	char *jq;			/* the mail as text for a jq test, when
					 * prepared from json; built on first use */
};

/* Prepare m from a mail object (README "Wire formats").  A value that is absent or
 * of the wrong type is missing, never an error: -1 only when mail is not an
 * object. */
int match_mail_init(struct match_mail *m, const json_t *mail);
/* The same from the mail's JSON text, without building a json_t: several
 * times faster, for stream-fanout and filter1.  Validates as jansson does
 * (UTF-8, escapes, integer range, depth).  Returns 1 for a mail (an object
 * with a "killmail_id", a "victim" object and no "stream"), 0 for any other
 * object, -1 when text is not one JSON object (m->why and m->why_col say
 * why).  Valid is what ndjson_parse reads (json/scan.h).  text must outlive
 * m (a jq test reads it). */
int match_mail_parse(struct match_mail *m, const char *text, size_t len);
void match_mail_free(struct match_mail *m);

/* ---------------------------------------------------------- evaluation */

/* One entry of a `near` list as the stream has it.  The reference is
 * written either as an id or as a name; filter2 resolves names. */
struct match_near {
	int64_t system;		/* the id written, 0 when written by name */
	const char *name;	/* the name written, NULL when written by id */
	long jumps;		/* limit, -1 none */
	double lightyears;	/* limit, -1 none */
};

/* What the oracle found for one entry; the verdict's "near" reports it. */
struct match_distance {
	int64_t system;		/* the reference system; 0 unknown */
	char name[64];		/* its name; "" unknown */
	long jumps;		/* gate jumps; -1 unknown or no gate path */
	double lightyears;	/* -1 unknown */
};

/* The distance oracle (filter2): is the mail's system (m->system.id) within
 * ref's limits (both when both are given)?  MATCH_TRUE or MATCH_FALSE, or
 * MATCH_UNKNOWN when it cannot tell yet (the pair stays pending).  It fills
 * *d with what it found, whatever the answer. */
typedef enum match_tv match_oracle_fn(void *arg, const struct match_mail *m,
    const struct match_near *ref, struct match_distance *d);

struct match_ctx {
	double now;			/* unix seconds, for `age` */
	match_oracle_fn *oracle;	/* NULL: every `near` is unknown */
	void *oracle_arg;
	/* 1: `jq` and `age` are unknown too, so that the answer is what the
	 * mail alone decides (stream-fanout's check before it writes a pair:
	 * a later stage at a later time, or with jq, still says the same
	 * FALSE, Kleene logic being monotone) */
	int mail_only;
};

/* Why a pair matched (insight-streams(5), "The verdict").  While the
 * result is unknown the verdict counts the tests that hold in the branches
 * that may still hold.  Zero it before first use; match_eval resets it. */
struct match_verdict {
	enum match_tv result;
	/* private: a log of what held, cut back when a branch fails */
	long *log;			/* attacker index, or LOSS/KILL marks */
	size_t len, cap;
	struct match_distance *near;
	size_t nnear, capnear;
};

/* Evaluate c on m.  v may be NULL when only the answer matters (mention
 * rules).  jq errors are warnings and their test does not hold.
 *
 * jq tests never run in the caller's process: a worker process, forked at
 * the first jq program compiled, compiles and runs them, each evaluation
 * under a budget of JQ_TIME_MS milliseconds (default 100) and the worker
 * under JQ_MEMORY_MB MiB (default 256) of memory, with an empty
 * environment.  A test over budget is one warning and does not hold; the
 * worker is killed and started again.  The caller waits in poll(2) at most
 * the budget per test. */
enum match_tv match_eval(const struct match_cond *c, struct match_mail *m,
    const struct match_ctx *cx, struct match_verdict *v);
/* "loss", "kill" or "neutral". */
const char *match_kind(const struct match_verdict *v);
/* The attackers of the verdict, ascending and unique: fills out (n is its
 * room, m->nattackers) and returns how many. */
size_t match_attackers(const struct match_verdict *v, size_t *out, size_t n);
/* The closest reference that held (fewest jumps, then fewest light years),
 * or NULL. */
const struct match_distance *match_near_found(const struct match_verdict *v);
/* {"kind":..,"attackers":[..],"pending":true (only when unknown),
 *  "near":{"system":{"id","name"},"jumps":N,"lightyears":X} (when found)}:
 * a new reference.  filter2 adds "mention". */
json_t *match_verdict_json(const struct match_verdict *v, const struct match_mail *m);
void match_verdict_free(struct match_verdict *v);

/* Every `near` entry of c, in the order written (filter2 prefetches): the
 * array belongs to c. */
const struct match_near *const *match_nears(const struct match_cond *c, size_t *n);

/* ------------------------------------------------------------- guards */

/* A guard is a necessary condition of a compiled condition: the condition
 * can be true or unknown on a mail only if the mail has at least one atom
 * of the guard.  stream-fanout indexes streams by their guards.  An atom is
 * either a key (a hash of a role, a field and an id or a lowercased name:
 * "victim alliance 99005338", "attacker ship group named titan", "system
 * 30000142", "space wormhole", ...) or an interval of one measure of the
 * mail (total value, points, ...).  Keys are hashes: a collision only adds
 * a candidate, it never loses one. */
enum match_measure {
	MATCH_M_VALUE, MATCH_M_FITTED, MATCH_M_DROPPED, MATCH_M_DESTROYED,
	MATCH_M_POINTS, MATCH_M_ATTACKERS, MATCH_M_SECURITY,
	MATCH_NMEASURES
};

struct match_atom {
	int measure;		/* -1: a key atom */
	uint64_t key;
	double lo, hi;		/* measure atoms: inclusive interval */
};

struct match_guard {
	struct match_atom *atoms;	/* malloc'd: free it */
	size_t n;
	double cost;			/* estimated share of mails it lets through */
};

/* 1 and a guard in *g, or 0 when any mail may match (no guard). */
int match_guard(const struct match_cond *c, struct match_guard *g);
/* Calls fn for every key atom the mail has (with repeats). */
void match_mail_keys(const struct match_mail *m,
    void (*fn)(void *arg, uint64_t key), void *arg);
/* A measure of the mail; NAN when missing. */
double match_mail_measure(const struct match_mail *m, int measure);
#endif
