/*
 * `rekey sweep`: where else the compromised keys and certificates are (sweep.h). Works out
 * what is compromised from the playbook, the incident's journal and the command line, sweeps
 * every host, prints what it found (or one JSON document) and adds sweep.json to the
 * incident's record. Never deletes or changes a file on a host.
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"
#include "rekey/actions.h"
#include "rekey/archive.h"
#include "rekey/fsutil.h"
#include "rekey/journal.h"
#include "rekey/key.h"
#include "rekey/material.h"
#include "rekey/record.h"
#include "rekey/ssh.h"
#include "rekey/strutil.h"
#include "rekey/sweep.h"

#define ARGS_MAX	256

struct sweep_args {
	bool		 json;
	bool		 no_record;
	const char	*paths[ARGS_MAX];
	size_t		 npaths;
	const char	*matches[ARGS_MAX];
	size_t		 nmatches;
	const char	*playbook;
};

static const char sweep_help[] =
    "usage: rekey sweep [--paths DIR]... [--match FILE]... [--json] [--no-record] PLAYBOOK\n"
    "\n"
    "Looks on every host of PLAYBOOK, over its transport, for copies of the compromised\n"
    "keys and certificates: those the playbook rotates as they were before the incident's\n"
    "run (the deployed files, or the backups the run kept of them), the certificates its\n"
    "revoke: section names, and under a CA rotation the old CA and everything it issued.\n"
    "Each host runs one bounded find under sweep.paths (default /etc/ssl, /etc/pki,\n"
    "/etc/postgresql, /etc/mysql, /var/lib/postgresql, /var/lib/mysql), the folders of the\n"
    "playbook's files there, the homes of the login and the owners, and its sweep_paths;\n"
    "its candidate files come back over the open session and are matched here by public\n"
    "key (SPKI SHA-256) and fingerprint, whatever their form: PEM, PEM inside other text,\n"
    "DER, PKCS#8, traditional and encrypted keys, PKCS#12. World-readable private keys are\n"
    "reported too. Deletes nothing.\n"
    "Exit status: 0 nothing compromised found and every host swept, 1 compromised material\n"
    "found or a host not swept, 2 usage or playbook error.\n"
    "\n"
    "  --paths DIR    sweep DIR on every host instead of sweep.paths (repeatable)\n"
    "  --match FILE   also look for the keys and certificates in FILE, a file on this\n"
    "                 machine (the copy that leaked, say); repeatable\n"
    "  --json         one JSON document on stdout\n"
    "  --no-record    do not add sweep.json to the incident's record\n"
    "  --help         this help\n";

/*
 * As the playbook's sweep folders: one name for one folder, so the report names it as found
 * (a single final '/' is allowed, as the playbook drops it).
 */
static bool
folder_is_plain(const char *path)
{
	size_t n = strlen(path), len;

	if (n > 1 && path[n - 1] == '/')
		n--;
	return rk_path_odd_component(path, n, &len) == NULL;
}

static int
parse_args(struct sweep_args *a, const struct rk_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "no-record", no_argument, NULL, 'n' },
		{ "paths", required_argument, NULL, 'p' },
		{ "match", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			a->json = true;
			break;
		case 'n':
			a->no_record = true;
			break;
		case 'p':
			if (optarg[0] != '/' || !folder_is_plain(optarg))
				return cli_usage_error(cli, "--paths %s: the folder must be an "
				    "absolute path on the hosts, without '.', '..' or '//'", optarg);
			if (a->npaths == ARGS_MAX)
				return cli_usage_error(cli, "more than %d --paths", ARGS_MAX);
			a->paths[a->npaths++] = optarg;
			break;
		case 'm':
			if (a->nmatches == ARGS_MAX)
				return cli_usage_error(cli, "more than %d --match", ARGS_MAX);
			a->matches[a->nmatches++] = optarg;
			break;
		case 'h':
			(void)cli_show_help(sweep_help, true);
			return -1;
		default:
			return cli_show_help(sweep_help, false);
		}
	}
	if (optind + 1 != argc) {
		fputs(sweep_help, stderr);
		return RK_EXIT_USAGE;
	}
	a->playbook = argv[optind];
	return RK_EXIT_OK;
}

/* ---- what is compromised ------------------------------------------------------------------ */

/* Everything the request borrows, owned here. */
struct sweep_set {
	struct rk_sweep_target	*targets;
	size_t			 ntargets;
	struct rk_sweep_source	*sources;
	size_t			 nsources;
	struct rk_sweep_managed	*managed;
	size_t			 nmanaged;
	struct rk_cert		*old_ca;	/* the compromised CA, or NULL */
	const struct rk_cert	*cas[1];
	size_t			 ncas;
	struct rk_secret	*passphrases;
	size_t			 npassphrases;
	char			**strings;	/* every label made here */
	size_t			 nstrings;
	struct rk_journal_log	*log;		/* the incident's, or NULL */
	char			*dir;		/* <records>/<id> */
};

