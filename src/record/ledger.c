#include "rekey/ledger.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "rekey/bytes.h"
#include "rekey/cert.h"
#include "rekey/fsutil.h"

struct rk_ledger {
	char			*path;
	struct rk_ledger_entry	*entries;
	size_t			 n, cap;
};

static void
entry_clear(struct rk_ledger_entry *e)
{
	size_t i;

	free(e->serial);
	free(e->subject);
	free(e->common_name);
	for (i = 0; i < e->nsan; i++)
		free(e->san[i]);
	free(e->san);
	free(e->fingerprint);
	free(e->profile);
	free(e->key_type);
	free(e->replaces);
	free(e->incident);
	memset(e, 0, sizeof(*e));
}

void
rk_ledger_free(struct rk_ledger *ledger)
{
	size_t i;

	if (ledger == NULL)
		return;
	for (i = 0; i < ledger->n; i++)
		entry_clear(&ledger->entries[i]);
	free(ledger->entries);
	free(ledger->path);
	free(ledger);
}

/* strdup that keeps NULL as NULL and reports failure through *ok. */
static char *
dup_or_null(const char *s, bool *ok)
{
	char *d;

	if (s == NULL)
		return NULL;
	if ((d = strdup(s)) == NULL)
		*ok = false;
	return d;
}

static bool
entry_copy(struct rk_ledger_entry *dst, const struct rk_ledger_entry *src)
{
	bool ok = true;
	size_t i;

	memset(dst, 0, sizeof(*dst));
	dst->serial = dup_or_null(src->serial, &ok);
	dst->subject = dup_or_null(src->subject, &ok);
	dst->common_name = dup_or_null(src->common_name, &ok);
	dst->fingerprint = dup_or_null(src->fingerprint, &ok);
	dst->profile = dup_or_null(src->profile, &ok);
	dst->key_type = dup_or_null(src->key_type, &ok);
	dst->replaces = dup_or_null(src->replaces, &ok);
	dst->incident = dup_or_null(src->incident, &ok);
	dst->issued_at = src->issued_at;
	dst->not_after = src->not_after;
	if (src->nsan > 0 && (dst->san = calloc(src->nsan, sizeof(*dst->san))) == NULL)
		ok = false;
	for (i = 0; ok && i < src->nsan; i++, dst->nsan++)
		dst->san[i] = dup_or_null(src->san[i], &ok);
	if (!ok)
		entry_clear(dst);
	return ok;
}

int
rk_ledger_add(struct rk_ledger *ledger, const struct rk_ledger_entry *entry, struct rk_err *err)
{
	struct rk_ledger_entry *grown;

	if (entry->serial == NULL || entry->fingerprint == NULL)
		return rk_fail(err, RK_E_INTERNAL, "a ledger entry needs a serial and a fingerprint");
	if (ledger->n == ledger->cap) {
		size_t cap = ledger->cap == 0 ? 16 : ledger->cap * 2;

		if ((grown = reallocarray(ledger->entries, cap, sizeof(*grown))) == NULL)
			return rk_fail_nomem(err);
		ledger->entries = grown;
		ledger->cap = cap;
	}
	if (!entry_copy(&ledger->entries[ledger->n], entry))
		return rk_fail_nomem(err);
	ledger->n++;
	return 0;
}

