/*
 * Revocation targets resolved to serials. The guard against the worst mistake of a 3 a.m.
 * revocation lives here: by common name, the newest certificate (the one just put into
 * service) is kept unless asked for.
 */
#include "rekey/revocation.h"

#include <dirent.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rekey/bytes.h"
#include "rekey/ca.h"
#include "rekey/crl.h"
#include "rekey/key.h"

void
rk_revoked_set_clear(struct rk_revoked_set *set)
{
	size_t i;

	for (i = 0; i < set->n; i++) {
		free(set->items[i].source);
		free(set->items[i].cert_path);
		free(set->items[i].key_path);
	}
	for (i = 0; i < set->nnotes; i++)
		free(set->notes[i]);
	free(set->items);
	free(set->notes);
	memset(set, 0, sizeof(*set));
}

static int
add_note(struct rk_revoked_set *set, struct rk_err *err, const char *fmt, ...)
    RK_PRINTF(3, 4);

static int
add_note(struct rk_revoked_set *set, struct rk_err *err, const char *fmt, ...)
{
	char **grown, *note = NULL;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&note, fmt, ap);
	va_end(ap);
	if (n < 0)
		return rk_fail_nomem(err);
	if ((grown = reallocarray(set->notes, set->nnotes + 1, sizeof(*grown))) == NULL) {
		free(note);
		return rk_fail_nomem(err);
	}
	set->notes = grown;
	set->notes[set->nnotes++] = note;
	return 0;
}

/* The ledger's word for a profile, as one of our static strings. */
static const char *
static_profile(const char *word)
{
	static const char *const names[] = { "server", "client", "ca" };
	size_t i;

	for (i = 0; word != NULL && i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(word, names[i]) == 0)
			return names[i];
	return NULL;
}

/* Adds a serial once; a serial selected twice keeps its first source. */
static int
add_item(struct rk_revoked_set *set, const char *serial, const char *source,
    const char *profile, bool client_auth, struct rk_err *err)
{
	struct rk_revoked *grown, *it;
	char norm[64];
	size_t i;

	if (!rk_serial_normalise(norm, sizeof(norm), serial))
		return rk_fail(err, RK_E_USAGE, "'%s' is not a hexadecimal serial of at most "
		    "20 bytes", serial);
	for (i = 0; i < set->n; i++)
		if (strcmp(set->items[i].serial, norm) == 0)
			return 0;
	if ((grown = reallocarray(set->items, set->n + 1, sizeof(*grown))) == NULL)
		return rk_fail_nomem(err);
	set->items = grown;
	it = &set->items[set->n];
	memset(it, 0, sizeof(*it));
	if ((it->source = strdup(source)) == NULL)
		return rk_fail_nomem(err);
	memcpy(it->serial, norm, sizeof(norm));
	it->profile = profile;
	it->client_auth = client_auth;
	set->n++;
	return 0;
}

int
rk_revoked_add_serial(struct rk_revoked_set *set, const char *serial, const char *source,
    const struct rk_ledger *ledger, struct rk_err *err)
{
	const struct rk_ledger_entry *e = NULL;
	const char *profile = NULL;
	char norm[64];

	if (ledger != NULL && rk_serial_normalise(norm, sizeof(norm), serial))
		e = rk_ledger_find_serial(ledger, norm);
	if (e != NULL)
		profile = static_profile(e->profile);
	return add_item(set, serial, source, profile, profile != NULL &&
	    strcmp(profile, "client") == 0, err);
}

/* NAME.key beside NAME.crt (or .pem, .cer), when it is the certificate's key. */
static int
find_client_key(struct rk_revoked *it, const char *cert_path, const struct rk_cert *cert,
    struct rk_err *err)
{
	const char *dot = strrchr(cert_path, '.'), *slash = strrchr(cert_path, '/');
	struct rk_err ignored = { 0 };
	struct rk_key *key = NULL;
	char *key_path = NULL;

	if (it->key_path != NULL || dot == NULL || (slash != NULL && dot < slash))
		return 0;
	if (asprintf(&key_path, "%.*s.key", (int)(dot - cert_path), cert_path) < 0)
		return rk_fail_nomem(err);
	if (access(key_path, F_OK) == 0 && rk_key_load_file(&key, key_path, NULL, &ignored) == 0 &&
	    rk_cert_check_key(cert, key, &ignored) == 0) {
		it->key_path = key_path;
		key_path = NULL;
		if ((it->cert_path = strdup(cert_path)) == NULL) {
			rk_key_free(key);
			return rk_fail_nomem(err);
		}
	}
	rk_key_free(key);
	free(key_path);
	return 0;
}

int
rk_revoked_add_cert_file(struct rk_revoked_set *set, const char *path, const char *source,
    const struct rk_cert *ca, struct rk_err *err)
{
	struct rk_cert *cert = NULL;
	const char *profile;
	char serial[64];
	bool client_auth;
	int r;

	if ((r = rk_cert_load_file(&cert, path, err)) != 0)
		return r;
	/* A root is issued by itself, but an entry for it in its own CRL means nothing: no
	 * client checks a trust anchor against a list the anchor signed. */
	if (rk_cert_same(cert, ca)) {
		rk_cert_free(cert);
		return rk_fail(err, RK_E_USAGE, "%s is the CA's own certificate: a CA is not "
		    "revoked in its own CRL (revoke it in its parent's, or replace it with "
		    "ca.rotate)", path);
	}
	if (!rk_cert_is_issued_by(cert, ca)) {
		rk_cert_free(cert);
		return rk_fail(err, RK_E_USAGE, "%s was not issued by the CA", path);
	}
	rk_cert_serial(serial, sizeof(serial), cert);
	profile = rk_cert_profile(cert, &client_auth);
	r = add_item(set, serial, source, profile, client_auth, err);
	if (r == 0 && client_auth)
		r = find_client_key(&set->items[set->n - 1], path, cert, err);
	rk_cert_free(cert);
	return r;
}