static void
sweep_set_clear(struct sweep_set *s)
{
	size_t i;

	free(s->targets);
	free(s->sources);
	free(s->managed);
	rk_cert_free(s->old_ca);
	for (i = 0; i < s->npassphrases; i++)
		rk_secret_clear(&s->passphrases[i]);
	free(s->passphrases);
	for (i = 0; i < s->nstrings; i++)
		free(s->strings[i]);
	free(s->strings);
	rk_journal_log_free(s->log);
	free(s->dir);
	memset(s, 0, sizeof(*s));
}

/* A string kept until the set is cleared; NULL when out of memory. */
static const char *
keep(struct sweep_set *s, char *made)
{
	char **grown;

	if (made == NULL || (grown = reallocarray(s->strings, s->nstrings + 1,
	    sizeof(*grown))) == NULL) {
		free(made);
		return NULL;
	}
	s->strings = grown;
	s->strings[s->nstrings++] = made;
	return made;
}

static const char *
keepf(struct sweep_set *s, const char *fmt, ...) RK_PRINTF(2, 3);

static const char *
keepf(struct sweep_set *s, const char *fmt, ...)
{
	va_list ap;
	char *made = NULL;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&made, fmt, ap);
	va_end(ap);
	return keep(s, n < 0 ? NULL : made);
}

static int
push_target(struct sweep_set *s, const struct rk_sweep_target *t, struct rk_err *err)
{
	struct rk_sweep_target *grown;

	if ((grown = reallocarray(s->targets, s->ntargets + 1, sizeof(*grown))) == NULL)
		return rk_fail_nomem(err);
	s->targets = grown;
	s->targets[s->ntargets++] = *t;
	return 0;
}

static int
push_source(struct sweep_set *s, const struct rk_host *h, const char *path, const char *name,
    const char *what, struct rk_err *err)
{
	struct rk_sweep_source *grown;

	if (what == NULL || (grown = reallocarray(s->sources, s->nsources + 1,
	    sizeof(*grown))) == NULL)
		return rk_fail_nomem(err);
	s->sources = grown;
	s->sources[s->nsources++] = (struct rk_sweep_source){ h, path, name, what };
	return 0;
}

static int
push_managed(struct sweep_set *s, const struct rk_host *h, const char *path, const char *label,
    struct rk_err *err)
{
	struct rk_sweep_managed *grown;

	if (label == NULL || (grown = reallocarray(s->managed, s->nmanaged + 1,
	    sizeof(*grown))) == NULL)
		return rk_fail_nomem(err);
	s->managed = grown;
	s->managed[s->nmanaged++] = (struct rk_sweep_managed){ h, path, label };
	return 0;
}

/* The journal's newest record that replaced path on host, or NULL. */
static const struct rk_journal_record *
last_change(const struct rk_journal_log *log, const struct rk_host *h, const char *path)
{
	const struct rk_journal_record *found = NULL;
	size_t i;

	for (i = 0; log != NULL && i < log->nrecords; i++) {
		const struct rk_journal_record *rec = &log->records[i];
		const char *p = rk_kv_get(rec->undo, rec->nundo, "path");

		if (rec->host != NULL && strcmp(rec->host, h->name) == 0 && p != NULL &&
		    strcmp(p, path) == 0)
			found = rec;
	}
	return found;
}

/*
 * One cert or key file the playbook writes: what it held before the incident is looked for.
 * After the run replaced it, that is in the run's backup; until then (or after a rollback),
 * in the file itself.
 */
static int
add_file_source(struct sweep_set *s, const struct rk_model *m, const struct rk_host *h,
    const struct rk_file_target *f, const struct rk_certificate *cert, const char *whose,
    struct rk_err *err)
{
	static const char *const roles[] = { "files.cert", "files.key", "files.ca", "files.crl" };
	const struct rk_journal_record *rec;
	const char *backup = NULL, *label;
	int r;

	if (!f->present || f->path == NULL || cert == NULL ||
	    (f->role != RK_FILE_CERT && f->role != RK_FILE_KEY))
		return 0;
	label = keepf(s, "%s of %s", roles[f->role], whose);
	if ((r = push_managed(s, h, f->path, label, err)) != 0)
		return r;
	if ((rec = last_change(s->log, h, f->path)) != NULL &&
	    (rec->state == RK_JOURNAL_DONE || rec->state == RK_JOURNAL_FAILED))
		backup = rk_kv_get(rec->undo, rec->nundo, "backup");
	if (backup != NULL && backup[0] != '\0') {
		if ((r = push_managed(s, h, backup, keepf(s, "rekey's backup of %s (incident %s)",
		    f->path, m->incident.id), err)) != 0 ||
		    (r = push_source(s, h, backup, cert->name, "the run's backup", err)) != 0)
			return r;
		if (rec->state == RK_JOURNAL_DONE)
			return 0;	/* the file itself holds the new material now */
	}
	return push_source(s, h, f->path, cert->name, "deployed", err);
}

