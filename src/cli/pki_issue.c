/*
 * `rekey pki issue`: one certificate and a new key, signed by a checked CA.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "pki_cmd.h"
#include "rekey/ca.h"
#include "rekey/fsutil.h"
#include "rekey/ledger.h"
#include "rekey/names.h"

static const char issue_help[] = ISSUE_SYNOPSIS
	"\n"
	"Issues a certificate and a new key signed by the CA, after checking the CA (key\n"
	"matches, CA:TRUE, keyCertSign, within its validity). The key (0600) and certificate\n"
	"(0644) are new files, both written or neither; the ledger records the certificate.\n"
	"\n"
	CA_PASSPHRASE_HELP
	"  --profile server|client\n"
	"  --subject /O=x/CN=y   the subject, as OpenSSL's -subj\n"
	"  --san DNS:x|IP:y      a subjectAltName (repeat for more)\n"
	"  --key TYPE            " KEY_TYPES " (default ec-p256)\n"
	"  --days N              validity (default 365)\n"
	"  --cert-out F, --key-out F\n"
	"                        the new files; an existing file is never overwritten\n"
	"  --key-passphrase-env VAR, --key-passphrase-file F\n"
	"                        encrypt the new key (AES-256, PKCS#8)\n"
	"  --ledger F            the ledger (default ledger.json beside the CA certificate)\n"
	"  --replaces SERIAL     the serial of the certificate this one replaces, for the ledger\n"
	"  --help                this help\n";

int
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
	const char *key_out = NULL, *ledger_path = NULL, *replaces = NULL;
	struct pki_secret_opt ca_so = { NULL, NULL }, key_so = { NULL, NULL };
	struct rk_secret ca_pass = { NULL, 0 }, key_pass = { NULL, 0 };
	struct rk_signing_ca ca = { NULL, NULL, NULL };
	struct rk_dn dn = { NULL, 0 };
	struct rk_cert *cert = NULL;
	struct rk_key *key = NULL;
	struct rk_ledger *ledger = NULL;
	struct rk_fileset *set = NULL;
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
		case 'l': ledger_path = optarg; break;
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
			if (!pki_take_san(cli, "--san", optarg, sans, sizeof(sans) /
			    sizeof(sans[0]), &nsan, &rc))
				goto out;
			break;
		case 'k':
			if (!pki_take_key_type(cli, optarg, &type, &rc))
				goto out;
			break;
		case 'd':
			if (!pki_take_days(cli, "--days", optarg, RK_DAYS_MAX_LEAF, &days, &rc))
				goto out;
			break;
		case 'h': rc = cli_show_help(issue_help, true); goto out;
		default: rc = cli_show_help(issue_help, false); goto out;
		}
	}
	if (ca_cert == NULL || ca_key == NULL || subject == NULL || cert_out == NULL ||
	    key_out == NULL || !have_profile || optind != argc) {
		rc = cli_usage_error(cli, "issue needs --ca-cert, --ca-key, --profile, --subject, "
		    "--cert-out and --key-out (see rekey pki issue --help)");
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
	if ((rc = pki_load_secret(&ca_pass, &has_ca_pass, &ca_so, "CA", cli)) != RK_EXIT_OK ||
	    (rc = pki_load_secret(&key_pass, &has_key_pass, &key_so, "key", cli)) != RK_EXIT_OK)
		goto out;
	rc = RK_EXIT_FAILED;
	if (ledger_path == NULL &&
	    (ledger_path = ledger_default = pki_path_beside(ca_cert, "ledger.json")) == NULL)
		goto out;
	{
		struct rk_cert_spec spec = { profile, &dn, sans, nsan, days, false };

		/*
		 * The ledger is read before anything is written, and the key and certificate
		 * are written together: both get their names, or neither does. A ledger that
		 * cannot be saved takes them back, so every certificate on disk is in it.
		 */
		if (rk_signing_ca_open(&ca, ca_cert, ca_key, has_ca_pass ? &ca_pass : NULL,
		    &err) != 0 ||
		    rk_ledger_open(&ledger, ledger_path, &err) != 0 ||
		    rk_issue_with_new_key(&cert, &key, &spec, type, &ca, &err) != 0 ||
		    rk_fileset_new(&set, &err) != 0 ||
		    rk_key_stage_file(set, key_out, key, has_key_pass ? &key_pass : NULL,
		    &err) != 0 ||
		    rk_cert_stage_file(set, cert_out, cert, &err) != 0 ||
		    rk_ledger_add_cert(ledger, cert, rk_profile_name(profile),
		    replaces != NULL ? replaced : NULL, NULL, &err) != 0 ||
		    rk_fileset_commit(set, &err) != 0)
			goto fail;
		if (rk_ledger_save(ledger, &err) != 0) {
			rk_fileset_undo(set);
			goto fail;
		}
	}
	rk_cert_fingerprint(fp, cert);
	rk_cert_serial(serial, sizeof(serial), cert);
	printf("issued %s certificate %s\n  serial  %s\n  sha256  %s\n  key     %s (0600)\n"
	    "  ledger  %s\n", rk_profile_name(profile), cert_out, serial, fp, key_out,
	    ledger_path);
	/* Clients refuse a certificate once its CA has ended, whatever its own notAfter. */
	if (rk_cert_not_after(cert) > rk_cert_not_after(ca.cert)) {
		char ends[32];

		cli_format_time(ends, sizeof(ends), rk_cert_not_after(ca.cert));
		fprintf(stderr, "rekey: pki issue: note: the CA ends before this certificate, on "
		    "%s: clients refuse the certificate from then on\n", ends);
	}
	rc = RK_EXIT_OK;
	goto out;
 fail:
	cli_report_error(cli, "pki issue", &err);
	if (err.code == RK_E_USAGE)
		rc = RK_EXIT_USAGE;
 out:
	rk_fileset_free(set);
	for (i = 0; i < nsan; i++)
		free(sans[i]);
	free(ledger_default);
	rk_ledger_free(ledger);
	rk_dn_clear(&dn);
	rk_signing_ca_close(&ca);
	rk_cert_free(cert);
	rk_key_free(key);
	rk_secret_clear(&ca_pass);
	rk_secret_clear(&key_pass);
	return rc;
}
