/* dedupe: which (webhook, killmail_id) were accepted within the window, so
 * that a post is not made twice, and the fingerprint of the post made, so
 * that a revision of the killmail is told from a copy; kept in the file
 * dedupe of the spool's state directory ("<unix time> <key> <fingerprint>"
 * a line, the fingerprint 0 when unknown; older lines lack it; compacted
 * as it grows).
 * One set per process (module state); open it after spool_open. */
#ifndef DEDUPE_H
#define DEDUPE_H
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

/* Load the live keys of the file and rewrite it with them; window:
 * seconds a key lives, 0 disables. */
void dedupe_open(double window);
void dedupe_close(void);
/* The key of a killmail for a webhook (FNV-1a, lib/hash.h). */
unsigned long long dedupe_key(unsigned long long hook, json_int_t kill);
/* k was accepted within the window. */
int dedupe_seen(unsigned long long k);
/* k is in the set, live or not. */
int dedupe_known(unsigned long long k);
/* k accepted now, its post of fingerprint fp (0: unknown): it counts at
 * once; its line waits for dedupe_flush, called once the post is durable
 * in the spool. */
void dedupe_add(unsigned long long k, uint64_t fp);
/* The fingerprint of k's post, 0 when unknown; that of a mail (never 0):
 * of what zKillboard says of the kill (value, points, labels, flags), so
 * that a revision changes it and another stream's post of the kill does
 * not. */
uint64_t dedupe_print(unsigned long long k);
uint64_t dedupe_print_of(const json_t *mail);
void dedupe_flush(void);
/* fdatasync what dedupe_flush appended: a power cut then forgets no key of
 * a post that was sent. */
void dedupe_sync(void);
/* Keys in the set. */
size_t dedupe_count(void);
#endif
