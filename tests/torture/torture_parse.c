/*
 * Torture of the parsers, as curl's torture mode: for each input file, the parser runs once
 * untouched, then again and again with its 1st, 2nd, ... Nth fallible call made to fail
 * (fault.h), until a run makes fewer calls than N. Each faulted run must end as the system
 * would want it to: either a failure that says why (a message, or an error diag), or the
 * very result of the untouched run (the fault was absorbed, say a log line lost). A result
 * that differs, a success without its output, a crash, or (under ASan) a leak fails the test.
 *
 *   torture_parse SUBJECT DIR|FILE...
 *
 * SUBJECT: playbook, env, ini, pg_service, conninfo, url-in-env, mask-env, material, record,
 * journal. Prints one line per subject: inputs, runs and faults absorbed.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fault.h"
#include "rekey/archive.h"
#include "rekey/bytes.h"
#include "rekey/conninfo.h"
#include "rekey/diag.h"
#include "rekey/envfile.h"
#include "rekey/err.h"
#include "rekey/fsutil.h"
#include "rekey/inifile.h"
#include "rekey/journal.h"
#include "rekey/material.h"
#include "rekey/model.h"
#include "rekey/playbook.h"

#define INPUT_MAX	(4 * 1024 * 1024)
/* A parse makes a few thousand calls; this bounds a runaway loop, not a real one. */
#define CALLS_MAX	2000000

/*
 * One parser as a function of the input: 0 and a summary of the result that two runs can
 * compare byte for byte, or an error (err, or the summary's "error" text for parsers that
 * report through diags).
 */
typedef int (*subject_fn)(struct rk_buf *summary, struct rk_bytes in, const char *path,
    struct rk_err *err);

/* The settings each editor is given, as its fuzz target gives them (tests/fuzz/). */
static const struct rk_setting env_settings[] = {
	{ "DB_SSL_MODE", "verify-full", { 0, 0 } },
	{ "DB_SSL_CA_CERT", "/etc/ssl/db certs/ca #1.crt", { 0, 0 } },
	{ "DB_TORTURE_NEW", "a'b\"c$d`e=f", { 0, 0 } },
};
static const struct rk_setting mycnf_settings[] = {
	{ "ssl-ca", "/etc/ssl/db certs/ca #1.crt", { 0, 0 } },
	{ "ssl-verify-server-cert", "1", { 0, 0 } },
};
static const struct rk_setting settings[] = {
	{ "sslmode", "verify-full", { 0, 0 } },
	{ "sslrootcert", "/etc/ssl/db certs/ca 100%.crt", { 0, 0 } },
};
#define COUNT(a)	(sizeof(a) / sizeof((a)[0]))

static int
summarise_bytes(struct rk_buf *summary, const struct rk_buf *out, struct rk_err *err)
{
	return rk_buf_append(summary, out->ptr != NULL ? out->ptr : (const unsigned char *)"",
	    out->len, err);
}

static int
subject_playbook(struct rk_buf *summary, struct rk_bytes in, const char *path,
    struct rk_err *err)
{
	struct rk_model *model = NULL;
	struct rk_diags diags;
	int r;

	rk_diags_init(&diags, "torture.yml");
	r = rk_playbook_parse(&model, "torture.yml", "/nonexistent/rekey-torture", in, &diags,
	    err);
	(void)path;
	if (r != 0 && err->msg[0] == '\0' && !rk_diags_has_errors(&diags))
		r = rk_err_set(err, RK_E_INTERNAL, __FILE__, __LINE__,
		    "failure without a message or an error diag");
	else if (r != 0 && err->msg[0] == '\0')
		rk_err_set(err, r, __FILE__, __LINE__, "%s", diags.n > 0 ? diags.items[0].msg :
		    "out of memory (the diags say so)");
	if (r == 0 && model == NULL)
		r = rk_err_set(err, RK_E_INTERNAL, __FILE__, __LINE__, "success without a model");
	if (r == 0) {
		r = rk_buf_printf(summary, err, "hosts %zu services %zu clients %zu certs %zu "
		    "revocations %zu diags %zu", model->nhosts, model->nservices, model->nclients,
		    model->ncertificates, model->nrevocations, diags.n);
		/* A warning that could not be stored is not a different result. */
		for (size_t i = 0; r == 0 && !diags.out_of_memory && i < diags.n; i++)
			r = rk_buf_printf(summary, err, "\n%u:%u %s", diags.items[i].pos.line,
			    diags.items[i].pos.col, diags.items[i].msg);
	}
	rk_model_free(model);
	rk_diags_clear(&diags);
	return r;
}

