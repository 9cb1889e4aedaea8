#include "rekey/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* What a file that is not a regular one is, for the message that refuses it. */
static const char *
file_kind(mode_t mode)
{
	if (S_ISDIR(mode))
		return "a folder";
	if (S_ISFIFO(mode))
		return "a FIFO";
	if (S_ISSOCK(mode))
		return "a socket";
	if (S_ISCHR(mode))
		return "a character device";
	if (S_ISBLK(mode))
		return "a block device";
	if (S_ISLNK(mode))
		return "a symbolic link";
	return "of an unknown type";
}

static int
fail_not_regular(struct rk_err *err, const char *path, mode_t mode)
{
	return rk_fail(err, RK_E_USAGE, "%s: not a regular file (it is %s)", path,
	    file_kind(mode));
}

/*
 * systemd's credentials (LoadCredential=): since systemd 255 a credential is root's, mode
 * 0440, and read by the service through an ACL on a folder no one else may enter. The group
 * bit is then no leak: a file of root's, not writable by group or others, directly inside
 * $CREDENTIALS_DIRECTORY, itself root's and closed to others, is private all the same.
 */
static bool
is_systemd_credential(const struct stat *st, const char *path)
{
	const char *dir = getenv("CREDENTIALS_DIRECTORY");
	char *real = NULL, *real_dir = NULL, *slash;
	struct stat dst;
	bool ok = false;

	if (dir == NULL || dir[0] != '/' || st->st_uid != 0 || (st->st_mode & 037) != 0 ||
	    (real = realpath(path, NULL)) == NULL || (real_dir = realpath(dir, NULL)) == NULL)
		goto out;
	if ((slash = strrchr(real, '/')) == NULL)
		goto out;
	*slash = '\0';
	ok = strcmp(real, real_dir) == 0 && stat(real_dir, &dst) == 0 && S_ISDIR(dst.st_mode) &&
	    dst.st_uid == 0 && (dst.st_mode & 077) == 0;
 out:
	free(real);
	free(real_dir);
	return ok;
}

int
rk_file_check_private(const struct stat *st, const char *path, struct rk_err *err)
{
	uid_t me = geteuid();

	if ((st->st_mode & 077) != 0 && !is_systemd_credential(st, path))
		return rk_fail(err, RK_E_USAGE, "%s is %s by group or others (mode %04o): "
		    "chmod 600 it", path, (st->st_mode & 044) != 0 ? "readable" : "writable",
		    (unsigned)(st->st_mode & 07777));
	if (st->st_uid != me && st->st_uid != 0)
		return rk_fail(err, RK_E_USAGE, "%s is owned by uid %u, neither this user "
		    "(uid %u) nor root: chown it", path, (unsigned)st->st_uid, (unsigned)me);
	return 0;
}

/*
 * Opens path for reading only once it is known to be a regular file (and a private one when
 * asked): stat first, so a device is never even opened; O_NONBLOCK, so a FIFO swapped in
 * after the stat cannot block the open; fstat after, which is what counts.
 */
int
rk_file_open_regular(int *out, struct stat *st, const char *path, int flags,
    struct rk_err *err)
{
	int fd, r = 0;

