/*
 * rk_sweep_run over the local transport on a real tree: the host's own find, grep and tar
 * send the candidates, and what each file holds is judged by OpenSSL's SPKI hash (the
 * openssl command computes the one expected). Copies in several forms are found, unrelated
 * material is not, and a symlink loop, a file over the size cap and a host that cannot be
 * reached stop nothing. Also rk_sweep_folders and rk_tar_each on a stream cut short.
 */
#include "test_util.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "rekey/archive.h"
#include "rekey/fsutil.h"
#include "rekey/local.h"
#include "rekey/playbook.h"
#include "rekey/sweep.h"

struct fixture {
	char		 dir[64];
	char		 spki[RK_SHA256_HEX];	/* of the compromised key, as openssl says */
	struct rk_model	*model;
};

/* Runs a shell line in dir; fails the test when it fails. */
static void
sh(const char *dir, const char *line)
{
	char out[4096], cmd[4096];
	char *argv[] = { "sh", "-c", cmd, NULL };

	snprintf(cmd, sizeof(cmd), "cd '%s' && %s", dir, line);
	if (rk_test_run(out, sizeof(out), argv) != 0)
		fail_msg("%s: %s", line, out);
}

static const char playbook[] =
    "version: 1\n"
    "incident: {id: SWEEP-TEST}\n"
    "ca: {cert: ca.crt, key: ca.key}\n"
    "certificates:\n"
    "  db: {profile: server, subject: \"/CN=db\", san: [\"IP:127.0.0.1\"]}\n"
    "hosts:\n"
    "  here: {transport: local, timeout: 20, sweep_paths: [\"%s/extra\"]}\n"
    "  gone: {transport: local}\n"
    "services:\n"
    "  - {name: pg, host: here, kind: postgresql, certificate: db, reload: none,\n"
    "     connect: {address: 127.0.0.1, port: 1},\n"
    "     files: {cert: {path: \"%s/etc/db.crt\"}, key: {path: \"%s/etc/db.key\"}}}\n"
    "sweep: {paths: [\"%s/srv\", \"%s/srv/nested\", \"%s/absent\"], max_file_size: 64K}\n";

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct rk_err err = { 0 };
	struct rk_diags d;
	char text[4096], out[256], cmd[512];
	char *argv[] = { "sh", "-c", cmd, NULL };
	const char *D;

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/rk-sweep-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	D = f->dir;
	sh(D, "mkdir -p etc srv/backup srv/nested extra && "
	    "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
	    "-keyout etc/db.key -out etc/db.crt -subj /CN=db -days 2 2>/dev/null && "
	    "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
	    "-keyout other.key -out other.crt -subj /CN=other -days 2 2>/dev/null && "
	    "cp etc/db.key srv/backup/db-old.pem && "
	    "openssl pkey -in etc/db.key -aes256 -passout pass:sweep-test -out srv/enc.key && "
	    "cp etc/db.crt srv/enc.crt && "
	    "openssl x509 -in etc/db.crt -outform DER -out srv/db.der && "
	    "cat other.crt etc/db.crt > srv/nested/bundle.pem && "
	    "printf 'KEY=\"%s\"\\n' \"$(awk '{printf \"%s\\\\n\", $0}' etc/db.key)\" > extra/.env && "
	    "cp other.key srv/unrelated.key && chmod 0644 srv/unrelated.key && "
	    "cp other.crt srv/unrelated.crt && "
	    "ln -s .. srv/nested/loop && "
	    "{ cat etc/db.key; head -c 100000 /dev/zero; } > srv/big.pem && "
	    "touch ca.crt ca.key && chmod 0600 ca.key");
	snprintf(cmd, sizeof(cmd), "openssl pkey -in '%s/etc/db.key' -pubout -outform DER | "
	    "sha256sum | cut -c1-64", D);
	assert_int_equal(rk_test_run(out, sizeof(out), argv), 0);
	memcpy(f->spki, out, 64);
	snprintf(text, sizeof(text), playbook, D, D, D, D, D, D);
	rk_diags_init(&d, "t.yml");
	if (rk_playbook_parse(&f->model, "t.yml", D, (struct rk_bytes){
	    (const unsigned char *)text, strlen(text) }, &d, &err) != 0) {
		for (size_t i = 0; i < d.n; i++)
			print_error("t.yml:%u:%u: %s\n", d.items[i].pos.line, d.items[i].pos.col,
			    d.items[i].msg);
		fail_msg("parse: %s", err.msg);
	}
	rk_diags_clear(&d);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	{
		char out[256];
		char *argv[] = { "rm", "-rf", f->dir, NULL };

		assert_int_equal(rk_test_run(out, sizeof(out), argv), 0);
	}
	rk_model_free(f->model);
	free(f);
	return 0;
}