static int
subject_env(struct rk_buf *summary, struct rk_bytes in, const char *path, struct rk_err *err)
{
	struct rk_buf out;
	int r;

	if ((r = rk_envfile_set(&out, in, env_settings, COUNT(env_settings), path, err)) == 0)
		r = summarise_bytes(summary, &out, err);
	rk_buf_clear(&out);
	return r;
}

static int
subject_ini(struct rk_buf *summary, struct rk_bytes in, const char *path, struct rk_err *err)
{
	struct rk_buf out;
	int r;

	if ((r = rk_inifile_set(&out, in, RK_FORMAT_INI, "client", mycnf_settings,
	    COUNT(mycnf_settings), path, err)) == 0)
		r = summarise_bytes(summary, &out, err);
	rk_buf_clear(&out);
	return r;
}

static int
subject_pg_service(struct rk_buf *summary, struct rk_bytes in, const char *path,
    struct rk_err *err)
{
	struct rk_buf out;
	int r;

	if ((r = rk_inifile_set(&out, in, RK_FORMAT_PG_SERVICE, "svc", settings,
	    COUNT(settings), path, err)) == 0)
		r = summarise_bytes(summary, &out, err);
	rk_buf_clear(&out);
	return r;
}

static int
subject_conninfo(struct rk_buf *summary, struct rk_bytes in, const char *path,
    struct rk_err *err)
{
	struct rk_buf out;
	int r;

	if ((r = rk_conninfo_set(&out, in, NULL, settings, COUNT(settings), path, err)) == 0)
		r = summarise_bytes(summary, &out, err);
	rk_buf_clear(&out);
	return r;
}

static int
subject_url_in_env(struct rk_buf *summary, struct rk_bytes in, const char *path,
    struct rk_err *err)
{
	struct rk_buf out;
	int r;

	if ((r = rk_conninfo_set(&out, in, "DATABASE_URL", settings, COUNT(settings), path, err)) == 0)
		r = summarise_bytes(summary, &out, err);
	rk_buf_clear(&out);
	return r;
}

static int
subject_mask_env(struct rk_buf *summary, struct rk_bytes in, const char *path,
    struct rk_err *err)
{
	struct rk_buf out;
	int r;

	if ((r = rk_envfile_mask(&out, in, path, err)) == 0)
		r = summarise_bytes(summary, &out, err);
	rk_buf_clear(&out);
	return r;
}

static int
subject_material(struct rk_buf *summary, struct rk_bytes in, const char *path,
    struct rk_err *err)
{
	struct rk_material m;
	int r;

	(void)path;
	if ((r = rk_material_read(&m, in, NULL, err)) == 0) {
		r = rk_buf_printf(summary, err, "items %zu unreadable %zu", m.n, m.unreadable);
		for (size_t i = 0; r == 0 && i < m.n; i++)
			r = rk_buf_printf(summary, err, "\n%s %s %s %zu", m.items[i].spki_sha256,
			    m.items[i].fingerprint, m.items[i].reason != NULL ? m.items[i].reason :
			    "-", m.items[i].line);
	}
	rk_material_clear(&m);
	return r;
}

static int
subject_record(struct rk_buf *summary, struct rk_bytes in, const char *path,
    struct rk_err *err)
{
	struct rk_archive_check check;
	int r;

	(void)path;
	memset(&check, 0, sizeof(check));
	if ((r = rk_archive_verify(&check, in, NULL, err)) == 0)
		r = rk_buf_printf(summary, err, "ok %d members %zu manifest %d signature %d "
		    "chain %d problem %s", check.ok, check.members, check.manifest_ok,
		    check.signature_ok, check.chain_ok, check.problem);
	return r;
}

static int
subject_journal(struct rk_buf *summary, struct rk_bytes in, const char *path,
    struct rk_err *err)
{
	struct rk_journal_log *log = NULL;
	int r;

	(void)in;
	if ((r = rk_journal_read(&log, path, err)) == 0) {
		r = rk_buf_printf(summary, err, "incident %s records %zu torn %d",
		    log->incident != NULL ? log->incident : "-", log->nrecords, log->torn_tail);
		for (size_t i = 0; r == 0 && i < log->nrecords; i++)
			r = rk_buf_printf(summary, err, "\n%llu %u %s %s %zu %zu",
			    (unsigned long long)log->records[i].seq, log->records[i].step,
			    log->records[i].action, rk_journal_state_name(log->records[i].state),
			    log->records[i].nout, log->records[i].nundo);
	}
	rk_journal_log_free(log);
	return r;
}

static const struct {
	const char	*name;
	subject_fn	 fn;
} subjects[] = {
	{ "playbook", subject_playbook },
	{ "env", subject_env },
	{ "ini", subject_ini },
	{ "pg_service", subject_pg_service },
	{ "conninfo", subject_conninfo },
	{ "url-in-env", subject_url_in_env },
	{ "mask-env", subject_mask_env },
	{ "material", subject_material },
	{ "record", subject_record },
	{ "journal", subject_journal },
};

