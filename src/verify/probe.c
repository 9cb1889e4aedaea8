/*
 * The TLS probe. It sees a server as any client does: a TCP connection, the database's own
 * request to switch to TLS (PostgreSQL's SSLRequest, MySQL's SSL request inside its
 * handshake), then a TLS handshake. The chain is judged after the handshake, not during, so
 * a certificate that fails verification is still reported with its facts.
 */
#include "rekey/probe.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "probe_int.h"
#include "rekey/strutil.h"
#include "rekey/clock.h"

/* A MySQL server greeting is a few hundred bytes; anything near this cap is not one. */
#define MYSQL_GREETING_MAX	4096

/* Client capability flags of the MySQL protocol (include/mysql_com.h). */
#define MYSQL_CLIENT_LONG_PASSWORD	0x00000001u
#define MYSQL_CLIENT_PROTOCOL_41	0x00000200u
#define MYSQL_CLIENT_SSL		0x00000800u
#define MYSQL_CLIENT_SECURE_CONNECTION	0x00008000u

/* PostgreSQL's SSLRequest code: 1234 in the high 16 bits, 5679 in the low (protocol.sgml). */
#define PG_SSL_REQUEST_CODE		80877103u

/* Seconds for one exchange when the request gives none. */
#define PROBE_DEFAULT_TIMEOUT		10

struct probe {
	const struct rk_probe_request	*req;
	const char			*name;
	int				 fd;
	SSL_CTX				*ctx;
	SSL				*ssl;
	/* One deadline for the whole exchange (connect, the protocol's upgrade, the handshake),
	 * on CLOCK_MONOTONIC in ms: a per-read timeout alone lets a server that sends one byte
	 * a second keep the probe busy for hours. */
	long long			 deadline;
	long long			 allowed_ms;	/* what it gave, for messages */
	bool				 handshake_failed;	/* TLS said no: no timeout */
};

/* "5 s", or "1.5 s" when a shorter wait cut the timeout: to a tenth, since the ms that
 * passed between taking the deadline and starting the probe are not the news. */
static void
format_seconds(char *out, size_t size, long long ms)
{
	ms = (ms + 50) / 100 * 100;
	if (ms % 1000 == 0)
		snprintf(out, size, "%lld s", ms / 1000);
	else
		snprintf(out, size, "%.1f s", (double)ms / 1000.0);
}

static int
fail_timed_out(const struct probe *p, const char *what, struct rk_err *err)
{
	char allowed[32];

	format_seconds(allowed, sizeof(allowed), p->allowed_ms);
	return rk_fail(err, RK_E_REMOTE, "%s: no answer within %s", what, allowed);
}

/* Waits until fd is ready for events, at most until the exchange's deadline. */
static int
wait_ready(const struct probe *p, int fd, short events, const char *what, struct rk_err *err)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	long long left;
	int n;

	for (;;) {
		if ((left = p->deadline - rk_clock_ms()) <= 0)
			return fail_timed_out(p, what, err);
		if ((n = poll(&pfd, 1, left > INT_MAX ? INT_MAX : (int)left)) > 0)
			return 0;
		if (n == -1 && errno != EINTR)
			return rk_fail(err, RK_E_REMOTE, "%s: poll: %s", what, strerror(errno));
	}
}

/*
 * A non-blocking connect that must finish by the deadline; the socket stays non-blocking.
 * 0 and *out on success, 1 with *why when this address refused (try the next), or the
 * deadline's error.
 */
static int
connect_one(int *out, const struct addrinfo *ai, const struct probe *p, int *why,
    struct rk_err *err)
{
	socklen_t len = sizeof(*why);
	int fd, r;

