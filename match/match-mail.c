/* match-mail: prepare a mail for matching from its jansson object
 * (match_mail_init, match_mail_free, match_mail_measure), and the pieces
 * match-text.c shares: the NPC rule, times, space classes, labels.  The
 * mail owns what it points to.  Part of the match module. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lib/mem.h"
#include "match/match-int.h"

/* --------------------------------------------------------------- mails */

static void
get_ent(const json_t *j, struct match_ent *e)
{
	const json_t *id = json_object_get(j, "id");

	e->id = json_is_integer(id) ? json_integer_value(id) : 0;
	e->name = json_string_value(json_object_get(j, "name"));
	if (!e->id)
		e->name = NULL;
}

static double
get_num(const json_t *j, const char *k)
{
	const json_t *v = json_object_get(j, k);

	return json_is_number(v) ? json_number_value(v) : NAN;
}

static int
get_flag(const json_t *j, const char *k)
{
	const json_t *v = json_object_get(j, k);

	return json_is_boolean(v) ? json_is_true(v) : -1;
}

/* A ship or weapon: {"id","name","group":E,"category":E}. */
static void
get_hull(const json_t *j, struct match_ent *e)
{
	get_ent(j, &e[0]);
	get_ent(json_object_get(j, "group"), &e[1]);
	get_ent(json_object_get(j, "category"), &e[2]);
}

/* zKillboard's NPC rule: no player character, corporation or alliance. */
int
match_party_npc(const struct match_party *p)
{
	int64_t ch = p->ent[MATCH_CHARACTER].id, co = p->ent[MATCH_CORPORATION].id;

	return (!ch || (ch >= 3000000 && ch < 4000000)) &&
	    (!co || (co >= 1000000 && co < 2000000)) && !p->ent[MATCH_ALLIANCE].id;
}

static void
get_party(const json_t *j, struct match_party *p, int victim)
{
	memset(p, 0, sizeof *p);
	for (int f = MATCH_CHARACTER; f <= MATCH_FACTION; f++)
		get_ent(json_object_get(j, match_party_keys[3 + f]), &p->ent[f]);
	get_hull(json_object_get(j, "ship"), &p->ent[MATCH_SHIP]);
	if (!victim)
		get_hull(json_object_get(j, "weapon"), &p->ent[MATCH_WEAPON]);
	p->damage = get_num(j, victim ? "damage_taken" : "damage_done");
	p->security_status = victim ? NAN : get_num(j, "security_status");
	p->npc = match_party_npc(p);
}

/* Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm): no
 * time zone, no locale. */
static long
days_from_civil(long y, unsigned m, unsigned d)
{
	long era;
	unsigned yoe, doy;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	return era * 146097 + (long)(yoe * 365 + yoe / 4 - yoe / 100 + doy) - 719468;
}

/* "2021-11-29T12:34:56Z" (fractions of a second allowed) to unix seconds. */
double
match_time_str(const char *s)
{
	int y, mo, d, h, mi, n = 0;
	double sec;

	if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%lf%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6 ||
	    strcmp(s + n, "Z") || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59)
		return NAN;
	return days_from_civil(y, mo, d) * 86400.0 + h * 3600 + mi * 60 + sec;
}

/* The mail's space class, else the one insight-streams(5) derives. */
const char *
match_space_of(const char *s, const struct match_mail *m)
{
	int64_t id = m->system.id;

	if (s && index_of(s, match_spaces) >= 0)
		return s;
	if (id >= 31000000 && id < 32000000)
		return "wormhole";
	if (id >= 32000000 && id < 33000000)
		return "abyssal";
	if (m->region.id == 10000070)
		return "pochven";
	if (isnan(m->security))
		return NULL;
	return m->security >= 0.45 ? "highsec" : m->security > 0 ? "lowsec" : "nullsec";
}

static void
get_place(struct match_mail *m, const json_t *mail)
{
	const json_t *sys = json_object_get(mail, "system"), *loc;

	get_ent(sys, &m->system);
	get_ent(json_object_get(sys, "constellation"), &m->constellation);
	get_ent(json_object_get(sys, "region"), &m->region);
	m->security = get_num(sys, "security");
	m->space = match_space_of(json_string_value(json_object_get(sys, "space")), m);
	loc = json_object_get(mail, "location_id");
	m->location = json_is_integer(loc) ? json_integer_value(loc) : 0;
}

