/*
 * `rekey pki init`: a development PKI in a new folder, every file written or none.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pki_cmd.h"
#include "rekey/ca.h"
#include "rekey/fsutil.h"
#include "rekey/ledger.h"
#include "rekey/names.h"

static const char init_help[] = INIT_SYNOPSIS
	"\n"
	"Makes a development PKI in DIR, which must be new or empty: ca.crt/ca.key (EC P-384),\n"
	"server.crt/server.key, client.crt/client.key, an empty ca.crl and ledger.json. Every\n"
	"file is written, or none.\n"
	"\n"
	"With --intermediate, two levels: root.crt/root.key, a self-signed root (EC P-384), and\n"
	"its empty root.crl; ca.crt/ca.key is then an issuing CA the root signs (pathlen 0),\n"
	"still the CA that signs the leaves, with ca.crl; chain.crt holds the certificates\n"
	"above ca.crt (the root); server.crt and client.crt hold the leaf, then ca.crt.\n"
	"\n"
	"  --intermediate        a root CA and an issuing CA under it (above)\n"
	"  --name DNS:x|IP:y     a SAN of the server certificate (default DNS:localhost,\n"
	"                        IP:127.0.0.1, IP:::1)\n"
	"  --key TYPE            the server's and client's key: " KEY_TYPES "\n"
	"                        (default ec-p256)\n"
	"  --days N              validity of the server and client certificates (default 30)\n"
	"  --client-cn NAME      the client certificate's CN (default rkclient)\n"
	"  --ca-cn NAME          the CN of the CA that signs the leaves\n"
	"                        (default \"rekey development CA\")\n"
	"  --root-cn NAME        with --intermediate, the root's CN\n"
	"                        (default \"rekey development root CA\")\n"
	"  --help                this help\n";

#define INIT_CA_DAYS	3650	/* ten years: no leaf (--days) may outlast its CA */
#define INIT_CRL_DAYS	7	/* nextUpdate of the empty CRLs, as revoke's default */

/*
 * DIR must be new or empty: a development PKI written into a folder that holds one already
 * would mix two CAs. Says so before anything is generated or written; *made tells whether
 * the folder was created here (and so may be removed again on failure).
 */
static int
prepare_empty_folder(const char *dir, bool *made, struct rk_err *err)
{
	struct dirent *d;
	struct stat st;
	DIR *dp;
	int r = 0;

	*made = false;
	if (lstat(dir, &st) == -1) {
		if (errno != ENOENT)
			return rk_fail_errno(err, "%s", dir);
		if (mkdir(dir, 0755) == -1)
			return rk_fail_errno(err, "mkdir %s", dir);
		*made = true;
		return 0;
	}
	if (!S_ISDIR(st.st_mode))
		return rk_fail(err, RK_E_USAGE, "%s exists and is not a folder", dir);
	if ((dp = opendir(dir)) == NULL)
		return rk_fail_errno(err, "%s", dir);
	while ((d = readdir(dp)) != NULL) {
		if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0)
			continue;
		r = rk_fail(err, RK_E_USAGE, "%s is not empty (it holds %s, among others): "
		    "pki init writes only into a new or empty folder, so two CAs never mix; "
		    "nothing was written", dir, d->d_name);
		break;
	}
	closedir(dp);
	return r;
}

/*
 * One certificate init makes, with its new key: base.crt and base.key, and base.crl for a
 * CA. A row is signed only by a row before it, so issuing in order finds each issuer ready.
 */
struct init_cert {
	const char		*base;		/* "root", "ca", "server", "client" */
	const char		*what;		/* what base.crt is, for the lines init prints */
	struct rk_cert_spec	 spec;
	enum rk_key_type	 type;
	int			 issuer;	/* the row that signs it; -1: self-signed */
	bool			 sends_issuer;	/* base.crt: the issuer's certificate after it */
	struct rk_cert		*cert;
	struct rk_key		*key;
};

/* dir/base + ext into buf: an error when it does not fit, never a shorter name. */
static int
init_path(char *buf, size_t size, const char *dir, const char *base, const char *ext,
    struct rk_err *err)
{
	int len = snprintf(buf, size, "%s/%s%s", dir, base, ext);

	if (len < 0 || (size_t)len >= size)
		return rk_fail(err, RK_E_USAGE, "%s: the folder's path is too long", dir);
	return 0;
}

