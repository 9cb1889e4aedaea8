/* The steps every host gets the same way: a file pushed as its target says, a command run. */
#ifndef REKEY_HOSTFILE_H
#define REKEY_HOSTFILE_H

#include "rekey/bytes.h"
#include "rekey/err.h"
#include "rekey/model.h"
#include "rekey/transport.h"

/*
 * Pushes content to a server's or client's file target through t: atomic replace with the
 * target's owner, group and mode (NULL owner or group keeps the current one), a symlink at
 * the path refused unless the target allows it, the previous file kept in backup.
 */
int	rk_push_file(struct rk_backup *backup, struct rk_transport *t,
	    const struct rk_file_target *target, struct rk_bytes content, struct rk_err *err)
	    RK_MUST_CHECK;

/* The spec a replace of target needs (borrowed from target). */
struct rk_file_spec rk_file_spec_of_target(const struct rk_file_target *target);

/*
 * Several pushes to one host as replace_files does them (in order, in one round trip where
 * the transport can, stopping at the first that fails), each change's spec made from its
 * target with rk_file_spec_of_target by the caller.
 */
int	rk_push_files(struct rk_transport *t, struct rk_file_change *changes, size_t n,
	    struct rk_err *err) RK_MUST_CHECK;

/* Cap on the words of a command's output kept for the journal and the record. */
#define RK_COMMAND_SUMMARY_MAX	200

/* How a command on a host ended. */
struct rk_command_outcome {
	int	exit_status;			/* -1: killed, or the channel broke */
	/* The last non-blank line of its stderr (else stdout), control characters as "?",
	 * passwords masked (rk_conninfo_mask_text), cut at RK_COMMAND_SUMMARY_MAX bytes. */
	char	summary[RK_COMMAND_SUMMARY_MAX + 1];
};

/*
 * Runs command_line (a playbook's reload or verify command) on t's host with `sh -c`, through
 * `sudo -n` when the host says sudo. Returns 0 when it ran, whatever its exit status, which
 * out tells; an error only when it could not be run at all.
 */
int	rk_run_host_command(struct rk_command_outcome *out, struct rk_transport *t,
	    const char *command_line, struct rk_err *err) RK_MUST_CHECK;

#endif
