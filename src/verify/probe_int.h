/*
 * Private to the probe and its tests: the probe's exchange on a descriptor that is connected
 * already, so a test (tests/fuzz/fuzz_probe.c) can play the server from a socketpair without
 * a listener, a thread or a port. Not in include/rekey/probe.h: rekey itself always connects.
 */
#ifndef REKEY_PROBE_INT_H
#define REKEY_PROBE_INT_H

#include "rekey/probe.h"

/*
 * rk_probe on fd, a stream socket already connected to the server: req->address and
 * req->port only name it in messages (req->name, when NULL, stands in for the certificate's
 * name as in rk_probe). fd is made non-blocking and is closed before the call returns,
 * whatever happened; the exchange has req->timeout, as rk_probe's.
 */
int	rk_probe_on_fd(struct rk_probe_result *out, const struct rk_probe_request *req, int fd,
	    struct rk_err *err) RK_MUST_CHECK;

#endif
