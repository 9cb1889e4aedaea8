#include "test_util.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rekey/playbook.h"

static const char full[] =
    "version: 1\n"
    "incident: {id: INC-7, reason: cACompromise, summary: \"ca leaked\", records: out}\n"
    "ca:\n"
    "  cert: pki/ca.crt\n"
    "  key: pki/ca.key\n"
    "  key_passphrase_env: RK_CA_PASS\n"
    "  rotate: true\n"
    "  new: {subject: \"/O=Ex/CN=Root 2026\", key: ec-p384, days: 3650}\n"
    "revoke:\n"
    "  - serial: \"5d:3a:91\"\n"
    "  - cn: old-app\n"
    "    reason: superseded\n"
    "certificates:\n"
    "  db1-server:\n"
    "    profile: server\n"
    "    subject: \"/O=Ex/CN=db1.example.com\"\n"
    "    san: [\"dns:db1.example.com\", \"IP:10.0.0.5\", \"IP:::1\"]\n"
    "    key: rsa-3072\n"
    "    days: 30\n"
    "  app-client: {profile: client, subject: \"/CN=app\"}\n"
    "hosts:\n"
    "  bastion: {address: 10.0.0.1, user: jump}\n"
    "  db1:\n"
    "    address: 10.0.0.5\n"
    "    port: 2222\n"
    "    user: deploy\n"
    "    sudo: true\n"
    "    jump: bastion\n"
    "  me: {transport: local}\n"
    "services:\n"
    "  - name: pg\n"
    "    host: db1\n"
    "    kind: postgresql\n"
    "    certificate: db1-server\n"
    "    files:\n"
    "      cert: {path: /srv/pg/server.crt, owner: postgres, mode: \"0644\"}\n"
    "      key: {path: /srv/pg/server.key, owner: postgres, group: postgres}\n"
    "      ca: {path: /srv/pg/root.crt}\n"
    "    connect: {address: db1.example.com, user: rekey, password_env: PGPW}\n"
    "    verify: {min_tls: TLSv1.3}\n"
    "  - name: my\n"
    "    host: me\n"
    "    kind: mariadb\n"
    "    reload: {command: \"systemctl reload mariadb\"}\n"
    "clients:\n"
    "  - name: app\n"
    "    host: me\n"
    "    file: {path: /srv/app/pg_service.conf, format: pg_service, section: db}\n"
    "    set: {sslmode: verify-full, port: 5432}\n"
    "    files:\n"
    "      key: {path: /srv/app/app.key, certificate: app-client}\n"
    "policy: {max_parallel: 4, canary: 1, on_failure: halt, trust_overlap: false}\n";

static struct rk_model *
parse(const char *text, struct rk_diags *d)
{
	struct rk_bytes b = { (const unsigned char *)text, strlen(text) };
	struct rk_model *m = NULL;
	struct rk_err err = { 0 };
	int r;

	rk_diags_init(d, "t.yml");
	r = rk_playbook_parse(&m, "t.yml", "/base", b, d, &err);
	assert_int_equal(err.code, RK_OK);
	assert_int_equal(r == 0, m != NULL);
	return m;
}

/* Whether some error diag holds needle at line (0: any line). */
static bool
has_error(const struct rk_diags *d, unsigned line, const char *needle)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		if (d->items[i].severity == RK_SEV_ERROR && strstr(d->items[i].msg, needle) &&
		    (line == 0 || d->items[i].pos.line == line))
			return true;
	return false;
}

