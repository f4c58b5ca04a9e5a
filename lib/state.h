/* state: the files a tool keeps in its state directory ($STATE_DIR).
 * They hold whole mails and pairs, and pairs carry literal webhook URLs, so
 * they are the owner's alone whatever the umask: every file 0600, the
 * directory 0700 when created here.  A directory or file left open to
 * others by an older version or by hand is tightened, with a warning, when
 * a tool starts. */
#ifndef STATE_H
#define STATE_H
#include <stdio.h>

/* Create dir (and its missing parents) mode 0700; an existing one loses
 * the access of others and the group's write (0755 becomes 0750, a
 * package's 0750 stays).  Fatal (111) when it cannot be created. */
void state_dir(const char *dir);
/* An existing file that group or others may read: 0600 and a warning.
 * A missing file is fine. */
void state_private(const char *path);
/* A new file mode 0600 for writing, opened exclusively (a stale one from
 * a crash is removed first): NULL with errno on failure. */
FILE *state_create(const char *path);
#endif
