/* Local files: bounded reads and path resolution. */
#ifndef REKEY_FSUTIL_H
#define REKEY_FSUTIL_H

#include <stdbool.h>
#include <sys/stat.h>

#include "rekey/bytes.h"
#include "rekey/err.h"

/* Reads a regular file whole; a file larger than cap fails at once with RK_E_LIMIT. */
int	rk_file_read(struct rk_buf *out, const char *path, size_t cap, struct rk_err *err)
	    RK_MUST_CHECK;
/*
 * Resolves path as a playbook means it: "~/" against $HOME, a relative path against base_dir,
 * an absolute path as it is. *out is malloc'ed.
 */
int	rk_path_resolve(char **out, const char *base_dir, const char *path, struct rk_err *err)
	    RK_MUST_CHECK;
/*
 * Replaces path with data atomically: a temporary sibling created with mode from the first
 * byte, written, fsynced, renamed over path, then the folder fsynced. Readers see the old
 * file or the new one, never a mix, and never a wider mode.
 */
int	rk_file_replace(const char *path, struct rk_bytes data, mode_t mode, struct rk_err *err)
	    RK_MUST_CHECK;
/* Writes all of data to fd, retrying on EINTR; name labels errors. */
int	rk_fd_write_all(int fd, struct rk_bytes data, const char *name, struct rk_err *err)
	    RK_MUST_CHECK;
/* fsyncs a folder, so a rename in it survives a crash. */
int	rk_dir_sync(const char *dir, struct rk_err *err) RK_MUST_CHECK;
/* The folder part of path ("." when it has none); *out is malloc'ed. */
int	rk_path_dirname(char **out, const char *path, struct rk_err *err) RK_MUST_CHECK;

#endif