static int
add_playbook_sources(struct sweep_set *s, const struct rk_model *m, struct rk_err *err)
{
	size_t i, role;
	int r = 0;

	for (i = 0; i < m->nservices && r == 0; i++) {
		const struct rk_service *svc = &m->services[i];
		const char *whose = keepf(s, "service %s", svc->name);

		for (role = 0; role < RK_FILE_ROLES && r == 0; role++)
			r = whose == NULL ? rk_fail_nomem(err) : add_file_source(s, m, svc->host,
			    &svc->files[role], svc->certificate, whose, err);
	}
	for (i = 0; i < m->nclients && r == 0; i++) {
		const struct rk_client *c = &m->clients[i];
		const char *whose = keepf(s, "client %s", c->name);

		for (role = 0; role < RK_FILE_ROLES && r == 0; role++)
			r = whose == NULL ? rk_fail_nomem(err) : add_file_source(s, m, c->host,
			    &c->files[role], c->files[role].certificate, whose, err);
	}
	return r;
}

/* Every certificate and key in a file on this machine becomes a target named name. */
static int
add_local_file(struct sweep_set *s, const char *path, enum rk_sweep_kind kind,
    const char *name, const char *source, size_t *added, struct rk_err *err)
{
	struct rk_material_opts opts = { 0 };
	struct rk_material mat;
	struct rk_buf data;
	size_t i;
	int r;

	*added = 0;
	opts.passphrases = s->passphrases;
	opts.npassphrases = s->npassphrases;
	rk_buf_init(&data, RK_REMOTE_FILE_MAX);
	memset(&mat, 0, sizeof(mat));
	if ((r = rk_file_read(&data, path, RK_REMOTE_FILE_MAX, err)) != 0)
		goto out;	/* its message names the file */
	if ((r = rk_material_read(&mat, rk_buf_bytes(&data), &opts, err)) != 0) {
		rk_err_prefix(err, "%s", path);
		goto out;
	}
	for (i = 0; i < mat.n && r == 0; i++) {
		const struct rk_material_item *it = &mat.items[i];
		struct rk_sweep_target t = { 0 };

		if (it->spki_sha256[0] == '\0' && it->fingerprint[0] == '\0')
			continue;
		t.kind = kind == RK_SWEEP_CA ? RK_SWEEP_CA :
		    it->kind == RK_MATERIAL_CERTIFICATE ? RK_SWEEP_CERTIFICATE : RK_SWEEP_KEY;
		t.ca_index = kind == RK_SWEEP_CA ? 0 : -1;
		rk_strlcpy(t.name, name, sizeof(t.name));
		rk_strlcpy(t.source, source, sizeof(t.source));
		memcpy(t.spki_sha256, it->spki_sha256, sizeof(t.spki_sha256));
		memcpy(t.fingerprint, it->fingerprint, sizeof(t.fingerprint));
		if ((r = push_target(s, &t, err)) == 0)
			(*added)++;
	}
 out:
	rk_material_clear(&mat);
	rk_buf_clear(&data);
	return r;
}

static const char *
base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash != NULL && slash[1] != '\0' ? slash + 1 : path;
}

/*
 * The compromised CA. The incident's run keeps a copy of the CA it replaced
 * (ca/previous.crt): that one, when there is one. Before such a run (under ca.rotate), or
 * after one that kept none, ca.cert, unless that is the CA the run made.
 */
static int
find_old_ca(struct sweep_set *s, const struct rk_model *m, const char **path,
    struct rk_err *err)
{
	struct rk_cert *named = NULL, *made = NULL;
	char *made_path = NULL, *previous = NULL;
	bool replaced;
	int r;

	*path = NULL;
	if ((r = rk_incident_file(&made_path, s->dir, "ca/ca.crt", err)) != 0 ||
	    (r = rk_incident_file(&previous, s->dir, "ca/previous.crt", err)) != 0)
		goto out;
	if (cli_file_exists(previous)) {
		if ((*path = keep(s, previous)) == NULL)
			r = rk_fail_nomem(err);
		else
			r = rk_cert_load_file(&s->old_ca, *path, err);
		previous = NULL;	/* kept, or freed by keep() */
		goto out;
	}
	replaced = cli_file_exists(made_path);
	if ((!m->ca.rotate && !replaced) || !cli_file_exists(m->ca.cert) ||
	    rk_cert_load_file(&named, m->ca.cert, err) != 0)
		goto out;	/* what cannot be read now, the run's preflight names */
	if (replaced && rk_cert_load_file(&made, made_path, err) == 0 &&
	    rk_cert_same(named, made))
		goto out;	/* the playbook names the new CA, and the old one was not kept */
	*path = m->ca.cert;
	s->old_ca = named;
	named = NULL;
 out:
	if (r == 0)
		rk_err_clear(err);
	rk_cert_free(named);
	rk_cert_free(made);
	free(made_path);
	free(previous);
	return r;
}

