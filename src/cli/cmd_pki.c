/*
 * `rekey pki`: the certificate engine alone, for a responder who wants one certificate now,
 * or a development PKI. inspect never prints key material.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <jansson.h>

#include "cli.h"
#include "rekey/ca.h"
#include "rekey/fsutil.h"
#include "rekey/ledger.h"
#include "rekey/names.h"

#define PKI_USAGE \
	"usage: rekey pki inspect [--json] [--passphrase-env VAR|--passphrase-file F] FILE...\n" \
	"       rekey pki init [--name DNS:x|IP:y]... [--key TYPE] [--days N]\n" \
	"                      [--client-cn NAME] [--ca-cn NAME] DIR\n" \
	"       rekey pki issue --ca-cert F --ca-key F --profile server|client --subject /CN=x\n" \
	"                      [--san DNS:x|IP:y]... [--key TYPE] [--days N]\n" \
	"                      --cert-out F --key-out F [--ledger F] [--replaces SERIAL]\n" \
	"       rekey pki revoke --ca-cert F --ca-key F [--crl F] [--crl-days N] [--reason R]\n" \
	"                      (--serial S | --cert F | --folder DIR | --cn NAME)...\n" \
	"\n" \
	"CA and key passphrases: --ca-passphrase-env VAR, --ca-passphrase-file F,\n" \
	"--key-passphrase-env VAR, --key-passphrase-file F (the key written by issue).\n" \
	"Key types: rsa-2048 rsa-3072 rsa-4096 ec-p256 ec-p384 ed25519.\n"

/* ---- shared option handling --------------------------------------------------------- */

struct secret_opt {
	const char	*env;
	const char	*file;
};

/* Loads a secret named by --X-env or --X-file; *has is false when neither was given. */
static int
load_secret(struct rk_secret *out, bool *has, const struct secret_opt *o, const char *what,
    const struct rk_cli *cli)
{
	struct rk_err err = { 0 };
	int r = 0;

	*has = false;
	if (o->env != NULL && o->file != NULL)
		return cli_usage_error(cli, "give the %s passphrase by env or by file, not both",
		    what);
	if (o->env != NULL)
		r = rk_secret_from_env(out, o->env, &err);
	else if (o->file != NULL)
		r = rk_secret_from_file(out, o->file, &err);
	else
		return RK_EXIT_OK;
	if (r != 0)
		return cli_usage_error(cli, "%s passphrase: %s", what, err.msg);
	*has = true;
	return RK_EXIT_OK;
}

static bool
parse_days(const char *s, int max, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 1 || v > max)
		return false;
	*out = (int)v;
	return true;
}

static bool
parse_key_type(const char *s, enum rk_key_type *out)
{
	int v;

	if (!rk_enum_lookup(rk_key_type_names, s, &v))
		return false;
	*out = (enum rk_key_type)v;
	return true;
}

static void
format_time(char *buf, size_t size, time_t t)
{
	struct tm tm;

	if (t == (time_t)-1 || gmtime_r(&t, &tm) == NULL)
		snprintf(buf, size, "?");
	else
		strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static char *
ledger_path_beside(const char *ca_cert)
{
	struct rk_err err = { 0 };
	char *dir = NULL, *path = NULL;

	if (rk_path_dirname(&dir, ca_cert, &err) == 0 && asprintf(&path, "%s/ledger.json", dir) < 0)
		path = NULL;
	free(dir);
	return path;
}

/* Records an issued certificate in the ledger at path. */
static int
record_issue(const char *path, const struct rk_cert *cert, const char *profile,
    const char *replaces, struct rk_err *err)
{
	struct rk_ledger *ledger = NULL;
	struct rk_ledger_entry e = { 0 };
	char serial[64], subject[512], cn[256], fp[RK_FINGERPRINT_LEN], key[64];
	int r;

	if ((r = rk_ledger_open(&ledger, path, err)) != 0)
		return r;
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
	if ((r = rk_cert_sans(&e.san, &e.nsan, cert, err)) == 0 &&
	    (r = rk_ledger_add(ledger, &e, err)) == 0)
		r = rk_ledger_save(ledger, err);
	rk_cert_sans_free(e.san, e.nsan);
	rk_ledger_free(ledger);
	return r;
}

/* ---- inspect ------------------------------------------------------------------------ */

static json_t *
cert_json(const char *file, const struct rk_cert *cert, time_t now)
{
	char serial[64], subject[512], issuer[512], fp[RK_FINGERPRINT_LEN], key[64];
	char nb[32], na[32];
	json_t *sans = json_array(), *o;
	char **san = NULL;
	size_t nsan = 0, i;
	struct rk_err err = { 0 };

	rk_cert_serial(serial, sizeof(serial), cert);
	rk_cert_subject(subject, sizeof(subject), cert);
	rk_cert_issuer(issuer, sizeof(issuer), cert);
	rk_cert_fingerprint(fp, cert);
	rk_cert_describe_key(key, sizeof(key), cert);
	format_time(nb, sizeof(nb), rk_cert_not_before(cert));
	format_time(na, sizeof(na), rk_cert_not_after(cert));
	if (rk_cert_sans(&san, &nsan, cert, &err) == 0)
		for (i = 0; i < nsan; i++)
			json_array_append_new(sans, json_string(san[i]));
	rk_cert_sans_free(san, nsan);
	o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:s, s:s, s:I, s:I, s:I, s:s, s:b, s:s}",
	    "file", file, "type", "certificate", "subject", subject, "issuer", issuer,
	    "serial", serial, "san", sans, "not_before", nb, "not_after", na,
	    "not_before_epoch", (json_int_t)rk_cert_not_before(cert),
	    "not_after_epoch", (json_int_t)rk_cert_not_after(cert),
	    "days_left", (json_int_t)rk_cert_days_left(cert, now), "key", key,
	    "ca", rk_cert_is_ca(cert), "sha256", fp);
	return o;
}

