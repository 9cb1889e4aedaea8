/* Local files: bounded reads that never block, secret-file checks, atomic writes. */
#ifndef REKEY_FSUTIL_H
#define REKEY_FSUTIL_H

#include <stdbool.h>
#include <sys/stat.h>

#include "rekey/bytes.h"
#include "rekey/err.h"

/*
 * Reads a regular file whole; a file larger than cap fails at once with RK_E_LIMIT.
 * Anything but a regular file (a FIFO, a folder, a device, a socket) is refused with
 * RK_E_USAGE naming what it is, before it is opened where a stat can tell, and the open
 * never waits (O_NONBLOCK): a FIFO planted where a certificate was expected cannot stall
 * rekey. Symbolic links are followed: a path the user gives may well be one, and only what
 * it leads to is read (and checked).
 */
int	rk_file_read(struct rk_buf *out, const char *path, size_t cap, struct rk_err *err)
	    RK_MUST_CHECK;
/*
 * As rk_file_read, for a file that holds a secret (a private key, a passphrase, a
 * password): the opened file must also pass rk_file_check_private(), judged on the
 * descriptor (fstat), so the file checked is the file read. A symbolic link is followed, as
 * OpenSSH follows one to a key: secret stores (Kubernetes, systemd credentials) are links,
 * and what the link leads to must pass the check.
 */
int	rk_file_read_private(struct rk_buf *out, const char *path, size_t cap,
	    struct rk_err *err) RK_MUST_CHECK;
/*
 * The check for a secret file, on its stat: no permission bit for group or others, and
 * owned by this user or root (as OpenSSH's sshkey_perm_ok()). A key others can read is
 * already leaked; one another user owns can be changed under us. One exception: a systemd
 * credential (root's, 0440, directly in $CREDENTIALS_DIRECTORY, a root folder closed to
 * others), which only the service can read. RK_E_USAGE with a message that starts with path
 * and says the remedy ("chmod 600 it").
 */
int	rk_file_check_private(const struct stat *st, const char *path, struct rk_err *err)
	    RK_MUST_CHECK;
/*
 * Opens path with flags (O_RDONLY, O_RDWR | O_APPEND, ..., O_NOFOLLOW where a link must not
 * be followed) only if it is a regular file, checked before the open where a stat can tell
 * and on the descriptor after it; the open never waits (O_NONBLOCK). *st is the opened file's.
 * The readers above are built on it, and so is anything that must keep the descriptor (a
 * locked journal).
 */
int	rk_file_open_regular(int *out, struct stat *st, const char *path, int flags,
	    struct rk_err *err) RK_MUST_CHECK;
/* Reads fd from where it stands to its end into out, at most cap bytes (RK_E_LIMIT past
 * it); the read buffer is wiped. path labels errors. */
int	rk_fd_read_all(struct rk_buf *out, int fd, const char *path, size_t cap,
	    struct rk_err *err) RK_MUST_CHECK;
/*
 * Resolves path as a playbook means it: "~/" against $HOME, a relative path against base_dir,
 * an absolute path as it is. *out is malloc'ed.
 */
int	rk_path_resolve(char **out, const char *base_dir, const char *path, struct rk_err *err)
	    RK_MUST_CHECK;
/*
 * Replaces path with data atomically: a temporary sibling, written, fsynced, renamed over
 * path, then the folder fsynced. Readers see the old file or the new one, never a mix. An
 * existing file keeps its mode, owner and group (set on the temporary file before the first
 * byte, so never wider for a moment); mode is for a file that does not exist yet. A symbolic
 * link at path is refused: the rename would replace the link, not what it points to, and a
 * server reading the target would keep the old content. So is anything but a regular file.
 */
int	rk_file_replace(const char *path, struct rk_bytes data, mode_t mode, struct rk_err *err)
	    RK_MUST_CHECK;
/*
 * As rk_file_replace, but the new file is this user's and mode 0600 from its first byte
 * whatever the old one was: for a file that holds evidence (an incident record), which a
 * wider mode left by hand must not widen again.
 */
int	rk_file_replace_private(const char *path, struct rk_bytes data, struct rk_err *err)
	    RK_MUST_CHECK;
/* Writes all of data to fd, retrying on EINTR; name labels errors. */
int	rk_fd_write_all(int fd, struct rk_bytes data, const char *name, struct rk_err *err)
	    RK_MUST_CHECK;
/* fsyncs a folder, so a rename in it survives a crash. */
int	rk_dir_sync(const char *dir, struct rk_err *err) RK_MUST_CHECK;
/* The folder part of path ("." when it has none); *out is malloc'ed. */
int	rk_path_dirname(char **out, const char *path, struct rk_err *err) RK_MUST_CHECK;

/*
 * New files made together, all or none: a key and its certificate, a whole development PKI.
 * rk_fileset_add writes each file at once to a temporary sibling of its path, with its final
 * mode from the first byte, and fsyncs it; nothing is under a final name yet. commit then
 * gives every file its name with link(2), which never replaces an existing file (the promise
 * of O_CREAT|O_EXCL holds); if one name cannot be made, or a folder cannot be fsynced, the
 * names already made are removed and commit fails. rk_fileset_undo removes the names after
 * a successful commit (a later step failed), each only while it is still the file rekey
 * wrote (same inode, held open so its number is not reused). rk_fileset_free removes every
 * temporary file and closes the files. Not thread-safe; one set per operation, of a few
 * files.
 */
struct rk_fileset;

int	rk_fileset_new(struct rk_fileset **out, struct rk_err *err) RK_MUST_CHECK;
/* A path that exists already fails here, before anything is written for it. After a
 * failed add the set may only be freed. */
int	rk_fileset_add(struct rk_fileset *set, const char *path, struct rk_bytes data,
	    mode_t mode, struct rk_err *err) RK_MUST_CHECK;
int	rk_fileset_commit(struct rk_fileset *set, struct rk_err *err) RK_MUST_CHECK;
void	rk_fileset_undo(struct rk_fileset *set);
void	rk_fileset_free(struct rk_fileset *set);

#endif