/* Serials the revoke: section names, matched by issuer and serial (and their file's key). */
static int
add_revocations(struct sweep_set *s, const struct rk_model *m, struct rk_err *err)
{
	struct cli_revocations revs = { 0 };
	struct rk_cert *ca = NULL;
	char issuer[256] = "";
	size_t i, j, added;
	int r = 0;

	if (m->nrevocations == 0)
		return 0;
	if (s->old_ca != NULL)
		(void)rk_cert_subject(issuer, sizeof(issuer), s->old_ca);
	else if (cli_file_exists(m->ca.cert) && rk_cert_load_file(&ca, m->ca.cert, err) == 0)
		(void)rk_cert_subject(issuer, sizeof(issuer), ca);
	rk_cert_free(ca);
	rk_err_clear(err);
	if ((r = cli_resolve_revocations(&revs, m, err)) != 0)
		return r;
	for (i = 0; i < revs.n && r == 0; i++) {
		const struct rk_revoked_set *set = &revs.views[i].set;
		/* A certificate file read whole is looked for by key and fingerprint instead. */
		bool by_file = m->revocations[i].kind == RK_REVOKE_CERT &&
		    cli_file_exists(m->revocations[i].value);

		for (j = 0; j < set->n && r == 0 && !by_file; j++) {
			struct rk_sweep_target t = { 0 };

			t.kind = RK_SWEEP_CERTIFICATE;
			t.ca_index = -1;
			snprintf(t.name, sizeof(t.name), "revoked %s", set->items[j].serial);
			snprintf(t.source, sizeof(t.source), "revoke: %s", set->items[j].source);
			rk_strlcpy(t.serial, set->items[j].serial, sizeof(t.serial));
			rk_strlcpy(t.issuer, issuer, sizeof(t.issuer));
			r = push_target(s, &t, err);
		}
		if (r == 0 && m->revocations[i].kind == RK_REVOKE_CERT &&
		    cli_file_exists(m->revocations[i].value)) {
			const char *src = keepf(s, "revoke: %s", m->revocations[i].value);

			r = src == NULL ? rk_fail_nomem(err) : add_local_file(s,
			    m->revocations[i].value, RK_SWEEP_CERTIFICATE,
			    base_name(m->revocations[i].value), src, &added, err);
		}
	}
	cli_revocations_clear(&revs);
	return r;
}

static int
load_passphrases(struct sweep_set *s, const struct rk_model *m, struct rk_err *err)
{
	size_t i;
	int r;

	if (m->sweep.npassphrases == 0)
		return 0;
	if ((s->passphrases = calloc(m->sweep.npassphrases, sizeof(*s->passphrases))) == NULL)
		return rk_fail_nomem(err);
	for (i = 0; i < m->sweep.npassphrases; i++) {
		const struct rk_secret_ref *ref = &m->sweep.passphrases[i];

		if ((r = rk_secret_from_source(&s->passphrases[s->npassphrases], ref->env,
		    ref->file, err)) != 0) {
			rk_err_prefix(err, "sweep passphrase_%s %s", ref->env != NULL ? "env" :
			    "file", ref->env != NULL ? ref->env : ref->file);
			return r;
		}
		if (s->passphrases[s->npassphrases].ptr != NULL)
			s->npassphrases++;
	}
	return 0;
}

static int
build_set(struct sweep_set *s, const struct rk_model *m, const struct sweep_args *a,
    struct rk_err *err)
{
	char *journal = NULL;
	const char *ca_path = NULL;
	size_t i, added;
	int r;

