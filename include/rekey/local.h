/* The local transport: the machine rekey runs on, with the same contract as ssh (transport.h). */
#ifndef REKEY_LOCAL_H
#define REKEY_LOCAL_H

#include "rekey/err.h"
#include "rekey/model.h"
#include "rekey/transport.h"

/*
 * A transport for host (borrowed: it must outlive the transport). Files are changed with
 * system calls: open O_EXCL with the final mode's owner bits, write, fchown, fchmod, fsync,
 * rename(2), fsync of the folder. When rekey is root, ownership is set with fchown directly and
 * sudo is never used. When it is not root and host->sudo is set, the privileged parts run as
 * `sudo -n` commands (the same steps as the ssh backend: a private 0600 copy, `install`,
 * `mv -f -T`). Commands run through posix_spawn with LC_ALL=C in a process group of their
 * own, under timeout(1) when this machine has it (inside sudo, so it may stop root's
 * processes); at host->timeout the command and everything it started are stopped.
 * *out is freed with rk_transport_free().
 */
int	rk_local_transport_new(struct rk_transport **out, const struct rk_host *host,
	    struct rk_err *err) RK_MUST_CHECK;

/* How a replace on host swaps the new file in, for the plan: "rename(2)" or the sudo command.
 * A constant string. */
const char *rk_local_rename_method(const struct rk_host *host);

#endif