static json_t *
crl_json(const char *file, const struct rk_crl *crl)
{
	static const char *const reasons[] = { "unspecified", "keyCompromise", "cACompromise",
	    "affiliationChanged", "superseded", "cessationOfOperation" };
	char issuer[512], last[32], next[32], when[32];
	json_t *entries = json_array();
	struct rk_crl_entry e;
	size_t i;

	rk_crl_issuer(issuer, sizeof(issuer), crl);
	format_time(last, sizeof(last), rk_crl_last_update(crl));
	format_time(next, sizeof(next), rk_crl_next_update(crl));
	for (i = 0; i < rk_crl_count(crl); i++) {
		rk_crl_entry_at(&e, crl, i);
		format_time(when, sizeof(when), e.revoked_at);
		json_array_append_new(entries, json_pack("{s:s, s:s, s:s}", "serial", e.serial,
		    "revoked_at", when, "reason", e.has_reason && (unsigned)e.reason < 6 ?
		    reasons[e.reason] : "unspecified"));
	}
	return json_pack("{s:s, s:s, s:s, s:I, s:s, s:s, s:I, s:o}", "file", file, "type", "crl",
	    "issuer", issuer, "number", (json_int_t)rk_crl_number(crl), "last_update", last,
	    "next_update", next, "count", (json_int_t)rk_crl_count(crl), "entries", entries);
}

static void
print_cert_text(json_t *c)
{
	json_t *san;
	size_t i;

	printf("%s: certificate\n", json_string_value(json_object_get(c, "file")));
	printf("  subject     %s\n", json_string_value(json_object_get(c, "subject")));
	printf("  issuer      %s\n", json_string_value(json_object_get(c, "issuer")));
	printf("  serial      %s\n", json_string_value(json_object_get(c, "serial")));
	printf("  not before  %s\n", json_string_value(json_object_get(c, "not_before")));
	printf("  not after   %s (%" JSON_INTEGER_FORMAT " days left)\n",
	    json_string_value(json_object_get(c, "not_after")),
	    json_integer_value(json_object_get(c, "days_left")));
	printf("  key         %s\n", json_string_value(json_object_get(c, "key")));
	printf("  ca          %s\n", json_is_true(json_object_get(c, "ca")) ? "yes" : "no");
	json_array_foreach(json_object_get(c, "san"), i, san)
		printf("  %s %s\n", i == 0 ? "san        " : "           ", json_string_value(san));
	printf("  sha256      %s\n", json_string_value(json_object_get(c, "sha256")));
}

static void
print_crl_text(json_t *c)
{
	json_t *e;
	size_t i;

	printf("%s: CRL\n", json_string_value(json_object_get(c, "file")));
	printf("  issuer      %s\n", json_string_value(json_object_get(c, "issuer")));
	printf("  number      %" JSON_INTEGER_FORMAT "\n",
	    json_integer_value(json_object_get(c, "number")));
	printf("  last update %s\n", json_string_value(json_object_get(c, "last_update")));
	printf("  next update %s\n", json_string_value(json_object_get(c, "next_update")));
	printf("  revoked     %" JSON_INTEGER_FORMAT "\n",
	    json_integer_value(json_object_get(c, "count")));
	json_array_foreach(json_object_get(c, "entries"), i, e)
		printf("    %s  %s  %s\n", json_string_value(json_object_get(e, "serial")),
		    json_string_value(json_object_get(e, "revoked_at")),
		    json_string_value(json_object_get(e, "reason")));
}