static void
test_full_playbook_fills_the_model(void **state)
{
	struct rk_diags d;
	struct rk_model *m = parse(full, &d);
	const struct rk_service *pg;

	(void)state;
	for (size_t i = 0; i < d.n; i++)
		if (d.items[i].severity == RK_SEV_ERROR)
			fail_msg("unexpected error %u:%u: %s", d.items[i].pos.line,
			    d.items[i].pos.col, d.items[i].msg);
	assert_non_null(m);
	assert_int_equal(m->version, 1);
	assert_string_equal(m->incident.id, "INC-7");
	assert_false(m->incident.id_generated);
	assert_int_equal(m->incident.reason, RK_REASON_CA_COMPROMISE);
	assert_string_equal(m->incident.records, "/base/out");
	assert_string_equal(m->ca.cert, "/base/pki/ca.crt");
	assert_string_equal(m->ca.crl, "/base/pki/ca.crl");	/* default beside the CA */
	assert_string_equal(m->ca.key_passphrase.env, "RK_CA_PASS");
	assert_null(m->ca.key_passphrase.file);
	assert_int_equal(m->ca.crl_days, 7);
	assert_true(m->ca.rotate);
	assert_int_equal(m->ca.new_ca.key, RK_KEY_EC_P384);
	assert_string_equal(rk_dn_get(&m->ca.new_ca.dn, "CN"), "Root 2026");

	assert_int_equal(m->nrevocations, 2);
	assert_int_equal(m->revocations[0].kind, RK_REVOKE_SERIAL);
	assert_string_equal(m->revocations[0].value, "5D:3A:91");
	assert_int_equal(m->revocations[0].reason, RK_REASON_CA_COMPROMISE);	/* incident's */
	assert_int_equal(m->revocations[1].reason, RK_REASON_SUPERSEDED);

	assert_int_equal(m->ncertificates, 2);
	assert_int_equal(m->certificates[0].key, RK_KEY_RSA_3072);
	assert_int_equal(m->certificates[0].nsan, 3);
	assert_string_equal(m->certificates[0].san[0], "DNS:db1.example.com");
	assert_int_equal(m->certificates[0].dn.n, 2);
	assert_string_equal(m->certificates[0].dn.attrs[0].type, "O");
	assert_int_equal(m->certificates[1].key, RK_KEY_EC_P256);	/* default */
	assert_int_equal(m->certificates[1].days, 365);

	assert_int_equal(m->nhosts, 3);
	assert_int_equal(m->hosts[1].port, 2222);
	assert_true(m->hosts[1].sudo);
	assert_ptr_equal(m->hosts[1].jump, &m->hosts[0]);
	assert_int_equal(m->hosts[0].port, 22);
	assert_int_equal(m->hosts[2].transport, RK_TRANSPORT_LOCAL);

	pg = &m->services[0];
	assert_ptr_equal(pg->host, &m->hosts[1]);
	assert_ptr_equal(pg->certificate, &m->certificates[0]);
	assert_int_equal(pg->files[RK_FILE_KEY].mode, 0600);	/* default for keys */
	assert_int_equal(pg->files[RK_FILE_CA].mode, 0644);
	assert_false(pg->files[RK_FILE_CRL].present);
	assert_int_equal(pg->connect.port, 5432);
	assert_string_equal(pg->connect.dbname, "postgres");
	assert_string_equal(pg->connect.password.env, "PGPW");
	assert_int_equal(pg->verify.sslmode, RK_SSLMODE_VERIFY_FULL);
	assert_int_equal(pg->verify.min_tls, RK_TLS_1_3);
	assert_int_equal(pg->reload.kind, RK_RELOAD_SQL);
	assert_int_equal(m->services[1].kind, RK_SERVICE_MYSQL);
	assert_int_equal(m->services[1].connect.port, 3306);
	assert_string_equal(m->services[1].connect.address, "127.0.0.1");
	assert_int_equal(m->services[1].reload.kind, RK_RELOAD_COMMAND);

	assert_int_equal(m->clients[0].format, RK_FORMAT_PG_SERVICE);
	assert_string_equal(m->clients[0].section, "db");
	assert_int_equal(m->clients[0].nset, 2);
	assert_string_equal(m->clients[0].set[1].value, "5432");
	assert_ptr_equal(m->clients[0].files[RK_FILE_KEY].certificate, &m->certificates[1]);

	assert_int_equal(m->policy.max_parallel, 4);
	assert_int_equal(m->policy.on_failure, RK_ON_FAILURE_HALT);
	assert_false(m->policy.trust_overlap);
	rk_model_free(m);
	rk_diags_clear(&d);
}

static void
test_reports_every_problem_at_once(void **state)
{
	static const char text[] =
	    "version: 1\n"
	    "ca: {cert: c, key: k}\n"
	    "hosts:\n"
	    "  h: {adress: 1.2.3.4}\n"
	    "certificates:\n"
	    "  c1: {profile: server, subject: \"/CN=x\", key: rsa-1024, days: 0, san: [\"DNS:a b\"]}\n"
	    "services:\n"
	    "  - {name: s, host: hh, kind: postgres, certificate: nope}\n"
	    "policy: {on_failure: rolback}\n";
	struct rk_diags d;

	(void)state;
	assert_null(parse(text, &d));
	assert_true(has_error(&d, 4, "unknown key 'adress' in host 'h' (did you mean 'address'?)"));
	/* The typo is the cause: no second "missing required key 'address'" for it. */
	assert_false(has_error(&d, 4, "missing required key 'address'"));
	assert_true(has_error(&d, 6, "RSA keys under 2048 bits are refused"));
	assert_true(has_error(&d, 6, "days must be between 1 and 3650, not 0"));
	assert_true(has_error(&d, 6, "bad SAN entry 'DNS:a b'"));
	assert_true(has_error(&d, 8, "names unknown host 'hh' (did you mean 'h'?)"));
	assert_true(has_error(&d, 8, "unsupported value 'postgres' (did you mean 'postgresql'?)"));
	assert_true(has_error(&d, 8, "names unknown certificate 'nope'"));
	assert_true(has_error(&d, 9, "unsupported value 'rolback' (did you mean 'rollback'?)"));
	assert_true(d.nerrors >= 8);
	rk_diags_clear(&d);
}

