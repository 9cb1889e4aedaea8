/*
 * Replays fuzz corpora as a plain test, without libFuzzer: every regular file in the folders
 * named on the command line goes once to LLVMFuzzerTestOneInput(), in name order. Linked with a
 * fuzz target, it runs that target's corpus in every build, sanitized or not, as libgit2's
 * fuzzers/standalone_driver.c does.
 *
 * usage: replay FOLDER...
 * Exits 0 when every input ran, 1 when a folder or file could not be read or a folder is empty;
 * a crash or sanitizer report ends the process as it would under libFuzzer.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Well above the playbook cap (1 MiB), so inputs over it still reach the parser. */
#define REPLAY_FILE_MAX	(8 * 1024 * 1024)

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Reads all of path into *out (malloc'ed, never NULL on success). Returns 0 or -1, reported. */
static int
read_input(unsigned char **out, size_t *len, const char *path)
{
	unsigned char *buf = NULL;
	struct stat st;
	size_t have = 0;
	ssize_t n;
	int fd = -1, r = -1;

	*out = NULL;
	*len = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1 || fstat(fd, &st) == -1) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		goto out;
	}
	if (st.st_size > REPLAY_FILE_MAX) {
		fprintf(stderr, "replay: %s: over %d bytes\n", path, REPLAY_FILE_MAX);
		goto out;
	}
	/* One byte more than the size, so growth while reading is seen, never overrun. */
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		fprintf(stderr, "replay: %s: out of memory\n", path);
		goto out;
	}
	while (have <= (size_t)st.st_size) {
		if ((n = read(fd, buf + have, (size_t)st.st_size + 1 - have)) == -1) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		have += (size_t)n;
	}
	if (have != (size_t)st.st_size) {
		fprintf(stderr, "replay: %s: changed size while being read\n", path);
		goto out;
	}
	*out = buf;
	*len = have;
	buf = NULL;
	r = 0;
 out:
	free(buf);
	if (fd != -1)
		close(fd);
	return r;
}

/* Hidden files (".gitignore", editor swap files) are not inputs. */
static int
is_visible(const struct dirent *e)
{
	return e->d_name[0] != '.';
}

/* Runs every regular file in dir; adds the number run to *count. Returns 0 or -1, reported. */
static int
replay_folder(const char *dir, size_t *count)
{
	struct dirent **names = NULL;
	unsigned char *data = NULL;
	char *path = NULL;
	struct stat st;
	size_t len;
	int i, n, r = -1;

	if ((n = scandir(dir, &names, is_visible, alphasort)) == -1) {
		fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	for (i = 0; i < n; i++) {
		free(path);
		path = NULL;
		if (asprintf(&path, "%s/%s", dir, names[i]->d_name) == -1) {
			path = NULL;
			fprintf(stderr, "replay: out of memory\n");
			goto out;
		}
		if (stat(path, &st) == -1) {
			fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
			goto out;
		}
		if (!S_ISREG(st.st_mode))
			continue;
		if (read_input(&data, &len, path) != 0)
			goto out;
		/* Named first, so a crash report can be traced to its input. */
		fprintf(stderr, "replay: %s\n", path);
		(void)LLVMFuzzerTestOneInput(data, len);
		free(data);
		data = NULL;
		(*count)++;
	}
	r = 0;
 out:
	free(data);
	free(path);
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return r;
}

int
main(int argc, char **argv)
{
	size_t count = 0, before;
	int i;

	if (argc < 2) {
		fprintf(stderr, "usage: %s FOLDER...\n", argv[0]);
		return 2;
	}
	for (i = 1; i < argc; i++) {
		before = count;
		if (replay_folder(argv[i], &count) != 0)
			return 1;
		/* A mistyped folder must not pass as an empty corpus. */
		if (count == before) {
			fprintf(stderr, "replay: %s: no input in it\n", argv[i]);
			return 1;
		}
	}
	printf("replay: %zu inputs from %d folders ran\n", count, argc - 1);
	return 0;
}
