/*
 * libFuzzer target for the TLS probe's handling of what a server sends (probe.h): the input
 * after its first byte is the server's whole reply, written into one end of a socketpair
 * (what fits its buffer) and shut for writing, so every read ends at EOF and no thread is
 * needed; rk_probe_on_fd() (probe_int.h) probes the other end. The first byte chooses the
 * mode (PROBE_FUZZ_MODES): its value % 3 the protocol (PostgreSQL SSLRequest, MySQL greeting
 * and SSL request, plain TLS), / 3 % 2 whether a CA file is given, / 6 % 2 whether the server
 * end is closed outright once the reply is in, so the probe's own writes (the SSLRequest,
 * the rest of the handshake, close_notify) meet a reader that has gone.
 *
 * OpenSSL draws from a fixed random source (fixed_rand.h): the ClientHello is the same in
 * every run, and a reply recorded from a real server (probe_capture.c) completes the
 * handshake when played back. Beyond crashes, leaks and sanitizer reports, it aborts when a
 * result breaks the contract:
 *   - a failure that is not RK_E_REMOTE, has no message, is not one line, or does not say
 *     which server ("fuzz:1: ...");
 *   - an exchange that took more than PROBE_FUZZ_SLOW_MS: with the reply all there and EOF
 *     after it, the probe must never wait for its timeout;
 *   - a success without a protocol and cipher, with a fingerprint that is not 32 upper-case
 *     hex pairs or not the SHA-256 of the leaf it returns, a serial not in hex pairs, no
 *     certificate in the chain, a chain judged without a CA file, or not ok without a reason.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "fixed_rand.h"
#include "fuzz_file.h"
#include "probe_fuzz.h"
#include "probe_int.h"
#include "rekey/clock.h"

/* The timeout is 5 s; an exchange that ends at EOF takes milliseconds, even under ASan. */
#define PROBE_FUZZ_SLOW_MS	2500

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A CA that signed none of the replies: with it, every chain is judged and found wanting. */
static const char ca_pem[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBPjCB5AIUU9P5RUTjsriODHqZk40VpE91geMwCgYIKoZIzj0EAwIwKTETMBEG\n"
    "A1UECgwKcmVrZXkgZnV6ejESMBAGA1UEAwwJc2VlZCByb290MB4XDTI2MTIwMjE0\n"
    "MzgxNFoXDTM2MTEyOTE0MzgxNFowGjEYMBYGA1UEAwwPZGIxLmV4YW1wbGUuY29t\n"
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEXl0S/V3ni3LXHvOuO6vhZ+j0TgOd\n"
    "e3XZz6XK+d6x+1b/stdIWYVCY3XoJXQUWDt5qGiETEJ9IZ0m/QsR1BVXSzAKBggq\n"
    "hkjOPQQDAgNJADBGAiEAsqVrUlLHvgJb8dLsJ03EZRI17Iz+15iIMR536ND20tMC\n"
    "IQCYJcocBqi3Q804V49gOADVoRu6qVlzWdpGsPLk8tpoPQ==\n"
    "-----END CERTIFICATE-----\n";

static void
contract_broken(const char *what)
{
	fprintf(stderr, "fuzz_probe: contract broken: %s\n", what);
	abort();		/* libFuzzer keeps the input */
}

/* Once: the fixed random source, before OpenSSL draws anything, and the CA file. */
static void
set_up(void)
{
	if (fuzz_dir[0] != '\0')
		return;
	rk_fuzz_fixed_rand_install();
	(void)fuzz_file_path("fuzz_probe", "ca.pem");
	fuzz_file_write("fuzz_probe", ca_pem, strlen(ca_pem), NULL, 0);
}

static bool
is_terminated(const char *s, size_t size)
{
	return memchr(s, '\0', size) != NULL;
}

static void
check_success(const struct rk_probe_result *res, bool with_ca)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;
	char hex[96];

	if (!is_terminated(res->protocol, sizeof(res->protocol)) || res->protocol[0] == '\0' ||
	    !is_terminated(res->cipher, sizeof(res->cipher)) || res->cipher[0] == '\0')
		contract_broken("a handshake without a protocol or cipher");
	if (!is_terminated(res->fingerprint, sizeof(res->fingerprint)) ||
	    !fuzz_is_hex_pairs(res->fingerprint, 32))
		contract_broken("a fingerprint that is not 32 hex pairs");
	if (!is_terminated(res->serial, sizeof(res->serial)) || !fuzz_is_hex_pairs(res->serial, 0))
		contract_broken("a serial that is not hex pairs");
	if (!is_terminated(res->subject, sizeof(res->subject)) ||
	    !is_terminated(res->issuer, sizeof(res->issuer)) ||
	    !is_terminated(res->sans, sizeof(res->sans)) ||
	    !is_terminated(res->chain_error, sizeof(res->chain_error)))
		contract_broken("a field without its NUL");
	if (res->chain_length < 1)
		contract_broken("a leaf but no certificate in the chain");
	if (!with_ca && (res->chain_ok || res->chain_error[0] != '\0'))
		contract_broken("a chain judged without a CA file");
	if (with_ca && !res->chain_ok && res->chain_error[0] == '\0')
		contract_broken("a chain found wanting without a reason");
	if (res->leaf_der_len > sizeof(res->leaf_der))
		contract_broken("a leaf longer than its buffer");
	if (res->leaf_der_len > 0) {
		if (EVP_Digest(res->leaf_der, res->leaf_der_len, md, &mdlen, EVP_sha256(), NULL) != 1
		    || mdlen != 32)
			contract_broken("the leaf cannot be hashed");
		for (i = 0; i < 32; i++)
			snprintf(hex + 3 * i, sizeof(hex) - 3 * i, "%02X%s", md[i],
			    i + 1 < 32 ? ":" : "");
		if (strcmp(hex, res->fingerprint) != 0)
			contract_broken("a fingerprint that is not the leaf's");
	}
}