static void
test_inline_secrets_are_refused_without_echo(void **state)
{
	static const char text[] =
	    "version: 1\n"
	    "ca: {cert: c, key: k, key_passphrase: hunter2}\n"
	    "hosts: {h: {address: x}}\n"
	    "services:\n"
	    "  - {name: s, host: h, kind: mysql, reload: none,\n"
	    "     connect: {user: u, password: Sup3rSecret}}\n"
	    "clients:\n"
	    "  - {name: c, host: h, file: {path: /e, format: env}, set: {DB_PASSWORD: xyzzy}}\n";
	struct rk_diags d;
	size_t i;

	(void)state;
	assert_null(parse(text, &d));
	assert_true(has_error(&d, 2, "'key_passphrase' is a secret written inline"));
	assert_true(has_error(&d, 6, "'password' is a secret written inline"));
	assert_true(has_error(&d, 8, "'DB_PASSWORD' would write a secret"));
	for (i = 0; i < d.n; i++) {
		assert_null(strstr(d.items[i].msg, "hunter2"));
		assert_null(strstr(d.items[i].msg, "Sup3rSecret"));
		assert_null(strstr(d.items[i].msg, "xyzzy"));
	}
	rk_diags_clear(&d);
}

static void
test_verify_full_needs_the_connect_address_in_the_sans(void **state)
{
	static const char tmpl[] =
	    "version: 1\n"
	    "ca: {cert: c, key: k}\n"
	    "certificates: {s: {profile: server, subject: \"/CN=db\", san: [\"%s\"]}}\n"
	    "hosts: {h: {address: 10.0.0.5}}\n"
	    "services:\n"
	    "  - {name: s, host: h, kind: postgresql, certificate: s, reload: none,\n"
	    "     files: {cert: {path: /c}, key: {path: /k}}, connect: {address: %s}}\n";
	static const struct {
		const char *san, *address;
		bool ok;
	} cases[] = {
		{ "DNS:db.example.com", "db.example.com", true },
		{ "DNS:DB.example.com", "db.EXAMPLE.com", true },
		{ "DNS:*.example.com", "db.example.com", true },
		{ "DNS:*.example.com", "a.b.example.com", false },
		{ "IP:10.0.0.5", "10.0.0.5", true },
		{ "IP:::1", "0:0::1", true },
		{ "IP:10.0.0.5", "10.0.0.6", false },
		{ "DNS:localhost", "127.0.0.1", false },
	};
	char text[1024];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct rk_diags d;
		struct rk_model *m;

		snprintf(text, sizeof(text), tmpl, cases[i].san, cases[i].address);
		m = parse(text, &d);
		if (cases[i].ok != (m != NULL))
			fail_msg("case %zu (%s vs %s): expected %s", i, cases[i].san,
			    cases[i].address, cases[i].ok ? "ok" : "an error");
		if (!cases[i].ok)
			assert_true(has_error(&d, 7, "verify-full would fail"));
		rk_model_free(m);
		rk_diags_clear(&d);
	}
}

static void
test_file_modes(void **state)
{
	static const char tmpl[] =
	    "version: 1\n"
	    "ca: {cert: c, key: k}\n"
	    "certificates: {s: {profile: server, subject: \"/CN=db\", san: [\"DNS:db\"]}}\n"
	    "hosts: {h: {address: db}}\n"
	    "services:\n"
	    "  - {name: s, host: h, kind: postgresql, certificate: s, reload: none,\n"
	    "     files: {cert: {path: /c, mode: %s}, key: {path: /k, mode: %s}}}\n";
	static const struct {
		const char *cert, *key, *error;
	} cases[] = {
		{ "\"0644\"", "\"0600\"", NULL },
		{ "0444", "0400", NULL },
		{ "\"644\"", "\"0640\"", NULL },
		{ "\"0644\"", "\"0644\"", "would let others read or change a private key" },
		{ "\"0666\"", "\"0600\"", "lets others rewrite" },
		{ "\"rw-r--r--\"", "\"0600\"", "is not a file mode" },
		{ "\"04755\"", "\"0600\"", "is not a file mode" },
		{ "\"1644\"", "\"0600\"", "setuid, setgid and sticky bits are refused" },
		{ "\"0244\"", "\"0600\"", "does not let the owner read" },
	};
	char text[1024];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct rk_diags d;
		struct rk_model *m;

		snprintf(text, sizeof(text), tmpl, cases[i].cert, cases[i].key);
		m = parse(text, &d);
		if (cases[i].error == NULL && m == NULL)
			fail_msg("case %zu: unexpected error %s", i, d.n > 0 ? d.items[0].msg : "");
		if (cases[i].error != NULL && !has_error(&d, 7, cases[i].error))
			fail_msg("case %zu: expected '%s'", i, cases[i].error);
		rk_model_free(m);
		rk_diags_clear(&d);
	}
}

