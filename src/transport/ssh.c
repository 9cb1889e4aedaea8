/*
 * The ssh transport on libssh2: one session per host, strict host-key checking before any
 * secret is sent, key-file or ssh-agent authentication, exec channels for the commands of the
 * command engine (filecmd.c), SFTP for reads without sudo, ProxyJump through a bastion's
 * session.
 *
 * Files go to the host on the input of the command that installs them: all of a step's files
 * and their checks in one exec channel, where SFTP would add an open, a write, an fsync and a
 * close per file, and could not chown by name, rename over a file (v3; libssh2 1.10 has no
 * posix-rename) or go through sudo anyway.
 *
 * What libssh2 1.10 (Debian 12) lacks, and what we do instead:
 *  - no rsa-sha2-256/512 (1.11.0): user authentication with an RSA key is signed ssh-rsa
 *    (SHA-1), which OpenSSH 8.8 and later refuse. We say so, with the remedy, instead of a bare
 *    "authentication failed". RSA host keys work only as ssh-rsa, which sshd 9 no longer offers
 *    by default, so the host key order puts Ed25519 and ECDSA first.
 */
#include "rekey/ssh.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <libssh2.h>
#include <libssh2_sftp.h>

#include "rekey/fsutil.h"
#include "rekey/log.h"
#include "rekey/secret.h"
#include "rekey/shellquote.h"
#include "rekey/strutil.h"
#include "rekey/clock.h"
#include "transport_int.h"

#if LIBSSH2_VERSION_NUM >= 0x010b00
#define HAVE_RSA_SHA2	1
#define RSA_HOSTKEY_ALGS	"rsa-sha2-512,rsa-sha2-256,ssh-rsa"
#else
#define RSA_HOSTKEY_ALGS	"ssh-rsa"
#endif

#define SSH_DEFAULT_TIMEOUT	30		/* seconds, when the host gives none */
#define SSH_JUMP_DEPTH_MAX	8		/* the playbook refuses loops; caps chains */
#define SSH_KEY_FILE_MAX	(100 * 1024)	/* as curl caps a key file */
#define PUMP_BUF		32768
#define COMMAND_LINE_MAX	(256 * 1024)

/* The bytes between a bastion's direct-tcpip channel and our end of a socketpair. */
struct pump {
	pthread_t	 thread;
	int		 fd;		/* the pump's end of the socketpair, non-blocking */
	int		 bastion_sock;
	LIBSSH2_SESSION	*session;	/* the bastion's: only the pump uses it meanwhile */
	LIBSSH2_CHANNEL	*channel;
	unsigned char	 to_target[PUMP_BUF];
	unsigned char	 to_bastion[PUMP_BUF];
	size_t		 tt_off, tt_len, tb_off, tb_len;
};

/* One SSH connection: socket, session, SFTP, and for a jump the bastion's connection. */
struct ssh_conn {
	const struct rk_host	*host;
	int			 sock;		/* TCP, or our end of the socketpair */
	LIBSSH2_SESSION		*session;
	LIBSSH2_SFTP		*sftp;		/* opened on first use */
	char			 user[256];
	int			 timeout;	/* seconds */
	enum tp_bound		 bound;		/* timeout(1) there? asked once */
	struct tp_cmd_host	*cmd;		/* learns the login's names from that probe */
	bool			 broken;	/* reconnect before the next step */
	struct ssh_conn		*bastion;
	LIBSSH2_CHANNEL		*tunnel;	/* on bastion->session */
	struct pump		*pump;
};

struct ssh_transport {
	struct rk_transport	 base;		/* first: the executor sees only this */
	struct tp_cmd_host	 cmd;
	struct ssh_conn		*conn;
	/* A connect failed during the current operation: its cleanup steps fail at once
	 * instead of waiting out the connect timeout again each. Cleared when it ends. */
	bool			 gave_up;
};

static struct ssh_transport *
ssh_of(struct rk_transport *t)
{
	return (struct ssh_transport *)t;
}

static int
port_of(const struct rk_host *host)
{
	return host->port > 0 ? host->port : 22;
}

/* "[addr]:port" as known_hosts and OpenSSH write it, or the bare address on port 22. */
static void
format_host_port(char *out, size_t size, const struct rk_host *host)
{
	if (port_of(host) == 22)
		snprintf(out, size, "%s", host->address);
	else
		snprintf(out, size, "[%s]:%d", host->address, port_of(host));
}

/* ------------------------------------------------------------------------------------------ */
/* libssh2 codes to messages, at the module border */

static bool
is_connection_error(int rc)
{
	switch (rc) {
	case LIBSSH2_ERROR_SOCKET_SEND:
	case LIBSSH2_ERROR_SOCKET_RECV:
	case LIBSSH2_ERROR_SOCKET_DISCONNECT:
	case LIBSSH2_ERROR_SOCKET_TIMEOUT:
	case LIBSSH2_ERROR_TIMEOUT:
	case LIBSSH2_ERROR_BAD_SOCKET:
	case LIBSSH2_ERROR_BANNER_RECV:
	case LIBSSH2_ERROR_BANNER_SEND:
	case LIBSSH2_ERROR_INVALID_MAC:
	case LIBSSH2_ERROR_DECRYPT:
	case LIBSSH2_ERROR_PROTO:
		return true;
	default:
		return false;
	}
}

static const char *
ssh_code_text(int rc)
{
	switch (rc) {
	case LIBSSH2_ERROR_SOCKET_SEND:
	case LIBSSH2_ERROR_SOCKET_RECV:
	case LIBSSH2_ERROR_SOCKET_DISCONNECT:
	case LIBSSH2_ERROR_BAD_SOCKET:
		return "connection lost";
	case LIBSSH2_ERROR_BANNER_RECV:
	case LIBSSH2_ERROR_BANNER_SEND:
		return "no SSH greeting (not an SSH server, or it dropped us: MaxStartups?)";
	case LIBSSH2_ERROR_KEX_FAILURE:
	case LIBSSH2_ERROR_KEY_EXCHANGE_FAILURE:
		return "key exchange failed (no algorithm in common)";
	case LIBSSH2_ERROR_TIMEOUT:
	case LIBSSH2_ERROR_SOCKET_TIMEOUT:
		return "timed out";
	case LIBSSH2_ERROR_ALLOC:
		return "out of memory";
	case LIBSSH2_ERROR_AUTHENTICATION_FAILED:
	case LIBSSH2_ERROR_PUBLICKEY_UNVERIFIED:
		return "authentication refused";
	case LIBSSH2_ERROR_FILE:
		return "cannot read the identity file";
	case LIBSSH2_ERROR_CHANNEL_FAILURE:
		return "the server refused a channel (MaxSessions reached?)";
	case LIBSSH2_ERROR_CHANNEL_REQUEST_DENIED:
	case LIBSSH2_ERROR_REQUEST_DENIED:
		return "the server refused the request";
	case LIBSSH2_ERROR_CHANNEL_CLOSED:
	case LIBSSH2_ERROR_CHANNEL_EOF_SENT:
		return "the channel closed";
	case LIBSSH2_ERROR_METHOD_NOT_SUPPORTED:
		return "method not supported by this libssh2";
	case LIBSSH2_ERROR_INVALID_MAC:
	case LIBSSH2_ERROR_DECRYPT:
	case LIBSSH2_ERROR_PROTO:
		return "protocol error (corrupt or hostile stream)";
	default:
		return NULL;
	}
}

