/* X.509 certificates: issue (server, client, CA), load, inspect, check and verify. */
#ifndef REKEY_CERT_H
#define REKEY_CERT_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "rekey/bytes.h"
#include "rekey/err.h"
#include "rekey/key.h"
#include "rekey/model.h"

struct rk_cert;
struct rk_crl;

/* "AB:CD:...": 32 bytes as 95 characters and a NUL, as `openssl x509 -fingerprint -sha256`. */
#define RK_FINGERPRINT_LEN	96
/* Seconds notBefore is set in the past, so a host whose clock is a little behind accepts it. */
#define RK_CLOCK_SKEW		300

struct rk_cert_spec {
	enum rk_profile		 profile;
	const struct rk_dn	*subject;
	char *const		*san;		/* "DNS:x" / "IP:y", as the model holds them */
	size_t			 nsan;
	int			 days;
	/* For a CA: pathLenConstraint 0, it signs leaves and no other CA (an issuing
	 * intermediate); false: no limit. */
	bool			 issuing_only;
};

/*
 * Issues a certificate for key, signed by issuer_key. issuer NULL means self-signed, which
 * only profile RK_PROFILE_CA may be. The serial is 128 random bits made positive, the
 * signature SHA-256 (SHA-384 for a P-384 issuer, none for Ed25519), notBefore RK_CLOCK_SKEW
 * seconds ago, with SKI, AKI, basicConstraints and keyUsage as RFC 5280 wants them.
 */
int	rk_cert_issue(struct rk_cert **out, const struct rk_cert_spec *spec,
	    const struct rk_key *key, const struct rk_cert *issuer, const struct rk_key *issuer_key,
	    struct rk_err *err) RK_MUST_CHECK;

/* Loads the first certificate of PEM or DER data. */
int	rk_cert_load(struct rk_cert **out, struct rk_bytes data, const char *label,
	    struct rk_err *err) RK_MUST_CHECK;
int	rk_cert_load_file(struct rk_cert **out, const char *path, struct rk_err *err)
	    RK_MUST_CHECK;
/* Loads every certificate of a PEM bundle (at least one); *out is an array of n. */
int	rk_cert_load_bundle(struct rk_cert ***out, size_t *n, struct rk_bytes data,
	    const char *label, struct rk_err *err) RK_MUST_CHECK;
int	rk_cert_load_bundle_file(struct rk_cert ***out, size_t *n, const char *path,
	    struct rk_err *err) RK_MUST_CHECK;
void	rk_cert_bundle_free(struct rk_cert **certs, size_t n);
/* Appends the PEM form to out. */
int	rk_cert_to_pem(struct rk_buf *out, const struct rk_cert *cert, struct rk_err *err)
	    RK_MUST_CHECK;
/* Adds the certificate (PEM, mode 0644) to set as a new file at path, as rk_key_stage_file. */
int	rk_cert_stage_file(struct rk_fileset *set, const char *path, const struct rk_cert *cert,
	    struct rk_err *err) RK_MUST_CHECK;
/*
 * The same for n certificates in one PEM file, in the order given: a leaf then the
 * intermediates a server sends with it, or a chain of CAs.
 */
int	rk_cert_stage_bundle_file(struct rk_fileset *set, const char *path,
	    const struct rk_cert *const *certs, size_t n, struct rk_err *err) RK_MUST_CHECK;
/* The same for one file alone: staged, then committed. */
int	rk_cert_write_file(const char *path, const struct rk_cert *cert, struct rk_err *err)
	    RK_MUST_CHECK;

void	rk_cert_fingerprint(char out[RK_FINGERPRINT_LEN], const struct rk_cert *cert);
/* The same hash of the certificate's public key as rk_key_spki_sha256 gives for its key. */
int	rk_cert_spki_sha256(char out[RK_SHA256_HEX], const struct rk_cert *cert,
	    struct rk_err *err) RK_MUST_CHECK;