static void
test_ca_key_readable_by_others_is_refused(void **state)
{
	char dir[] = "/tmp/rk-unit-XXXXXX", key[64], cert[64], text[512];
	struct rk_bytes b;
	struct rk_diags d;
	struct rk_model *m = NULL;
	struct rk_err err = { 0 };
	int fd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(key, sizeof(key), "%s/ca.key", dir);
	snprintf(cert, sizeof(cert), "%s/ca.crt", dir);
	assert_true((fd = open(key, O_WRONLY | O_CREAT, 0600)) >= 0);
	close(fd);
	assert_true((fd = open(cert, O_WRONLY | O_CREAT, 0644)) >= 0);
	close(fd);
	assert_int_equal(chmod(key, 0640), 0);
	snprintf(text, sizeof(text), "version: 1\nca: {cert: ca.crt, key: ca.key}\n");
	b.ptr = (const unsigned char *)text;
	b.len = strlen(text);
	rk_diags_init(&d, "t.yml");
	assert_int_equal(rk_playbook_parse(&m, "t.yml", dir, b, &d, &err), RK_E_USAGE);
	assert_true(has_error(&d, 2, "is readable by group or others (mode 0640): chmod 600 it"));
	rk_diags_clear(&d);

	/* Mode 0600: accepted, and no warning, since both files exist. */
	assert_int_equal(chmod(key, 0600), 0);
	rk_diags_init(&d, "t.yml");
	assert_int_equal(rk_playbook_parse(&m, "t.yml", dir, b, &d, &err), 0);
	assert_int_equal(d.n, 0);
	rk_model_free(m);
	rk_diags_clear(&d);
	unlink(key);
	unlink(cert);
	rmdir(dir);
}

static void
test_bad_text_gets_a_clear_error(void **state)
{
	static const struct {
		const char *text;
		size_t len;
		unsigned line, col;
		const char *error;
	} cases[] = {
		/* Problems of the whole file have no line (0:0, null in --json). */
		{ "", 0, 0, 0, "playbook is empty" },
		{ "# nothing\n\n", 11, 0, 0, "playbook is empty" },
		{ "version: 1\nca: \0\n", 16, 2, 5, "NUL byte" },
		{ "version: 1\n# caf\xe9\n", 18, 2, 6, "invalid UTF-8 (byte 0xe9)" },
		{ "- a\n- b\n", 8, 1, 1, "not a list" },
		{ "version: 2\nca: {cert: a, key: b}\n", 33, 1, 10, "unsupported playbook version 2" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct rk_bytes b = { (const unsigned char *)cases[i].text, cases[i].len };
		struct rk_diags d;
		struct rk_model *m = NULL;
		struct rk_err err = { 0 };

		rk_diags_init(&d, "t.yml");
		assert_int_equal(rk_playbook_parse(&m, "t.yml", "/base", b, &d, &err), RK_E_USAGE);
		assert_null(m);
		if (!has_error(&d, cases[i].line, cases[i].error) ||
		    d.items[0].pos.col != cases[i].col)
			fail_msg("case %zu: want %u:%u %s; got %u:%u %s", i, cases[i].line,
			    cases[i].col, cases[i].error, d.items[0].pos.line, d.items[0].pos.col,
			    d.items[0].msg);
		rk_diags_clear(&d);
	}
}

static void
test_generated_incident_id(void **state)
{
	struct rk_diags d;
	struct rk_model *m = parse("version: 1\nca: {cert: c, key: k}\n", &d);

	(void)state;
	assert_non_null(m);
	assert_true(m->incident.id_generated);
	assert_int_equal(strlen(m->incident.id), strlen("INC-20261124-135000Z"));
	assert_memory_equal(m->incident.id, "INC-", 4);
	rk_model_free(m);
	rk_diags_clear(&d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_playbook_fills_the_model),
		cmocka_unit_test(test_reports_every_problem_at_once),
		cmocka_unit_test(test_inline_secrets_are_refused_without_echo),
		cmocka_unit_test(test_verify_full_needs_the_connect_address_in_the_sans),
		cmocka_unit_test(test_file_modes),
		cmocka_unit_test(test_ca_key_readable_by_others_is_refused),
		cmocka_unit_test(test_bad_text_gets_a_clear_error),
		cmocka_unit_test(test_generated_incident_id),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
