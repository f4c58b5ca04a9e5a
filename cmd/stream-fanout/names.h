/* names: stream-fanout --names, what a check of the streams asks the
 * outside world about: the names they compare and their "$NAME" targets. */
#ifndef NAMES_H
#define NAMES_H

/* Loads every file given (or of every directory given; none: dir) and
 * writes one line per name and per "$NAME" target (stream-fanout(1)).
 * Returns the exit code: 100 when a file did not load. */
int names_list(int argc, char **argv, const char *dir);
#endif