	if (asprintf(&s->dir, "%s/%s", m->incident.records, m->incident.id) < 0) {
		s->dir = NULL;
		return rk_fail_nomem(err);
	}
	if ((r = load_passphrases(s, m, err)) != 0 ||
	    (r = rk_incident_file(&journal, s->dir, "journal.jsonl", err)) != 0)
		return r;
	if (cli_file_exists(journal) && (r = rk_journal_read(&s->log, journal, err)) != 0) {
		free(journal);
		return r;
	}
	free(journal);
	if ((r = add_playbook_sources(s, m, err)) != 0 || (r = find_old_ca(s, m, &ca_path,
	    err)) != 0)
		return r;
	if (s->old_ca != NULL) {
		s->cas[0] = s->old_ca;
		s->ncas = 1;
		const char *src = keepf(s, "the CA being replaced, %s", ca_path);

		if (src == NULL)
			return rk_fail_nomem(err);
		if ((r = add_local_file(s, ca_path, RK_SWEEP_CA, "the old CA", src, &added,
		    err)) != 0)
			return r;
	}
	if ((r = add_revocations(s, m, err)) != 0)
		return r;
	for (i = 0; i < a->nmatches; i++) {
		const char *src = keepf(s, "--match %s", a->matches[i]);

		if (src == NULL)
			return rk_fail_nomem(err);
		if ((r = add_local_file(s, a->matches[i], RK_SWEEP_KEY, base_name(a->matches[i]),
		    src, &added, err)) != 0) {
			/* A file named on the command line that cannot be read is a usage error. */
			if (r != RK_E_NOMEM)
				err->code = RK_E_USAGE;
			rk_err_prefix(err, "--match");
			return r;
		}
		if (added == 0)
			return rk_fail(err, RK_E_USAGE, "--match %s: no key or certificate in it "
			    "(an encrypted key needs its passphrase in sweep.passphrase_env or "
			    "_file)", a->matches[i]);
	}
	return 0;
}

/* ---- output --------------------------------------------------------------------------------- */

static const char *
holds_of(const struct rk_sweep_finding *f)
{
	return f->has_item ? rk_material_kind_name(f->item.kind) : NULL;
}

/* Every string here may come from a host (a file name, an owner): escaped when not UTF-8. */
static json_t *
str_or_null(const char *s)
{
	return s != NULL && s[0] != '\0' ? cli_json_text(s) : json_null();
}

static json_t *
finding_json(const struct rk_model *m, const struct rk_sweep_report *r,
    const struct rk_sweep_finding *f)
{
	const struct rk_sweep_target *t = f->target >= 0 ? &r->targets[f->target] : NULL;
	char mode[8], advice[400];
	json_t *o;

	snprintf(mode, sizeof(mode), "%04o", (unsigned)f->mode);
	rk_sweep_advice(advice, sizeof(advice), r, f);
	o = json_pack("{s:s, s:o, s:o, s:o, s:o, s:I, s:s, s:o, s:o, s:o, s:I, s:o, s:o, s:o, "
	    "s:o, s:o, s:b, s:b, s:s}",
	    "host", m->hosts[f->host].name, "path", str_or_null(f->path),
	    "owner", str_or_null(f->owner), "group", str_or_null(f->group),
	    "mode", f->is_folder ? json_null() : json_string(mode), "size", (json_int_t)f->size,
	    "class", rk_sweep_class_name(f->cls), "holds", str_or_null(holds_of(f)),
	    "encoding", f->has_item ? json_string(rk_material_encoding_name(f->item.encoding)) :
	    json_null(),
	    "form", f->has_item ? json_string(rk_material_form_name(f->item.form)) : json_null(),
	    "line", (json_int_t)(f->has_item ? f->item.line : 0),
	    "spki_sha256", str_or_null(f->has_item ? f->item.spki_sha256 : NULL),
	    "fingerprint", str_or_null(f->has_item ? f->item.fingerprint : NULL),
	    "matches", str_or_null(t != NULL ? t->name : NULL),
	    "match", str_or_null(f->match),
	    "managed", str_or_null(f->managed),
	    "world_readable", f->world_readable, "folder", f->is_folder, "advice", advice);
	if (o != NULL && f->has_item && f->item.reason != NULL)
		json_object_set_new(o, "reason", json_string(f->item.reason));
	if (o != NULL && f->has_item && f->item.subject[0] != '\0')
		json_object_set_new(o, "subject", str_or_null(f->item.subject));
	return o;
}

static json_t *
strings_json(char *const *v, size_t n)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; a != NULL && i < n; i++)
		json_array_append_new(a, str_or_null(v[i]));
	return a;
}

