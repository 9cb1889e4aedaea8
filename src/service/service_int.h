/* What the service backends share: a service's label, one-line messages, GRANT hints. */
#ifndef REKEY_SERVICE_INT_H
#define REKEY_SERVICE_INT_H

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "rekey/clock.h"
#include "rekey/err.h"
#include "rekey/model.h"
#include "rekey/service.h"
#include "rekey/strutil.h"

/* "pg-lab 127.0.0.1:5432": enough for any name and address the playbook accepts. */
#define SVC_LABEL_MAX	320
/* Cap on a message from a client library once made one line (rk_err holds 512 in all). */
#define SVC_TEXT_MAX	400

/* Room for a GRANT that lets a login reload TLS, with a quoted role or 'user'@'host' in it. */
#define SVC_GRANT_MAX	560

/* The deadline of one exchange that starts now and may last timeout seconds. */
static inline long long
svc_deadline(int timeout)
{
	return rk_clock_ms() + (long long)timeout * 1000;
}

/* Writes "name address:port" into out (cut short, never overflowing, for absurd names). */
static inline void
svc_label(char out[SVC_LABEL_MAX], const struct rk_service *svc, const char *kind)
{
	const char *name = svc != NULL && svc->name != NULL ? svc->name : kind;
	const char *addr = svc != NULL && svc->connect.address != NULL ?
	    svc->connect.address : "?";
	int port = svc != NULL ? svc->connect.port : 0;

	(void)snprintf(out, SVC_LABEL_MAX, "%s %s:%d", name, addr, port);
}

/*
 * Copies text into out as one line: every line of text is trimmed, a leading prefix from
 * the NULL-terminated list strip (e.g. libpq's `connection to server at "h", port N
 * failed: ` or a severity "FATAL:") is dropped, and the lines are joined with "; ". Control
 * characters become spaces and runs of spaces one space. Never overflows; cuts at size.
 */
static inline void
svc_one_line(char *out, size_t size, const char *text, const char *const *strip)
{
	size_t len = 0;
	bool space = false;

	if (size == 0)
		return;
	out[0] = '\0';
	if (text == NULL)
		return;
	while (*text != '\0') {
		const char *end = strchr(text, '\n');
		size_t n = end != NULL ? (size_t)(end - text) : strlen(text), i;
		bool again = true;

		/* Leading blanks, then the prefixes, as often as they stack ("...: FATAL: x"). */
		while (again) {
			again = false;
			while (n > 0 && isspace((unsigned char)*text)) {
				text++;
				n--;
			}
			for (i = 0; strip != NULL && strip[i] != NULL; i++) {
				const char *p = strip[i], *q = text;
				size_t k = 0;

				/* A '*' in a prefix matches any run up to the next literal. */
				while (p[0] != '\0' && k < n) {
					if (p[0] == '*') {
						while (k < n && q[k] != p[1])
							k++;
						p++;
					} else if (p[0] == q[k]) {
						p++;
						k++;
					} else
						break;
				}
				if (p[0] == '\0' && k > 0) {
					text += k;
					n -= k;
					again = true;
				}
			}
		}
		while (n > 0 && isspace((unsigned char)text[n - 1]))
			n--;
		if (n > 0 && len > 0 && len + 2 < size) {
			memcpy(out + len, "; ", 2);
			len += 2;
			space = true;
		}
		for (i = 0; i < n && len + 1 < size; i++) {
			unsigned char c = (unsigned char)text[i];

			if (iscntrl(c) || c == ' ') {
				if (space)
					continue;
				c = ' ';
				space = true;
			} else
				space = false;
			out[len++] = (char)c;
		}
		out[len] = '\0';
		if (end == NULL)
			break;
		text = end + 1;
	}
}

/* What check_reload_privilege answers until it knows better: may not, no GRANT. */
static inline void
svc_clear_privilege_answer(bool *may, char *grant, size_t grant_size)
{
	*may = false;
	if (grant_size > 0)
		grant[0] = '\0';
}

/*
 * Hands the GRANT text over to the caller's grant buffer whole or not at all, since a GRANT
 * cut short would name another role or account: RK_E_INTERNAL, and grant "", when it does
 * not fit in grant_size.
 */
static inline int
svc_give_grant(char *grant, size_t grant_size, const char *text, const char *label,
    struct rk_err *err)
{
	if (rk_strlcpy(grant, text, grant_size))
		return 0;
	if (grant_size > 0)
		grant[0] = '\0';
	return rk_fail(err, RK_E_INTERNAL, "%s: the GRANT that allows a reload needs %zu bytes, "
	    "not %zu", label, strlen(text) + 1, grant_size);
}

/*
 * The checks every backend makes on a login before touching the network: required fields,
 * the backend's own kind, a port and a timeout in range. Returns 0 or RK_E_USAGE.
 */
static inline int
svc_check_login(const struct rk_service_login *login, enum rk_service_kind kind,
    const char *label, struct rk_err *err)
{
	const struct rk_service *svc = login != NULL ? login->service : NULL;

	if (svc == NULL)
		return rk_fail(err, RK_E_INTERNAL, "service login without a service");
	if (svc->kind != kind)
		return rk_fail(err, RK_E_INTERNAL, "%s: not a %s service", label,
		    rk_service_kind_name(kind));
	if (svc->connect.address == NULL || svc->connect.address[0] == '\0')
		return rk_fail(err, RK_E_USAGE, "%s: no address to connect to", label);
	if (svc->connect.port < 1 || svc->connect.port > 65535)
		return rk_fail(err, RK_E_USAGE, "%s: port %d is out of range", label,
		    svc->connect.port);
	if (svc->connect.user == NULL || svc->connect.user[0] == '\0')
		return rk_fail(err, RK_E_USAGE, "%s: no user to log in as", label);
	if (login->ca_file == NULL)
		return rk_fail(err, RK_E_USAGE, "%s: no CA file to verify the server with",
		    label);
	if ((login->cert_file == NULL) != (login->key_file == NULL))
		return rk_fail(err, RK_E_USAGE,
		    "%s: a client certificate needs its key and a key its certificate", label);
	if (login->timeout < 1 || login->timeout > RK_TIMEOUT_MAX)
		return rk_fail(err, RK_E_USAGE, "%s: timeout %d is out of range 1..%d", label,
		    login->timeout, RK_TIMEOUT_MAX);
	return 0;
}

#endif