struct tally {
	size_t	inputs;
	long long runs;
	long long absorbed;	/* faulted runs whose result was the untouched one */
	long long failures;	/* broken contracts */
	size_t	refused;	/* inputs the parser refuses untouched */
};

/* One input: the untouched run, then every call failed in turn. */
static void
torture_one(struct tally *t, subject_fn fn, const char *path, struct rk_bytes in)
{
	struct rk_buf want, got;
	struct rk_err err = { 0 };
	int r0, r, fired;

	rk_buf_init(&want, INPUT_MAX * 4);
	rk_fault_arm(0);
	r0 = fn(&want, in, path, &err);
	t->inputs++;
	if (r0 != 0) {
		t->refused++;
		if (getenv("RK_TORTURE_VERBOSE") != NULL)
			fprintf(stderr, "%s: refused: %s\n", path, err.msg);
	}
	for (long long n = 1; n < CALLS_MAX; n++) {
		rk_buf_init(&got, INPUT_MAX * 4);
		memset(&err, 0, sizeof(err));
		rk_fault_arm(n);
		r = fn(&got, in, path, &err);
		fired = rk_fault_fired();
		rk_fault_arm(0);
		t->runs++;
		if (!fired) {
			/* Fewer calls than n: every call has failed once. */
			rk_buf_clear(&got);
			break;
		}
		if (r != 0 && (err.code == RK_OK || err.msg[0] == '\0')) {
			fprintf(stderr, "%s: call %lld failed: the parser failed without a "
			    "message\n", path, n);
			t->failures++;
		} else if (r == 0 && (r0 != 0 || got.len != want.len ||
		    (got.len > 0 && memcmp(got.ptr, want.ptr, got.len) != 0))) {
			fprintf(stderr, "%s: call %lld failed: the parser succeeded with another "
			    "result than without the fault:\n--- without\n%.*s\n--- with\n%.*s\n",
			    path, n, (int)want.len, want.ptr != NULL ? (const char *)want.ptr : "",
			    (int)got.len, got.ptr != NULL ? (const char *)got.ptr : "");
			t->failures++;
		} else if (r == 0)
			t->absorbed++;
		rk_buf_clear(&got);
	}
	rk_buf_clear(&want);
}

static int
torture_path(struct tally *t, subject_fn fn, const char *path)
{
	struct rk_buf data;
	struct rk_err err = { 0 };
	struct stat st;
	struct dirent **names = NULL;
	int n, r = 0;

	if (stat(path, &st) == -1) {
		fprintf(stderr, "torture_parse: %s: cannot stat\n", path);
		return -1;
	}
	if (S_ISDIR(st.st_mode)) {
		if ((n = scandir(path, &names, NULL, alphasort)) < 0)
			return -1;
		for (int i = 0; i < n; i++) {
			char *child = NULL;

			if (names[i]->d_name[0] != '.' && asprintf(&child, "%s/%s", path,
			    names[i]->d_name) >= 0) {
				if (torture_path(t, fn, child) != 0)
					r = -1;
				free(child);
			}
			free(names[i]);
		}
		free(names);
		return r;
	}
	if (!S_ISREG(st.st_mode))
		return 0;
	rk_buf_init(&data, INPUT_MAX);
	if (rk_file_read(&data, path, INPUT_MAX, &err) != 0) {
		fprintf(stderr, "torture_parse: %s\n", err.msg);
		return -1;
	}
	torture_one(t, fn, path, rk_buf_bytes(&data));
	rk_buf_clear(&data);
	return 0;
}

int
main(int argc, char **argv)
{
	struct tally t = { 0 };
	subject_fn fn = NULL;
	size_t i;

	if (argc < 3) {
		fprintf(stderr, "usage: torture_parse SUBJECT DIR|FILE...\n");
		return 2;
	}
	for (i = 0; i < sizeof(subjects) / sizeof(subjects[0]); i++)
		if (strcmp(subjects[i].name, argv[1]) == 0)
			fn = subjects[i].fn;
	if (fn == NULL) {
		fprintf(stderr, "torture_parse: no subject %s\n", argv[1]);
		return 2;
	}
	for (int a = 2; a < argc; a++)
		if (torture_path(&t, fn, argv[a]) != 0)
			return 1;
	printf("torture %s: %zu inputs (%zu refused as they are), %lld faulted runs, %lld "
	    "absorbed, %lld broken\n", argv[1], t.inputs, t.refused, t.runs, t.absorbed,
	    t.failures);
	if (t.inputs == 0) {
		fprintf(stderr, "torture_parse: no input\n");
		return 1;
	}
	return t.failures == 0 ? 0 : 1;
}