/* "/O=rekey/CN=cn" as a DN; why says what is wrong with cn otherwise. */
static int
init_dn(struct rk_dn *out, const char *cn, char *why, size_t whysize)
{
	char subject[300];
	int len = snprintf(subject, sizeof(subject), "/O=rekey/CN=%s", cn);

	if (len < 0 || (size_t)len >= sizeof(subject)) {
		snprintf(why, whysize, "the CN '%.40s...' is too long", cn);
		return -1;
	}
	return rk_dn_parse(out, subject, why, whysize);
}

/* Issues every row in order, each with a new key, signed by its issuer row (or itself). */
static int
issue_init_certs(struct init_cert *rows, size_t n, struct rk_err *err)
{
	size_t i;
	int r = 0;

	for (i = 0; i < n && r == 0; i++) {
		/* Borrowed from the issuer's row, which frees them: never closed here. */
		struct rk_signing_ca signer = { NULL, NULL, NULL };

		if (rows[i].issuer >= 0) {
			signer.cert = rows[rows[i].issuer].cert;
			signer.key = rows[rows[i].issuer].key;
		}
		r = rk_issue_with_new_key(&rows[i].cert, &rows[i].key, &rows[i].spec, rows[i].type,
		    rows[i].issuer >= 0 ? &signer : NULL, err);
	}
	return r;
}

/* An empty CRL, so servers configured with one start before the first revocation. */
static int
stage_empty_crl(struct rk_fileset *set, const char *path, const struct init_cert *ca,
    struct rk_err *err)
{
	struct rk_crl *crl = NULL;
	struct rk_buf pem;
	int r;

	rk_buf_init(&pem, RK_PEM_MAX);
	if ((r = rk_crl_build(&crl, NULL, NULL, 0, ca->cert, ca->key, INIT_CRL_DAYS,
	    err)) == 0 &&
	    (r = rk_crl_to_pem(&pem, crl, err)) == 0)
		r = rk_fileset_add(set, path, rk_buf_bytes(&pem), 0644, err);
	rk_crl_free(crl);
	rk_buf_clear(&pem);
	return r;
}

/*
 * The ledger records every certificate issued here but a self-signed root, which no CA
 * issued: with two levels that is the issuing CA too, so its serial is at hand to revoke.
 */
static int
stage_init_ledger(struct rk_fileset *set, const char *path, const struct init_cert *rows,
    size_t n, struct rk_err *err)
{
	struct rk_ledger *ledger = NULL;
	char *text = NULL;
	size_t i;
	int r;

	if ((r = rk_ledger_open(&ledger, path, err)) != 0)
		goto out;
	for (i = 0; i < n && r == 0; i++)
		if (rows[i].issuer >= 0)
			r = rk_ledger_add_cert(ledger, rows[i].cert,
			    rk_profile_name(rows[i].spec.profile), NULL, NULL, err);
	if (r != 0 || (r = rk_ledger_to_json(&text, ledger, err)) != 0)
		goto out;
	r = rk_fileset_add(set, path, (struct rk_bytes){ (const unsigned char *)text,
	    strlen(text) }, 0644, err);
 out:
	free(text);
	rk_ledger_free(ledger);
	return r;
}

/*
 * Adds every file of the development PKI to set; nothing is under its name before commit.
 * chain.crt, when the CA that signs the leaves (row issuing) has issuers of its own, holds
 * them from the nearest up to the root: what a playbook names as ca.chain.
 */
static int
stage_init_files(struct rk_fileset *set, const char *dir, const struct init_cert *rows,
    size_t n, size_t issuing, struct rk_err *err)
{
	const struct rk_cert *bundle[4];
	char path[PATH_MAX];
	size_t i, nb;
	int j, r = 0;

	for (i = 0; i < n && r == 0; i++) {
		bundle[0] = rows[i].cert;
		nb = 1;
		if (rows[i].sends_issuer)
			bundle[nb++] = rows[rows[i].issuer].cert;
		if ((r = init_path(path, sizeof(path), dir, rows[i].base, ".key", err)) != 0 ||
		    (r = rk_key_stage_file(set, path, rows[i].key, NULL, err)) != 0 ||
		    (r = init_path(path, sizeof(path), dir, rows[i].base, ".crt", err)) != 0 ||
		    (r = rk_cert_stage_bundle_file(set, path, bundle, nb, err)) != 0)
			break;
		if (rows[i].spec.profile == RK_PROFILE_CA &&
		    ((r = init_path(path, sizeof(path), dir, rows[i].base, ".crl", err)) != 0 ||
		    (r = stage_empty_crl(set, path, &rows[i], err)) != 0))
			break;
	}
	if (r != 0)
		return r;
	nb = 0;
	for (j = rows[issuing].issuer; j >= 0 && nb < sizeof(bundle) / sizeof(bundle[0]);
	    j = rows[j].issuer)
		bundle[nb++] = rows[j].cert;
	if (nb > 0 && ((r = init_path(path, sizeof(path), dir, "chain", ".crt", err)) != 0 ||
	    (r = rk_cert_stage_bundle_file(set, path, bundle, nb, err)) != 0))
		return r;
	if ((r = init_path(path, sizeof(path), dir, "ledger", ".json", err)) != 0)
		return r;
	return stage_init_ledger(set, path, rows, n, err);
}