	*out = -1;
	if ((fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    ai->ai_protocol)) == -1) {
		*why = errno;
		return 1;
	}
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == -1) {
		if (errno != EINPROGRESS) {
			*why = errno;
			close(fd);
			return 1;
		}
		if ((r = wait_ready(p, fd, POLLOUT, "connect", err)) != 0) {
			close(fd);
			return r;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, why, &len) == -1 || *why != 0) {
			if (*why == 0)
				*why = errno;
			close(fd);
			return 1;
		}
	}
	*out = fd;
	return 0;
}

static int
connect_tcp(struct probe *p, struct rk_err *err)
{
	struct addrinfo hints, *res = NULL, *ai;
	char port[16];
	int rc, r = 1, why = ECONNREFUSED;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	snprintf(port, sizeof(port), "%d", p->req->port);
	if ((rc = getaddrinfo(p->req->address, port, &hints, &res)) != 0)
		return rk_fail(err, RK_E_REMOTE, "%s: %s", p->req->address, gai_strerror(rc));
	/* The next address is tried after a refusal, never after the deadline has passed. */
	for (ai = res; ai != NULL && r == 1; ai = ai->ai_next)
		r = connect_one(&p->fd, ai, p, &why, err);
	freeaddrinfo(res);
	if (r == 1)
		return rk_fail(err, RK_E_REMOTE, "connect: %s", strerror(why));
	return r;
}

static int
read_exact(struct probe *p, unsigned char *buf, size_t n, const char *what, struct rk_err *err)
{
	size_t got = 0;
	ssize_t r;
	int rc;

	while (got < n) {
		if ((r = read(p->fd, buf + got, n - got)) > 0) {
			got += (size_t)r;
			continue;
		}
		if (r == 0)
			return rk_fail(err, RK_E_REMOTE, "%s: the server closed the connection",
			    what);
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return rk_fail(err, RK_E_REMOTE, "%s: read: %s", what, strerror(errno));
		if ((rc = wait_ready(p, p->fd, POLLIN, what, err)) != 0)
			return rc;
	}
	return 0;
}

static int
write_exact(struct probe *p, const unsigned char *buf, size_t n, const char *what,
    struct rk_err *err)
{
	size_t put = 0;
	ssize_t r;
	int rc;

