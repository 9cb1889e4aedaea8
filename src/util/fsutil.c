#include "rekey/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int
rk_file_read(struct rk_buf *out, const char *path, size_t cap, struct rk_err *err)
{
	unsigned char chunk[16384];
	struct stat st;
	ssize_t n;
	int fd, r = 0;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1)
		return rk_fail_errno(err, "%s", path);
	if (fstat(fd, &st) == -1) {
		r = rk_fail_errno(err, "%s", path);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = rk_fail(err, RK_E_USAGE, "%s: not a regular file", path);
		goto out;
	}
	if ((unsigned long long)st.st_size > cap) {
		r = rk_fail(err, RK_E_LIMIT, "%s: file is %lld bytes, over the limit of %zu",
		    path, (long long)st.st_size, cap);
		goto out;
	}
	out->cap = cap;
	/* Read until EOF, not st_size: the file may grow; the cap still holds. */
	for (;;) {
		if ((n = read(fd, chunk, sizeof(chunk))) == -1) {
			if (errno == EINTR)
				continue;
			r = rk_fail_errno(err, "%s: read", path);
			goto out;
		}
		if (n == 0)
			break;
		if ((r = rk_buf_append(out, chunk, (size_t)n, err)) != 0) {
			rk_err_prefix(err, "%s", path);
			goto out;
		}
	}
	if (out->ptr == NULL && (r = rk_buf_append(out, "", 0, err)) != 0)
		goto out;
 out:
	explicit_bzero(chunk, sizeof(chunk));
	close(fd);
	return r;
}

int
rk_path_resolve(char **out, const char *base_dir, const char *path, struct rk_err *err)
{
	const char *home;
	int n;

	*out = NULL;
	while (path[0] == '.' && path[1] == '/')
		path += 2;		/* "./x" is "x": keep plans free of "/./" */
	if (path[0] == '/')
		n = asprintf(out, "%s", path);
	else if (path[0] == '~' && (path[1] == '/' || path[1] == '\0')) {
		if ((home = getenv("HOME")) == NULL || *home == '\0')
			return rk_fail(err, RK_E_USAGE, "%s: HOME is not set", path);
		n = asprintf(out, "%s%s", home, path + 1);
	} else
		n = asprintf(out, "%s/%s", base_dir, path);
	if (n < 0) {
		*out = NULL;
		return rk_fail_nomem(err);
	}
	return 0;
}

int
rk_fd_write_all(int fd, struct rk_bytes data, const char *path, struct rk_err *err)
{
	size_t off = 0;
	ssize_t n;

	while (off < data.len) {
		if ((n = write(fd, data.ptr + off, data.len - off)) == -1) {
			if (errno == EINTR)
				continue;
			return rk_fail_errno(err, "write %s", path);
		}
		off += (size_t)n;
	}
	return 0;
}

int
rk_dir_sync(const char *dir, struct rk_err *err)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd == -1)
		return rk_fail_errno(err, "open folder %s", dir);
	if (fsync(fd) == -1) {
		close(fd);
		return rk_fail_errno(err, "fsync folder %s", dir);
	}
	close(fd);
	return 0;
}

int
rk_file_replace(const char *path, struct rk_bytes data, mode_t mode, struct rk_err *err)
{
	char *dir = NULL, *tmp = NULL;
	int fd = -1, r;

	if ((r = rk_path_dirname(&dir, path, err)) != 0)
		return r;
	if (asprintf(&tmp, "%s.rekey-XXXXXX", path) < 0) {
		tmp = NULL;
		r = rk_fail_nomem(err);
		goto out;
	}
	/* mkostemp creates 0600; fchmod before any byte is written can only narrow or keep it
	 * for a key, and widen it to 0644 only for public data. */
	if ((fd = mkostemp(tmp, O_CLOEXEC)) == -1) {
		r = rk_fail_errno(err, "create a temporary file beside %s", path);
		free(tmp);
		tmp = NULL;
		goto out;
	}
	if (fchmod(fd, mode) == -1) {
		r = rk_fail_errno(err, "chmod %s", tmp);
		goto out;
	}
	if ((r = rk_fd_write_all(fd, data, tmp, err)) != 0)
		goto out;
	if (fsync(fd) == -1) {
		r = rk_fail_errno(err, "fsync %s", tmp);
		goto out;
	}
	if (rename(tmp, path) == -1) {
		r = rk_fail_errno(err, "rename %s to %s", tmp, path);
		goto out;
	}
	free(tmp);
	tmp = NULL;			/* it is path now */
	r = rk_dir_sync(dir, err);
 out:
	if (fd != -1)
		close(fd);
	if (tmp != NULL)
		(void)unlink(tmp);
	free(tmp);
	free(dir);
	return r;
}

int
rk_path_dirname(char **out, const char *path, struct rk_err *err)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		*out = strdup(".");
	else if (slash == path)
		*out = strdup("/");
	else
		*out = strndup(path, (size_t)(slash - path));
	return *out == NULL ? rk_fail_nomem(err) : 0;
}