static bool
is_the_ca(const char *path, const struct rk_cert *ca)
{
	char a[RK_FINGERPRINT_LEN], b[RK_FINGERPRINT_LEN];
	struct rk_cert *cert = NULL;
	struct rk_err ignored = { 0 };

	if (rk_cert_load_file(&cert, path, &ignored) != 0)
		return false;
	rk_cert_fingerprint(a, cert);
	rk_cert_fingerprint(b, ca);
	rk_cert_free(cert);
	return strcmp(a, b) == 0;
}

int
rk_revoked_add_folder(struct rk_revoked_set *set, const char *folder,
    const struct rk_cert *ca, size_t *found, struct rk_err *err)
{
	char path[PATH_MAX];
	struct dirent **list = NULL;
	int count, i, r = 0;

	*found = 0;
	if ((count = scandir(folder, &list, NULL, alphasort)) < 0)
		return rk_fail_errno(err, "%s", folder);
	for (i = 0; i < count; i++) {
		const char *name = list[i]->d_name;
		size_t len = strlen(name);
		struct rk_err skip = { 0 };

		if (r != 0 || name[0] == '.' || len < 5 || (strcmp(name + len - 4, ".crt") != 0 &&
		    strcmp(name + len - 4, ".pem") != 0 && strcmp(name + len - 4, ".cer") != 0))
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", folder, name) >= sizeof(path))
			continue;
		/* The CA's own certificate, kept beside what it issued, is no target. */
		if (is_the_ca(path, ca))
			r = add_note(set, err, "skipped %s: it is the CA's own certificate", path);
		else if (rk_revoked_add_cert_file(set, path, path, ca, &skip) == 0)
			(*found)++;
		else if (skip.code == RK_E_NOMEM)
			r = rk_fail_nomem(err);
		else
			r = add_note(set, err, "skipped %s", skip.msg);
	}
	for (i = 0; i < count; i++)
		free(list[i]);
	free(list);
	return r;
}

int
rk_revoked_add_cn(struct rk_revoked_set *set, const char *cn, const struct rk_ledger *ledger,
    const char *ledger_path, bool include_current, size_t *found, struct rk_err *err)
{
	const struct rk_ledger_entry *newest = rk_ledger_newest_for_cn(ledger, cn);
	char source[300];
	size_t i;
	bool kept = false;
	int r = 0;

	*found = 0;
	if (newest == NULL)
		return rk_fail(err, RK_E_USAGE, "the ledger %s holds no certificate for CN %s",
		    ledger_path, cn);
	snprintf(source, sizeof(source), "--cn %s", cn);
	for (i = 0; i < rk_ledger_count(ledger) && r == 0; i++) {
		const struct rk_ledger_entry *e = rk_ledger_entry_at(ledger, i);
		const char *profile;

		if (e->common_name == NULL || strcmp(e->common_name, cn) != 0)
			continue;
		if (e == newest && !include_current) {
			kept = true;
			continue;
		}
		profile = static_profile(e->profile);
		r = add_item(set, e->serial, source, profile, profile != NULL &&
		    strcmp(profile, "client") == 0, err);
		(*found)++;
	}
	if (r != 0 || !kept)
		return r;
	if (*found == 0)
		return rk_fail(err, RK_E_USAGE, "CN %s: the ledger %s holds one certificate for "
		    "it, serial %s, the newest, most likely the one in service: nothing revoked "
		    "(--include-current revokes it)", cn, ledger_path, newest->serial);
	return add_note(set, err, "kept serial %s, the newest certificate for CN %s in %s "
	    "(most likely in service): --include-current revokes it too", newest->serial, cn,
	    ledger_path);
}

bool
rk_revoked_set_has_client(const struct rk_revoked_set *set)
{
	size_t i;

	for (i = 0; i < set->n; i++)
		if (set->items[i].client_auth)
			return true;
	return false;
}

const struct rk_revoked *
rk_revoked_set_client_with_key(const struct rk_revoked_set *set)
{
	size_t i;

	for (i = 0; i < set->n; i++)
		if (set->items[i].key_path != NULL)
			return &set->items[i];
	return NULL;
}

int
rk_revoked_set_serials(char **out, const struct rk_revoked_set *set, struct rk_err *err)
{
	struct rk_buf b;
	size_t i;
	int r;

	rk_buf_init(&b, SIZE_MAX);
	for (i = 0; i < set->n; i++) {
		r = rk_buf_printf(&b, err, "%s%s", i > 0 ? "," : "", set->items[i].serial);
		if (r != 0) {
			rk_buf_clear(&b);
			return r;
		}
	}
	*out = rk_buf_detach(&b);
	return *out != NULL ? 0 : rk_fail_nomem(err);
}