	while (put < n) {
		if ((r = send(p->fd, buf + put, n - put, MSG_NOSIGNAL)) >= 0) {
			put += (size_t)r;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return rk_fail(err, RK_E_REMOTE, "%s: write: %s", what, strerror(errno));
		if ((rc = wait_ready(p, p->fd, POLLOUT, what, err)) != 0)
			return rc;
	}
	return 0;
}

static int
postgres_ssl_request(struct probe *p, struct rk_err *err)
{
	unsigned char req[8] = { 0, 0, 0, 8,
	    PG_SSL_REQUEST_CODE >> 24, (PG_SSL_REQUEST_CODE >> 16) & 0xff,
	    (PG_SSL_REQUEST_CODE >> 8) & 0xff, PG_SSL_REQUEST_CODE & 0xff };
	unsigned char answer;
	int r;

	if ((r = write_exact(p, req, sizeof(req), "SSLRequest", err)) != 0 ||
	    (r = read_exact(p, &answer, 1, "SSLRequest", err)) != 0)
		return r;
	if (answer == 'N')
		return rk_fail(err, RK_E_REMOTE, "the server does not offer TLS (it answered N to "
		    "the SSLRequest: ssl = off?)");
	if (answer != 'S')
		return rk_fail(err, RK_E_REMOTE, "not a PostgreSQL server (answer 0x%02x to the "
		    "SSLRequest)", answer);
	return 0;
}

static void
put_le(unsigned char *p, uint32_t v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

/*
 * The text of a MySQL error packet, escaped: it is the server's, and a message is one line
 * that must not drive the terminal of whoever reads it (err.h). Found by fuzz_probe.
 */
static int
fail_refused(const unsigned char *text, size_t len, struct rk_err *err)
{
	char *raw = rk_bytes_to_str(text, len), *esc = raw != NULL ? rk_text_escape(raw) : NULL;
	int r;

	if (esc == NULL)
		r = rk_fail_nomem(err);
	else
		r = rk_fail(err, RK_E_REMOTE, "the server refused the connection: %s", esc);
	free(esc);
	free(raw);
	return r;
}

/* Reads the greeting (protocol 10), checks CLIENT_SSL, and sends the 32-byte SSL request. */
static int
mysql_ssl_request(struct probe *p, struct rk_err *err)
{
	unsigned char hdr[4], payload[MYSQL_GREETING_MAX], req[4 + 32];
	size_t len, pos;
	uint32_t caps;
	int r;

	if ((r = read_exact(p, hdr, sizeof(hdr), "MySQL greeting", err)) != 0)
		return r;
	len = (size_t)hdr[0] | (size_t)hdr[1] << 8 | (size_t)hdr[2] << 16;
	if (len < 1 || len > sizeof(payload))
		return rk_fail(err, RK_E_REMOTE, "not a MySQL server (greeting of %zu bytes)", len);
	if ((r = read_exact(p, payload, len, "MySQL greeting", err)) != 0)
		return r;
	if (payload[0] == 0xff)		/* an error packet: code (2), then "#" state (6) */
		return fail_refused(payload + (len > 9 ? 9 : len), len > 9 ? len - 9 : 0, err);
	if (payload[0] != 10)
		return rk_fail(err, RK_E_REMOTE, "not a MySQL server (protocol %u)", payload[0]);
	pos = 1;
	while (pos < len && payload[pos] != '\0')
		pos++;				/* server version */
	pos += 1 + 4 + 8 + 1;			/* NUL, thread id, auth data part 1, filler */
	if (pos + 2 > len)
		return rk_fail(err, RK_E_REMOTE, "not a MySQL server (short greeting)");
	caps = (uint32_t)payload[pos] | (uint32_t)payload[pos + 1] << 8;
	if (pos + 7 <= len)			/* charset (1), status (2), upper flags (2) */
		caps |= ((uint32_t)payload[pos + 5] | (uint32_t)payload[pos + 6] << 8) << 16;
	if ((caps & MYSQL_CLIENT_SSL) == 0)
		return rk_fail(err, RK_E_REMOTE, "the server does not offer TLS (no CLIENT_SSL: "
		    "no ssl-cert/ssl-key configured?)");
	memset(req, 0, sizeof(req));
	put_le(req, 32, 3);
	req[3] = 1;				/* sequence number */
	put_le(req + 4, MYSQL_CLIENT_SSL | MYSQL_CLIENT_PROTOCOL_41 |
	    MYSQL_CLIENT_SECURE_CONNECTION | MYSQL_CLIENT_LONG_PASSWORD, 4);
	put_le(req + 8, 16 * 1024 * 1024, 4);	/* max packet */
	req[12] = 33;				/* utf8_general_ci */
	return write_exact(p, req, sizeof(req), "MySQL SSL request", err);
}

static bool
is_ip_address(const char *s)
{
	unsigned char buf[16];

	return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

static int
setup_tls(struct probe *p, int security_level, struct rk_err *err)
{
	const struct rk_probe_request *req = p->req;
	X509_STORE *store;
	X509_LOOKUP *lookup;

	if ((p->ctx = SSL_CTX_new(TLS_client_method())) == NULL)
		return rk_fail(err, RK_E_CRYPTO, "cannot create a TLS context");
	if (security_level >= 0)
		SSL_CTX_set_security_level(p->ctx, security_level);
	if ((req->min_version != 0 && !SSL_CTX_set_min_proto_version(p->ctx, req->min_version)) ||
	    (req->max_version != 0 && !SSL_CTX_set_max_proto_version(p->ctx, req->max_version)))
		return rk_fail(err, RK_E_INTERNAL, "cannot set the TLS versions to offer");
	/* Verification runs during the handshake but never aborts it: it is judged after. */
	SSL_CTX_set_verify(p->ctx, SSL_VERIFY_NONE, NULL);
	if (req->ca_file != NULL && SSL_CTX_load_verify_locations(p->ctx, req->ca_file, NULL) != 1) {
		ERR_clear_error();
		return rk_fail(err, RK_E_USAGE, "%s: cannot load the CA bundle", req->ca_file);
	}
	if (req->crl_file != NULL) {
		store = SSL_CTX_get_cert_store(p->ctx);
		if ((lookup = X509_STORE_add_lookup(store, X509_LOOKUP_file())) == NULL ||
		    X509_load_crl_file(lookup, req->crl_file, X509_FILETYPE_PEM) < 1) {
			ERR_clear_error();
			return rk_fail(err, RK_E_USAGE, "%s: cannot load the CRL", req->crl_file);
		}
		X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL);
	}
	if ((p->ssl = SSL_new(p->ctx)) == NULL || SSL_set_fd(p->ssl, p->fd) != 1)
		return rk_fail(err, RK_E_CRYPTO, "cannot create a TLS session");
	if (!is_ip_address(p->name))
		(void)SSL_set_tlsext_host_name(p->ssl, p->name);	/* SNI for name-based hosts */
	return 0;
}

/*
 * OpenSSL writes to the socket with write(2), so a server that has already closed raises
 * SIGPIPE, which kills a program that does not ignore it (only `rekey run` does): it is held
 * back for this thread during each TLS call, and one the call raised is taken off again,
 * since EPIPE says the same (as write_without_sigpipe in transport/local.c). Found by
 * fuzz_probe.
 */
struct sigpipe_hold {
	sigset_t	before;
	bool		was_pending;
};

static void
hold_sigpipe(struct sigpipe_hold *h)
{
	sigset_t pipe_only, pending;

	sigemptyset(&pipe_only);
	sigaddset(&pipe_only, SIGPIPE);
	sigemptyset(&pending);
	(void)sigpending(&pending);
	h->was_pending = sigismember(&pending, SIGPIPE) == 1;
	(void)pthread_sigmask(SIG_BLOCK, &pipe_only, &h->before);
}

static void
release_sigpipe(struct sigpipe_hold *h)
{
	const struct timespec now = { 0, 0 };
	sigset_t pipe_only, pending;
	int saved = errno;

	sigemptyset(&pipe_only);
	sigaddset(&pipe_only, SIGPIPE);
	sigemptyset(&pending);
	if (!h->was_pending && sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1)
		(void)sigtimedwait(&pipe_only, NULL, &now);
	(void)pthread_sigmask(SIG_SETMASK, &h->before, NULL);
	errno = saved;
}

/* The reason OpenSSL gives for a failed handshake, as one line. */
static void
handshake_reason(char *buf, size_t size, unsigned long e)
{
	const char *reason = ERR_reason_error_string(e);

	if (e == 0)
		snprintf(buf, size, "the connection was closed during the handshake");
	else
		snprintf(buf, size, "%s", reason != NULL ? reason : "unknown TLS error");
}

/*
 * The handshake on the non-blocking socket, each wait bounded by the exchange's deadline. A
 * failure that is TLS's own (an alert, a close or a reset during the handshake) sets
 * p->handshake_failed and *tls_error; running out of time does not: silence proves nothing.
 */
static int
handshake(struct probe *p, unsigned long *tls_error, struct rk_err *err)
{
	struct sigpipe_hold hold;
	char reason[160];
	int rc, r, e;

	for (;;) {
		ERR_clear_error();
		hold_sigpipe(&hold);
		rc = SSL_connect(p->ssl);
		e = rc == 1 ? SSL_ERROR_NONE : SSL_get_error(p->ssl, rc);
		release_sigpipe(&hold);
		if (rc == 1)
			return 0;
		switch (e) {
		case SSL_ERROR_WANT_READ:
			r = wait_ready(p, p->fd, POLLIN, "TLS handshake", err);
			break;
		case SSL_ERROR_WANT_WRITE:
			r = wait_ready(p, p->fd, POLLOUT, "TLS handshake", err);
			break;
		default:
			*tls_error = ERR_peek_error();
			handshake_reason(reason, sizeof(reason), *tls_error);
			ERR_clear_error();
			p->handshake_failed = true;
			return rk_fail(err, RK_E_REMOTE, "TLS handshake failed: %s", reason);
		}
		if (r != 0) {
			ERR_clear_error();
			return r;
		}
	}
}

/*
 * Connects (unless p->fd is connected already), does the protocol's upgrade, and the TLS
 * handshake, all before p->deadline.
 */
static int
open_session(struct probe *p, int security_level, unsigned long *tls_error, struct rk_err *err)
{
	int r;

	*tls_error = 0;
	if (p->fd == -1 && (r = connect_tcp(p, err)) != 0)
		return r;
	switch (p->req->protocol) {
	case RK_PROBE_POSTGRESQL:
		r = postgres_ssl_request(p, err);
		break;
	case RK_PROBE_MYSQL:
		r = mysql_ssl_request(p, err);
		break;
	case RK_PROBE_TLS:
		r = 0;
		break;
	}
	if (r != 0 || (r = setup_tls(p, security_level, err)) != 0)
		return r;
	return handshake(p, tls_error, err);
}

/* A probe of req that must be done by deadline (ms, CLOCK_MONOTONIC). */
static void
probe_init(struct probe *p, const struct rk_probe_request *req, long long deadline)
{
	memset(p, 0, sizeof(*p));
	p->req = req;
	p->name = req->name != NULL ? req->name : req->address;
	p->fd = -1;
	p->deadline = deadline;
	p->allowed_ms = deadline - rk_clock_ms();
}

/* The deadline of one exchange that starts now. */
static long long
deadline_of(const struct rk_probe_request *req)
{
	return rk_clock_ms() + (long long)(req->timeout > 0 ? req->timeout : PROBE_DEFAULT_TIMEOUT) *
	    1000;
}

static void
close_session(struct probe *p)
{
	if (p->ssl != NULL) {
		/* A courtesy after a finished handshake (the answer does not matter; on this
		 * non-blocking socket it never waits); nothing to say after a failed one. */
		if (SSL_is_init_finished(p->ssl)) {
			struct sigpipe_hold hold;

			hold_sigpipe(&hold);
			(void)SSL_shutdown(p->ssl);
			release_sigpipe(&hold);
		}
		SSL_free(p->ssl);
	}
	SSL_CTX_free(p->ctx);
	if (p->fd != -1)
		close(p->fd);
	ERR_clear_error();
}

static void
describe_sans(char *buf, size_t size, X509 *x)
{
	GENERAL_NAMES *names = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	char ip[INET6_ADDRSTRLEN];
	size_t used = 0;
	int i;

	buf[0] = '\0';
	for (i = 0; names != NULL && i < sk_GENERAL_NAME_num(names); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(names, i);
		const unsigned char *d;
		int len, n = 0;

		if (g->type == GEN_DNS) {
			d = ASN1_STRING_get0_data(g->d.dNSName);
			len = ASN1_STRING_length(g->d.dNSName);
			n = snprintf(buf + used, size - used, "%sDNS:%.*s", used > 0 ? ", " : "",
			    len, (const char *)d);
		} else if (g->type == GEN_IPADD) {
			d = ASN1_STRING_get0_data(g->d.iPAddress);
			len = ASN1_STRING_length(g->d.iPAddress);
			if ((len != 4 && len != 16) ||
			    inet_ntop(len == 4 ? AF_INET : AF_INET6, d, ip, sizeof(ip)) == NULL)
				continue;
			n = snprintf(buf + used, size - used, "%sIP:%s", used > 0 ? ", " : "", ip);
		}
		if (n < 0 || (size_t)n >= size - used)
			break;			/* a cut list is better than none */
		used += (size_t)n;
	}
	GENERAL_NAMES_free(names);
}

static void
describe_leaf(struct rk_probe_result *out, X509 *x)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;
	const ASN1_INTEGER *serial = X509_get0_serialNumber(x);
	struct tm tm;

	if (X509_digest(x, EVP_sha256(), md, &mdlen) == 1)
		for (i = 0; i < mdlen; i++)
			snprintf(out->fingerprint + 3 * i, sizeof(out->fingerprint) - 3 * i,
			    "%02X%s", md[i], i + 1 < mdlen ? ":" : "");
	for (i = 0; i < (unsigned)ASN1_STRING_length(serial) && 3 * i + 3 < sizeof(out->serial);
	    i++)
		snprintf(out->serial + 3 * i, sizeof(out->serial) - 3 * i, "%02X%s",
		    ASN1_STRING_get0_data(serial)[i],
		    i + 1 < (unsigned)ASN1_STRING_length(serial) ? ":" : "");
	X509_NAME_oneline(X509_get_subject_name(x), out->subject, sizeof(out->subject));
	X509_NAME_oneline(X509_get_issuer_name(x), out->issuer, sizeof(out->issuer));
	describe_sans(out->sans, sizeof(out->sans), x);
	if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) == 1)
		out->not_after = timegm(&tm);
	if (i2d_X509(x, NULL) <= (int)sizeof(out->leaf_der)) {
		unsigned char *p = out->leaf_der;
		int n = i2d_X509(x, &p);

		out->leaf_der_len = n > 0 ? (size_t)n : 0;
	}
}

