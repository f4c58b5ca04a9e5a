/* mailbuild: a killmail package read, and its mail written from the ESI
 * answers (README "Wire formats").  See mailbuild.h. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "mailbuild.h"

int64_t
mailbuild_id(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);

	return json_is_integer(v) ? json_integer_value(v) : 0;
}

int
mailbuild_hexhash(const char *h)
{
	size_t n = h ? strspn(h, "0123456789abcdefABCDEF") : 0;

	return n > 0 && n <= 64 && !h[n];
}

static json_t *
either(json_t *o, const char *k1, const char *k2)
{
	json_t *v = json_object_get(o, k1);

	return v ? v : json_object_get(o, k2);
}

/* Bring the shapes we accept to one: RedisQ packages, raw {"package":..},
 * bare ESI killmails and backfill lines; see mailbuild.h. */
json_t *
mailbuild_normalise(json_t *j, int *pass)
{
	json_t *p = json_object_get(j, "package"), *pkg, *esi, *zkb, *h;

	*pass = json_object_get(j, "receipt") || json_object_get(j, "stream") ||
	    json_is_object(json_object_get(j, "system"));
	if (json_is_null(p))
		*pass = 2;
	if (*pass)
		return NULL;
	if (json_is_object(p))
		j = p;
	esi = either(j, "esi", "killmail");
	if (!esi && json_object_get(j, "victim"))
		esi = j;	/* a bare ESI killmail, as EVE Ref dumps them */
	zkb = json_object_get(j, "zkb");
	if (!json_is_string(h = json_object_get(j, "hash")))
		h = json_is_string(json_object_get(zkb, "hash")) ?
		    json_object_get(zkb, "hash") : json_object_get(j, "killmail_hash");
	pkg = json_object();
	json_object_set(pkg, "killmail_id", either(j, "killmail_id", "killID") ?
	    either(j, "killmail_id", "killID") : json_object_get(esi, "killmail_id"));
	json_object_set(pkg, "hash", json_is_string(h) ? h : json_null());
	if (esi)
		json_object_set(pkg, "esi", esi);
	if (json_is_object(zkb))
		json_object_set(pkg, "zkb", zkb);
	if (json_object_get(j, "sequence_id"))
		json_object_set(pkg, "sequence_id", json_object_get(j, "sequence_id"));
	return pkg;
}

int
mailbuild_body_ok(json_t *km)
{
	return json_is_object(km) && mailbuild_id(km, "solar_system_id") > 0 &&
	    json_is_object(json_object_get(km, "victim")) &&
	    json_is_array(json_object_get(km, "attackers")) &&
	    json_is_string(json_object_get(km, "killmail_time"));
}

/* ---- writing a mail ---- */

static json_t *
got(const struct mailbuild_src *m, enum mailbuild_kind k, int64_t id)
{
	return id ? m->got(m->arg, k, id) : NULL;
}

static json_t *
str_of(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);

	return json_is_string(v) ? json_incref(v) : json_null();
}

static json_t *
num_of(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);

	return json_is_number(v) ? json_incref(v) : json_null();
}

static json_t *
real_of(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);

	return json_is_number(v) ? json_real(json_number_value(v)) : json_null();
}

/* {"id":N,"name":..} from a lookup of kind k, or null when id is 0. */
static json_t *
entity(int64_t id, json_t *val)
{
	return id ? json_pack("{sIso}", "id", (json_int_t)id, "name", str_of(val, "name")) :
	    json_null();
}

static json_t *
party_entity(const struct mailbuild_src *m, json_t *p, const char *k,
    enum mailbuild_kind tk)
{
	int64_t id = mailbuild_id(p, k);
	json_t *e = entity(id, got(m, MB_NAME, id));

	if (id && m->tickers && tk)
		json_object_set_new(e, "ticker", str_of(got(m, tk, id), "ticker"));
	return e;
}

static json_t *
ship(const struct mailbuild_src *m, int64_t id)
{
	json_t *t = got(m, MB_TYPE, id), *gr;
	int64_t gid = mailbuild_id(t, "group_id"), cid;

	if (!id)
		return json_null();
	gr = got(m, MB_GROUP, gid);
	cid = mailbuild_id(gr, "category_id");
	return json_pack("{sIsososo}", "id", (json_int_t)id, "name", str_of(t, "name"),
	    "group", entity(gid, gr), "category", entity(cid, got(m, MB_CAT, cid)));
}

static void
party(const struct mailbuild_src *m, json_t *o, json_t *p)
{
	json_object_set_new(o, "character", party_entity(m, p, "character_id", 0));
	json_object_set_new(o, "corporation", party_entity(m, p, "corporation_id", MB_CORP));
	json_object_set_new(o, "alliance", party_entity(m, p, "alliance_id", MB_ALLI));
	json_object_set_new(o, "faction", party_entity(m, p, "faction_id", 0));
	json_object_set_new(o, "ship", ship(m, mailbuild_id(p, "ship_type_id")));
}

/* As insight-streams(5) "space" says: by id range first, then Pochven by
 * region, then security. */