static const char *
get_str(json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

static int
load_entries(struct rk_ledger *ledger, json_t *doc, struct rk_err *err)
{
	json_t *entries = json_object_get(doc, "certificates"), *item, *san;
	size_t i, k;
	int r;

	if (!json_is_array(entries))
		return rk_fail(err, RK_E_USAGE, "%s: not a rekey ledger (no certificates list)",
		    ledger->path);
	json_array_foreach(entries, i, item) {
		struct rk_ledger_entry e = { 0 };
		char *sans[256];

		e.serial = (char *)get_str(item, "serial");
		e.fingerprint = (char *)get_str(item, "sha256");
		e.subject = (char *)get_str(item, "subject");
		e.common_name = (char *)get_str(item, "cn");
		e.profile = (char *)get_str(item, "profile");
		e.key_type = (char *)get_str(item, "key");
		e.replaces = (char *)get_str(item, "replaces");
		e.incident = (char *)get_str(item, "incident");
		e.issued_at = (time_t)json_integer_value(json_object_get(item, "issued_at"));
		e.not_after = (time_t)json_integer_value(json_object_get(item, "not_after"));
		if (e.serial == NULL || e.fingerprint == NULL)
			return rk_fail(err, RK_E_USAGE, "%s: entry %zu has no serial or sha256",
			    ledger->path, i + 1);
		json_array_foreach(json_object_get(item, "san"), k, san) {
			if (k >= sizeof(sans) / sizeof(sans[0]) || !json_is_string(san))
				break;
			sans[k] = (char *)json_string_value(san);
			e.nsan = k + 1;
		}
		e.san = sans;
		if ((r = rk_ledger_add(ledger, &e, err)) != 0)
			return r;
	}
	return 0;
}

int
rk_ledger_open(struct rk_ledger **out, const char *path, struct rk_err *err)
{
	struct rk_ledger *ledger = NULL;
	struct rk_err read_err = { 0 };
	struct rk_buf buf;
	json_error_t jerr;
	json_t *doc = NULL;
	int r = 0;

	*out = NULL;
	rk_buf_init(&buf, RK_LEDGER_MAX);
	if ((ledger = calloc(1, sizeof(*ledger))) == NULL ||
	    (ledger->path = strdup(path)) == NULL) {
		r = rk_fail_nomem(err);
		goto out;
	}
	if (rk_file_read(&buf, path, RK_LEDGER_MAX, &read_err) != 0) {
		if (read_err.sys_errno == ENOENT)
			goto done;		/* no certificate issued yet */
		*err = read_err;
		r = read_err.code;
		goto out;
	}
	if ((doc = json_loadb((const char *)buf.ptr, buf.len, JSON_REJECT_DUPLICATES, &jerr)) ==
	    NULL) {
		r = rk_fail(err, RK_E_USAGE, "%s:%d:%d: %s", path, jerr.line, jerr.column,
		    jerr.text);
		goto out;
	}
	if ((r = load_entries(ledger, doc, err)) != 0)
		goto out;
 done:
	*out = ledger;
	ledger = NULL;
 out:
	json_decref(doc);
	rk_buf_clear(&buf);
	rk_ledger_free(ledger);
	return r;
}

static json_t *
entry_json(const struct rk_ledger_entry *e)
{
	json_t *o = json_object(), *san = json_array();
	size_t i;
	bool ok = o != NULL && san != NULL;

	for (i = 0; ok && i < e->nsan; i++)
		ok = json_array_append_new(san, json_string(e->san[i])) == 0;
	ok = ok && json_object_set_new(o, "serial", json_string(e->serial)) == 0 &&
	    json_object_set_new(o, "sha256", json_string(e->fingerprint)) == 0 &&
	    json_object_set_new(o, "subject", e->subject != NULL ?
	    json_string(e->subject) : json_null()) == 0 &&
	    json_object_set_new(o, "cn", e->common_name != NULL ?
	    json_string(e->common_name) : json_null()) == 0 &&
	    json_object_set_new(o, "san", san) == 0 &&
	    json_object_set_new(o, "profile", e->profile != NULL ?
	    json_string(e->profile) : json_null()) == 0 &&
	    json_object_set_new(o, "key", e->key_type != NULL ?
	    json_string(e->key_type) : json_null()) == 0 &&
	    json_object_set_new(o, "issued_at", json_integer(e->issued_at)) == 0 &&
	    json_object_set_new(o, "not_after", json_integer(e->not_after)) == 0 &&
	    json_object_set_new(o, "replaces", e->replaces != NULL ?
	    json_string(e->replaces) : json_null()) == 0 &&
	    json_object_set_new(o, "incident", e->incident != NULL ?
	    json_string(e->incident) : json_null()) == 0;
	if (!ok) {
		if (json_object_get(o, "san") != san)
			json_decref(san);
		json_decref(o);
		return NULL;
	}
	return o;
}

int
rk_ledger_to_json(char **out, const struct rk_ledger *ledger, struct rk_err *err)
{
	json_t *doc = json_object(), *list = json_array(), *item;
	size_t i;
	int r = 0;

	*out = NULL;
	if (doc == NULL || list == NULL || json_object_set_new(doc, "rekey_ledger",
	    json_integer(1)) != 0 || json_object_set(doc, "certificates", list) != 0) {
		r = rk_fail_nomem(err);
		goto out;
	}
	for (i = 0; i < ledger->n; i++) {
		if ((item = entry_json(&ledger->entries[i])) == NULL ||
		    json_array_append_new(list, item) != 0) {
			r = rk_fail_nomem(err);
			goto out;
		}
	}
	if ((*out = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER)) == NULL)
		r = rk_fail_nomem(err);
 out:
	json_decref(list);
	json_decref(doc);
	return r;
}