/* Describes one file as a JSON object: a certificate or bundle, a CRL, or a private key. */
static int
inspect_file(json_t **out, const char *file, const struct rk_secret *pass, struct rk_err *err)
{
	struct rk_cert **certs = NULL, *der = NULL;
	struct rk_crl *crl = NULL;
	struct rk_key *key = NULL;
	struct rk_err why = { 0 };
	struct rk_buf buf;
	size_t n = 0, i;
	char desc[64];
	json_t *list;
	int r;

	*out = NULL;
	rk_buf_init(&buf, RK_PEM_MAX);
	if ((r = rk_file_read(&buf, file, RK_PEM_MAX, err)) != 0)
		goto out;
	if (rk_cert_load_bundle(&certs, &n, rk_buf_bytes(&buf), file, &why) == 0) {
		if (n == 1) {
			*out = cert_json(file, certs[0], time(NULL));
		} else if ((list = json_array()) != NULL) {
			for (i = 0; i < n; i++)
				json_array_append_new(list, cert_json(file, certs[i], time(NULL)));
			*out = json_pack("{s:s, s:s, s:o}", "file", file, "type", "bundle",
			    "certificates", list);
		}
	} else if (rk_err_clear(&why), rk_cert_load(&der, rk_buf_bytes(&buf), file, &why) == 0) {
		*out = cert_json(file, der, time(NULL));
	} else if (rk_err_clear(&why), rk_crl_load(&crl, rk_buf_bytes(&buf), file, &why) == 0) {
		*out = crl_json(file, crl);
	} else if (rk_err_clear(&why), rk_key_load(&key, rk_buf_bytes(&buf), pass, file,
	    &why) == 0) {
		rk_key_describe(desc, sizeof(desc), key);
		*out = json_pack("{s:s, s:s, s:s, s:b}", "file", file, "type", "private-key",
		    "key", desc, "encrypted", memmem(buf.ptr, buf.len, "ENCRYPTED", 9) != NULL);
	} else if (strstr(why.msg, "encrypted") != NULL) {
		/* Without the passphrase only the fact that it is a key can be told. */
		*out = json_pack("{s:s, s:s, s:n, s:b}", "file", file, "type", "private-key",
		    "key", "encrypted", true);
	} else {
		r = rk_fail(err, RK_E_USAGE, "%s: not a certificate, CRL or private key (%s)", file,
		    why.msg);
		goto out;
	}
	if (*out == NULL)
		r = rk_fail_nomem(err);
 out:
	rk_cert_bundle_free(certs, n);
	rk_cert_free(der);
	rk_crl_free(crl);
	rk_key_free(key);
	rk_buf_clear(&buf);
	return r;
}

static int
pki_inspect(const struct rk_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "passphrase-env", required_argument, NULL, 'e' },
		{ "passphrase-file", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct secret_opt so = { NULL, NULL };
	struct rk_secret pass = { NULL, 0 };
	json_t *all = json_array(), *item;
	bool json = false, has_pass;
	int c, i, rc = RK_EXIT_OK;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = true; break;
		case 'e': so.env = optarg; break;
		case 'f': so.file = optarg; break;
		case 'h': fputs(PKI_USAGE, stdout); json_decref(all); return RK_EXIT_OK;
		default: fputs(PKI_USAGE, stderr); json_decref(all); return RK_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		json_decref(all);
		return cli_usage_error(cli, "inspect expects one FILE or more");
	}
	if ((rc = load_secret(&pass, &has_pass, &so, "key", cli)) != RK_EXIT_OK) {
		json_decref(all);
		return rc;
	}
	for (i = optind; i < argc; i++) {
		struct rk_err err = { 0 };

		if (inspect_file(&item, argv[i], has_pass ? &pass : NULL, &err) != 0) {
			cli_report_error(cli, "pki inspect", &err);
			rc = RK_EXIT_FAILED;
			continue;
		}
		if (json) {
			json_array_append_new(all, item);
			continue;
		}
		if (i > optind)
			putchar('\n');
		if (strcmp(json_string_value(json_object_get(item, "type")), "crl") == 0) {
			print_crl_text(item);
		} else if (strcmp(json_string_value(json_object_get(item, "type")), "bundle") == 0) {
			json_t *cert;
			size_t k;

			json_array_foreach(json_object_get(item, "certificates"), k, cert)
				print_cert_text(cert);
		} else if (strcmp(json_string_value(json_object_get(item, "type")),
		    "private-key") == 0) {
			printf("%s: private key\n  key         %s%s\n", argv[i],
			    json_is_string(json_object_get(item, "key")) ?
			    json_string_value(json_object_get(item, "key")) : "encrypted",
			    json_is_true(json_object_get(item, "encrypted")) ?
			    " (encrypted)" : "");
		} else {
			print_cert_text(item);
		}
		json_decref(item);
	}
	if (json) {
		json_dumpf(all, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		putchar('\n');
	}
	json_decref(all);
	rk_secret_clear(&pass);
	return rc;
}

/* ---- init ---------------------------------------------------------------------------- */

