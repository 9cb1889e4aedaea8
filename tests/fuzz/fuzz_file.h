/*
 * Shared by the fuzz targets that give their input to a loader as a file (fuzz_journal,
 * fuzz_pkiload) or need one beside it (fuzz_probe's CA): one private folder per process,
 * made on first use and removed at exit, and the check of what rekey prints as hex (inline:
 * a target may use only some of them).
 */
#ifndef REKEY_FUZZ_FILE_H
#define REKEY_FUZZ_FILE_H

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

static char fuzz_dir[4096], fuzz_path[4200];

static inline void
fuzz_remove_dir(void)
{
	(void)unlink(fuzz_path);
	(void)rmdir(fuzz_dir);
}

/* The path of the one file NAME in the process's private folder (made once, 0700). */
static inline const char *
fuzz_file_path(const char *target, const char *name)
{
	const char *tmp = getenv("TMPDIR");

	if (fuzz_dir[0] != '\0')
		return fuzz_path;
	snprintf(fuzz_dir, sizeof(fuzz_dir), "%s/%s.XXXXXX", tmp != NULL && *tmp != '\0' ?
	    tmp : "/tmp", target);
	if (mkdtemp(fuzz_dir) == NULL) {
		fprintf(stderr, "%s: mkdtemp: %s\n", target, strerror(errno));
		exit(1);
	}
	snprintf(fuzz_path, sizeof(fuzz_path), "%s/%s", fuzz_dir, name);
	atexit(fuzz_remove_dir);
	return fuzz_path;
}

/* The file made anew holding a then b, mode 0600 as rekey's private files are. */
static inline void
fuzz_file_write(const char *target, const void *a, size_t alen, const void *b, size_t blen)
{
	int fd;

	(void)unlink(fuzz_path);
	if ((fd = open(fuzz_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) == -1 ||
	    (alen > 0 && write(fd, a, alen) != (ssize_t)alen) ||
	    (blen > 0 && write(fd, b, blen) != (ssize_t)blen) || close(fd) == -1) {
		fprintf(stderr, "%s: write %s: %s\n", target, fuzz_path, strerror(errno));
		exit(1);
	}
}

/* "" (when pairs is 0) or upper-case hex pairs joined by ':'; pairs > 0: exactly that many. */
static inline bool
fuzz_is_hex_pairs(const char *s, size_t pairs)
{
	size_t i, n = strlen(s);

	if (n == 0)
		return pairs == 0;
	if (n % 3 != 2 || (pairs > 0 && n != 3 * pairs - 1))
		return false;
	for (i = 0; i < n; i++)
		if (i % 3 == 2 ? s[i] != ':' : strchr("0123456789ABCDEF", s[i]) == NULL)
			return false;
	return true;
}

#endif
