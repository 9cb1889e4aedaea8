/* The TLS probe: what a server presents, seen from outside, after its own STARTTLS dance. */
#ifndef REKEY_PROBE_H
#define REKEY_PROBE_H

#include <stdbool.h>
#include <time.h>

#include "rekey/err.h"
#include "rekey/model.h"

enum rk_probe_protocol {
	RK_PROBE_POSTGRESQL,	/* SSLRequest, then TLS (as openssl s_client -starttls postgres) */
	RK_PROBE_MYSQL,		/* the server's handshake, an SSL request, then TLS */
	RK_PROBE_TLS,		/* TLS from the first byte */
};

struct rk_probe_request {
	enum rk_probe_protocol	 protocol;
	const char		*address;	/* host name or IP to connect to */
	int			 port;
	const char		*name;		/* checked against the certificate; NULL: address */
	const char		*ca_file;	/* trust bundle; NULL: the chain is not judged */
	const char		*crl_file;	/* CRL checked for every certificate; may be NULL */
	/* Seconds for the whole exchange: connect, the protocol's upgrade and the handshake
	 * share one deadline, so a server that answers a byte at a time cannot stretch it.
	 * 0: 10 s. */
	int			 timeout;
	/* Versions offered, 0 for OpenSSL's defaults: e.g. max TLS1_1_VERSION to prove that
	 * the server refuses anything older than it should accept. */
	int			 min_version;
	int			 max_version;
};

struct rk_probe_result {
	char	protocol[16];		/* "TLSv1.3", as s_client's "Protocol :" */
	char	cipher[64];		/* as s_client's "Cipher :" */
	char	fingerprint[96];	/* SHA-256 of the leaf, "AB:CD:...", as openssl x509 */
	char	subject[256];		/* "/O=x/CN=y" */
	char	issuer[256];
	char	sans[512];		/* "DNS:x, IP:y" */
	char	serial[64];
	time_t	not_after;
	int	chain_length;		/* certificates the server sent */
	bool	chain_ok;		/* verifies up to ca_file (with the CRL when given) */
	char	chain_error[160];	/* OpenSSL's reason when not, e.g. "certificate revoked" */
	bool	name_ok;		/* the leaf carries name (host name or IP SAN) */
	/* The leaf itself (DER), for whoever wants every fact of it; len 0 when it is larger
	 * than the buffer, which no certificate of a sane server is. */
	unsigned char	leaf_der[16384];
	size_t		leaf_der_len;
};

/*
 * Connects, performs the protocol's TLS upgrade and the handshake, and reports what the
 * server presented. The handshake is completed whatever the verdict on the chain, so a
 * wrong chain is reported with its facts (chain_ok false and chain_error) rather than as a
 * failure. Fails (RK_E_REMOTE) when the server cannot be reached, does not speak TLS,
 * refuses the handshake, or has not finished by req->timeout; the message says which
 * ("TLS handshake: no answer within 5 s").
 */
int	rk_probe(struct rk_probe_result *out, const struct rk_probe_request *req,
	    struct rk_err *err) RK_MUST_CHECK;

/*
 * Offers only versions older than min (e.g. TLS1_2_VERSION) and sets *refused when the
 * server rejects the handshake (an alert or a close: a server that goes silent until the
 * deadline has proven nothing, and that is an error). One exchange, one deadline, as
 * rk_probe. Fails when the refusal cannot be told from a local inability to offer those
 * versions.
 */
int	rk_probe_refuses_older_than(bool *refused, const struct rk_probe_request *req, int min,
	    struct rk_err *err) RK_MUST_CHECK;

/*
 * After a reload: probes until the server presents the certificate with fingerprint want
 * ("AB:CD:..."), waiting 50 ms and doubling up to 1 s between tries, for at most timeout_ms
 * (each try within req->timeout and within what is left of timeout_ms).
 * A reload is asynchronous, and PostgreSQL answers pg_reload_conf() with true even when it
 * keeps the old certificate (a key with the wrong mode or owner, or one that does not match):
 * only what is served tells. On timeout fails with RK_E_REMOTE naming what is still served;
 * *out (may be NULL) holds the last result.
 */
int	rk_probe_wait_for_fingerprint(struct rk_probe_result *out,
	    const struct rk_probe_request *req, const char *want, int timeout_ms,
	    struct rk_err *err) RK_MUST_CHECK;

/* The OpenSSL version constant for a playbook's min_tls. */
int	rk_probe_version_of(enum rk_tls_version v);

#endif