/* Writes a key (0600) and certificate (0644) named base in dir, refusing to overwrite. */
static int
write_pair(const char *dir, const char *base, const struct rk_cert *cert,
    const struct rk_key *key, struct rk_err *err)
{
	char path[PATH_MAX], fp[RK_FINGERPRINT_LEN];
	int r;

	snprintf(path, sizeof(path), "%s/%s.key", dir, base);
	if (key != NULL && (r = rk_key_write_file(path, key, NULL, err)) != 0)
		return r;
	snprintf(path, sizeof(path), "%s/%s.crt", dir, base);
	if ((r = rk_cert_write_file(path, cert, err)) != 0)
		return r;
	rk_cert_fingerprint(fp, cert);
	printf("  %-11s %s  sha256 %s\n", base, path, fp);
	return 0;
}

static int
pki_init(const struct rk_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "name", required_argument, NULL, 'n' },
		{ "key", required_argument, NULL, 'k' },
		{ "days", required_argument, NULL, 'd' },
		{ "client-cn", required_argument, NULL, 'c' },
		{ "ca-cn", required_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static char *default_names[] = { "DNS:localhost", "IP:127.0.0.1", "IP:::1" };
	char *names[64], why[256], path[PATH_MAX], ca_sub[300], client_sub[300];
	struct rk_dn ca_dn = { NULL, 0 }, server_dn = { NULL, 0 }, client_dn = { NULL, 0 };
	struct rk_signing_ca ca = { NULL, NULL, NULL };
	struct rk_cert *server = NULL, *client = NULL;
	struct rk_key *server_key = NULL, *client_key = NULL;
	struct rk_crl *crl = NULL;
	struct rk_buf pem;
	struct rk_err err = { 0 };
	enum rk_key_type type = RK_KEY_EC_P256;
	const char *client_cn = "rkclient", *ca_cn = "rekey development CA", *dir;
	size_t nnames = 0, i;
	int c, days = 30, rc = RK_EXIT_FAILED;

	rk_buf_init(&pem, RK_PEM_MAX);
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			if (nnames == sizeof(names) / sizeof(names[0]))
				return cli_usage_error(cli, "too many --name options");
			if (rk_san_parse(&names[nnames], optarg, why, sizeof(why)) != 0) {
				for (i = 0; i < nnames; i++)
					free(names[i]);
				return cli_usage_error(cli, "--name: %s", why);
			}
			nnames++;
			break;
		case 'k':
			if (!parse_key_type(optarg, &type))
				return cli_usage_error(cli, "--key: unsupported key type '%s'", optarg);
			break;
		case 'd':
			if (!parse_days(optarg, RK_DAYS_MAX_LEAF, &days))
				return cli_usage_error(cli, "--days: 1 to %d", RK_DAYS_MAX_LEAF);
			break;
		case 'c': client_cn = optarg; break;
		case 'a': ca_cn = optarg; break;
		case 'h': fputs(PKI_USAGE, stdout); return RK_EXIT_OK;
		default: fputs(PKI_USAGE, stderr); return RK_EXIT_USAGE;
		}
	}
	if (argc - optind != 1) {
		for (i = 0; i < nnames; i++)
			free(names[i]);
		return cli_usage_error(cli, "init expects one DIR");
	}
	dir = argv[optind];
	snprintf(ca_sub, sizeof(ca_sub), "/O=rekey/CN=%s", ca_cn);
	snprintf(client_sub, sizeof(client_sub), "/O=rekey/CN=%s", client_cn);
	if (rk_dn_parse(&ca_dn, ca_sub, why, sizeof(why)) != 0 ||
	    rk_dn_parse(&client_dn, client_sub, why, sizeof(why)) != 0 ||
	    rk_dn_parse(&server_dn, "/O=rekey/CN=localhost", why, sizeof(why)) != 0) {
		rc = cli_usage_error(cli, "%s", why);
		goto out;
	}
	if (mkdir(dir, 0755) == -1 && errno != EEXIST) {
		fprintf(stderr, "rekey: pki: mkdir %s: %s\n", dir, strerror(errno));
		goto out;
	}
	{
		struct rk_cert_spec ca_spec = { RK_PROFILE_CA, &ca_dn, NULL, 0,
		    days > 3650 ? days : 3650 };
		struct rk_cert_spec server_spec = { RK_PROFILE_SERVER, &server_dn,
		    nnames > 0 ? names : default_names, nnames > 0 ? nnames : 3, days };
		struct rk_cert_spec client_spec = { RK_PROFILE_CLIENT, &client_dn, NULL, 0, days };

		if (rk_issue_with_new_key(&ca.cert, &ca.key, &ca_spec, RK_KEY_EC_P384, NULL,
		    &err) != 0 ||
		    rk_issue_with_new_key(&server, &server_key, &server_spec, type, &ca, &err) != 0 ||
		    rk_issue_with_new_key(&client, &client_key, &client_spec, type, &ca, &err) != 0)
			goto fail;
	}
	printf("development PKI in %s:\n", dir);
	if (write_pair(dir, "ca", ca.cert, ca.key, &err) != 0 ||
	    write_pair(dir, "server", server, server_key, &err) != 0 ||
	    write_pair(dir, "client", client, client_key, &err) != 0)
		goto fail;
	/* An empty CRL, so servers configured with one start before the first revocation. */
	snprintf(path, sizeof(path), "%s/ca.crl", dir);
	if (rk_crl_build(&crl, NULL, NULL, 0, ca.cert, ca.key, 7, &err) != 0 ||
	    rk_crl_to_pem(&pem, crl, &err) != 0 ||
	    rk_file_replace(path, rk_buf_bytes(&pem), 0644, &err) != 0)
		goto fail;
	printf("  %-11s %s\n", "crl", path);
	snprintf(path, sizeof(path), "%s/ledger.json", dir);
	if (record_issue(path, server, "server", NULL, &err) != 0 ||
	    record_issue(path, client, "client", NULL, &err) != 0)
		goto fail;
	printf("  %-11s %s\n", "ledger", path);
	rc = RK_EXIT_OK;
	goto out;
 fail:
	cli_report_error(cli, "pki init", &err);
 out:
	for (i = 0; i < nnames; i++)
		free(names[i]);
	rk_dn_clear(&ca_dn);
	rk_dn_clear(&server_dn);
	rk_dn_clear(&client_dn);
	rk_signing_ca_close(&ca);
	rk_cert_free(server);
	rk_cert_free(client);
	rk_key_free(server_key);
	rk_key_free(client_key);
	rk_crl_free(crl);
	rk_buf_clear(&pem);
	return rc;
}

