/*
 * Seed capture for fuzz_probe: probes 127.0.0.1:PORT as the fuzz target does (the same
 * request, the fixed random source), so a loopback proxy in front of a real server records
 * the server's reply to exactly the ClientHello the target will send. Prints what the probe
 * saw. Loopback only: the address is not an argument.
 *
 * usage: probe_capture postgresql|mysql|tls PORT
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixed_rand.h"
#include "probe_fuzz.h"

int
main(int argc, char **argv)
{
	struct rk_probe_request req;
	struct rk_probe_result res;
	struct rk_err err = { 0 };
	enum rk_probe_protocol protocol;
	long port;
	char *end;

	if (argc != 3) {
		fprintf(stderr, "usage: %s postgresql|mysql|tls PORT\n", argv[0]);
		return 2;
	}
	if (strcmp(argv[1], "postgresql") == 0)
		protocol = RK_PROBE_POSTGRESQL;
	else if (strcmp(argv[1], "mysql") == 0)
		protocol = RK_PROBE_MYSQL;
	else if (strcmp(argv[1], "tls") == 0)
		protocol = RK_PROBE_TLS;
	else {
		fprintf(stderr, "%s: unknown protocol %s\n", argv[0], argv[1]);
		return 2;
	}
	port = strtol(argv[2], &end, 10);
	if (*end != '\0' || port < 1 || port > 65535) {
		fprintf(stderr, "%s: bad port %s\n", argv[0], argv[2]);
		return 2;
	}
	rk_fuzz_fixed_rand_install();
	probe_fuzz_request(&req, protocol, "127.0.0.1", (int)port, NULL);
	if (rk_probe(&res, &req, &err) != 0) {
		fprintf(stderr, "%s: %s\n", argv[0], err.msg);
		return 1;
	}
	printf("%s %s %s %s\n", res.protocol, res.cipher, res.fingerprint, res.subject);
	return 0;
}