/* The serial as upper-case colon-separated hex bytes, as the playbook writes it. */
int	rk_cert_serial(char *buf, size_t size, const struct rk_cert *cert);
/* Names in OpenSSL's one-line form, "/O=Example/CN=db1" (RFC 2253 order reversed). */
int	rk_cert_subject(char *buf, size_t size, const struct rk_cert *cert);
int	rk_cert_issuer(char *buf, size_t size, const struct rk_cert *cert);
/* The CN of the subject, or "" when it has none. */
int	rk_cert_common_name(char *buf, size_t size, const struct rk_cert *cert);
/* SANs as "DNS:x" / "IP:y" strings, malloc'ed; free with rk_cert_sans_free. */
int	rk_cert_sans(char ***out, size_t *n, const struct rk_cert *cert, struct rk_err *err)
	    RK_MUST_CHECK;
void	rk_cert_sans_free(char **sans, size_t n);
time_t	rk_cert_not_before(const struct rk_cert *cert);
time_t	rk_cert_not_after(const struct rk_cert *cert);
/* Whole days from now until notAfter; negative once expired. */
long	rk_cert_days_left(const struct rk_cert *cert, time_t now);
/* The same for any end time: floor((end - now) / 86400), so one second late is -1. */
long	rk_days_left_until(time_t end, time_t now);
/* Whether basicConstraints says CA:TRUE (keyUsage aside). */
bool	rk_cert_is_ca(const struct rk_cert *cert);
/* basicConstraints pathLenConstraint: how many CAs may follow it down a chain; -1: no limit. */
long	rk_cert_path_len(const struct rk_cert *cert);
/* Whether a and b are the same certificate (the same DER). */
bool	rk_cert_same(const struct rk_cert *a, const struct rk_cert *b);
/* Whether the certificate is self-signed: its subject is its issuer and its key verifies it. */
bool	rk_cert_is_self_signed(const struct rk_cert *cert);
/*
 * Whether cert's issuer name is ca's subject, compared as OpenSSL compares names, whoever
 * signed it (rk_cert_is_issued_by in ca.h checks the key too). With ca == cert: whether
 * the certificate is self-issued (RFC 5280, 6.1).
 */
bool	rk_cert_names_as_issuer(const struct rk_cert *cert, const struct rk_cert *ca);
/*
 * "ca", "server" (EKU serverAuth) or "client" (EKU clientAuth without serverAuth), as rekey's
 * profiles; NULL for a certificate with no EKU. *client_auth: whether it may be used to log
 * in as a client (clientAuth, or no EKU at all, which allows any use).
 */
const char *rk_cert_profile(const struct rk_cert *cert, bool *client_auth);
/* Whether keyUsage allows signing certificates (absent keyUsage allows everything). */
bool	rk_cert_can_sign_certificates(const struct rk_cert *cert);
/* The public key's description, as rk_key_describe. */
int	rk_cert_describe_key(char *buf, size_t size, const struct rk_cert *cert);
/* The public key's algorithm: "RSA", "EC", "Ed25519", "Ed448". */
int	rk_cert_key_type(char *buf, size_t size, const struct rk_cert *cert);
/* The public key's size in bits (3072, 256, 384; 256 for Ed25519); 0 when unknown. */
int	rk_cert_key_size(const struct rk_cert *cert);

/* RK_E_USAGE with a message naming both files when key is not cert's private key. */
int	rk_cert_check_key(const struct rk_cert *cert, const struct rk_key *key, struct rk_err *err)
	    RK_MUST_CHECK;
/* Checks a host name or an IP address against the SANs, as a verify-full client does. */
int	rk_cert_check_name(const struct rk_cert *cert, const char *name, struct rk_err *err)
	    RK_MUST_CHECK;
/*
 * Verifies cert up to one of the trusted certificates, checking the CRL of every issuer
 * when crl is given (a missing CRL for an issuer then fails), at time at (0: now).
 * The message is OpenSSL's reason, e.g. "certificate revoked".
 */
int	rk_cert_verify(const struct rk_cert *cert, struct rk_cert *const *trusted, size_t ntrusted,
	    const struct rk_crl *crl, time_t at, struct rk_err *err) RK_MUST_CHECK;

void	rk_cert_free(struct rk_cert *cert);

#endif