/* ---- issue --------------------------------------------------------------------------- */

static int
pki_issue(const struct rk_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "ca-cert", required_argument, NULL, 'C' },
		{ "ca-key", required_argument, NULL, 'K' },
		{ "ca-passphrase-env", required_argument, NULL, 'E' },
		{ "ca-passphrase-file", required_argument, NULL, 'F' },
		{ "profile", required_argument, NULL, 'p' },
		{ "subject", required_argument, NULL, 's' },
		{ "san", required_argument, NULL, 'n' },
		{ "key", required_argument, NULL, 'k' },
		{ "days", required_argument, NULL, 'd' },
		{ "cert-out", required_argument, NULL, 'o' },
		{ "key-out", required_argument, NULL, 'O' },
		{ "key-passphrase-env", required_argument, NULL, 'e' },
		{ "key-passphrase-file", required_argument, NULL, 'f' },
		{ "ledger", required_argument, NULL, 'l' },
		{ "replaces", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *ca_cert = NULL, *ca_key = NULL, *subject = NULL, *cert_out = NULL;
	const char *key_out = NULL, *ledger = NULL, *replaces = NULL;
	struct secret_opt ca_so = { NULL, NULL }, key_so = { NULL, NULL };
	struct rk_secret ca_pass = { NULL, 0 }, key_pass = { NULL, 0 };
	struct rk_signing_ca ca = { NULL, NULL, NULL };
	struct rk_dn dn = { NULL, 0 };
	struct rk_cert *cert = NULL;
	struct rk_key *key = NULL;
	struct rk_err err = { 0 };
	enum rk_key_type type = RK_KEY_EC_P256;
	enum rk_profile profile = RK_PROFILE_SERVER;
	char *sans[64], why[256], fp[RK_FINGERPRINT_LEN], serial[64], replaced[64];
	char *ledger_default = NULL;
	size_t nsan = 0, i;
	bool has_ca_pass, has_key_pass, have_profile = false;
	int c, v, days = 365, rc = RK_EXIT_USAGE;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'C': ca_cert = optarg; break;
		case 'K': ca_key = optarg; break;
		case 'E': ca_so.env = optarg; break;
		case 'F': ca_so.file = optarg; break;
		case 'e': key_so.env = optarg; break;
		case 'f': key_so.file = optarg; break;
		case 's': subject = optarg; break;
		case 'o': cert_out = optarg; break;
		case 'O': key_out = optarg; break;
		case 'l': ledger = optarg; break;
		case 'r': replaces = optarg; break;
		case 'p':
			if (!rk_enum_lookup(rk_profile_names, optarg, &v) || v == RK_PROFILE_CA) {
				rc = cli_usage_error(cli, "--profile: server or client");
				goto out;
			}
			profile = (enum rk_profile)v;
			have_profile = true;
			break;
		case 'n':
			if (nsan == sizeof(sans) / sizeof(sans[0])) {
				rc = cli_usage_error(cli, "too many --san options");
				goto out;
			}
			if (rk_san_parse(&sans[nsan], optarg, why, sizeof(why)) != 0) {
				rc = cli_usage_error(cli, "--san: %s", why);
				goto out;
			}
			nsan++;
			break;
		case 'k':
			if (!parse_key_type(optarg, &type)) {
				rc = cli_usage_error(cli, "--key: unsupported key type '%s' (%s)",
				    optarg, "rsa-2048 rsa-3072 rsa-4096 ec-p256 ec-p384 ed25519");
				goto out;
			}
			break;
		case 'd':
			if (!parse_days(optarg, RK_DAYS_MAX_LEAF, &days)) {
				rc = cli_usage_error(cli, "--days: 1 to %d", RK_DAYS_MAX_LEAF);
				goto out;
			}
			break;
		case 'h':
			fputs(PKI_USAGE, stdout);
			rc = RK_EXIT_OK;
			goto out;
		default:
			fputs(PKI_USAGE, stderr);
			goto out;
		}
	}
	if (ca_cert == NULL || ca_key == NULL || subject == NULL || cert_out == NULL ||
	    key_out == NULL || !have_profile || optind != argc) {
		rc = cli_usage_error(cli, "issue needs --ca-cert, --ca-key, --profile, --subject, "
		    "--cert-out and --key-out (see rekey pki --help)");
		goto out;
	}
	if (rk_dn_parse(&dn, subject, why, sizeof(why)) != 0) {
		rc = cli_usage_error(cli, "--subject: %s", why);
		goto out;
	}
	if (replaces != NULL && !rk_serial_normalise(replaced, sizeof(replaced), replaces)) {
		rc = cli_usage_error(cli, "--replaces: '%s' is not a hexadecimal serial", replaces);
		goto out;
	}
	if ((rc = load_secret(&ca_pass, &has_ca_pass, &ca_so, "CA", cli)) != RK_EXIT_OK ||
	    (rc = load_secret(&key_pass, &has_key_pass, &key_so, "key", cli)) != RK_EXIT_OK)
		goto out;
	rc = RK_EXIT_FAILED;
	if (ledger == NULL && (ledger = ledger_default = ledger_path_beside(ca_cert)) == NULL)
		goto out;
	{
		struct rk_cert_spec spec = { profile, &dn, sans, nsan, days };

		if (rk_signing_ca_open(&ca, ca_cert, ca_key, has_ca_pass ? &ca_pass : NULL,
		    &err) != 0 ||
		    rk_issue_with_new_key(&cert, &key, &spec, type, &ca, &err) != 0 ||
		    rk_key_write_file(key_out, key, has_key_pass ? &key_pass : NULL, &err) != 0 ||
		    rk_cert_write_file(cert_out, cert, &err) != 0 ||
		    record_issue(ledger, cert, rk_profile_name(profile),
		    replaces != NULL ? replaced : NULL, &err) != 0) {
			cli_report_error(cli, "pki issue", &err);
			goto out;
		}
	}
	rk_cert_fingerprint(fp, cert);
	rk_cert_serial(serial, sizeof(serial), cert);
	printf("issued %s certificate %s\n  serial  %s\n  sha256  %s\n  key     %s (0600)\n"
	    "  ledger  %s\n", rk_profile_name(profile), cert_out, serial, fp, key_out, ledger);
	rc = RK_EXIT_OK;
 out:
	for (i = 0; i < nsan; i++)
		free(sans[i]);
	free(ledger_default);
	rk_dn_clear(&dn);
	rk_signing_ca_close(&ca);
	rk_cert_free(cert);
	rk_key_free(key);
	rk_secret_clear(&ca_pass);
	rk_secret_clear(&key_pass);
	return rc;
}

