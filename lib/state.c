/* state: private files in the state directory; see state.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/state.h"

/* chmod to mode when st has bits that mode lacks; one warning. */
static void
tighten(const char *path, const struct stat *st, mode_t mode, const char *what)
{
	if (!(st->st_mode & 0777 & ~mode))
		return;
	if (chmod(path, mode) < 0)
		log_warn("%s open to others and cannot be tightened path=%s mode=%04o: %s",
		    what, path, (unsigned)(st->st_mode & 07777), strerror(errno));
	else
		log_warn("%s was open to others, tightened path=%s mode=%04o now=%04o",
		    what, path, (unsigned)(st->st_mode & 07777), (unsigned)mode);
}

void
state_dir(const char *dir)
{
	char p[4096];
	struct stat st;

	snprintf(p, sizeof p, "%s", dir);
	/* Parents as mkdir -p makes them; only the last one holds our files. */
	for (char *s = p + 1; *s; s++)
		if (*s == '/') {
			*s = 0;
			mkdir(p, 0755);
			*s = '/';
		}
	if (mkdir(p, 0700) < 0 && errno != EEXIST)
		log_fatal(EXIT_TEMP, "cannot create state dir=%s: %s", dir, strerror(errno));
	if (stat(p, &st) < 0)
		log_fatal(EXIT_TEMP, "cannot create state dir=%s: %s", dir, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		log_fatal(EXIT_TEMP, "state dir is not a directory dir=%s", dir);
	/* Others lose all access and the group may not write; group read, as
	 * a package gives its own group (0750), is the site's choice: the
	 * files inside are 0600 anyway. */
	tighten(p, &st, st.st_mode & 0750, "state dir");
}

void
state_private(const char *path)
{
	struct stat st;

	if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
		tighten(path, &st, 0600, "state file");
}

FILE *
state_create(const char *path)
{
	FILE *f;
	int fd, e;

	if (unlink(path) < 0 && errno != ENOENT)
		return NULL;
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0)
		return NULL;
	if (!(f = fdopen(fd, "w"))) {
		e = errno;
		close(fd);
		errno = e;
	}
	return f;
}
