/* One interface to reach a host: stat, read, atomic replace with owner and mode, backup, restore, run. */
#ifndef REKEY_TRANSPORT_H
#define REKEY_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "rekey/bytes.h"
#include "rekey/err.h"
#include "rekey/model.h"

/* Caps on what a host may send back. */
#define RK_REMOTE_OUTPUT_MAX	(64 * 1024)	/* a command's stdout, and its stderr */
#define RK_REMOTE_FILE_MAX	(4 * 1024 * 1024)	/* a file read back (configs, certs) */

/* What a file must look like after a replace. */
struct rk_file_spec {
	const char	*path;		/* absolute */
	const char	*owner;		/* user name; NULL keeps the current owner (or the login's) */
	const char	*group;		/* group name; NULL keeps the current group */
	mode_t		 mode;		/* the final mode, in force from the first byte */
	bool		 allow_symlink;	/* replace a symlink at path instead of refusing */
};

/* A file as it is on a host. */
struct rk_file_stat {
	bool		exists;
	bool		is_regular;
	bool		is_symlink;
	mode_t		mode;		/* permission bits only */
	char		owner[64];	/* names, as the host resolves them */
	char		group[64];
	unsigned long long size;
	char		sha256[65];	/* lower-case hex of the content; "" unless asked */
};

/*
 * What a replace kept, so it can be undone: the previous file copied beside the target
 * with its mode, owner and SHA-256 recorded. existed false: there was no file (undo removes).
 */
struct rk_backup {
	bool	existed;
	char	*target;		/* the replaced path */
	char	*path;			/* the backup copy on the host, or NULL */
	mode_t	 mode;
	char	 owner[64];
	char	 group[64];
	char	 sha256[65];
};

/* Why a replace would fail. */
enum rk_push_problem {
	RK_PUSH_OK,
	RK_PUSH_NO_FOLDER,		/* the folder is not there (or not a folder) */
	RK_PUSH_CANNOT_CREATE,		/* no file can be made in it */
	RK_PUSH_CANNOT_OWN,		/* the file cannot get its owner, group or mode */
	RK_PUSH_SYMLINK,		/* a symbolic link stands there, not allowed */
	RK_PUSH_NOT_FILE,		/* something that is not a regular file stands there */
	RK_PUSH_NO_ROOM,		/* not enough free space for the file and the backup */
	RK_PUSH_HARD_LINKS,		/* the file has other names the rename would not change */
	RK_PUSH_OPEN_FOLDER,		/* a folder on the way others may write (no sticky bit) */
	RK_PUSH_FOREIGN_FILE,		/* another user's file in a folder others may write */
	RK_PUSH_OTHER,
};

/* What a replace of a file would meet. */
struct rk_push_probe {
	enum rk_push_problem	 problem;	/* set when probe_replace fails on the host */
	struct rk_file_stat	 current;	/* the file there now (no hash) */
	char			 owner[64];	/* what the new file would get */
	char			 group[64];
	char			 creator[64];	/* who creates it: the login, or root under sudo */
	unsigned long long	 free_bytes;	/* for the login in the folder's file system */
};

/* What became of one file of a replace_files call. */
enum rk_change_state {
	RK_CHANGE_NOT_REACHED,		/* not touched: an earlier file failed */
	RK_CHANGE_DONE,			/* replaced and checked, as replace_file does it */
	RK_CHANGE_FAILED,		/* not replaced (or put back); err says why */
};

/* One file of a replace_files call: what to write in, and what became of it. */
struct rk_file_change {
	struct rk_file_spec	 spec;
	struct rk_bytes		 content;
	/* Out: */
	enum rk_change_state	 state;
	struct rk_backup	 backup;	/* DONE: as replace_file's backup */
	struct rk_err		 err;		/* FAILED: as replace_file would say it */
};

/* Files one command on a host replaces at most; replace_files splits longer lists. */
#define RK_REPLACE_BATCH_MAX	16

struct rk_run_result {
	int		exit_status;	/* -1 when killed by a signal or the channel broke */
	struct rk_buf	out;		/* capped at RK_REMOTE_OUTPUT_MAX; never logged whole */
	struct rk_buf	err;
};

struct rk_transport;

/*
 * A backend: a table of functions, as curl's connection filters and libgit2's transports are.
 * Every function returns 0 or a negative enum rk_code with err set; none prints. A transport
 * is used by one thread at a time. The privileged parts (chown, writing into folders only
 * root may write, the commands asked with sudo) go through `sudo -n` when the host says
 * sudo: true.
 */