/* ---- revoke -------------------------------------------------------------------------- */

struct revocations {
	struct rk_crl_entry	*items;
	size_t			 n;
	enum rk_reason		 reason;
	time_t			 now;
};

static int
add_revocation(struct revocations *rv, const char *serial, struct rk_err *err)
{
	struct rk_crl_entry *grown;

	if ((grown = reallocarray(rv->items, rv->n + 1, sizeof(*grown))) == NULL)
		return rk_fail_nomem(err);
	rv->items = grown;
	memset(&rv->items[rv->n], 0, sizeof(rv->items[rv->n]));
	if (!rk_serial_normalise(rv->items[rv->n].serial, sizeof(rv->items[rv->n].serial),
	    serial))
		return rk_fail(err, RK_E_USAGE, "'%s' is not a hexadecimal serial of at most "
		    "20 bytes", serial);
	rv->items[rv->n].revoked_at = rv->now;
	rv->items[rv->n].reason = rv->reason;
	rv->items[rv->n].has_reason = true;
	rv->n++;
	return 0;
}

static int
add_cert_file(struct revocations *rv, const char *path, const struct rk_signing_ca *ca,
    bool must_match, bool *added, struct rk_err *err)
{
	struct rk_cert *cert = NULL;
	char serial[64];
	int r;

	*added = false;
	if ((r = rk_cert_load_file(&cert, path, err)) != 0)
		return r;
	if (!rk_cert_is_issued_by(cert, ca->cert)) {
		rk_cert_free(cert);
		return must_match ? rk_fail(err, RK_E_USAGE, "%s was not issued by the CA %s",
		    path, ca->cert_path) : 0;
	}
	rk_cert_serial(serial, sizeof(serial), cert);
	rk_cert_free(cert);
	*added = true;
	return add_revocation(rv, serial, err);
}