int
rk_ledger_save(const struct rk_ledger *ledger, struct rk_err *err)
{
	char *text = NULL;
	int r;

	/* 0644 for a new ledger (serials and fingerprints are public); an existing one keeps
	 * its mode, owner and group (rk_file_replace). */
	if ((r = rk_ledger_to_json(&text, ledger, err)) == 0)
		r = rk_file_replace(ledger->path, (struct rk_bytes){ (const unsigned char *)text,
		    strlen(text) }, 0644, err);
	free(text);
	return r;
}

size_t
rk_ledger_count(const struct rk_ledger *ledger)
{
	return ledger->n;
}

const struct rk_ledger_entry *
rk_ledger_entry_at(const struct rk_ledger *ledger, size_t i)
{
	return i < ledger->n ? &ledger->entries[i] : NULL;
}

const struct rk_ledger_entry *
rk_ledger_find_serial(const struct rk_ledger *ledger, const char *serial)
{
	size_t i;

	for (i = 0; i < ledger->n; i++)
		if (strcmp(ledger->entries[i].serial, serial) == 0)
			return &ledger->entries[i];
	return NULL;
}

const struct rk_ledger_entry *
rk_ledger_newest_for_cn(const struct rk_ledger *ledger, const char *cn)
{
	const struct rk_ledger_entry *newest = NULL;
	size_t i;

	/* Entries are appended as certificates are issued: on a tie of issued_at (one
	 * second), the later entry is the newer one. */
	for (i = 0; i < ledger->n; i++) {
		const struct rk_ledger_entry *e = &ledger->entries[i];

		if (e->common_name != NULL && strcmp(e->common_name, cn) == 0 &&
		    (newest == NULL || e->issued_at >= newest->issued_at))
			newest = e;
	}
	return newest;
}

int
rk_ledger_add_cert(struct rk_ledger *ledger, const struct rk_cert *cert, const char *profile,
    const char *replaces, const char *incident, struct rk_err *err)
{
	struct rk_ledger_entry e = { 0 };
	char serial[64], subject[512], cn[256], fp[RK_FINGERPRINT_LEN], key[64];
	int r;

	rk_cert_serial(serial, sizeof(serial), cert);
	rk_cert_subject(subject, sizeof(subject), cert);
	rk_cert_common_name(cn, sizeof(cn), cert);
	rk_cert_fingerprint(fp, cert);
	rk_cert_describe_key(key, sizeof(key), cert);
	e.serial = serial;
	e.subject = subject;
	e.common_name = cn;
	e.fingerprint = fp;
	e.profile = (char *)profile;
	e.key_type = key;
	e.issued_at = time(NULL);
	e.not_after = rk_cert_not_after(cert);
	e.replaces = (char *)replaces;
	e.incident = (char *)incident;
	if ((r = rk_cert_sans(&e.san, &e.nsan, cert, err)) == 0)
		r = rk_ledger_add(ledger, &e, err);
	rk_cert_sans_free(e.san, e.nsan);
	return r;
}
