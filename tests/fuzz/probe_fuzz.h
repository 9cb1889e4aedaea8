/*
 * What the probe's fuzz target and its seed capture share: the request, field for field, so
 * the ClientHello the capture sent to a real server is the one the target sends to the
 * reply it recorded (with fixed_rand.h, byte for byte).
 */
#ifndef REKEY_FUZZ_PROBE_FUZZ_H
#define REKEY_FUZZ_PROBE_FUZZ_H

#include <string.h>

#include "rekey/probe.h"

/* The first input byte: the protocol, whether a CA file is given, whether the server side
 * is closed (not only shut for writing) once the reply is in. */
#define PROBE_FUZZ_MODES	12

static inline void
probe_fuzz_request(struct rk_probe_request *req, enum rk_probe_protocol protocol,
    const char *address, int port, const char *ca_file)
{
	memset(req, 0, sizeof(*req));
	req->protocol = protocol;
	req->address = address;
	req->port = port;
	req->name = "localhost";	/* SNI: part of the ClientHello */
	req->ca_file = ca_file;		/* not: loading a CA changes nothing that is sent */
	req->timeout = 5;
}

#endif