static void
check_failure(int r, const struct rk_err *err)
{
	if (r != RK_E_REMOTE || err->code != RK_E_REMOTE) {
		fprintf(stderr, "fuzz_probe: %s: %s\n", rk_code_name(err->code), err->msg);
		contract_broken("a failure on what a server sent that is not RK_E_REMOTE");
	}
	if (!is_terminated(err->msg, sizeof(err->msg)) || strncmp(err->msg, "fuzz:1: ", 8) != 0 ||
	    err->msg[8] == '\0')
		contract_broken("a failure without a message naming the server");
	if (strpbrk(err->msg, "\r\n") != NULL) {
		fprintf(stderr, "fuzz_probe: %s\n", err->msg);
		contract_broken("a message of more than one line");
	}
}

/* Writes what the socket takes of data into fd (non-blocking), then no more. */
static void
play_server(int fd, const uint8_t *data, size_t size, bool close_all)
{
	size_t put = 0;
	ssize_t n;

	if (fcntl(fd, F_SETFL, O_NONBLOCK) == -1) {
		perror("fuzz_probe: fcntl");
		exit(1);
	}
	while (put < size && (n = send(fd, data + put, size - put, MSG_NOSIGNAL)) > 0)
		put += (size_t)n;
	if (shutdown(fd, close_all ? SHUT_RDWR : SHUT_WR) == -1) {
		perror("fuzz_probe: shutdown");
		exit(1);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rk_probe_request req;
	struct rk_probe_result res;
	struct rk_err err = { 0 };
	unsigned mode;
	long long began, took;
	bool with_ca, close_all;
	int fds[2], r;

	if (size < 1)
		return 0;
	set_up();
	mode = data[0] % PROBE_FUZZ_MODES;
	with_ca = mode / 3 % 2 == 1;
	close_all = mode / 6 % 2 == 1;
	probe_fuzz_request(&req, (enum rk_probe_protocol)(mode % 3), "fuzz", 1,
	    with_ca ? fuzz_path : NULL);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == -1) {
		perror("fuzz_probe: socketpair");
		exit(1);
	}
	play_server(fds[1], data + 1, size - 1, close_all);
	began = rk_clock_ms();
	r = rk_probe_on_fd(&res, &req, fds[0], &err);	/* closes fds[0] */
	took = rk_clock_ms() - began;
	close(fds[1]);
	if (took > PROBE_FUZZ_SLOW_MS) {
		fprintf(stderr, "fuzz_probe: %lld ms: %s\n", took, r != 0 ? err.msg : "ok");
		contract_broken("a probe that waited although the reply had ended");
	}
	/* FUZZ_PROBE_SHOW=1: what each input did, to see that a seed still completes. */
	if (getenv("FUZZ_PROBE_SHOW") != NULL)
		fprintf(stderr, "fuzz_probe: mode %u: %s %s %s chain_ok %d %s\n", mode,
		    r == 0 ? res.protocol : "failed:", r == 0 ? res.fingerprint : err.msg,
		    r == 0 ? res.subject : "", r == 0 ? res.chain_ok : 0,
		    r == 0 ? res.chain_error : "");
	if (r == 0)
		check_success(&res, with_ca);
	else
		check_failure(r, &err);
	return 0;
}