	*out = -1;
	/* lstat under O_NOFOLLOW: the check must see what the open will. */
	if (((flags & O_NOFOLLOW) ? lstat(path, st) : stat(path, st)) == -1)
		return rk_fail_errno(err, "%s", path);
	if (!S_ISREG(st->st_mode))
		return fail_not_regular(err, path, st->st_mode);
	if ((fd = open(path, flags | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) == -1)
		return rk_fail_errno(err, "%s", path);
	if (fstat(fd, st) == -1)
		r = rk_fail_errno(err, "%s", path);
	else if (!S_ISREG(st->st_mode))
		r = fail_not_regular(err, path, st->st_mode);
	if (r != 0) {
		close(fd);
		return r;
	}
	*out = fd;
	return 0;
}

int
rk_fd_read_all(struct rk_buf *out, int fd, const char *path, size_t cap, struct rk_err *err)
{
	unsigned char chunk[16384];
	ssize_t n;
	int r = 0;

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
	if (out->ptr == NULL)
		r = rk_buf_append(out, "", 0, err);
 out:
	explicit_bzero(chunk, sizeof(chunk));
	return r;
}

static int
read_file(struct rk_buf *out, const char *path, size_t cap, bool private, struct rk_err *err)
{
	struct stat st;
	int fd, r;

	if ((r = rk_file_open_regular(&fd, &st, path, O_RDONLY, err)) != 0)
		return r;
	if (private && (r = rk_file_check_private(&st, path, err)) != 0)
		goto out;
	if ((unsigned long long)st.st_size > cap) {
		r = rk_fail(err, RK_E_LIMIT, "%s: file is %lld bytes, over the limit of %zu",
		    path, (long long)st.st_size, cap);
		goto out;
	}
	r = rk_fd_read_all(out, fd, path, cap, err);
 out:
	close(fd);
	return r;
}

int
rk_file_read(struct rk_buf *out, const char *path, size_t cap, struct rk_err *err)
{
	return read_file(out, path, cap, false, err);
}

int
rk_file_read_private(struct rk_buf *out, const char *path, size_t cap, struct rk_err *err)
{
	return read_file(out, path, cap, true, err);
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

/*
 * Creates a temporary sibling of path ("path.rekey-XXXXXX", *tmp malloc'ed) holding data,
 * fsynced, with mode (and owner, when keep is given) set before the first byte: mkostemp
 * creates 0600, so there is no moment at which the file is wider than it ends up. *fd stays
 * open for the caller, who closes it.
 */
static int
write_temp_sibling(char **tmp, int *fd, const char *path, struct rk_bytes data, mode_t mode,
    const struct stat *keep, struct rk_err *err)
{
	int r;

	*fd = -1;
	if (asprintf(tmp, "%s.rekey-XXXXXX", path) < 0) {
		*tmp = NULL;
		return rk_fail_nomem(err);
	}
	if ((*fd = mkostemp(*tmp, O_CLOEXEC)) == -1) {
		r = rk_fail_errno(err, "create a temporary file beside %s", path);
		free(*tmp);
		*tmp = NULL;
		return r;
	}
	/* fchown first: it may clear mode bits that the fchmod below then sets. */
	if (keep != NULL && fchown(*fd, keep->st_uid, keep->st_gid) == -1)
		return rk_fail_errno(err, "keep the owner of %s (uid %u, gid %u)", path,
		    (unsigned)keep->st_uid, (unsigned)keep->st_gid);
	if (fchmod(*fd, keep != NULL ? keep->st_mode & 07777 : mode) == -1)
		return rk_fail_errno(err, "chmod %s", *tmp);
	if ((r = rk_fd_write_all(*fd, data, *tmp, err)) != 0)
		return r;
	if (fsync(*fd) == -1)
		return rk_fail_errno(err, "fsync %s", *tmp);
	return 0;
}

/* rk_file_replace and rk_file_replace_private: keep says whether an existing file's mode and
 * owner carry over. */
static int
file_replace(const char *path, struct rk_bytes data, mode_t mode, bool keep,
    struct rk_err *err)
{
	char *dir = NULL, *tmp = NULL;
	struct stat old;
	bool exists = false;
	int fd = -1, r;

	if (lstat(path, &old) == 0) {
		if (S_ISLNK(old.st_mode))
			return rk_fail(err, RK_E_USAGE, "%s is a symbolic link: replacing it would "
			    "replace the link, not the file it points to; give that file's path",
			    path);
		if (!S_ISREG(old.st_mode))
			return fail_not_regular(err, path, old.st_mode);
		exists = true;
	} else if (errno != ENOENT) {
		return rk_fail_errno(err, "%s", path);
	}
	if ((r = rk_path_dirname(&dir, path, err)) != 0)
		return r;
	if ((r = write_temp_sibling(&tmp, &fd, path, data, mode,
	    exists && keep ? &old : NULL, err)) != 0)
		goto out;
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
rk_file_replace(const char *path, struct rk_bytes data, mode_t mode, struct rk_err *err)
{
	return file_replace(path, data, mode, true, err);
}

int
rk_file_replace_private(const char *path, struct rk_bytes data, struct rk_err *err)
{
	return file_replace(path, data, 0600, false, err);
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

/* ---- sets of new files, all or none ---------------------------------------------------- */

struct fileset_item {
	char	*path;
	char	*tmp;		/* NULL once commit has given the file its name */
	int	 fd;		/* kept open so its inode number cannot be reused meanwhile */
	dev_t	 dev;		/* the file written, to tell it from one put there since */
	ino_t	 ino;
	bool	 placed;	/* path is a name of that file */
};

struct rk_fileset {
	struct fileset_item	*items;
	size_t			 n;
};

int
rk_fileset_new(struct rk_fileset **out, struct rk_err *err)
{
	if ((*out = calloc(1, sizeof(**out))) == NULL)
		return rk_fail_nomem(err);
	return 0;
}

int
rk_fileset_add(struct rk_fileset *set, const char *path, struct rk_bytes data, mode_t mode,
    struct rk_err *err)
{
	struct fileset_item *grown, *it;
	struct stat st;
	int r;

	/* Early, for a clear message before any work; commit's link(2) is what guarantees it. */
	if (lstat(path, &st) == 0) {
		errno = EEXIST;
		return rk_fail_errno(err, "create %s", path);
	}
	if (errno != ENOENT)
		return rk_fail_errno(err, "create %s", path);
	if ((grown = reallocarray(set->items, set->n + 1, sizeof(*grown))) == NULL)
		return rk_fail_nomem(err);
	set->items = grown;
	it = &set->items[set->n];
	memset(it, 0, sizeof(*it));
	it->fd = -1;
	if ((it->path = strdup(path)) == NULL)
		return rk_fail_nomem(err);
	set->n++;			/* from here rk_fileset_free cleans it up */
	if ((r = write_temp_sibling(&it->tmp, &it->fd, path, data, mode, NULL, err)) != 0)
		return r;
	if (fstat(it->fd, &st) == -1)
		return rk_fail_errno(err, "%s", it->tmp);
	it->dev = st.st_dev;
	it->ino = st.st_ino;
	return 0;
}

static bool
is_still_ours(const struct fileset_item *it)
{
	struct stat st;

	return lstat(it->path, &st) == 0 && st.st_dev == it->dev && st.st_ino == it->ino;
}

void
rk_fileset_undo(struct rk_fileset *set)
{
	size_t i;

	if (set == NULL)
		return;
	for (i = 0; i < set->n; i++) {
		struct fileset_item *it = &set->items[i];

		if (it->placed && is_still_ours(it))
			(void)unlink(it->path);
		it->placed = false;
	}
}

int
rk_fileset_commit(struct rk_fileset *set, struct rk_err *err)
{
	char *dir = NULL;
	size_t i;
	int r = 0;

	for (i = 0; i < set->n; i++) {
		struct fileset_item *it = &set->items[i];

		if (it->tmp == NULL)
			return rk_fail(err, RK_E_INTERNAL, "%s: file set committed twice",
			    it->path);
		/* link(2) fails with EEXIST rather than replace: never overwrite a file. */
		if (link(it->tmp, it->path) == -1) {
			r = rk_fail_errno(err, "create %s", it->path);
			rk_fileset_undo(set);
			return r;
		}
		it->placed = true;
	}
	for (i = 0; i < set->n; i++) {
		struct fileset_item *it = &set->items[i];

		(void)unlink(it->tmp);
		free(it->tmp);
		it->tmp = NULL;
		if (r == 0 && (r = rk_path_dirname(&dir, it->path, err)) == 0)
			r = rk_dir_sync(dir, err);
		free(dir);
		dir = NULL;
	}
	if (r != 0)
		rk_fileset_undo(set);	/* all or none, even when only the fsync failed */
	return r;
}

void
rk_fileset_free(struct rk_fileset *set)
{
	size_t i;

	if (set == NULL)
		return;
	for (i = 0; i < set->n; i++) {
		if (set->items[i].tmp != NULL)
			(void)unlink(set->items[i].tmp);
		if (set->items[i].fd != -1)
			close(set->items[i].fd);
		free(set->items[i].tmp);
		free(set->items[i].path);
	}
	free(set->items);
	free(set);
}
