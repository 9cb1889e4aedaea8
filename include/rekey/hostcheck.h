/*
 * What a rehearsal asks of a host without changing a file there: whether a replace of a
 * file would work, how the files it would touch are now (to prove afterwards that nothing
 * changed), and whether a command is there. Each is one command on the host, through the
 * transport's run operation, so ssh and local hosts answer alike.
 */
#ifndef REKEY_HOSTCHECK_H
#define REKEY_HOSTCHECK_H

#include <stdbool.h>
#include <stddef.h>

#include "rekey/err.h"
#include "rekey/transport.h"

/* Why a replace would fail. */
enum rk_push_problem {
	RK_PUSH_OK,
	RK_PUSH_NO_FOLDER,		/* the folder is not there (or not a folder) */
	RK_PUSH_CANNOT_CREATE,		/* no file can be made in it */
	RK_PUSH_CANNOT_OWN,		/* the file cannot get its owner, group or mode */
	RK_PUSH_SYMLINK,		/* a symbolic link stands there, not allowed */
	RK_PUSH_NOT_FILE,		/* something that is not a regular file stands there */
	RK_PUSH_NO_ROOM,		/* not enough free space for the file and the backup */
	RK_PUSH_OTHER,
};

/* What a replace of a file would meet. */
struct rk_push_probe {
	enum rk_push_problem	 problem;	/* set when rk_probe_push fails on the host */
	struct rk_file_stat	 current;	/* the file there now (no hash) */
	char			 owner[64];	/* what the new file would get */
	char			 group[64];
	char			 creator[64];	/* who creates it: the login, or root under sudo */
	unsigned long long	 free_bytes;	/* for the login in the folder's file system */
};

/*
 * Tries everything a replace of spec->path does before its rename, except writing the
 * content: the folder is there; what stands at the path (a symlink or a non-regular file is
 * refused in the words the replace uses); a file created in the folder exactly as the
 * replace creates its temporary sibling (O_EXCL, its final owner, group and mode) and removed
 * at once; room for need bytes (the new file) and a copy of the file there now (the backup).
 * Fails, with out->problem set, with the
 * reason a replace would fail; changes no file (the folder's own mtime moves).
 */
int	rk_probe_push(struct rk_push_probe *out, struct rk_transport *t,
	    const struct rk_file_spec *spec, unsigned long long need, struct rk_err *err)
	    RK_MUST_CHECK;

/* A file as a snapshot sees it: enough to tell any change of it. */
struct rk_path_state {
	bool			 exists;
	bool			 is_regular;
	unsigned		 raw_mode;	/* st_mode: type and permissions */
	char			 owner[64];
	char			 group[64];
	unsigned long long	 size;
	char			 mtime[32];	/* seconds.nanoseconds */
	char			 sha256[65];	/* of a regular file, else "" */
};

/*
 * The state of each of n paths on t's host (through sudo when the host has it, so keys only
 * root may read are hashed too), into out[0..n). A path that cannot be examined (a folder
 * the login may not search) fails.
 */
int	rk_host_snapshot(struct rk_path_state *out, struct rk_transport *t,
	    const char *const *paths, size_t n, struct rk_err *err) RK_MUST_CHECK;

/* What differs between two states of path, as one phrase ("its SHA-256 changed"), or NULL
 * when nothing does. */
const char *rk_path_state_change(const struct rk_path_state *before,
	    const struct rk_path_state *after);

/*
 * Whether the program a command line starts with is there for it: the first word that is
 * not a variable assignment, looked up with `command -v` by the same login, through sudo
 * when the host says sudo (as the command will run). *where gets what command -v said.
 */
int	rk_host_has_command(bool *found, char *where, size_t size, struct rk_transport *t,
	    const char *command_line, struct rk_err *err) RK_MUST_CHECK;

#endif
