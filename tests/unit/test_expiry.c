/*
 * rk_expiry_check over the local transport and real certificate files: a leaf that ends
 * inside the window, a leaf file without its intermediate, a leaf of another CA, a file that
 * is not there, a CRL due, and servers that cannot be reached. The verdicts on chains come
 * from OpenSSL (rk_chain_verify_leaf), the dates from the certificates themselves.
 */
#include "hierarchy.h"

#include <sys/stat.h>
#include <unistd.h>

#include "rekey/crl.h"
#include "rekey/expiry.h"
#include "rekey/local.h"
#include "rekey/playbook.h"

enum cert_id { ROOT, INT, SOON, LATER, OTHER_ROOT, FOREIGN, NCERTS };

struct fixture {
	char		 dir[64];
	struct hca	 c[NCERTS];
	char		 root[128], ca[128], soon[128], later[128], foreign[128], crl[128];
	struct rk_model	*model;
};

static void
write_crl(const char *path, const struct hca *ca, int days)
{
	struct rk_crl *crl = NULL;
	struct rk_err err = { 0 };
	struct rk_buf pem;

	assert_int_equal(rk_crl_build(&crl, NULL, NULL, 0, ca->cert, ca->key, days, &err), 0);
	rk_buf_init(&pem, RK_PEM_MAX);
	assert_int_equal(rk_crl_to_pem(&pem, crl, &err), 0);
	(void)unlink(path);
	hier_append(path, pem.ptr, pem.len);
	rk_buf_clear(&pem);
	rk_crl_free(crl);
}

/* Each service's connect port is one nothing listens on: its served item is unreachable. */
static const char playbook[] =
    "version: 1\n"
    "incident: {id: EXPIRY-TEST}\n"
    "ca: {cert: \"%s\", key: \"%s\", chain: \"%s\", crl: \"%s\"}\n"
    "certificates:\n"
    "  soon: {profile: server, subject: \"/CN=soon\", san: [\"IP:127.0.0.1\"]}\n"
    "  later: {profile: server, subject: \"/CN=later\", san: [\"IP:127.0.0.1\"]}\n"
    "  foreign: {profile: server, subject: \"/CN=foreign\", san: [\"IP:127.0.0.1\"]}\n"
    "  gone: {profile: server, subject: \"/CN=gone\", san: [\"IP:127.0.0.1\"]}\n"
    "hosts: {here: {transport: local, timeout: 2}}\n"
    "services:\n"
    "  - {name: s-soon, host: here, kind: postgresql, certificate: soon, reload: none,\n"
    "     connect: {address: 127.0.0.1, port: %d},\n"
    "     files: {cert: {path: \"%s\"}, key: {path: /nonexistent/soon.key}, crl: {path: \"%s\"}}}\n"
    "  - {name: s-later, host: here, kind: postgresql, certificate: later, reload: none,\n"
    "     connect: {address: 127.0.0.1, port: %d},\n"
    "     files: {cert: {path: \"%s\"}, key: {path: /nonexistent/later.key}}}\n"
    "  - {name: s-foreign, host: here, kind: mariadb, certificate: foreign, reload: none,\n"
    "     connect: {address: 127.0.0.1, port: %d},\n"
    "     files: {cert: {path: \"%s\"}, key: {path: /nonexistent/foreign.key}}}\n"
    "  - {name: s-gone, host: here, kind: mariadb, certificate: gone, reload: none,\n"
    "     connect: {address: 127.0.0.1, port: %d},\n"
    "     files: {cert: {path: \"%s/absent.crt\"}, key: {path: /nonexistent/gone.key}}}\n";