/* Records what libssh2 said about rc; a connection error also marks c broken. */
static int
fail_ssh(struct ssh_conn *c, int rc, struct rk_err *err, const char *what)
{
	const char *text = ssh_code_text(rc);
	char *detail = NULL;
	int len = 0;

	if (is_connection_error(rc))
		c->broken = true;
	if (rc == LIBSSH2_ERROR_TIMEOUT || rc == LIBSSH2_ERROR_SOCKET_TIMEOUT)
		return rk_fail(err, RK_E_REMOTE, "%s: timed out after %d s", what, c->timeout);
	if (text != NULL)
		return rk_fail(err, RK_E_REMOTE, "%s: %s", what, text);
	if (c->session != NULL)
		(void)libssh2_session_last_error(c->session, &detail, &len, 0);
	return rk_fail(err, RK_E_REMOTE, "%s: libssh2 error %d%s%s", what, rc,
	    detail != NULL && len > 0 ? ": " : "", detail != NULL ? detail : "");
}

static int
fail_last(struct ssh_conn *c, struct rk_err *err, const char *what)
{
	return fail_ssh(c, libssh2_session_last_errno(c->session), err, what);
}

/* As strerror(3) words them, so a cause reads the same whichever backend met it. */
static const char *
sftp_status_text(unsigned long status)
{
	switch (status) {
	case LIBSSH2_FX_EOF:			return "unexpected end of file";
	case LIBSSH2_FX_NO_SUCH_FILE:		return "No such file or directory";
	case LIBSSH2_FX_PERMISSION_DENIED:	return "Permission denied";
	case LIBSSH2_FX_FAILURE:		return "failure (SFTP v3 gives no reason)";
	case LIBSSH2_FX_BAD_MESSAGE:		return "bad message";
	case LIBSSH2_FX_NO_CONNECTION:
	case LIBSSH2_FX_CONNECTION_LOST:	return "connection lost";
	case LIBSSH2_FX_OP_UNSUPPORTED:		return "not supported by the server";
	case LIBSSH2_FX_FILE_ALREADY_EXISTS:	return "File exists";
	case LIBSSH2_FX_WRITE_PROTECT:		return "Read-only file system";
	case LIBSSH2_FX_NO_SPACE_ON_FILESYSTEM:	return "No space left on device";
	case LIBSSH2_FX_QUOTA_EXCEEDED:		return "quota exceeded";
	case LIBSSH2_FX_NO_SUCH_PATH:		return "no such path";
	case LIBSSH2_FX_NOT_A_DIRECTORY:	return "Not a directory";
	default:				return NULL;
	}
}

/*
 * OpenSSH's sftp-server reports ENOSPC and EROFS as a bare FX_FAILURE (SFTP v3 has no code for
 * them); statvfs@openssh.com on the folder tells which it was.
 */
static const char *
explain_failure(struct ssh_conn *c, const char *dir, size_t needed)
{
	LIBSSH2_SFTP_STATVFS st;

	if (libssh2_sftp_statvfs(c->sftp, dir, strlen(dir), &st) != 0)
		return NULL;
	if ((st.f_flag & LIBSSH2_SFTP_ST_RDONLY) != 0)
		return "Read-only file system";
	if (st.f_bavail * st.f_frsize < needed || st.f_bavail == 0)
		return "No space left on device";
	return NULL;
}

static int
fail_sftp(struct ssh_conn *c, int rc, const char *dir, size_t needed, struct rk_err *err,
    const char *fmt, ...) RK_PRINTF(6, 7);

static int
fail_sftp(struct ssh_conn *c, int rc, const char *dir, size_t needed, struct rk_err *err,
    const char *fmt, ...)
{
	unsigned long status;
	const char *text = NULL;
	char what[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (rc != LIBSSH2_ERROR_SFTP_PROTOCOL)
		return fail_ssh(c, rc, err, what);
	status = libssh2_sftp_last_error(c->sftp);
	if (status == LIBSSH2_FX_FAILURE && dir != NULL)
		text = explain_failure(c, dir, needed);
	if (text == NULL)
		text = sftp_status_text(status);
	if (text != NULL)
		return rk_fail(err, RK_E_REMOTE, "%s: %s", what, text);
	return rk_fail(err, RK_E_REMOTE, "%s: SFTP status %lu", what, status);
}

/* ------------------------------------------------------------------------------------------ */
/* TCP */

static int
wait_connected(int fd, int timeout, struct rk_err *err, const char *where)
{
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	socklen_t len = sizeof(int);
	int n, soerr = 0;

	while ((n = poll(&p, 1, timeout * 1000)) == -1 && errno == EINTR)
		continue;
	if (n == 0)
		return rk_fail(err, RK_E_REMOTE, "connect to %s: timed out after %d s", where,
		    timeout);
	if (n == -1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == -1)
		return rk_fail_errno(err, "connect to %s", where);
	if (soerr != 0) {
		errno = soerr;
		return rk_err_set_errno(err, __FILE__, __LINE__, "connect to %s", where);
	}
	return 0;
}

static int
tcp_connect(int *out, const struct rk_host *host, int timeout, struct rk_err *err)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL, *ai;
	struct rk_err last = { 0 };	/* the last address's reason, not the first's */
	char port[16], where[300];
	int fd = -1, gai;

	*out = -1;
	snprintf(port, sizeof(port), "%d", port_of(host));
	format_host_port(where, sizeof(where), host);
	if ((gai = getaddrinfo(host->address, port, &hints, &res)) != 0)
		return rk_fail(err, RK_E_REMOTE, "resolve %s: %s", host->address,
		    gai_strerror(gai));
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		rk_err_clear(&last);
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
		    ai->ai_protocol);
		if (fd == -1) {
			(void)rk_fail_errno(&last, "socket");
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		if (errno == EINPROGRESS && wait_connected(fd, timeout, &last, where) == 0)
			break;
		if (last.code == RK_OK)
			(void)rk_fail_errno(&last, "connect to %s", where);
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd == -1) {
		if (last.code == RK_OK)
			return rk_fail(err, RK_E_REMOTE, "connect to %s: no address", where);
		/* Unreachable is the host's state, not ours: RK_E_REMOTE, which may be retried. */
		return rk_fail(err, RK_E_REMOTE, "%s", last.msg);
	}
	/* Each step is a small request and its answer: Nagle plus delayed ACKs would add 40 ms
	 * to every one of them. */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){ 1 }, sizeof(int));
	/* libssh2 runs blocking with its own timeout from here on. */
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) == -1) {
		close(fd);
		return rk_fail_errno(err, "fcntl");
	}
	*out = fd;
	return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Waiting on a non-blocking session with a deadline */