/* rk_probe with the exchange's deadline given, on fd when it is not -1 (closed here). */
static int
probe_until(struct rk_probe_result *out, const struct rk_probe_request *req,
    long long deadline, int fd, struct rk_err *err)
{
	struct probe p;
	STACK_OF(X509) *chain;
	unsigned long tls_error;
	X509 *leaf = NULL;
	long verdict;
	int r;

	memset(out, 0, sizeof(*out));
	probe_init(&p, req, deadline);
	p.fd = fd;
	if ((r = open_session(&p, -1, &tls_error, err)) != 0)
		goto out;
	rk_strlcpy(out->protocol, SSL_get_version(p.ssl), sizeof(out->protocol));
	rk_strlcpy(out->cipher, SSL_get_cipher_name(p.ssl), sizeof(out->cipher));
	if ((leaf = SSL_get1_peer_certificate(p.ssl)) == NULL) {
		r = rk_fail(err, RK_E_REMOTE, "the server presented no certificate");
		goto out;
	}
	chain = SSL_get_peer_cert_chain(p.ssl);
	out->chain_length = chain != NULL ? sk_X509_num(chain) : 1;
	describe_leaf(out, leaf);
	if (req->ca_file != NULL) {
		verdict = SSL_get_verify_result(p.ssl);
		out->chain_ok = verdict == X509_V_OK;
		if (!out->chain_ok)
			rk_strlcpy(out->chain_error, X509_verify_cert_error_string(verdict),
			    sizeof(out->chain_error));
	}
	/* Checked apart from the chain, so a wrong name and a wrong CA are told apart. */
	out->name_ok = is_ip_address(p.name) ? X509_check_ip_asc(leaf, p.name, 0) == 1 :
	    X509_check_host(leaf, p.name, 0, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS, NULL) == 1;
 out:
	if (r != 0)
		rk_err_prefix(err, "%s:%d", req->address, req->port);
	X509_free(leaf);
	close_session(&p);
	return r;
}