static void
get_attackers(struct match_mail *m, const json_t *mail)
{
	const json_t *a = json_object_get(mail, "attackers"), *fb;
	size_t i;
	json_t *v;

	m->nattackers = json_is_array(a) ? json_array_size(a) : 0;
	if (m->nattackers > m->cap) {
		m->cap = m->nattackers;
		m->attackers = mem_realloc(m->attackers, m->cap * sizeof *m->attackers);
	}
	m->final_blow = -1;
	json_array_foreach(a, i, v) {
		get_party(v, &m->attackers[i], 0);
		if (m->final_blow < 0 && json_is_true(json_object_get(v, "final_blow")))
			m->final_blow = (long)i;
	}
	fb = json_object_get(mail, "final_blow");
	if (json_is_integer(fb) && json_integer_value(fb) >= 0 &&
	    (size_t)json_integer_value(fb) < m->nattackers)
		m->final_blow = (long)json_integer_value(fb);
}

void
match_mail_jq_free(struct match_mail *m)
{
	if (m->jq) {
		free(m->jq);
		m->jq = NULL;
	}
}

/* labels: NULL (missing) until the mail shows a list. */
void
match_no_labels(struct match_mail *m)
{
	m->labels = NULL;
	m->nlabels = 0;
}

void
match_add_label(struct match_mail *m, const char *l)
{
	if (m->nlabels + 1 >= m->caplabels) {
		m->caplabels = m->caplabels ? m->caplabels * 2 : 8;
		m->labelstore = mem_realloc(m->labelstore, m->caplabels * sizeof *m->labelstore);
	}
	m->labels = m->labelstore;
	if (l)
		m->labelstore[m->nlabels++] = l;
}

/* Strings only. */
static void
get_labels(struct match_mail *m, const json_t *j)
{
	size_t i;
	json_t *l;

	match_no_labels(m);
	if (!json_is_array(j))
		return;
	match_add_label(m, NULL);
	json_array_foreach(j, i, l)
		if (json_is_string(l))
			match_add_label(m, json_string_value(l));
}

int
match_mail_init(struct match_mail *m, const json_t *mail)
{
	static const char *const values[] = { "total", "fitted", "dropped", "destroyed" };
	const json_t *value = json_object_get(mail, "value"), *war;

	match_mail_jq_free(m);
	if (!json_is_object(mail))
		return -1;
	m->json = mail;
	m->text = NULL;
	m->killmail_id = json_integer_value(json_object_get(mail, "killmail_id"));
	m->time = match_time_str(json_string_value(json_object_get(mail, "time")));
	get_place(m, mail);
	get_party(json_object_get(mail, "victim"), &m->victim, 1);
	get_attackers(m, mail);
	for (int i = 0; i < 4; i++)
		m->value[i] = get_num(value, values[i]);
	m->points = get_num(mail, "points");
	m->npc = get_flag(mail, "npc");
	m->solo = get_flag(mail, "solo");
	m->awox = get_flag(mail, "awox");
	war = json_object_get(mail, "war_id");
	m->war = war && !json_is_null(war) && !(json_is_integer(war) && !json_integer_value(war));
	get_labels(m, json_object_get(mail, "labels"));
	return 0;
}

void
match_mail_free(struct match_mail *m)
{
	match_mail_jq_free(m);
	free(m->attackers);
	free(m->labelstore);
	free(m->arena);
	memset(m, 0, sizeof *m);
}

double
match_mail_measure(const struct match_mail *m, int measure)
{
	switch (measure) {
	case MATCH_M_VALUE: case MATCH_M_FITTED:
	case MATCH_M_DROPPED: case MATCH_M_DESTROYED:
		return m->value[measure - MATCH_M_VALUE];
	case MATCH_M_POINTS: return m->points;
	case MATCH_M_ATTACKERS: return (double)m->nattackers;
	case MATCH_M_SECURITY: return m->security;
	}
	return NAN;
}