static int
wait_socket(struct ssh_conn *c, long long deadline, struct rk_err *err, const char *what)
{
	int dirs = libssh2_session_block_directions(c->session), n;
	struct pollfd p = { .fd = c->sock, .events = 0 };
	long long left = deadline - rk_clock_ms();

	if (left <= 0) {
		c->broken = true;	/* a half-read channel leaves the session unusable */
		return rk_fail(err, RK_E_REMOTE, "%s: timed out after %d s", what, c->timeout);
	}
	if ((dirs & LIBSSH2_SESSION_BLOCK_INBOUND) != 0)
		p.events |= POLLIN;
	if ((dirs & LIBSSH2_SESSION_BLOCK_OUTBOUND) != 0)
		p.events |= POLLOUT;
	if (p.events == 0)
		p.events = POLLIN;
	if ((n = poll(&p, 1, (int)(left > 1000 ? 1000 : left))) == -1 && errno != EINTR)
		return rk_fail_errno(err, "%s: poll", what);
	return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Host keys */

/* Key types in OpenSSH's order of preference, with the names libssh2 negotiates. */
static const struct hostkey_kind {
	int		 kh_type;	/* LIBSSH2_KNOWNHOST_KEY_* */
	int		 hk_type;	/* LIBSSH2_HOSTKEY_TYPE_* */
	const char	*algs;
	const char	*label;		/* as OpenSSH prints it */
} hostkey_kinds[] = {
	{ LIBSSH2_KNOWNHOST_KEY_ED25519, LIBSSH2_HOSTKEY_TYPE_ED25519, "ssh-ed25519", "ED25519" },
	{ LIBSSH2_KNOWNHOST_KEY_ECDSA_256, LIBSSH2_HOSTKEY_TYPE_ECDSA_256, "ecdsa-sha2-nistp256",
	    "ECDSA" },
	{ LIBSSH2_KNOWNHOST_KEY_ECDSA_384, LIBSSH2_HOSTKEY_TYPE_ECDSA_384, "ecdsa-sha2-nistp384",
	    "ECDSA" },
	{ LIBSSH2_KNOWNHOST_KEY_ECDSA_521, LIBSSH2_HOSTKEY_TYPE_ECDSA_521, "ecdsa-sha2-nistp521",
	    "ECDSA" },
	{ LIBSSH2_KNOWNHOST_KEY_SSHRSA, LIBSSH2_HOSTKEY_TYPE_RSA, RSA_HOSTKEY_ALGS, "RSA" },
	{ LIBSSH2_KNOWNHOST_KEY_SSHDSS, LIBSSH2_HOSTKEY_TYPE_DSS, "ssh-dss", "DSA" },
};
#define HOSTKEY_KINDS	(sizeof(hostkey_kinds) / sizeof(hostkey_kinds[0]))

static const struct hostkey_kind *
hostkey_kind_of(int hk_type)
{
	for (size_t i = 0; i < HOSTKEY_KINDS; i++)
		if (hostkey_kinds[i].hk_type == hk_type)
			return &hostkey_kinds[i];
	return NULL;
}

/* Whether known_hosts lists a key of this kind for host (plain or hashed entries). */
static bool
known_hosts_has_kind(LIBSSH2_KNOWNHOSTS *kh, const struct rk_host *host, int kh_type)
{
	struct libssh2_knownhost *e = NULL, *prev = NULL;

	while (libssh2_knownhost_get(kh, &e, prev) == 0) {
		prev = e;
		if ((e->typemask & LIBSSH2_KNOWNHOST_KEY_MASK) != kh_type || e->key == NULL)
			continue;
		/* An entry's own key matches only when the entry is for this host. */
		if (libssh2_knownhost_checkp(kh, host->address, port_of(host), e->key,
		    strlen(e->key), LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_BASE64 |
		    kh_type, NULL) == LIBSSH2_KNOWNHOST_CHECK_MATCH)
			return true;
	}
	return false;
}

/*
 * The host key algorithms to offer: those known_hosts holds for this host, in OpenSSH's order.
 * Without this libssh2 picks ECDSA whenever the server has one, and an Ed25519-only known_hosts
 * then looks "unknown" (LAB.md (c)). With none known, all of them, Ed25519 first as OpenSSH
 * does, so the fingerprint we show is the one `ssh` would show.
 */
static void
choose_hostkey_algs(char *out, size_t size, LIBSSH2_KNOWNHOSTS *kh, const struct rk_host *host)
{
	size_t used = 0;

	out[0] = '\0';
	for (int pass = 0; pass < 2 && out[0] == '\0'; pass++)
		for (size_t i = 0; i < HOSTKEY_KINDS; i++) {
			if (pass == 0 && !known_hosts_has_kind(kh, host, hostkey_kinds[i].kh_type))
				continue;
			used += (size_t)snprintf(out + used, size - used, "%s%s",
			    used > 0 ? "," : "", hostkey_kinds[i].algs);
			if (used >= size)
				return;
		}
}

static const char *
known_hosts_path(char *buf, size_t size, const struct rk_host *host)
{
	const char *home = getenv("HOME");

	if (host->known_hosts != NULL)
		return host->known_hosts;
	snprintf(buf, size, "%s/.ssh/known_hosts", home != NULL ? home : "");
	return buf;
}

/* "SHA256:" and the unpadded base64 of SHA-256 over the key blob, as ssh-keygen -l prints. */
static int
host_key_fingerprint(char *out, size_t size, struct ssh_conn *c, struct rk_err *err)
{
	const unsigned char *hash;

	hash = (const unsigned char *)libssh2_hostkey_hash(c->session,
	    LIBSSH2_HOSTKEY_HASH_SHA256);
	if (hash == NULL || size < 8)
		return rk_fail(err, RK_E_REMOTE, "no SHA-256 hash of the host key from libssh2");
	memcpy(out, "SHA256:", 8);
	if (tp_base64_unpadded(out + 7, size - 7, hash, 32) != 0)
		return rk_fail(err, RK_E_INTERNAL, "fingerprint buffer too small");
	return 0;
}

static int
check_host_key(struct ssh_conn *c, LIBSSH2_KNOWNHOSTS *kh, const char *kh_path, int kh_count,
    struct rk_err *err)
{
	const struct hostkey_kind *kind;
	const char *key;
	char fp[64], where[300];
	size_t len = 0;
	int type = 0, r;

	format_host_port(where, sizeof(where), c->host);
	if ((key = libssh2_session_hostkey(c->session, &len, &type)) == NULL)
		return rk_fail(err, RK_E_HOSTKEY, "%s sent no host key", where);
	if ((kind = hostkey_kind_of(type)) == NULL)
		return rk_fail(err, RK_E_HOSTKEY, "%s: host key of unknown type %d: refused",
		    where, type);
	if ((r = host_key_fingerprint(fp, sizeof(fp), c, err)) != 0)
		return r;
	switch (libssh2_knownhost_checkp(kh, c->host->address, port_of(c->host), key, len,
	    LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW | kind->kh_type, NULL)) {
	case LIBSSH2_KNOWNHOST_CHECK_MATCH:
		return 0;
	case LIBSSH2_KNOWNHOST_CHECK_MISMATCH:
		return rk_fail(err, RK_E_HOSTKEY, "HOST KEY CHANGED for %s: it offered %s key %s, "
		    "%s holds another; refused before authentication (verify the new key out of "
		    "band before you replace the old line)", where, kind->label, fp, kh_path);
	case LIBSSH2_KNOWNHOST_CHECK_NOTFOUND:
		return rk_fail(err, RK_E_HOSTKEY, "unknown host key: %s offered %s key %s, which "
		    "%s %s; refused before authentication (verify it out of band, then add it)",
		    where, kind->label, fp, kh_path,
		    kh_count >= 0 ? "does not list" : "(unreadable) cannot confirm");
	default:
		return rk_fail(err, RK_E_HOSTKEY, "%s: host key check failed", where);
	}
}

/* ------------------------------------------------------------------------------------------ */
/* Authentication */

#ifndef HAVE_RSA_SHA2
/* Only a libssh2 without rsa-sha2 needs to tell an RSA key from others (see the top). */
static uint32_t
get_u32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Skips one SSH string at *p; false when it runs past end. */
static bool
skip_string(const unsigned char **p, const unsigned char *end, const unsigned char **val,
    uint32_t *vlen)
{
	uint32_t n;

	if (end - *p < 4)
		return false;
	n = get_u32(*p);
	if ((uint32_t)(end - *p - 4) < n)
		return false;
	*val = *p + 4;
	*vlen = n;
	*p += 4 + n;
	return true;
}

/* The public key type inside an "openssh-key-v1" body (PROTOCOL.key), kept in clear even when
 * the private part is encrypted. */
static bool
openssh_key_is_rsa(const unsigned char *blob, size_t len)
{
	static const char magic[] = "openssh-key-v1";	/* with its NUL */
	const unsigned char *p = blob + sizeof(magic), *end = blob + len, *v, *pub;
	uint32_t vlen, publen;

	if (len < sizeof(magic) || memcmp(blob, magic, sizeof(magic)) != 0)
		return false;
	for (int i = 0; i < 3; i++)		/* cipher, kdf, kdf options */
		if (!skip_string(&p, end, &v, &vlen))
			return false;
	if (end - p < 4)
		return false;
	p += 4;					/* number of keys */
	if (!skip_string(&p, end, &pub, &publen))
		return false;
	p = pub;
	if (!skip_string(&p, pub + publen, &v, &vlen))
		return false;
	return vlen == 7 && memcmp(v, "ssh-rsa", 7) == 0;
}

/* Whether the identity's bytes hold an RSA key (PEM or OpenSSH format); false when unsure. */
static bool
identity_is_rsa(const struct rk_buf *key)
{
	static const char begin[] = "-----BEGIN OPENSSH " "PRIVATE KEY-----";
	const char *text = (const char *)key->ptr, *body, *stop;
	unsigned char *raw = NULL;
	size_t room = 0;
	long n;
	bool rsa = false;

	if (strstr(text, "-----BEGIN RSA " "PRIVATE KEY-----") != NULL)
		return true;
	if ((body = strstr(text, begin)) == NULL || (stop = strstr(body, "-----END")) == NULL)
		return false;
	body += sizeof(begin) - 1;
	room = (size_t)(stop - body);
	if ((raw = malloc(room + 1)) == NULL)
		return false;
	if ((n = tp_base64_decode(raw, room, body, room)) > 0)
		rsa = openssh_key_is_rsa(raw, (size_t)n);
	explicit_bzero(raw, room);	/* a private key, perhaps in clear */
	free(raw);
	return rsa;
}

static int
fail_rsa_refused(struct ssh_conn *c, const char *what, struct rk_err *err)
{
	return rk_fail(err, RK_E_REMOTE, "user %s: %s refused: libssh2 %s signs RSA logins with "
	    "ssh-rsa (SHA-1), which OpenSSH 8.8 and later refuse; use an Ed25519 or ECDSA key, or "
	    "build rekey with libssh2 1.11 or later (rsa-sha2-256/512)", c->user, what,
	    libssh2_version(0));
}
#endif

static int
read_passphrase(struct rk_secret *out, const struct rk_host *host, struct rk_err *err)
{
	return rk_secret_from_source(out, host->identity_passphrase.env,
	    host->identity_passphrase.file, err);
}

/*
 * Whether rc, from libssh2_userauth_publickey_frommemory(), means that libssh2 could not use
 * the key itself. In 1.10 the key is parsed before anything is sent, and a failure there
 * comes back as LIBSSH2_ERROR_FILE, LIBSSH2_ERROR_KEYFILE_AUTH_FAILED (an OpenSSH key whose
 * passphrase is wrong or missing) or LIBSSH2_ERROR_PROTO (a PEM key whose passphrase is wrong,
 * or bytes no parser takes). Once the request is on the wire, _libssh2_userauth_publickey()
 * reports failures as SOCKET_SEND, PUBLICKEY_UNVERIFIED or AUTHENTICATION_FAILED, never
 * PROTO: here PROTO is the key's, not a corrupt stream's.
 */
static bool
is_key_unusable(int rc)
{
	switch (rc) {
	case LIBSSH2_ERROR_FILE:
	case LIBSSH2_ERROR_PROTO:
#ifdef LIBSSH2_ERROR_KEYFILE_AUTH_FAILED
	case LIBSSH2_ERROR_KEYFILE_AUTH_FAILED:
#endif
		return true;
	default:
		return false;
	}
}

/*
 * Logs in with the identity file. We read the file ourselves and hand libssh2 its bytes
 * (frommemory), rather than its path (fromfile, which opens it with fopen and checks
 * nothing): the key must pass rk_file_check_private() on the descriptor it is read from, as
 * OpenSSH's sshkey_perm_ok() refuses a key that group or others can read or another user
 * owns, and the bytes checked are the bytes used. libssh2 1.10 with OpenSSL reads OpenSSH-
 * format Ed25519, ECDSA and RSA keys, encrypted or not, from memory as it does from a file.
 */
static int
authenticate_with_key_file(struct ssh_conn *c, struct rk_err *err)
{
	const char *identity = c->host->identity;
	struct rk_secret pass = { 0 };
	struct rk_buf key;
	char what[600];
	int rc, r;

	rk_buf_init(&key, SSH_KEY_FILE_MAX);
	if ((r = rk_file_read_private(&key, identity, SSH_KEY_FILE_MAX, err)) != 0) {
		rk_err_prefix(err, "identity");
		goto out;
	}
	if ((r = read_passphrase(&pass, c->host, err)) != 0)
		goto out;
	/* sign_frommemory() in 1.10 measures the key with strlen(): rk_buf ends in a NUL. */
	rc = libssh2_userauth_publickey_frommemory(c->session, c->user, strlen(c->user),
	    NULL, 0, (const char *)key.ptr, key.len,
	    pass.ptr != NULL ? (const char *)pass.ptr : NULL);
	if (rc == 0) {
		r = 0;
		goto out;
	}
	snprintf(what, sizeof(what), "key %s", identity);
	if (is_key_unusable(rc)) {
		r = rk_fail(err, RK_E_USAGE, "cannot use identity %s: wrong or missing "
		    "passphrase, or a format libssh2 cannot read (OpenSSH and PEM keys work)",
		    identity);
		goto out;
	}
	if (rc == LIBSSH2_ERROR_AUTHENTICATION_FAILED ||
	    rc == LIBSSH2_ERROR_PUBLICKEY_UNVERIFIED) {
#ifndef HAVE_RSA_SHA2
		if (identity_is_rsa(&key)) {
			r = fail_rsa_refused(c, what, err);
			goto out;
		}
#endif
		r = rk_fail(err, RK_E_REMOTE, "user %s: %s refused by the server (is it in "
		    "authorized_keys?)", c->user, what);
		goto out;
	}
	r = fail_ssh(c, rc, err, "authenticate");
 out:
	rk_secret_clear(&pass);
	rk_buf_clear(&key);		/* cleanses: it is the private key */
	return r;
}

static int
authenticate_with_agent(struct ssh_conn *c, struct rk_err *err)
{
	struct libssh2_agent_publickey *id = NULL, *prev = NULL;
	LIBSSH2_AGENT *agent;
	int tried = 0, rsa = 0, r;

	if ((agent = libssh2_agent_init(c->session)) == NULL)
		return fail_last(c, err, "ssh-agent");
	if (libssh2_agent_connect(agent) != 0) {
		r = rk_fail(err, RK_E_USAGE, "no identity file set and no ssh-agent reachable "
		    "(SSH_AUTH_SOCK is %s)", getenv("SSH_AUTH_SOCK") != NULL ? "set" : "not set");
		goto out;
	}
	if (libssh2_agent_list_identities(agent) != 0) {
		r = fail_last(c, err, "ssh-agent: list keys");
		goto out;
	}
	while (libssh2_agent_get_identity(agent, &id, prev) == 0) {
		prev = id;
		tried++;
		if (id->blob_len >= 11 && memcmp(id->blob + 4, "ssh-rsa", 7) == 0)
			rsa++;
		if (libssh2_agent_userauth(agent, c->user, id) == 0) {
			r = 0;
			goto out;
		}
	}
#ifndef HAVE_RSA_SHA2
	if (rsa > 0 && rsa == tried) {
		r = fail_rsa_refused(c, "every ssh-agent key (RSA)", err);
		goto out;
	}
#else
	(void)rsa;	/* rsa-sha2 signs RSA keys as OpenSSH wants */
#endif
	r = rk_fail(err, RK_E_REMOTE, "user %s: ssh-agent holds %d key(s); the server accepted "
	    "none", c->user, tried);
 out:
	libssh2_agent_disconnect(agent);
	libssh2_agent_free(agent);
	return r;
}

/* ------------------------------------------------------------------------------------------ */
/* Sessions */

static int
start_session(struct ssh_conn *c, struct rk_err *err)
{
	LIBSSH2_KNOWNHOSTS *kh = NULL;
	char algs[256], path_buf[1024];
	const char *kh_path = known_hosts_path(path_buf, sizeof(path_buf), c->host);
	int kh_count, rc, r;

	if ((c->session = libssh2_session_init_ex(NULL, NULL, NULL, c)) == NULL)
		return rk_fail_nomem(err);
	libssh2_session_set_blocking(c->session, 1);
	libssh2_session_set_timeout(c->session, (long)c->timeout * 1000);
	if ((kh = libssh2_knownhost_init(c->session)) == NULL)
		return rk_fail_nomem(err);
	/* A missing file reads as "knows nothing": every key is then unknown, and refused. */
	kh_count = libssh2_knownhost_readfile(kh, kh_path, LIBSSH2_KNOWNHOST_FILE_OPENSSH);
	choose_hostkey_algs(algs, sizeof(algs), kh, c->host);
	if ((rc = libssh2_session_method_pref(c->session, LIBSSH2_METHOD_HOSTKEY, algs)) != 0) {
		r = fail_ssh(c, rc, err, "host key algorithms");
		goto out;
	}
	if ((rc = libssh2_session_handshake(c->session, c->sock)) != 0) {
		r = fail_ssh(c, rc, err, "SSH handshake");
		if (rc == LIBSSH2_ERROR_KEX_FAILURE)
			rk_err_prefix(err, "host key types tried: %s", algs);
		goto out;
	}
	/* Before any authentication: an impostor must not even see which key we hold. */
	if ((r = check_host_key(c, kh, kh_path, kh_count, err)) != 0)
		goto out;
	if (c->host->identity != NULL)
		r = authenticate_with_key_file(c, err);
	else
		r = authenticate_with_agent(c, err);
 out:
	libssh2_knownhost_free(kh);
	return r;
}

static int
login_name(char *out, size_t size, const struct rk_host *host, struct rk_err *err)
{
	struct passwd pw, *res = NULL;
	char buf[4096];

	if (host->user != NULL) {
		if (!rk_strlcpy(out, host->user, size))
			return rk_fail(err, RK_E_USAGE, "user name too long");
		return 0;
	}
	if (getpwuid_r(geteuid(), &pw, buf, sizeof(buf), &res) != 0 || res == NULL ||
	    !rk_strlcpy(out, res->pw_name, size))
		return rk_fail(err, RK_E_USAGE, "cannot tell the current user's name");
	return 0;
}

static void pump_stop(struct ssh_conn *c);

static void
conn_close(struct ssh_conn *c)
{
	if (c == NULL)
		return;
	/*
	 * A session given up on (lost, timed out, half-read) must not wait for the server's
	 * goodbye: libssh2 would block up to the timeout on each open channel, then fail to free.
	 * shutdown(2) makes every wait fail at once; the descriptor stays ours until close below,
	 * so no other thread's new socket can get its number meanwhile.
	 */
	if (c->broken && c->sock != -1)
		(void)shutdown(c->sock, SHUT_RDWR);
	if (c->sftp != NULL)
		libssh2_sftp_shutdown(c->sftp);
	if (c->session != NULL) {
		if (!c->broken)
			libssh2_session_disconnect(c->session, "rekey is done");
		libssh2_session_free(c->session);
	}
	if (c->sock != -1)
		close(c->sock);		/* a pump sees EOF and stops */
	pump_stop(c);
	conn_close(c->bastion);
	free(c);
}

/* ------------------------------------------------------------------------------------------ */
/* ProxyJump: the pump */

static bool
pump_moves(struct pump *p, bool *target_eof, bool *tunnel_eof, bool *failed)
{
	bool moved = false;
	ssize_t n;

	if (p->tt_len == 0 && !*tunnel_eof) {
		n = libssh2_channel_read(p->channel, (char *)p->to_target, sizeof(p->to_target));
		if (n > 0) {
			p->tt_off = 0;
			p->tt_len = (size_t)n;
			moved = true;
		} else if (n == 0 && libssh2_channel_eof(p->channel))
			*tunnel_eof = true;
		else if (n < 0 && n != LIBSSH2_ERROR_EAGAIN)
			*failed = true;
	}
	if (p->tt_len > 0) {
		n = send(p->fd, p->to_target + p->tt_off, p->tt_len, MSG_NOSIGNAL);
		if (n > 0) {
			p->tt_off += (size_t)n;
			p->tt_len -= (size_t)n;
			moved = true;
		} else if (n == -1 && errno != EAGAIN && errno != EINTR)
			*failed = true;
	}
	if (p->tb_len == 0 && !*target_eof) {
		n = recv(p->fd, p->to_bastion, sizeof(p->to_bastion), 0);
		if (n > 0) {
			p->tb_off = 0;
			p->tb_len = (size_t)n;
			moved = true;
		} else if (n == 0)
			*target_eof = true;
		else if (errno != EAGAIN && errno != EINTR)
			*failed = true;
	}
	if (p->tb_len > 0) {
		n = libssh2_channel_write(p->channel, (const char *)p->to_bastion + p->tb_off,
		    p->tb_len);
		if (n > 0) {
			p->tb_off += (size_t)n;
			p->tb_len -= (size_t)n;
			moved = true;
		} else if (n < 0 && n != LIBSSH2_ERROR_EAGAIN)
			*failed = true;
	}
	return moved;
}

/* Waits until either side can move; poll's timeout only bounds a missed wake-up. */
static void
pump_wait(struct pump *p, bool target_eof, bool tunnel_eof)
{
	int dirs = libssh2_session_block_directions(p->session);
	struct pollfd fds[2] = { { .fd = p->fd }, { .fd = p->bastion_sock } };

	if (p->tt_len > 0)
		fds[0].events |= POLLOUT;
	if (p->tb_len == 0 && !target_eof)
		fds[0].events |= POLLIN;
	if (p->tt_len == 0 && !tunnel_eof)
		fds[1].events |= POLLIN;
	if (p->tb_len > 0 && (dirs & LIBSSH2_SESSION_BLOCK_INBOUND) != 0)
		fds[1].events |= POLLIN;
	if (p->tb_len > 0 && (dirs & LIBSSH2_SESSION_BLOCK_OUTBOUND) != 0)
		fds[1].events |= POLLOUT;
	(void)poll(fds, 2, 1000);
}

/*
 * The pump thread: moves bytes both ways until the target's session closes its end (we are
 * done) or the tunnel ends (the far side or the bastion went away). It alone touches the
 * bastion's session while it runs; the caller's thread touches only the target's.
 */
static void *
pump_run(void *arg)
{
	struct pump *p = arg;
	bool target_eof = false, tunnel_eof = false, failed = false;

	for (;;) {
		bool moved = pump_moves(p, &target_eof, &tunnel_eof, &failed);

		if (failed || (target_eof && p->tb_len == 0) || (tunnel_eof && p->tt_len == 0))
			break;
		if (!moved)
			pump_wait(p, target_eof, tunnel_eof);
	}
	/* The target's session then reads EOF and fails as a lost connection would. */
	(void)shutdown(p->fd, SHUT_RDWR);
	return NULL;
}

static void
pump_stop(struct ssh_conn *c)
{
	if (c->pump != NULL) {
		pthread_join(c->pump->thread, NULL);
		close(c->pump->fd);
		free(c->pump);
		c->pump = NULL;
	}
	if (c->tunnel != NULL) {
		libssh2_session_set_blocking(c->bastion->session, 1);
		libssh2_channel_free(c->tunnel);
		c->tunnel = NULL;
	}
}

static int
open_tunnel(struct ssh_conn *c, struct rk_err *err)
{
	struct ssh_conn *b = c->bastion;
	char what[300];
	int sp[2] = { -1, -1 }, e;

	format_host_port(what, sizeof(what), c->host);
	c->tunnel = libssh2_channel_direct_tcpip_ex(b->session, c->host->address,
	    port_of(c->host), "127.0.0.1", 0);
	if (c->tunnel == NULL) {
		(void)fail_last(b, err, "open a tunnel");
		rk_err_prefix(err, "jump %s to %s", b->host->name, what);
		return err->code;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == -1)
		return rk_fail_errno(err, "socketpair");
	if ((c->pump = calloc(1, sizeof(*c->pump))) == NULL) {
		close(sp[0]);
		close(sp[1]);
		return rk_fail_nomem(err);
	}
	c->sock = sp[0];
	c->pump->fd = sp[1];
	c->pump->bastion_sock = b->sock;
	c->pump->session = b->session;
	c->pump->channel = c->tunnel;
	(void)fcntl(sp[1], F_SETFL, fcntl(sp[1], F_GETFL) | O_NONBLOCK);
	libssh2_session_set_blocking(b->session, 0);
	if ((e = pthread_create(&c->pump->thread, NULL, pump_run, c->pump)) != 0) {
		close(c->pump->fd);
		free(c->pump);
		c->pump = NULL;
		errno = e;
		return rk_fail_errno(err, "start the jump thread");
	}
	return 0;
}

static int conn_open(struct ssh_conn **out, const struct rk_host *host, int depth,
    struct rk_err *err);

static int
reach_host(struct ssh_conn *c, int depth, struct rk_err *err)
{
	int r;

	if (c->host->jump == NULL)
		return tcp_connect(&c->sock, c->host, c->timeout, err);
	if (depth >= SSH_JUMP_DEPTH_MAX)
		return rk_fail(err, RK_E_USAGE, "more than %d jump hosts", SSH_JUMP_DEPTH_MAX);
	if ((r = conn_open(&c->bastion, c->host->jump, depth + 1, err)) != 0) {
		rk_err_prefix(err, "jump host %s", c->host->jump->name);
		return r;
	}
	return open_tunnel(c, err);
}

static int
conn_open(struct ssh_conn **out, const struct rk_host *host, int depth, struct rk_err *err)
{
	struct ssh_conn *c;
	int r;

	*out = NULL;
	if (host->address == NULL)
		return rk_fail(err, RK_E_USAGE, "host %s has no address", host->name);
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return rk_fail_nomem(err);
	c->host = host;
	c->sock = -1;
	c->timeout = host->timeout > 0 ? host->timeout : SSH_DEFAULT_TIMEOUT;
	if ((r = login_name(c->user, sizeof(c->user), host, err)) != 0 ||
	    (r = reach_host(c, depth, err)) != 0 ||
	    (r = start_session(c, err)) != 0) {
		c->broken = true;	/* no goodbye on a half-open session */
		conn_close(c);
		return r;
	}
	*out = c;
	return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Exec channels */

static int
build_command_line(struct rk_buf *line, const char *const *words, struct rk_err *err)
{
	int r;

	/* LC_ALL=C: the messages we parse and record come in one language. */
	if ((r = rk_buf_append_str(line, "LC_ALL=C ", err)) != 0)
		return r;
	return rk_shell_join(line, words, err);
}

/*
 * Feeds input to the command (then its end) while reading both outputs, so that neither side
 * waits on the other. A command that exits without reading all of it is not an error here:
 * its exit status says what it made of it.
 */
static int
read_channel(struct rk_run_result *out, struct ssh_conn *c, LIBSSH2_CHANNEL *ch,
    struct rk_bytes input, long long wait_ms, struct rk_err *err)
{
	long long deadline = rk_clock_ms() + wait_ms;
	char buf[16384];
	size_t fed = 0;
	bool input_open = true;
	ssize_t n, m, w;
	int r = 0, rc;

	libssh2_session_set_blocking(c->session, 0);
	for (;;) {
		bool moved = false;

		if (input_open && fed < input.len) {
			w = libssh2_channel_write(ch, (const char *)input.ptr + fed, input.len - fed);
			if (w > 0) {
				fed += (size_t)w;
				moved = true;
			} else if (w != LIBSSH2_ERROR_EAGAIN) {
				input_open = false;	/* it closed its end: its output says why */
			}
		}
		if (input_open && fed == input.len) {
			if ((rc = libssh2_channel_send_eof(ch)) == 0 || rc != LIBSSH2_ERROR_EAGAIN)
				input_open = false;
		}
		if ((n = libssh2_channel_read(ch, buf, sizeof(buf))) > 0) {
			if ((r = rk_buf_append(&out->out, buf, (size_t)n, err)) != 0)
				break;
			moved = true;
		}
		if ((m = libssh2_channel_read_stderr(ch, buf, sizeof(buf))) > 0) {
			if ((r = rk_buf_append(&out->err, buf, (size_t)m, err)) != 0)
				break;
			moved = true;
		}
		if ((n < 0 && n != LIBSSH2_ERROR_EAGAIN) || (m < 0 && m != LIBSSH2_ERROR_EAGAIN)) {
			r = fail_ssh(c, (int)(n < 0 && n != LIBSSH2_ERROR_EAGAIN ? n : m), err,
			    "read command output");
			break;
		}
		if (moved)
			continue;
		if (libssh2_channel_eof(ch))
			break;
		if ((r = wait_socket(c, deadline, err, "command")) != 0)
			break;
	}
	explicit_bzero(buf, sizeof(buf));	/* `cat` of a key passes through here */
	libssh2_session_set_blocking(c->session, 1);
	if (r == RK_E_LIMIT)
		c->broken = true;	/* unread output stays queued: start afresh */
	return r;
}

static int
collect_exit_status(struct rk_run_result *out, struct ssh_conn *c, LIBSSH2_CHANNEL *ch,
    struct rk_err *err)
{
	char *signal_name = NULL;
	size_t signal_len = 0;
	int rc;

	if ((rc = libssh2_channel_close(ch)) != 0 ||
	    (rc = libssh2_channel_wait_closed(ch)) != 0)
		return fail_ssh(c, rc, err, "close the command channel");
	out->exit_status = libssh2_channel_get_exit_status(ch);
	if (libssh2_channel_get_exit_signal(ch, &signal_name, &signal_len, NULL, NULL, NULL,
	    NULL) == 0 && signal_name != NULL) {
		out->exit_status = -1;
		libssh2_free(c->session, signal_name);
	}
	return 0;
}

/* Runs words as they are (the caller has added sudo and timeout), waiting wait_ms at most. */
static int
exec_words(struct rk_run_result *out, struct ssh_conn *c, const char *const *words,
    struct rk_bytes input, long long wait_ms, size_t out_cap, struct rk_err *err)
{
	LIBSSH2_CHANNEL *ch = NULL;
	struct rk_buf line;
	int rc, r;

	rk_buf_init(&line, COMMAND_LINE_MAX);
	rk_run_result_init(out);
	out->out.cap = out_cap;
	if ((r = build_command_line(&line, words, err)) != 0)
		goto out;
	if ((ch = libssh2_channel_open_session(c->session)) == NULL) {
		r = fail_last(c, err, "open a channel");
		goto out;
	}
	if ((rc = libssh2_channel_exec(ch, (const char *)line.ptr)) != 0) {
		r = fail_ssh(c, rc, err, "start the command");
		goto out;
	}
	if ((r = read_channel(out, c, ch, input, wait_ms, err)) != 0)
		goto out;
	r = collect_exit_status(out, c, ch, err);
 out:
	if (ch != NULL && !c->broken)
		libssh2_channel_free(ch);
	rk_buf_clear(&line);
	return r;
}

/* Whether the host has timeout(1), asked once per session (a new session asks again). */
static int
learn_bound(struct ssh_conn *c, struct rk_err *err)
{
	struct rk_run_result res;
	int r;

	if (c->bound != TP_BOUND_UNKNOWN)
		return 0;
	if ((r = exec_words(&res, c, tp_timeout_probe, (struct rk_bytes){ NULL, 0 },
	    (long long)c->timeout * 1000, RK_REMOTE_OUTPUT_MAX, err)) == 0) {
		c->bound = tp_bound_learned(res.exit_status, c->host, c->timeout);
		tp_identity_learned(c->cmd, &res.out);
	}
	rk_run_result_clear(&res);
	return r;
}

/*
 * Runs argv on the host, through sudo -n when sudo, under timeout(1) where the host has it:
 * a command that overruns the host's timeout is stopped there, and the session stays usable.
 */
static int
conn_exec(struct rk_run_result *out, struct ssh_conn *c, const char *const *argv, bool sudo,
    struct rk_bytes input, size_t out_cap, struct rk_err *err)
{
	struct tp_command cmd;
	long long started;
	int r;

	rk_run_result_init(out);
	if ((r = learn_bound(c, err)) != 0 ||
	    (r = tp_command_build(&cmd, argv, sudo, c->bound, c->timeout, err)) != 0)
		return r;
	started = rk_clock_ms();
	if ((r = exec_words(out, c, cmd.words, input, tp_command_wait_ms(&cmd), out_cap,
	    err)) != 0)
		return r;
	if ((r = tp_command_check_stopped(&cmd, out->exit_status, rk_clock_ms() - started,
	    err)) != 0)
		rk_err_prefix(err, "command");
	return r;
}

/* ------------------------------------------------------------------------------------------ */
/* SFTP */

static int
ensure_sftp(struct ssh_conn *c, struct rk_err *err)
{
	if (c->sftp != NULL)
		return 0;
	if ((c->sftp = libssh2_sftp_init(c->session)) == NULL)
		return fail_last(c, err, "start SFTP");
	return 0;
}

static int
sftp_read_file(struct rk_buf *out, struct ssh_conn *c, const char *path, size_t cap,
    struct rk_err *err)
{
	LIBSSH2_SFTP_ATTRIBUTES attrs;
	LIBSSH2_SFTP_HANDLE *h;
	char buf[16384];
	ssize_t n;
	int r;

	if ((r = ensure_sftp(c, err)) != 0)
		return r;
	h = libssh2_sftp_open_ex(c->sftp, path, (unsigned int)strlen(path), LIBSSH2_FXF_READ, 0,
	    LIBSSH2_SFTP_OPENFILE);
	if (h == NULL)
		return fail_sftp(c, libssh2_session_last_errno(c->session), NULL, 0, err,
		    "open %s", path);
	if ((r = libssh2_sftp_fstat(h, &attrs)) != 0) {
		r = fail_sftp(c, r, NULL, 0, err, "stat %s", path);
		goto out;
	}
	if (!LIBSSH2_SFTP_S_ISREG(attrs.permissions)) {
		r = rk_fail(err, RK_E_REMOTE, "not a regular file");
		goto out;
	}
	if (attrs.filesize > cap) {
		r = tp_fail_over_cap((unsigned long long)attrs.filesize, cap, err);
		goto out;
	}
	out->cap = cap;
	while ((n = libssh2_sftp_read(h, buf, sizeof(buf))) > 0)
		if ((r = rk_buf_append(out, buf, (size_t)n, err)) != 0)
			goto out;
	if (n < 0)
		r = fail_sftp(c, (int)n, NULL, 0, err, "read %s", path);
	else if (out->ptr == NULL)
		r = rk_buf_append(out, "", 0, err);
 out:
	explicit_bzero(buf, sizeof(buf));
	libssh2_sftp_close_handle(h);
	return r;
}

/* ------------------------------------------------------------------------------------------ */
/* The engine's primitives */

/* The session to use, connecting (again, after a lost connection) when needed. */
static int
live_conn(struct ssh_conn **out, struct ssh_transport *st, struct rk_err *err)
{
	int r;

	*out = NULL;
	if (st->conn != NULL && st->conn->broken) {
		conn_close(st->conn);
		st->conn = NULL;
	}
	if (st->conn == NULL && st->gave_up)
		return rk_fail(err, RK_E_REMOTE, "not connected (connecting failed just before)");
	if (st->conn == NULL && (r = conn_open(&st->conn, st->base.host, 0, err)) != 0) {
		st->gave_up = true;
		return r;
	}
	st->conn->cmd = &st->cmd;
	*out = st->conn;
	return 0;
}

static int
ssh_run_capped(struct rk_run_result *out, void *ctx, const char *const *argv, bool sudo,
    size_t out_cap, struct rk_err *err)
{
	struct ssh_conn *c;
	int r;

	rk_run_result_init(out);
	if ((r = live_conn(&c, ctx, err)) != 0)
		return r;
	return conn_exec(out, c, argv, sudo, (struct rk_bytes){ NULL, 0 }, out_cap, err);
}

static int
ssh_run_input(struct rk_run_result *out, void *ctx, const char *const *argv, bool sudo,
    struct rk_bytes input, size_t out_cap, struct rk_err *err)
{
	struct ssh_conn *c;
	int r;

	rk_run_result_init(out);
	if ((r = live_conn(&c, ctx, err)) != 0)
		return r;
	return conn_exec(out, c, argv, sudo, input, out_cap, err);
}


/* ------------------------------------------------------------------------------------------ */
/* The operations */

static int
finish(int r, struct rk_transport *t, const char *verb, const char *path, struct rk_err *err)
{
	ssh_of(t)->gave_up = false;	/* the next operation may try to connect again */
	return tp_finish(r, t, verb, path, err);
}

static int
ssh_connect(struct rk_transport *t, struct rk_err *err)
{
	struct ssh_conn *c;

	return finish(live_conn(&c, ssh_of(t), err), t, "connect", NULL, err);
}

static int
ssh_stat(struct rk_file_stat *out, struct rk_transport *t, const char *path, size_t hash_cap,
    struct rk_err *err)
{
	return finish(tp_cmd_stat(out, &ssh_of(t)->cmd, path, hash_cap, err), t, "stat", path,
	    err);
}

static int
ssh_read_file(struct rk_buf *out, struct rk_transport *t, const char *path, size_t cap,
    struct rk_err *err)
{
	struct ssh_transport *st = ssh_of(t);
	struct ssh_conn *c = NULL;
	int r;

	/* Without sudo SFTP reads it in one stream; with sudo only `sudo -n cat` may. */
	if (t->host->sudo)
		r = tp_cmd_read_file(out, &st->cmd, path, cap, err);
	else if ((r = live_conn(&c, st, err)) == 0)
		r = sftp_read_file(out, c, path, cap, err);
	return finish(r, t, "read", path, err);
}

static int
ssh_replace_file(struct rk_backup *backup, struct rk_transport *t,
    const struct rk_file_spec *spec, struct rk_bytes content, struct rk_err *err)
{
	int r;

	if (backup != NULL)
		rk_backup_clear(backup);
	if ((r = tp_check_target_path(spec->path, err)) == 0)
		r = tp_cmd_replace(backup, &ssh_of(t)->cmd, spec, content, err);
	return finish(r, t, "replace", spec->path, err);
}

static int
ssh_replace_files(struct rk_transport *t, struct rk_file_change *changes, size_t n,
    struct rk_err *err)
{
	int r = tp_cmd_replace_many(&ssh_of(t)->cmd, changes, n, err);
	size_t i;

	for (i = 0; i < n && changes[i].state != RK_CHANGE_FAILED; i++)
		;
	if (i < n)
		(void)tp_finish(-1, t, "replace", changes[i].spec.path, &changes[i].err);
	return finish(r, t, "replace", i < n ? changes[i].spec.path : NULL, err);
}

static int
ssh_restore_file(struct rk_transport *t, const struct rk_backup *backup, struct rk_err *err)
{
	return finish(tp_cmd_restore(&ssh_of(t)->cmd, backup, err), t, "restore",
	    backup->target, err);
}

static int
ssh_run(struct rk_run_result *out, struct rk_transport *t, const char *const *argv, bool sudo,
    struct rk_err *err)
{
	int r = ssh_run_capped(out, ssh_of(t), argv, sudo, RK_REMOTE_OUTPUT_MAX, err);

	return finish(r, t, "run", argv != NULL && argv[0] != NULL ? argv[0] : "", err);
}

static int
ssh_run_big(struct rk_run_result *out, struct rk_transport *t, const char *const *argv,
    bool sudo, size_t out_cap, struct rk_err *err)
{
	int r = ssh_run_capped(out, ssh_of(t), argv, sudo, out_cap, err);

	return finish(r, t, "run", argv != NULL && argv[0] != NULL ? argv[0] : "", err);
}

static void
ssh_free(struct rk_transport *t)
{
	struct ssh_transport *st = ssh_of(t);

	if (st == NULL)
		return;
	conn_close(st->conn);
	free(st);
}

static const struct rk_transport_ops ssh_ops = {
	.name = "ssh",
	.connect = ssh_connect,
	.stat = ssh_stat,
	.read_file = ssh_read_file,
	.replace_file = ssh_replace_file,
	.replace_files = ssh_replace_files,
	.restore_file = ssh_restore_file,
	.run = ssh_run,
	.run_capped = ssh_run_big,
	.probe_replace = tp_probe_replace,
	.free = ssh_free,
};

int
rk_ssh_global_init(struct rk_err *err)
{
	int rc = libssh2_init(0);

	return rc == 0 ? 0 : rk_fail(err, RK_E_CRYPTO, "libssh2_init failed (%d)", rc);
}

void
rk_ssh_global_cleanup(void)
{
	libssh2_exit();
}

const char *
rk_ssh_rename_method(const struct rk_host *host)
{
	if (host->sudo)
		return "sudo -n mv -f -T (rename(2) on the host), the group's files in one command";
	return "mv -f -T (rename(2) on the host), the group's files in one command";
}

int
rk_ssh_transport_new(struct rk_transport **out, const struct rk_host *host, struct rk_err *err)
{
	struct ssh_transport *st;

	*out = NULL;
	if ((st = calloc(1, sizeof(*st))) == NULL)
		return rk_fail_nomem(err);
	st->base.ops = &ssh_ops;
	st->base.host = host;
	st->cmd = (struct tp_cmd_host){
		.host = host,
		.ctx = st,
		.run = ssh_run_capped,
		.run_input = ssh_run_input,
	};
	*out = &st->base;
	return 0;
}