int
rk_probe(struct rk_probe_result *out, const struct rk_probe_request *req, struct rk_err *err)
{
	return probe_until(out, req, deadline_of(req), -1, err);
}

int
rk_probe_on_fd(struct rk_probe_result *out, const struct rk_probe_request *req, int fd,
    struct rk_err *err)
{
	int flags;

	/* Non-blocking, as connect_one leaves its socket: every wait goes through poll(2). */
	if ((flags = fcntl(fd, F_GETFL)) == -1 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) == -1) {
		memset(out, 0, sizeof(*out));
		close(fd);
		return rk_fail(err, RK_E_INTERNAL, "probe: fcntl: %s", strerror(errno));
	}
	return probe_until(out, req, deadline_of(req), fd, err);
}

int
rk_probe_refuses_older_than(bool *refused, const struct rk_probe_request *req, int min,
    struct rk_err *err)
{
	struct rk_probe_request older = *req;
	struct rk_err why = { 0 };
	struct probe p;
	unsigned long tls_error;
	int r, reason;

	*refused = false;
	older.min_version = TLS1_VERSION;
	older.max_version = min == TLS1_3_VERSION ? TLS1_2_VERSION : TLS1_1_VERSION;
	/* Security level 0: this client must be able to offer the old versions, so that a
	 * failure can only be the server's refusal. */
	probe_init(&p, &older, deadline_of(req));
	r = open_session(&p, 0, &tls_error, &why);
	close_session(&p);
	if (r == 0)
		return 0;			/* the server accepted an old version */
	reason = ERR_GET_REASON(tls_error);
	if (tls_error != 0 && reason == SSL_R_NO_PROTOCOLS_AVAILABLE)
		return rk_fail(err, RK_E_INTERNAL, "%s:%d: this OpenSSL cannot offer TLS older "
		    "than the minimum, so a refusal cannot be proven", req->address, req->port);
	if (!p.handshake_failed) {
		*err = why;		/* not a TLS refusal: unreachable, no TLS, no answer */
		rk_err_prefix(err, "%s:%d", req->address, req->port);
		return err->code;
	}
	*refused = true;
	return 0;
}