struct rk_transport_ops {
	const char	*name;				/* "ssh", "local" */
	/* Connects and authenticates; for ssh, the host key is checked before any secret is
	 * sent, and an unknown or changed key fails with RK_E_HOSTKEY. */
	int	(*connect)(struct rk_transport *t, struct rk_err *err);
	/* Stats path without following a final symlink. hash_cap > 0 also fills sha256 of a
	 * regular file of at most hash_cap bytes; a larger one fails with RK_E_LIMIT ("file is
	 * N bytes, over the limit of CAP") before a byte of it is read. 0 hashes nothing. */
	int	(*stat)(struct rk_file_stat *out, struct rk_transport *t, const char *path,
		    size_t hash_cap, struct rk_err *err);
	/* Reads a whole file, at most cap bytes (RK_E_LIMIT past it). */
	int	(*read_file)(struct rk_buf *out, struct rk_transport *t, const char *path,
		    size_t cap, struct rk_err *err);
	/*
	 * Replaces spec->path with content atomically: a temporary sibling created with the final
	 * mode (never wider, not for a moment), written and fsynced, owner and group set, then
	 * renamed over the target in one step; the old file is first copied to a backup beside it.
	 * Afterwards path, mode, owner and SHA-256 are read back and compared. On any failure the
	 * target is untouched and no temporary file remains. backup may be NULL (no backup kept).
	 */
	int	(*replace_file)(struct rk_backup *backup, struct rk_transport *t,
		    const struct rk_file_spec *spec, struct rk_bytes content, struct rk_err *err);
	/*
	 * replace_file for changes[0..n) in order, with the same guarantees for each, in as
	 * few round trips as the backend can (ssh: one command per RK_REPLACE_BATCH_MAX files,
	 * the contents on its input). Stops at the first file that fails: those before it are
	 * DONE, it is FAILED, those after it are NOT_REACHED and untouched. Returns 0 when all
	 * are done, else the failed file's error, prefixed as replace_file prefixes it.
	 */
	int	(*replace_files)(struct rk_transport *t, struct rk_file_change *changes, size_t n,
		    struct rk_err *err);
	/* Puts back exactly what backup recorded (bytes, mode, owner), or removes the file
	 * when there was none, and checks the result. */
	int	(*restore_file)(struct rk_transport *t, const struct rk_backup *backup,
		    struct rk_err *err);
	/*
	 * Tries everything replace_file does before its rename, except writing the content
	 * (`rekey rehearse`): the folder is there; what stands at the path (a symlink or a
	 * non-regular file is refused in the words replace_file uses); a file created in the
	 * folder exactly as the replace creates its temporary sibling (O_EXCL, its final owner,
	 * group and mode) and removed at once; room for need bytes (the new file) and a copy of
	 * the file there now (the backup). Fails, with out->problem set, with the reason a
	 * replace would fail; changes no file (the folder's own mtime moves).
	 */
	int	(*probe_replace)(struct rk_push_probe *out, struct rk_transport *t,
		    const struct rk_file_spec *spec, unsigned long long need, struct rk_err *err);
	/* Runs argv (argv[0] a program, never a shell line), through sudo -n when sudo. */
	int	(*run)(struct rk_run_result *out, struct rk_transport *t, const char *const *argv,
		    bool sudo, struct rk_err *err);
	/* The same with stdout capped at out_cap bytes instead (a listing or an archive the
	 * command bounds itself); stderr keeps RK_REMOTE_OUTPUT_MAX. */
	int	(*run_capped)(struct rk_run_result *out, struct rk_transport *t,
		    const char *const *argv, bool sudo, size_t out_cap, struct rk_err *err);
	/* Closes the connection and frees t; NULL-safe, cannot fail. */
	void	(*free)(struct rk_transport *t);
};

/* Each backend embeds this as its first member. */
struct rk_transport {
	const struct rk_transport_ops	*ops;
	const struct rk_host		*host;	/* borrowed from the model */
};

void	rk_backup_clear(struct rk_backup *backup);
/* Clears the out part of each change (their backups freed); the specs stay. */
void	rk_file_changes_clear(struct rk_file_change *changes, size_t n);
void	rk_run_result_init(struct rk_run_result *r);
void	rk_run_result_clear(struct rk_run_result *r);
/* Frees through the ops table; NULL is fine. */
void	rk_transport_free(struct rk_transport *t);

#endif