/* Every certificate in folder issued by the CA; anything else there is skipped. */
static int
add_folder(struct revocations *rv, const char *folder, const struct rk_signing_ca *ca,
    size_t *found, struct rk_err *err)
{
	char path[PATH_MAX];
	struct dirent **list = NULL;
	int count, i, r = 0;
	bool added;

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
		snprintf(path, sizeof(path), "%s/%s", folder, name);
		/* A file that is no certificate is skipped, as is one of another CA. */
		if (add_cert_file(rv, path, ca, false, &added, &skip) == 0 && added)
			(*found)++;
		else if (skip.code == RK_E_NOMEM)
			r = rk_fail_nomem(err);
	}
	for (i = 0; i < count; i++)
		free(list[i]);
	free(list);
	return r;
}

static int
add_cn(struct revocations *rv, const char *cn, const char *ledger_path, size_t *found,
    struct rk_err *err)
{
	struct rk_ledger *ledger = NULL;
	size_t i;
	int r;

	*found = 0;
	if ((r = rk_ledger_open(&ledger, ledger_path, err)) != 0)
		return r;
	for (i = 0; i < rk_ledger_count(ledger) && r == 0; i++) {
		const struct rk_ledger_entry *e = rk_ledger_entry_at(ledger, i);

		if (e->common_name != NULL && strcmp(e->common_name, cn) == 0) {
			r = add_revocation(rv, e->serial, err);
			(*found)++;
		}
	}
	rk_ledger_free(ledger);
	if (r == 0 && *found == 0)
		r = rk_fail(err, RK_E_USAGE, "the ledger %s holds no certificate for CN %s",
		    ledger_path, cn);
	return r;
}

enum target_kind { TARGET_SERIAL, TARGET_CERT, TARGET_FOLDER, TARGET_CN };

struct target {
	enum target_kind	 kind;
	const char		*value;
};