int
rk_probe_wait_for_fingerprint(struct rk_probe_result *out, const struct rk_probe_request *req,
    const char *want, int timeout_ms, struct rk_err *err)
{
	struct rk_probe_result last;
	long long deadline = rk_clock_ms() + timeout_ms;
	int pause_ms = 50, tries = 0, r;
	struct timespec ts;

	for (;;) {
		struct rk_err once = { 0 };
		long long until = deadline_of(req);

		tries++;
		if (until > deadline)
			until = deadline;	/* one exchange a try; none outlasts the wait */
		r = probe_until(&last, req, until, -1, &once);
		if (r == 0 && strcmp(last.fingerprint, want) == 0)
			break;
		if (rk_clock_ms() + pause_ms > deadline) {
			if (r != 0)
				*err = once;	/* the server went away: that is the news */
			else
				/* The first 8 bytes tell them apart; the log quote needs room. */
				r = rk_fail(err, RK_E_REMOTE, "%s:%d still serves %.23s... after %d "
				    "tries in %d ms, not the new %.23s...: the reload did not take "
				    "the new files (PostgreSQL keeps the old ones when the key's "
				    "mode or owner is wrong or it does not match; its log says "
				    "which)", req->address, req->port, last.fingerprint, tries,
				    timeout_ms, want);
			break;
		}
		ts.tv_sec = pause_ms / 1000;
		ts.tv_nsec = (long)(pause_ms % 1000) * 1000000L;
		nanosleep(&ts, NULL);
		pause_ms = pause_ms * 2 > 1000 ? 1000 : pause_ms * 2;
	}
	if (out != NULL)
		*out = last;
	return r;
}

int
rk_probe_version_of(enum rk_tls_version v)
{
	switch (v) {
	case RK_TLS_1_2:	return TLS1_2_VERSION;
	case RK_TLS_1_3:	return TLS1_3_VERSION;
	}
	return TLS1_2_VERSION;
}