/* Host "gone" cannot be reached: its open fails as a connection would. */
static int
open_local(struct rk_transport **out, const struct rk_host *host, void *payload,
    struct rk_err *err)
{
	(void)payload;
	*out = NULL;
	if (strcmp(host->name, "gone") == 0)
		return rk_fail(err, RK_E_REMOTE, "connection refused");
	if (rk_local_transport_new(out, host, err) != 0)
		return -1;
	return (*out)->ops->connect(*out, err);
}

/* The finding of class cls at path (relative to the tree) holding spki, or NULL. */
static const struct rk_sweep_finding *
find(const struct rk_sweep_report *r, const struct fixture *f, const char *rel,
    enum rk_sweep_class cls)
{
	char path[256];
	size_t i;

	snprintf(path, sizeof(path), "%s/%s", f->dir, rel);
	for (i = 0; i < r->nfindings; i++)
		if (r->findings[i].cls == cls && strcmp(r->findings[i].path, path) == 0)
			return &r->findings[i];
	return NULL;
}

static void
sweep(struct rk_sweep_report *r, struct fixture *f)
{
	char path[256];
	struct rk_sweep_source src = { &f->model->hosts[0], NULL, "db", "deployed" };
	struct rk_sweep_request req = { 0 };
	struct rk_err err = { 0 };

	snprintf(path, sizeof(path), "%s/etc/db.key", f->dir);
	src.path = path;
	req.model = f->model;
	req.sources = &src;
	req.nsources = 1;
	req.open = open_local;
	req.max_parallel = 2;
	assert_int_equal(rk_sweep_run(r, &req, &err), 0);
}

static void
test_every_copy_is_found_and_nothing_else(void **state)
{
	struct fixture *f = *state;
	struct rk_sweep_report r;
	const struct rk_sweep_finding *x;
	size_t i;

	sweep(&r, f);
	assert_int_equal(r.ntargets, 1);
	assert_string_equal(r.targets[0].spki_sha256, f->spki);
	assert_true(r.hosts[0].swept);
	assert_false(r.hosts[1].swept);
	assert_non_null(strstr(r.hosts[1].error, "connection refused"));
	assert_int_equal(r.hosts_swept, 1);

	assert_non_null(x = find(&r, f, "srv/backup/db-old.pem", RK_SWEEP_COMPROMISED));
	assert_string_equal(x->match, "key");
	assert_int_equal(x->item.encoding, RK_MATERIAL_PEM);
	assert_non_null(x = find(&r, f, "srv/db.der", RK_SWEEP_COMPROMISED));
	assert_string_equal(x->match, "certificate");
	assert_int_equal(x->item.encoding, RK_MATERIAL_DER);
	assert_non_null(x = find(&r, f, "srv/nested/bundle.pem", RK_SWEEP_COMPROMISED));
	assert_true(x->item.line > 1);	/* the second certificate of the bundle */
	assert_string_equal(x->item.subject, "/CN=db");
	assert_non_null(x = find(&r, f, "extra/.env", RK_SWEEP_COMPROMISED));
	assert_int_equal(x->item.encoding, RK_MATERIAL_PEM_ESCAPED);
	/* The playbook's own files hold it too, and say whose they are. */
	assert_non_null(x = find(&r, f, "etc/db.key", RK_SWEEP_COMPROMISED));
	assert_non_null(x = find(&r, f, "etc/db.crt", RK_SWEEP_COMPROMISED));

	assert_non_null(x = find(&r, f, "srv/unrelated.key", RK_SWEEP_EXPOSED));
	assert_true(x->world_readable);
	assert_non_null(find(&r, f, "srv/big.pem", RK_SWEEP_TOO_LARGE));
	for (i = 0; i < r.nfindings; i++) {
		const struct rk_sweep_finding *g = &r.findings[i];

		if (g->cls != RK_SWEEP_COMPROMISED)
			continue;
		if (strcmp(g->match, "beside") != 0)
			assert_string_equal(g->item.spki_sha256, f->spki);
		assert_null(strstr(g->path, "unrelated"));
		assert_null(strstr(g->path, "/loop/"));	/* the link is never followed */
	}
	/* An encrypted key with no passphrase given: its name pairs it with the certificate. */
	assert_non_null(x = find(&r, f, "srv/enc.key", RK_SWEEP_COMPROMISED));
	assert_string_equal(x->match, "beside");
	assert_int_equal(x->item.kind, RK_MATERIAL_ENCRYPTED_KEY);
	assert_non_null(find(&r, f, "srv/enc.crt", RK_SWEEP_COMPROMISED));
	assert_null(find(&r, f, "other.key", RK_SWEEP_COMPROMISED));
	assert_int_equal(r.counts[RK_SWEEP_COMPROMISED], 8);
	assert_int_equal(r.hosts[0].nmissing, 1);
	rk_sweep_report_clear(&r);
}