static json_t *
report_json(const struct rk_model *m, const struct rk_sweep_report *r, const char *record)
{
	json_t *doc, *targets = json_array(), *hosts = json_array(), *findings = json_array();
	json_t *notes = strings_json(r->notes, r->nnotes);
	size_t i, seen = 0, read = 0;

	for (i = 0; targets != NULL && i < r->ntargets; i++) {
		const struct rk_sweep_target *t = &r->targets[i];

		json_array_append_new(targets, json_pack("{s:s, s:o, s:o, s:o, s:o, s:o}",
		    "kind", rk_sweep_kind_name(t->kind), "name", str_or_null(t->name),
		    "source", str_or_null(t->source),
		    "spki_sha256", str_or_null(t->spki_sha256),
		    "fingerprint", str_or_null(t->fingerprint), "serial", str_or_null(t->serial)));
	}
	for (i = 0; hosts != NULL && i < r->nhosts; i++) {
		const struct rk_sweep_host *h = &r->hosts[i];

		seen += h->files_seen;
		read += h->files_read;
		json_array_append_new(hosts, json_pack("{s:s, s:b, s:o, s:o, s:o, s:I, s:I, s:I, "
		    "s:b, s:f}", "host", m->hosts[i].name, "swept", h->swept,
		    "error", str_or_null(h->error), "folders", strings_json(h->folders, h->nfolders),
		    "missing", strings_json(h->missing, h->nmissing),
		    "files_seen", (json_int_t)h->files_seen, "files_read", (json_int_t)h->files_read,
		    "unreadable_other", (json_int_t)h->unreadable_other,
		    "truncated", h->truncated, "seconds", h->seconds));
	}
	for (i = 0; findings != NULL && i < r->nfindings; i++)
		json_array_append_new(findings, finding_json(m, r, &r->findings[i]));
	doc = json_pack("{s:s, s:o, s:o, s:o, s:o, s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
	    "s:I}, s:o}",
	    "incident", m->incident.id, "looked_for", targets, "hosts", hosts,
	    "findings", findings, "notes", notes,
	    "summary", "hosts", (json_int_t)r->nhosts, "swept", (json_int_t)r->hosts_swept,
	    "hosts_with_compromised", (json_int_t)r->hosts_with_compromised,
	    "files_seen", (json_int_t)seen, "files_read", (json_int_t)read,
	    "compromised", (json_int_t)r->counts[RK_SWEEP_COMPROMISED],
	    "exposed", (json_int_t)r->counts[RK_SWEEP_EXPOSED],
	    "unreadable", (json_int_t)r->counts[RK_SWEEP_UNREADABLE],
	    "too_large", (json_int_t)r->counts[RK_SWEEP_TOO_LARGE],
	    "record", str_or_null(record));
	return doc;
}