/* A loopback port nothing listens on: bound, then closed, so connecting is refused. */
static int
closed_port(void)
{
	char out[64], *end;
	long port;
	char *argv[] = { "python3", "-c", "import socket; s = socket.socket(); "
	    "s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])", NULL };

	assert_int_equal(rk_test_run(out, sizeof(out), argv), 0);
	port = strtol(out, &end, 10);
	assert_true(end != out && (*end == '\n' || *end == '\0') && port > 0 && port < 65536);
	return (int)port;
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct rk_err err = { 0 };
	struct rk_diags d;
	char text[4096], key[128];
	int port = closed_port();

	assert_non_null(f);
	hier_dir_make(f->dir, sizeof(f->dir), "expiry");
	hca_issue(&f->c[ROOT], "Root", RK_PROFILE_CA, false, 3650, NULL);
	hca_issue(&f->c[INT], "Int", RK_PROFILE_CA, true, 3650, &f->c[ROOT]);
	hca_issue(&f->c[SOON], "soon", RK_PROFILE_SERVER, false, 10, &f->c[INT]);
	hca_issue(&f->c[LATER], "later", RK_PROFILE_SERVER, false, 90, &f->c[INT]);
	hca_issue(&f->c[OTHER_ROOT], "Other Root", RK_PROFILE_CA, false, 3650, NULL);
	hca_issue(&f->c[FOREIGN], "foreign", RK_PROFILE_SERVER, false, 90, &f->c[OTHER_ROOT]);
	hier_write_certs(f->root, sizeof(f->root), f->dir, "root.crt",
	    (const struct rk_cert *[]){ f->c[ROOT].cert }, 1);
	hier_write_certs(f->ca, sizeof(f->ca), f->dir, "ca.crt",
	    (const struct rk_cert *[]){ f->c[INT].cert }, 1);
	/* soon: leaf then intermediate, as a server must send it; later: the leaf alone. */
	hier_write_certs(f->soon, sizeof(f->soon), f->dir, "soon.crt",
	    (const struct rk_cert *[]){ f->c[SOON].cert, f->c[INT].cert }, 2);
	hier_write_certs(f->later, sizeof(f->later), f->dir, "later.crt",
	    (const struct rk_cert *[]){ f->c[LATER].cert }, 1);
	hier_write_certs(f->foreign, sizeof(f->foreign), f->dir, "foreign.crt",
	    (const struct rk_cert *[]){ f->c[FOREIGN].cert, f->c[INT].cert }, 2);
	snprintf(f->crl, sizeof(f->crl), "%s/ca.crl", f->dir);
	write_crl(f->crl, &f->c[INT], 2);
	snprintf(key, sizeof(key), "%s/ca.key", f->dir);
	hier_append(key, "", 0);
	assert_int_equal(chmod(key, 0600), 0);
	snprintf(text, sizeof(text), playbook, f->ca, key, f->root, f->crl, port, f->soon, f->crl,
	    port, f->later, port, f->foreign, port, f->dir);
	rk_diags_init(&d, "t.yml");
	if (rk_playbook_parse(&f->model, "t.yml", f->dir, (struct rk_bytes){
	    (const unsigned char *)text, strlen(text) }, &d, &err) != 0) {
		for (size_t i = 0; i < d.n; i++)
			print_error("t.yml:%d:%d: %s\n", d.items[i].pos.line, d.items[i].pos.col,
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
	size_t i;

	rk_model_free(f->model);
	hier_dir_remove(f->dir);
	for (i = 0; i < NCERTS; i++)
		hca_clear(&f->c[i]);
	free(f);
	return 0;
}

static int
open_local(struct rk_transport **out, const struct rk_host *host, void *payload,
    struct rk_err *err)
{
	(void)payload;
	if (rk_local_transport_new(out, host, err) != 0)
		return -1;
	return (*out)->ops->connect(*out, err);
}

static void
check(struct rk_expiry_report *r, struct fixture *f)
{
	struct rk_expiry_request req = { f->model, time(NULL), 30 * 86400L, 3 * 86400L, f->root,
	    open_local, NULL, 4 };
	struct rk_err err = { 0 };

	assert_int_equal(rk_expiry_check(r, &req, &err), 0);
}

/* The item of service (NULL: the playbook's) of what and source. */
static const struct rk_expiry_item *
item(const struct rk_expiry_report *r, const char *service, enum rk_expiry_what what,
    enum rk_expiry_source source)
{
	size_t i;

	for (i = 0; i < r->n; i++) {
		const struct rk_expiry_item *it = &r->items[i];

		if (it->what == what && it->source == source && (service == NULL ?
		    it->service == NULL : it->service != NULL &&
		    strcmp(it->service->name, service) == 0))
			return it;
	}
	fail_msg("no %s %s item of %s", rk_expiry_source_name(source), rk_expiry_what_name(what),
	    service != NULL ? service : "the playbook");
	return NULL;
}

static void
test_each_file_is_judged_as_clients_would(void **state)
{
	struct fixture *f = *state;
	struct rk_expiry_report r;
	const struct rk_expiry_item *it;
	char fp[RK_FINGERPRINT_LEN];

	check(&r, f);
	/* 4 served, 4 deployed leaves, 1 deployed CRL, ca.cert, ca.chain and ca.crl. */
	assert_int_equal(r.n, 12);
	assert_false(r.complete);

	it = item(&r, "s-soon", RK_EXPIRY_CERT, RK_EXPIRY_DEPLOYED);
	assert_true(it->known);
	assert_true(it->days_left == 9 || it->days_left == 10);
	assert_int_equal(it->problems, RK_EXPIRY_EXPIRING);
	rk_cert_fingerprint(fp, f->c[SOON].cert);
	assert_string_equal(it->fingerprint, fp);
	assert_string_equal(it->issuer, "/CN=Int");
	assert_string_equal(it->certificate->name, "soon");

	it = item(&r, "s-later", RK_EXPIRY_CERT, RK_EXPIRY_DEPLOYED);
	assert_int_equal(it->problems, RK_EXPIRY_CHAIN_INCOMPLETE);
	assert_true(it->days_left >= 89);

	it = item(&r, "s-foreign", RK_EXPIRY_CERT, RK_EXPIRY_DEPLOYED);
	assert_int_equal(it->problems, RK_EXPIRY_UNTRUSTED);
	assert_non_null(strstr(it->detail, "unable to get local issuer certificate"));

	it = item(&r, "s-gone", RK_EXPIRY_CERT, RK_EXPIRY_DEPLOYED);
	assert_int_equal(it->problems, RK_EXPIRY_UNREADABLE);
	assert_false(it->known);

	it = item(&r, "s-soon", RK_EXPIRY_CRL, RK_EXPIRY_DEPLOYED);
	assert_true(it->problems == RK_EXPIRY_CRL_DUE);
	assert_string_equal(it->subject, "/CN=Int");
	it = item(&r, NULL, RK_EXPIRY_CRL, RK_EXPIRY_PLAYBOOK);
	assert_true(it->problems == RK_EXPIRY_CRL_DUE);
	it = item(&r, NULL, RK_EXPIRY_CA, RK_EXPIRY_PLAYBOOK);
	assert_int_equal(it->problems, 0);
	assert_true(it->days_left > 3000);
	/* The root above the intermediate is read from ca.chain. */
	assert_string_equal(r.items[10].path, f->model->ca.chain);
	assert_string_equal(r.items[10].subject, "/CN=Root");

	it = item(&r, "s-later", RK_EXPIRY_CERT, RK_EXPIRY_SERVED);
	assert_int_equal(it->problems, RK_EXPIRY_UNREACHABLE);
	assert_true(rk_expiry_crl_due(&r));
	rk_expiry_report_clear(&r);
}

static void
test_what_only_expiring_rotates(void **state)
{
	struct fixture *f = *state;
	struct rk_expiry_report r;
	char why[128];

	check(&r, f);
	assert_true(rk_expiry_certificate_due(&r, &f->model->certificates[0], why, sizeof(why)));
	assert_non_null(strstr(why, "s-soon deployed expires in"));
	/* Read and not due, whatever else is wrong with its file. */
	assert_false(rk_expiry_certificate_due(&r, &f->model->certificates[1], why, sizeof(why)));
	assert_false(rk_expiry_certificate_due(&r, &f->model->certificates[2], why, sizeof(why)));
	/* Nothing of it could be read: a rotation puts it right. */
	assert_true(rk_expiry_certificate_due(&r, &f->model->certificates[3], why, sizeof(why)));
	assert_string_equal(why, "no server or file of it could be read");
	rk_expiry_report_clear(&r);
}

/*
 * Each problem of an item is told in its own words, also when one item has two (a served
 * certificate both untrusted and not the file's); and "ago" counts whole days since the end.
 */
static void
test_each_problem_has_its_own_words(void **state)
{
	struct rk_expiry_report r = { 0 };
	struct rk_expiry_item it = { 0 };
	char buf[600];

	(void)state;
	r.checked_at = 1800000000;
	r.window = 30 * 86400;
	it.known = true;
	it.problems = RK_EXPIRY_UNTRUSTED | RK_EXPIRY_RELOAD_PENDING;
	snprintf(it.detail, sizeof(it.detail), "clients refuse what it serves: unable to get "
	    "local issuer certificate");
	snprintf(it.pending, sizeof(it.pending), "serves AA... but /srv/x.crt holds BB...");
	rk_expiry_describe(buf, sizeof(buf), &r, &it, RK_EXPIRY_UNTRUSTED);
	assert_string_equal(buf, "clients refuse what it serves: unable to get local issuer "
	    "certificate");
	rk_expiry_describe(buf, sizeof(buf), &r, &it, RK_EXPIRY_RELOAD_PENDING);
	assert_string_equal(buf, "serves AA... but /srv/x.crt holds BB...");

	/* Ended 1 day and 3 minutes ago: days_left is -2 (floor), and it is 1 day ago. */
	it.until = r.checked_at - 86400 - 180;
	it.days_left = rk_days_left_until(it.until, r.checked_at);
	assert_int_equal(it.days_left, -2);
	rk_expiry_describe(buf, sizeof(buf), &r, &it, RK_EXPIRY_EXPIRED);
	assert_non_null(strstr(buf, "(1 day ago)"));
	it.until = r.checked_at - 3 * 3600;
	rk_expiry_describe(buf, sizeof(buf), &r, &it, RK_EXPIRY_EXPIRED);
	assert_non_null(strstr(buf, "(less than a day ago)"));
	it.until = r.checked_at - 10 * 86400;
	rk_expiry_describe(buf, sizeof(buf), &r, &it, RK_EXPIRY_EXPIRED);
	assert_non_null(strstr(buf, "(10 days ago)"));
}

static void
test_durations(void **state)
{
	long s = 0;

	(void)state;
	assert_true(rk_expiry_parse_duration("30d", &s));
	assert_int_equal(s, 30 * 86400);
	assert_true(rk_expiry_parse_duration("30", &s));
	assert_int_equal(s, 30 * 86400);
	assert_true(rk_expiry_parse_duration("12h", &s));
	assert_int_equal(s, 12 * 3600);
	assert_true(rk_expiry_parse_duration("2w", &s));
	assert_int_equal(s, 14 * 86400);
	assert_true(rk_expiry_parse_duration("0d", &s));
	assert_int_equal(s, 0);
	assert_false(rk_expiry_parse_duration("", &s));
	assert_false(rk_expiry_parse_duration("-1d", &s));
	assert_false(rk_expiry_parse_duration("30 d", &s));
	assert_false(rk_expiry_parse_duration("30days", &s));
	assert_false(rk_expiry_parse_duration("d", &s));
	assert_false(rk_expiry_parse_duration("99999999999999999999d", &s));
	assert_false(rk_expiry_parse_duration("40000d", &s));
	assert_true(rk_expiry_parse_duration("36000d", &s));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_each_file_is_judged_as_clients_would, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_what_only_expiring_rotates, setup, teardown),
		cmocka_unit_test(test_durations),
		cmocka_unit_test(test_each_problem_has_its_own_words),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