static void
test_once_copies_are_gone_the_sweep_is_clean(void **state)
{
	struct fixture *f = *state;
	struct rk_sweep_report r;

	sh(f->dir, "rm srv/backup/db-old.pem srv/db.der srv/nested/bundle.pem extra/.env "
	    "srv/enc.key srv/enc.crt && "
	    "cp other.key etc/db.key && cp other.crt etc/db.crt");
	sweep(&r, f);
	/* The source now holds the other key: that one is looked for, where its copies are. */
	assert_int_equal(r.counts[RK_SWEEP_COMPROMISED], 4);
	assert_non_null(find(&r, f, "etc/db.key", RK_SWEEP_COMPROMISED));
	assert_non_null(find(&r, f, "srv/unrelated.key", RK_SWEEP_COMPROMISED));
	assert_non_null(find(&r, f, "srv/unrelated.crt", RK_SWEEP_COMPROMISED));
	assert_null(find(&r, f, "srv/unrelated.key", RK_SWEEP_EXPOSED));
	sh(f->dir, "rm srv/unrelated.key srv/unrelated.crt etc/db.key etc/db.crt other.key");
	rk_sweep_report_clear(&r);
	sweep(&r, f);
	/* Nothing compromised is left, and the source that is gone is said. */
	assert_int_equal(r.counts[RK_SWEEP_COMPROMISED], 0);
	assert_int_equal(r.ntargets, 0);
	assert_int_equal(r.nnotes, 1);
	rk_sweep_report_clear(&r);
}

static void
test_folders_of_a_host(void **state)
{
	struct fixture *f = *state;
	char **v = NULL, want[256];
	size_t n = 0, i;
	struct rk_err err = { 0 };
	const char *override[] = { "/opt/x/", "/opt" };

	assert_int_equal(rk_sweep_folders(&v, &n, f->model, &f->model->hosts[0], NULL, 0,
	    &err), 0);
	/* srv, srv/nested (dropped: inside srv), absent, etc (the files), extra (sweep_paths) */
	assert_int_equal(n, 4);
	snprintf(want, sizeof(want), "%s/etc", f->dir);
	for (i = 0; i < n && strcmp(v[i], want) != 0; i++)
		;
	assert_true(i < n);
	for (i = 0; i < n; i++) {
		assert_null(strstr(v[i], "nested"));
		free(v[i]);
	}
	free(v);
	assert_int_equal(rk_sweep_folders(&v, &n, f->model, &f->model->hosts[1], override, 2,
	    &err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(v[0], "/opt");
	free(v[0]);
	free(v);
}

static int
count_file(void *arg, const struct rk_tar_file *file)
{
	(void)file;
	(*(size_t *)arg)++;
	return 0;
}

static void
test_a_tar_stream_cut_short_ends_the_walk(void **state)
{
	struct fixture *f = *state;
	struct rk_buf tar;
	struct rk_err err = { 0 };
	char path[256];
	size_t seen = 0, skipped = 0;
	bool complete = true;

	sh(f->dir, "tar -cf s.tar srv/unrelated.crt srv/unrelated.key srv/big.pem");
	snprintf(path, sizeof(path), "%s/s.tar", f->dir);
	rk_buf_init(&tar, 1 << 20);
	assert_int_equal(rk_file_read(&tar, path, 1 << 20, &err), 0);
	assert_int_equal(rk_tar_each(rk_buf_bytes(&tar), 64 * 1024, count_file, &seen,
	    &complete, &skipped, &err), 0);
	assert_true(complete);
	assert_int_equal(seen, 2);
	assert_int_equal(skipped, 1);
	seen = 0;
	/* Cut inside the second member: the first is given, then the walk stops, no error. */
	assert_int_equal(rk_tar_each((struct rk_bytes){ tar.ptr, 512 * 4 }, 64 * 1024,
	    count_file, &seen, &complete, &skipped, &err), 0);
	assert_false(complete);
	assert_int_equal(seen, 1);
	rk_buf_clear(&tar);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_folders_of_a_host),
		cmocka_unit_test(test_a_tar_stream_cut_short_ends_the_walk),
		cmocka_unit_test(test_every_copy_is_found_and_nothing_else),
		cmocka_unit_test(test_once_copies_are_gone_the_sweep_is_clean),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
