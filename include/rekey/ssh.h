/* The ssh transport: libssh2 sessions with strict host-key checking, SFTP uploads and exec. */
#ifndef REKEY_SSH_H
#define REKEY_SSH_H

#include "rekey/err.h"
#include "rekey/model.h"
#include "rekey/transport.h"

/*
 * libssh2_init(): once per process, before any transport is made and before worker threads
 * start (libssh2 documents it as not thread-safe). rk_ssh_global_cleanup() after the last
 * transport is freed.
 */
int	rk_ssh_global_init(struct rk_err *err) RK_MUST_CHECK;
void	rk_ssh_global_cleanup(void);

/*
 * A transport for host (borrowed, with host->jump: both must outlive the transport). Nothing
 * is sent before connect (or the first operation, which connects). One SSH session per host,
 * reused for every step; a jump host gets its own session, private to this transport, and the
 * target's session runs over a direct-tcpip channel through it (a socketpair and a pump
 * thread). The host key is checked against host->known_hosts (default ~/.ssh/known_hosts)
 * before any authentication: unknown or changed fails with RK_E_HOSTKEY and the key's
 * SHA256 fingerprint as OpenSSH prints it. A lost connection is opened again by the next
 * step (the cleanup of the failed one included). Remote commands run with LC_ALL=C through
 * the login's shell, which must be a POSIX shell; file steps use GNU coreutils on the host
 * (Linux). Each command has host->timeout for the whole of it, and runs under timeout(1)
 * where the host has it (asked once per session), so an overrun is stopped on the host, not
 * only abandoned here; without it the session is dropped at the deadline and a warning
 * logged. A stat that hashes refuses a file over its cap before sha256sum reads it.
 * A transport is used by one thread at a time; different transports may run in parallel.
 * *out is freed with rk_transport_free().
 */
int	rk_ssh_transport_new(struct rk_transport **out, const struct rk_host *host,
	    struct rk_err *err) RK_MUST_CHECK;

/*
 * How a replace on host swaps the new file in, for the plan: `mv -f -T` in the one command
 * that installs the host's files of a step group, which is rename(2) on the host, never
 * "delete, then rename". A constant string.
 */
const char *rk_ssh_rename_method(const struct rk_host *host);

#endif