static const char *
space(int64_t sid, int64_t rid, json_t *sec)
{
	double s = json_number_value(sec);

	if (sid / 1000000 == 31)
		return "wormhole";
	if (sid / 1000000 == 32)
		return "abyssal";
	if (rid == 10000070)
		return "pochven";
	if (!json_is_number(sec))
		return NULL;
	return s >= 0.45 ? "highsec" : s > 0 ? "lowsec" : "nullsec";
}

static json_t *
system_of(const struct mailbuild_src *m)
{
	int64_t sid = mailbuild_id(m->km, "solar_system_id");
	json_t *s = got(m, MB_SYSTEM, sid), *pos = json_object_get(s, "position");
	int64_t cid = mailbuild_id(s, "constellation_id");
	json_t *c = got(m, MB_CONST, cid);
	int64_t rid = mailbuild_id(c, "region_id");
	const char *sp = space(sid, rid, json_object_get(s, "security_status"));

	return json_pack("{sIsosososososo}", "id", (json_int_t)sid,
	    "name", str_of(s, "name"), "security", real_of(s, "security_status"),
	    "space", sp ? json_string(sp) : json_null(),
	    "constellation", entity(cid, c), "region", entity(rid, got(m, MB_REGION, rid)),
	    "position", json_is_object(pos) ? json_pack("{sososo}", "x", real_of(pos, "x"),
		"y", real_of(pos, "y"), "z", real_of(pos, "z")) : json_null());
}

static json_t *
attackers(const struct mailbuild_src *m, int *final)
{
	json_t *out = json_array(), *a;
	size_t i;

	*final = -1;
	json_array_foreach(json_object_get(m->km, "attackers"), i, a) {
		json_t *o = json_object();

		party(m, o, a);
		json_object_set_new(o, "weapon", ship(m, mailbuild_id(a, "weapon_type_id")));
		json_object_set_new(o, "damage_done", num_of(a, "damage_done"));
		json_object_set_new(o, "final_blow", json_boolean(json_is_true(
		    json_object_get(a, "final_blow"))));
		json_object_set_new(o, "security_status", real_of(a, "security_status"));
		json_array_append_new(out, o);
		if (*final < 0 && json_is_true(json_object_get(a, "final_blow")))
			*final = (int)i;
	}
	return out;
}

/* zKillboard's part: absent values are null, never invented. */
static void
zkb_part(json_t *o, json_t *z)
{
	json_t *labels = json_object_get(z, "labels");

	json_object_set_new(o, "value", json_pack("{sosososo}",
	    "total", num_of(z, "totalValue"), "fitted", num_of(z, "fittedValue"),
	    "dropped", num_of(z, "droppedValue"), "destroyed", num_of(z, "destroyedValue")));
	json_object_set_new(o, "points", num_of(z, "points"));
	json_object_set_new(o, "npc", json_is_boolean(json_object_get(z, "npc")) ?
	    json_incref(json_object_get(z, "npc")) : json_null());
	json_object_set_new(o, "solo", json_is_boolean(json_object_get(z, "solo")) ?
	    json_incref(json_object_get(z, "solo")) : json_null());
	json_object_set_new(o, "awox", json_is_boolean(json_object_get(z, "awox")) ?
	    json_incref(json_object_get(z, "awox")) : json_null());
	json_object_set_new(o, "labels", json_is_array(labels) ? json_incref(labels) : json_null());
}

json_t *
mailbuild_mail(const struct mailbuild_src *m)
{
	json_t *o = json_object(), *v = json_object(), *km = m->km;
	json_t *z = json_object_get(m->pkg, "zkb");
	int64_t id = mailbuild_id(m->pkg, "killmail_id");
	char url[80];
	int fb;

	snprintf(url, sizeof url, "https://zkillboard.com/kill/%" PRId64 "/", id);
	json_object_set_new(o, "killmail_id", json_integer(id));
	json_object_set_new(o, "hash", str_of(m->pkg, "hash"));
	json_object_set_new(o, "time", str_of(km, "killmail_time"));
	json_object_set_new(o, "url", json_string(url));
	json_object_set_new(o, "system", system_of(m));
	json_object_set_new(o, "location_id", num_of(z, "locationID"));
	party(m, v, json_object_get(km, "victim"));
	json_object_set_new(v, "damage_taken", num_of(json_object_get(km, "victim"), "damage_taken"));
	json_object_set_new(o, "victim", v);
	json_object_set_new(o, "attackers", attackers(m, &fb));
	json_object_set_new(o, "attacker_count",
	    json_integer(json_array_size(json_object_get(km, "attackers"))));
	json_object_set_new(o, "final_blow", fb >= 0 ? json_integer(fb) : json_null());
	zkb_part(o, z);
	json_object_set_new(o, "war_id", num_of(km, "war_id"));
	json_object_set_new(o, "moon_id", num_of(km, "moon_id"));
	json_object_set_new(o, "sequence_id", num_of(m->pkg, "sequence_id"));
	return o;
}