static const char *
plural(size_t n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

static void
print_finding(const struct rk_model *m, const struct rk_sweep_report *r,
    const struct rk_sweep_finding *f)
{
	const struct rk_sweep_target *t = f->target >= 0 ? &r->targets[f->target] : NULL;
	char line[1400], advice[400];
	int n;

	(void)m;
	if (f->is_folder)
		n = snprintf(line, sizeof(line), "  %-11s  %s/", rk_sweep_class_name(f->cls),
		    f->path);
	else
		n = snprintf(line, sizeof(line), "  %-11s  %s  %s:%s %04o", rk_sweep_class_name(
		    f->cls), f->path, f->owner[0] != '\0' ? f->owner : "?",
		    f->group[0] != '\0' ? f->group : "?", (unsigned)f->mode);
	if (n > 0 && (size_t)n < sizeof(line) && f->has_item) {
		n += snprintf(line + n, sizeof(line) - (size_t)n, "  %s (%s, %s)",
		    rk_material_kind_name(f->item.kind),
		    rk_material_encoding_name(f->item.encoding),
		    rk_material_form_name(f->item.form));
		if (n > 0 && (size_t)n < sizeof(line) && f->item.line > 0)
			n += snprintf(line + n, sizeof(line) - (size_t)n, " line %zu",
			    f->item.line);
	} else if (n > 0 && (size_t)n < sizeof(line) && f->cls == RK_SWEEP_TOO_LARGE) {
		n += snprintf(line + n, sizeof(line) - (size_t)n, "  %llu bytes", f->size);
	}
	if (n > 0 && (size_t)n < sizeof(line) && t != NULL)
		n += snprintf(line + n, sizeof(line) - (size_t)n, " = %s%s%s",
		    strcmp(f->match, "issued-by-ca") == 0 ? "issued by " : "", t->name,
		    strcmp(f->match, "key") == 0 ? "'s key" :
		    strcmp(f->match, "beside") == 0 ? "'s key, encrypted (named like it, beside it)" :
		    strcmp(f->match, "serial") == 0 ? " (by serial)" : "");
	if (n > 0 && (size_t)n < sizeof(line) && f->managed != NULL)
		(void)snprintf(line + n, sizeof(line) - (size_t)n, "  [%s]", f->managed);
	cli_print_escaped("", line);
	rk_sweep_advice(advice, sizeof(advice), r, f);
	printf("               %s\n", advice);
}

/* Distinct files holding a compromised item (the findings are sorted by host and path). */
static size_t
compromised_files(const struct rk_sweep_report *r)
{
	size_t i, n = 0;
	const struct rk_sweep_finding *last = NULL;

	for (i = 0; i < r->nfindings; i++) {
		const struct rk_sweep_finding *f = &r->findings[i];

		if (f->cls != RK_SWEEP_COMPROMISED)
			continue;
		if (last == NULL || last->host != f->host || strcmp(last->path, f->path) != 0)
			n++;
		last = f;
	}
	return n;
}

static void
print_text(const struct rk_model *m, const struct rk_sweep_report *r, const char *record)
{
	size_t i, k, n[3] = { 0, 0, 0 }, files = compromised_files(r);

	for (i = 0; i < r->ntargets; i++)
		n[r->targets[i].kind]++;
	printf("sweep %s: looking for %zu %s, %zu %s", m->incident.id, n[RK_SWEEP_KEY],
	    plural(n[RK_SWEEP_KEY], "key", "keys"), n[RK_SWEEP_CERTIFICATE],
	    plural(n[RK_SWEEP_CERTIFICATE], "certificate", "certificates"));
	if (n[RK_SWEEP_CA] > 0)
		printf(" and a compromised CA");
	printf(" on %zu %s\n", r->nhosts, plural(r->nhosts, "host", "hosts"));
	for (i = 0; i < r->ntargets; i++) {
		const struct rk_sweep_target *t = &r->targets[i];
		char line[1200];

		/* The first 16 hex digits name a key well enough to read; --json has them all. */
		if (t->spki_sha256[0] == '\0' && t->fingerprint[0] == '\0')
			snprintf(line, sizeof(line), "  looking for %s %s, by issuer and serial, "
			    "from %s", rk_sweep_kind_name(t->kind), t->name, t->source);
		else
			snprintf(line, sizeof(line), "  looking for %s %s:%s%.16s%s%s%.23s%s, from %s",
			    rk_sweep_kind_name(t->kind), t->name,
			    t->spki_sha256[0] != '\0' ? " SPKI " : "", t->spki_sha256,
			    t->spki_sha256[0] != '\0' ? "..." : "",
			    t->fingerprint[0] != '\0' ? " SHA256 " : "", t->fingerprint,
			    t->fingerprint[0] != '\0' ? "..." : "", t->source);
		cli_print_escaped("", line);
	}
	for (i = 0; i < r->nnotes; i++)
		cli_print_escaped("  note: ", r->notes[i]);
	if (r->ntargets == 0)
		printf("  NOTHING TO LOOK FOR: no compromised key or certificate could be read, so "
		    "no copy can be found; name one with --match FILE\n");
	for (i = 0; i < r->nhosts; i++) {
		const struct rk_sweep_host *h = &r->hosts[i];

		if (!h->swept) {
			char line[700];

			snprintf(line, sizeof(line), "%s: NOT SWEPT: %s", m->hosts[i].name,
			    h->error[0] != '\0' ? h->error : "not reached");
			cli_print_escaped("", line);
			continue;
		}
		printf("%s: %zu %s looked at, %zu read", m->hosts[i].name,
		    h->files_seen > (size_t)m->sweep.max_files ? (size_t)m->sweep.max_files :
		    h->files_seen, plural(h->files_seen, "file", "files"), h->files_read);
		if (h->unreadable_other > 0)
			printf(", %zu other %s not readable (no key-like name)", h->unreadable_other,
			    plural(h->unreadable_other, "file", "files"));
		printf("%s (%.1f s)\n", h->truncated ? "; CUT SHORT by sweep.max_files or the "
		    "output cap" : "", h->seconds);
		for (k = 0; k < r->nfindings; k++)
			if (r->findings[k].host == i)
				print_finding(m, r, &r->findings[k]);
	}
	printf("summary: %zu compromised %s in %zu %s on %zu of %zu %s; %zu world-readable %s; "
	    "%zu not readable; %zu too large",
	    r->counts[RK_SWEEP_COMPROMISED], plural(r->counts[RK_SWEEP_COMPROMISED], "item",
	    "items"), files, plural(files, "file", "files"), r->hosts_with_compromised,
	    r->nhosts, plural(r->nhosts, "host", "hosts"),
	    r->counts[RK_SWEEP_EXPOSED], plural(r->counts[RK_SWEEP_EXPOSED], "key", "keys"),
	    r->counts[RK_SWEEP_UNREADABLE], r->counts[RK_SWEEP_TOO_LARGE]);
	if (r->hosts_swept < r->nhosts)
		printf("; %zu %s NOT SWEPT", r->nhosts - r->hosts_swept,
		    plural(r->nhosts - r->hosts_swept, "host", "hosts"));
	printf("\n");
	if (record != NULL)
		cli_print_escaped("record: sweep.json added to ", record);
	if (r->counts[RK_SWEEP_COMPROMISED] > 0)
		printf("next: remove each copy (sweep deletes nothing), or add its path to the "
		    "playbook and `rekey run` to replace it; then sweep again\n");
}

/* ---- the record ------------------------------------------------------------------------------ */

/*
 * sweep.json beside the journal, and into the sealed record when the incident has one (with
 * the key that sealed it). A record that cannot take it is said, not fatal: the findings
 * were printed.
 */
static int
write_sweep_json(char **record, const struct rk_cli *cli, const struct rk_model *m,
    const struct sweep_set *s, json_t *doc)
{
	struct rk_key *signer = NULL;
	struct rk_err err = { 0 };
	const char *by = NULL;
	char *text = NULL, *path = NULL, *archive = NULL;
	int r = 0;

	*record = NULL;
	if (access(s->dir, F_OK) != 0)
		return 0;	/* the incident was never run: nothing to add to */
	if ((text = json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS)) == NULL ||
	    (r = rk_incident_file(&path, s->dir, "sweep.json", &err)) != 0 ||
	    (r = rk_file_replace_private(path, (struct rk_bytes){ (const unsigned char *)text,
	    strlen(text) }, &err)) != 0 ||
	    (r = rk_record_path(&archive, m, false, &err)) != 0)
		goto out;
	if (access(archive, F_OK) != 0)
		goto out;
	if ((r = cli_open_record_signer(&signer, &by, m, s->dir, false, &err)) != 0 ||
	    (r = rk_archive_amend(archive, "sweep.json", (struct rk_bytes){
	    (const unsigned char *)text, strlen(text) }, signer, &err)) != 0)
		goto out;
	*record = archive;
	archive = NULL;
 out:
	if (text == NULL)
		r = rk_fail_nomem(&err);
	if (r != 0)
		cli_report_error(cli, "sweep: the record", &err);
	rk_key_free(signer);
	free(text);
	free(path);
	free(archive);
	return r;
}