static void
print_init_line(const char *name, const char *ext, const char *what)
{
	char file[64];

	snprintf(file, sizeof(file), "%s%s", name, ext);
	printf("  %-12s %s\n", file, what);
}

/* Every file init wrote and what it is, each certificate with its fingerprint. */
static void
print_init_files(const char *dir, const struct init_cert *rows, size_t n, size_t issuing)
{
	const char *sep = " ";
	char fp[RK_FINGERPRINT_LEN], crl_what[64];
	size_t i;

	snprintf(crl_what, sizeof(crl_what), "its CRL, empty (next update in %d days)",
	    INIT_CRL_DAYS);

	printf("development PKI in %s%s:\n", dir, rows[issuing].issuer >= 0 ?
	    ", two levels: a root CA and the issuing CA under it" : "");
	for (i = 0; i < n; i++) {
		rk_cert_fingerprint(fp, rows[i].cert);
		print_init_line(rows[i].base, ".crt", rows[i].what);
		printf("  %-12s sha256 %s\n", "", fp);
		print_init_line(rows[i].base, ".key", "its key (0600)");
		if (rows[i].spec.profile == RK_PROFILE_CA)
			print_init_line(rows[i].base, ".crl", crl_what);
	}
	if (rows[issuing].issuer >= 0)
		print_init_line("chain", ".crt", "the certificates above ca.crt up to the root "
		    "(here the root alone): a playbook's ca.chain");
	/* As stage_init_ledger: all but a self-signed root. */
	printf("  %-12s the ledger of what was issued:", "ledger.json");
	for (i = 0; i < n; i++) {
		if (rows[i].issuer >= 0) {
			printf("%s%s.crt", sep, rows[i].base);
			sep = ", ";
		}
	}
	putchar('\n');
}

