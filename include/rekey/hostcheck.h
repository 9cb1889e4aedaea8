/*
 * What a rehearsal asks of a host without changing a file there, besides the transport's
 * probe_replace: how the files it would touch are now (to prove afterwards that nothing
 * changed), and whether a command is there. Each is one command on the host, through the
 * transport's run operation, so ssh and local hosts answer alike.
 */
#ifndef REKEY_HOSTCHECK_H
#define REKEY_HOSTCHECK_H

#include <stdbool.h>
#include <stddef.h>

#include "rekey/err.h"
#include "rekey/transport.h"

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