int
cmd_sweep(const struct rk_cli *cli, int argc, char **argv)
{
	struct sweep_args args;
	struct sweep_set set;
	struct rk_sweep_report report;
	struct rk_model *model = NULL;
	struct rk_err err = { 0 };
	struct rk_diags diags;
	struct cli_load_opts load = { false, false };
	char *record = NULL, *newest = NULL;
	json_t *doc = NULL;
	int rc;

	memset(&args, 0, sizeof(args));
	memset(&set, 0, sizeof(set));
	memset(&report, 0, sizeof(report));
	rk_diags_init(&diags, NULL);
	if ((rc = parse_args(&args, cli, argc, argv)) != RK_EXIT_OK) {
		rk_diags_clear(&diags);
		return rc == -1 ? RK_EXIT_OK : rc;
	}
	rk_diags_clear(&diags);		/* cli_load_playbook makes them anew */
	load.json = args.json;
	if ((rc = cli_load_playbook(cli, args.playbook, &load, &diags, &model)) != RK_EXIT_OK)
		goto out;
	/* No incident.id: the newest incident run from this playbook's records, if any. */
	if (model->incident.id_generated) {
		if (cli_newest_incident(&newest, model->incident.records, &err) != 0)
			goto failed;
		if (newest != NULL) {
			free(model->incident.id);
			model->incident.id = newest;
		}
	}
	if (build_set(&set, model, &args, &err) != 0) {
		rc = err.code == RK_E_USAGE ? RK_EXIT_USAGE : RK_EXIT_FAILED;
		cli_report_error(cli, "sweep", &err);
		goto out;
	}
	{
		struct rk_sweep_request req = { model, set.targets, set.ntargets, set.sources,
		    set.nsources, set.managed, set.nmanaged, set.cas, set.ncas, set.passphrases,
		    set.npassphrases, args.npaths > 0 ? args.paths : NULL, args.npaths,
		    cli_transport_open, NULL, (size_t)model->policy.max_parallel, NULL };

		if (rk_ssh_global_init(&err) != 0)
			goto failed;
		rc = rk_sweep_run(&report, &req, &err);
		rk_ssh_global_cleanup();
		if (rc != 0)
			goto failed;
	}
	if ((doc = report_json(model, &report, NULL)) == NULL) {
		rk_fail_nomem(&err);
		goto failed;
	}
	if (!args.no_record && write_sweep_json(&record, cli, model, &set, doc) == 0 &&
	    record != NULL)
		json_object_set_new(doc, "record", str_or_null(record));
	if (args.json) {
		if (json_dumpf(doc, stdout, JSON_INDENT(2)) != 0)
			goto failed;
		fputc('\n', stdout);
	} else {
		print_text(model, &report, record);
	}
	/* Nothing to look for is no all-clear: the question could not be asked. */
	rc = report.counts[RK_SWEEP_COMPROMISED] > 0 || report.hosts_swept < report.nhosts ||
	    report.ntargets == 0 ? RK_EXIT_FAILED : RK_EXIT_OK;
	goto out;
 failed:
	cli_report_error(cli, "sweep", &err);
	rc = RK_EXIT_FAILED;
 out:
	json_decref(doc);
	free(record);
	rk_sweep_report_clear(&report);
	sweep_set_clear(&set);
	rk_model_free(model);
	rk_diags_clear(&diags);
	return rc;
}