int
pki_init(const struct rk_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "intermediate", no_argument, NULL, 'i' },
		{ "name", required_argument, NULL, 'n' },
		{ "key", required_argument, NULL, 'k' },
		{ "days", required_argument, NULL, 'd' },
		{ "client-cn", required_argument, NULL, 'c' },
		{ "ca-cn", required_argument, NULL, 'a' },
		{ "root-cn", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static char *default_names[] = { "DNS:localhost", "IP:127.0.0.1", "IP:::1" };
	char *names[64], why[256];
	struct rk_dn root_dn = { NULL, 0 }, ca_dn = { NULL, 0 }, server_dn = { NULL, 0 };
	struct rk_dn client_dn = { NULL, 0 };
	struct init_cert rows[4];
	struct rk_fileset *set = NULL;
	struct rk_err err = { 0 };
	enum rk_key_type type = RK_KEY_EC_P256;
	const char *client_cn = "rkclient", *ca_cn = "rekey development CA", *dir = NULL;
	const char *root_cn = NULL;
	size_t nnames = 0, nrows = 0, issuing, i;
	bool made_dir = false, intermediate = false;
	int c, days = 30, rc = RK_EXIT_USAGE;

	memset(rows, 0, sizeof(rows));
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'i': intermediate = true; break;
		case 'n':
			if (!pki_take_san(cli, "--name", optarg, names, sizeof(names) /
			    sizeof(names[0]), &nnames, &rc))
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
		case 'c': client_cn = optarg; break;
		case 'a': ca_cn = optarg; break;
		case 'r': root_cn = optarg; break;
		case 'h': rc = cli_show_help(init_help, true); goto out;
		default: rc = cli_show_help(init_help, false); goto out;
		}
	}
	if (argc - optind != 1) {
		rc = cli_usage_error(cli, "init expects one DIR");
		goto out;
	}
	dir = argv[optind];
	if (root_cn != NULL && !intermediate) {
		rc = cli_usage_error(cli, "--root-cn names the root of --intermediate; without it "
		    "the CA is the root (--ca-cn)");
		goto out;
	}
	if (root_cn == NULL)
		root_cn = "rekey development root CA";
	/* Issuers are found by name: a root and an issuing CA of one name cannot be told apart. */
	if (intermediate && strcmp(root_cn, ca_cn) == 0) {
		rc = cli_usage_error(cli, "--root-cn and --ca-cn are both '%s': the root and the "
		    "issuing CA need different names", ca_cn);
		goto out;
	}
	if ((intermediate && init_dn(&root_dn, root_cn, why, sizeof(why)) != 0) ||
	    init_dn(&ca_dn, ca_cn, why, sizeof(why)) != 0 ||
	    init_dn(&client_dn, client_cn, why, sizeof(why)) != 0 ||
	    init_dn(&server_dn, "localhost", why, sizeof(why)) != 0) {
		rc = cli_usage_error(cli, "%s", why);
		goto out;
	}
	/*
	 * The rows, issuers first. The CA that signs the leaves is always ca.crt, so a playbook
	 * naming ca.crt and ca.key means the same CA with one level or two.
	 */
	if (intermediate)
		rows[nrows++] = (struct init_cert){ "root",
		    "the root CA, self-signed: what both sides trust",
		    { RK_PROFILE_CA, &root_dn, NULL, 0, INIT_CA_DAYS, false }, RK_KEY_EC_P384, -1,
		    false, NULL, NULL };
	issuing = nrows;
	rows[nrows++] = (struct init_cert){ "ca", intermediate ?
	    "the issuing CA (pathlen 0), signed by the root: it signs the leaves" :
	    "the CA, self-signed: what both sides trust; it signs the leaves",
	    { RK_PROFILE_CA, &ca_dn, NULL, 0, INIT_CA_DAYS, intermediate }, RK_KEY_EC_P384,
	    intermediate ? 0 : -1, false, NULL, NULL };
	/* A leaf file holds the issuing CA after the leaf when clients trust only the root. */
	rows[nrows++] = (struct init_cert){ "server", intermediate ?
	    "the server certificate, then ca.crt: what a server sends" :
	    "the server certificate",
	    { RK_PROFILE_SERVER, &server_dn, nnames > 0 ? names : default_names,
	    nnames > 0 ? nnames : 3, days, false }, type, (int)issuing, intermediate, NULL, NULL };
	rows[nrows++] = (struct init_cert){ "client", intermediate ?
	    "the client certificate, then ca.crt: what a client sends" :
	    "the client certificate",
	    { RK_PROFILE_CLIENT, &client_dn, NULL, 0, days, false }, type, (int)issuing,
	    intermediate, NULL, NULL };
	rc = RK_EXIT_FAILED;
	/* Every file, or none: a PKI with a CA key but no CA certificate helps nobody. */
	if (prepare_empty_folder(dir, &made_dir, &err) != 0 ||
	    issue_init_certs(rows, nrows, &err) != 0 ||
	    rk_fileset_new(&set, &err) != 0 ||
	    stage_init_files(set, dir, rows, nrows, issuing, &err) != 0 ||
	    rk_fileset_commit(set, &err) != 0)
		goto fail;
	print_init_files(dir, rows, nrows, issuing);
	rc = RK_EXIT_OK;
	goto out;
 fail:
	cli_report_error(cli, "pki init", &err);
	if (err.code == RK_E_USAGE)
		rc = RK_EXIT_USAGE;
 out:
	rk_fileset_free(set);		/* removes the temporary files, whatever happened */
	if (rc != RK_EXIT_OK && made_dir)
		(void)rmdir(dir);	/* only when still empty */
	for (i = 0; i < nnames; i++)
		free(names[i]);
	for (i = 0; i < nrows; i++) {
		rk_cert_free(rows[i].cert);
		rk_key_free(rows[i].key);
	}
	rk_dn_clear(&root_dn);
	rk_dn_clear(&ca_dn);
	rk_dn_clear(&server_dn);
	rk_dn_clear(&client_dn);
	return rc;
}
