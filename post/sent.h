/* sent: the messages a poster made on a platform that can edit them
 * (Discord), so that a revised killmail edits its post rather than post
 * it again.  For each message: its id, the dedupe keys (dedupe.h) of its
 * posts in the order of its embeds, and its body as it stands.  Kept in
 * the file messages of the spool's state directory, one
 * {"t","id","keys","body"} a line, a line per message and per edit (the
 * last line of a message is what it shows), written when the platform
 * answers and not synced: kill -9 keeps it, a power cut may forget the
 * last ids, whose revisions are then dropped as duplicates (never posted
 * twice).  Lines older than the dedupe window go when the file is
 * compacted (at start, and as it grows).  One set per process (module
 * state); open it after spool_open. */
#ifndef SENT_H
#define SENT_H
#include <stddef.h>
#include <jansson.h>

void sent_open(double window);
void sent_close(void);
/* Message id holds the posts of keys (n, in the order of its embeds) and
 * shows body (borrowed). */
void sent_put(const char *id, const unsigned long long *keys, size_t n, const json_t *body);
/* The message holding the post of key k: its body (a new reference), its
 * id in id (n bytes) and where k's post is among its embeds (*idx); NULL
 * when none is known. */
json_t *sent_get(unsigned long long k, char *id, size_t n, size_t *idx);
/* The message holding k shows body now (an edit; borrowed). */
void sent_update(unsigned long long k, const json_t *body);
/* Posts whose message is known. */
size_t sent_keys(void);
#endif