static int
pki_revoke(const struct rk_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "ca-cert", required_argument, NULL, 'C' },
		{ "ca-key", required_argument, NULL, 'K' },
		{ "ca-passphrase-env", required_argument, NULL, 'E' },
		{ "ca-passphrase-file", required_argument, NULL, 'F' },
		{ "crl", required_argument, NULL, 'c' },
		{ "crl-days", required_argument, NULL, 'd' },
		{ "reason", required_argument, NULL, 'r' },
		{ "serial", required_argument, NULL, 's' },
		{ "cert", required_argument, NULL, 'x' },
		{ "folder", required_argument, NULL, 'D' },
		{ "cn", required_argument, NULL, 'n' },
		{ "ledger", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct target targets[256];
	struct secret_opt ca_so = { NULL, NULL };
	struct rk_secret ca_pass = { NULL, 0 };
	struct rk_signing_ca ca = { NULL, NULL, NULL };
	struct revocations rv = { NULL, 0, RK_REASON_UNSPECIFIED, time(NULL) };
	struct rk_crl *previous = NULL, *crl = NULL;
	struct rk_err err = { 0 };
	struct rk_buf pem;
	const char *ca_cert = NULL, *ca_key = NULL, *crl_path = NULL, *ledger = NULL;
	char *crl_default = NULL, *ledger_default = NULL, next[32];
	size_t ntargets = 0, i, found, before = 0;
	bool has_pass, added;
	int c, v, crl_days = 7, rc = RK_EXIT_USAGE, r = 0;

	rk_buf_init(&pem, RK_PEM_MAX);
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		enum target_kind kind;

		switch (c) {
		case 'C': ca_cert = optarg; continue;
		case 'K': ca_key = optarg; continue;
		case 'E': ca_so.env = optarg; continue;
		case 'F': ca_so.file = optarg; continue;
		case 'c': crl_path = optarg; continue;
		case 'l': ledger = optarg; continue;
		case 'd':
			if (!parse_days(optarg, RK_CRL_DAYS_MAX, &crl_days)) {
				rc = cli_usage_error(cli, "--crl-days: 1 to %d", RK_CRL_DAYS_MAX);
				goto out;
			}
			continue;
		case 'r':
			if (!rk_enum_lookup(rk_reason_names, optarg, &v)) {
				rc = cli_usage_error(cli, "--reason: keyCompromise, cACompromise, "
				    "superseded, affiliationChanged, cessationOfOperation or "
				    "unspecified");
				goto out;
			}
			rv.reason = (enum rk_reason)v;
			continue;
		case 's': kind = TARGET_SERIAL; break;
		case 'x': kind = TARGET_CERT; break;
		case 'D': kind = TARGET_FOLDER; break;
		case 'n': kind = TARGET_CN; break;
		case 'h':
			fputs(PKI_USAGE, stdout);
			rc = RK_EXIT_OK;
			goto out;
		default:
			fputs(PKI_USAGE, stderr);
			goto out;
		}
		if (ntargets == sizeof(targets) / sizeof(targets[0])) {
			rc = cli_usage_error(cli, "too many revocation targets");
			goto out;
		}
		targets[ntargets].kind = kind;
		targets[ntargets++].value = optarg;
	}
	if (ca_cert == NULL || ca_key == NULL || ntargets == 0 || optind != argc) {
		rc = cli_usage_error(cli, "revoke needs --ca-cert, --ca-key and at least one of "
		    "--serial, --cert, --folder or --cn");
		goto out;
	}
	if ((rc = load_secret(&ca_pass, &has_pass, &ca_so, "CA", cli)) != RK_EXIT_OK)
		goto out;
	rc = RK_EXIT_FAILED;
	if (crl_path == NULL) {
		char *dir = NULL;

		if (rk_path_dirname(&dir, ca_cert, &err) != 0 ||
		    asprintf(&crl_default, "%s/ca.crl", dir) < 0) {
			crl_default = NULL;
			free(dir);
			goto fail;
		}
		free(dir);
		crl_path = crl_default;
	}
	if (ledger == NULL && (ledger = ledger_default = ledger_path_beside(ca_cert)) == NULL)
		goto out;
	if ((r = rk_signing_ca_open(&ca, ca_cert, ca_key, has_pass ? &ca_pass : NULL, &err)) != 0)
		goto fail;
	/* The CRL is read first: every entry it holds is kept, whatever is listed here. */
	if (rk_crl_load_file(&previous, crl_path, &err) != 0) {
		if (err.sys_errno != ENOENT)
			goto fail;
		rk_err_clear(&err);
	} else {
		before = rk_crl_count(previous);
	}
	for (i = 0; i < ntargets && r == 0; i++) {
		switch (targets[i].kind) {
		case TARGET_SERIAL:
			r = add_revocation(&rv, targets[i].value, &err);
			break;
		case TARGET_CERT:
			r = add_cert_file(&rv, targets[i].value, &ca, true, &added, &err);
			break;
		case TARGET_FOLDER:
			if ((r = add_folder(&rv, targets[i].value, &ca, &found, &err)) == 0)
				printf("%s: %zu certificate%s issued by this CA\n", targets[i].value,
				    found, found == 1 ? "" : "s");
			break;
		case TARGET_CN:
			r = add_cn(&rv, targets[i].value, ledger, &found, &err);
			break;
		}
	}
	if (r != 0 || rk_crl_build(&crl, previous, rv.items, rv.n, ca.cert, ca.key, crl_days,
	    &err) != 0 || rk_crl_to_pem(&pem, crl, &err) != 0 ||
	    rk_file_replace(crl_path, rk_buf_bytes(&pem), 0644, &err) != 0)
		goto fail;
	format_time(next, sizeof(next), rk_crl_next_update(crl));
	printf("CRL %s: number %ld, %zu new entr%s, %zu in all, next update %s\n", crl_path,
	    rk_crl_number(crl), rk_crl_count(crl) - before,
	    rk_crl_count(crl) - before == 1 ? "y" : "ies", rk_crl_count(crl), next);
	rc = RK_EXIT_OK;
	goto out;
 fail:
	cli_report_error(cli, "pki revoke", &err);
	if (err.code == RK_E_USAGE)
		rc = RK_EXIT_USAGE;
 out:
	free(rv.items);
	free(crl_default);
	free(ledger_default);
	rk_signing_ca_close(&ca);
	rk_crl_free(previous);
	rk_crl_free(crl);
	rk_buf_clear(&pem);
	rk_secret_clear(&ca_pass);
	return rc;
}

/* ---- dispatch ------------------------------------------------------------------------ */

int
cmd_pki(const struct rk_cli *cli, int argc, char **argv)
{
	static const struct {
		const char	*name;
		int		(*run)(const struct rk_cli *, int, char **);
	} subs[] = {
		{ "inspect", pki_inspect },
		{ "init", pki_init },
		{ "issue", pki_issue },
		{ "revoke", pki_revoke },
	};
	size_t i;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		fputs(PKI_USAGE, argc < 2 ? stderr : stdout);
		return argc < 2 ? RK_EXIT_USAGE : RK_EXIT_OK;
	}
	for (i = 0; i < sizeof(subs) / sizeof(subs[0]); i++)
		if (strcmp(argv[1], subs[i].name) == 0)
			return subs[i].run(cli, argc - 1, argv + 1);
	return cli_usage_error(cli, "unknown subcommand '%s' (inspect, init, issue, revoke)",
	    argv[1]);
}
