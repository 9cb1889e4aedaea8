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
#include <unistd.h>

#include <jansson.h>

#include "cli.h"
#include "rekey/ca.h"
#include "rekey/chainlinks.h"
#include "rekey/fsutil.h"
#include "rekey/ledger.h"
#include "rekey/names.h"
#include "rekey/revocation.h"
#include "rekey/strutil.h"

#define KEY_TYPES	"rsa-2048 rsa-3072 rsa-4096 ec-p256 ec-p384 ed25519"
#define REASONS		"keyCompromise, cACompromise, superseded, affiliationChanged, " \
			"cessationOfOperation or unspecified"

/* Each subcommand's help, `rekey pki SUB --help`; `rekey pki --help` shows every synopsis. */
#define INSPECT_SYNOPSIS \
	"usage: rekey pki inspect [--json] [--passphrase-env VAR|--passphrase-file F] FILE...\n"
#define INIT_SYNOPSIS \
	"usage: rekey pki init [--intermediate] [--name DNS:x|IP:y]... [--key TYPE] [--days N]\n" \
	"                      [--client-cn NAME] [--ca-cn NAME] [--root-cn NAME] DIR\n"
#define ISSUE_SYNOPSIS \
	"usage: rekey pki issue --ca-cert F --ca-key F --profile server|client --subject /CN=x\n" \
	"                      [--san DNS:x|IP:y]... [--key TYPE] [--days N]\n" \
	"                      --cert-out F --key-out F [--ledger F] [--replaces SERIAL]\n"
#define REVOKE_SYNOPSIS \
	"usage: rekey pki revoke --ca-cert F --ca-key F [--crl F] [--crl-days N] [--reason R]\n" \
	"                      [--ledger F] [--include-current]\n" \
	"                      (--serial S | --cert F | --folder DIR | --cn NAME)...\n" \
	"       rekey pki revoke --ca-cert F --ca-key F [--crl F] [--crl-days N] --renew\n"
#define CA_PASSPHRASE_HELP \
	"  --ca-passphrase-env VAR, --ca-passphrase-file F\n" \
	"                       the CA key's passphrase (a file must be mode 0600)\n"

static const char inspect_help[] = INSPECT_SYNOPSIS
	"\n"
	"Describes certificates (PEM, DER, bundles), CRLs and private keys. Never prints key\n"
	"material; an encrypted key shows its type only with its passphrase.\n"
	"\n"
	"For each file of certificates, says how they link in the file's order (the leaf first,\n"
	"then each issuer): whether each is issued by the next (the names match and its key\n"
	"verifies the signature) and that one is a CA whose pathlen allows it, and where the\n"
	"last one's chain goes: self-signed (a root), issued by a certificate in another FILE\n"
	"given (looked for in the order given), or to an issuer in none of them.\n"
	"\n"
	"  --json                one JSON array, an object per file (README, JSON shapes)\n"
	"  --passphrase-env VAR, --passphrase-file F\n"
	"                        the passphrase of encrypted keys (a file must be mode 0600)\n"
	"  --help                this help\n";

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

static const char revoke_help[] = REVOKE_SYNOPSIS
	"\n"
	"Adds certificates to the CA's CRL, keeping every entry it already holds, and prints\n"
	"each serial it revokes. --cn never takes the newest certificate of the name (per the\n"
	"ledger, the one most likely in service) unless --include-current is given.\n"
	"With --renew and nothing to revoke, signs the CRL again as it is: every entry kept,\n"
	"the next CRL number, nextUpdate --crl-days ahead (a CRL near its nextUpdate, which\n"
	"servers that load it would then refuse every client certificate over).\n"
	"\n"
	CA_PASSPHRASE_HELP
	"  --crl F               the CRL (default ca.crl beside the CA certificate)\n"
	"  --crl-days N          nextUpdate N days ahead (default 7)\n"
	"  --reason R            " REASONS "\n"
	"  --ledger F            the ledger --cn reads (default ledger.json beside the CA)\n"
	"  --serial S            a serial, as hex (colons optional)\n"
	"  --cert F              a certificate file, which must be issued by this CA\n"
	"  --folder DIR          every certificate of this CA in DIR (*.crt, *.pem, *.cer)\n"
	"  --cn NAME             the certificates the ledger holds for this common name\n"
	"  --include-current     with --cn, the newest certificate of the name too\n"
	"  --renew               sign the CRL anew even when nothing is revoked\n"
	"  --help                this help\n";

static const char pki_help[] = INSPECT_SYNOPSIS INIT_SYNOPSIS ISSUE_SYNOPSIS REVOKE_SYNOPSIS
	"\n"
	"`rekey pki COMMAND --help` describes each command and its options.\n"
	"CA and key passphrases: --ca-passphrase-env VAR, --ca-passphrase-file F,\n"
	"--key-passphrase-env VAR, --key-passphrase-file F (the key written by issue).\n"
	"Key types: " KEY_TYPES ".\n";


/* Prints label and a value from outside (a certificate, a CRL, a folder), escaped. */
static void
print_field(const char *label, const char *value)
{
	char *esc = rk_text_escape(value != NULL ? value : "");

	printf("  %-11s %s\n", label, esc != NULL ? esc : "?");
	free(esc);
}

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
	if (o->env == NULL && o->file == NULL)
		return RK_EXIT_OK;
	if ((r = rk_secret_from_source(out, o->env, o->file, &err)) != 0)
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

static char *
path_beside(const char *ca_cert, const char *name)
{
	struct rk_err err = { 0 };
	char *dir = NULL, *path = NULL;

	if (rk_path_dirname(&dir, ca_cert, &err) == 0 &&
	    asprintf(&path, "%s/%s", dir, name) < 0)
		path = NULL;
	free(dir);
	return path;
}

/* ---- inspect ------------------------------------------------------------------------ */

/* A certificate of a file: the shape every command uses (render_cert_json), file and type first. */
static json_t *
cert_json(const char *file, const struct rk_cert *cert, time_t now)
{
	struct cli_cert_facts facts;
	struct rk_err err = { 0 };
	json_t *o = NULL, *c = NULL;

	if (cli_cert_facts_of(&facts, cert, &err) == 0 &&
	    (c = render_cert_json(&facts, now)) != NULL &&
	    (o = json_pack("{s:s, s:s}", "file", file, "type", "certificate")) != NULL &&
	    json_object_update(o, c) != 0) {
		json_decref(o);
		o = NULL;
	}
	json_decref(c);
	cli_cert_facts_clear(&facts);
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
	cli_format_time(last, sizeof(last), rk_crl_last_update(crl));
	cli_format_time(next, sizeof(next), rk_crl_next_update(crl));
	for (i = 0; i < rk_crl_count(crl); i++) {
		rk_crl_entry_at(&e, crl, i);
		cli_format_time(when, sizeof(when), e.revoked_at);
		json_array_append_new(entries, json_pack("{s:s, s:s, s:s}", "serial", e.serial,
		    "revoked_at", when, "reason", e.has_reason && (unsigned)e.reason < 6 ?
		    reasons[e.reason] : "unspecified"));
	}
	return json_pack("{s:s, s:s, s:s, s:I, s:s, s:s, s:I, s:o}", "file", file, "type", "crl",
	    "issuer", issuer, "number", (json_int_t)rk_crl_number(crl), "last_update", last,
	    "next_update", next, "count", (json_int_t)rk_crl_count(crl), "entries", entries);
}

static const char *
get_text(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/*
 * Every string that came from the file is escaped (print_field): a SAN may hold ESC. A
 * certificate of a bundle is shown with its place (i of n), which the chain's links name.
 */
static void
print_cert_text(json_t *c, size_t i, size_t n)
{
	json_t *san;
	char line[128];

	if (n > 1)
		printf("%s: certificate %zu of %zu\n", get_text(c, "file"), i + 1, n);
	else
		printf("%s: certificate\n", get_text(c, "file"));
	print_field("subject", get_text(c, "subject"));
	print_field("issuer", get_text(c, "issuer"));
	print_field("serial", get_text(c, "serial"));
	print_field("not before", get_text(c, "not_before"));
	snprintf(line, sizeof(line), "%s (%" JSON_INTEGER_FORMAT " days left)",
	    get_text(c, "not_after"), json_integer_value(json_object_get(c, "days_left")));
	print_field("not after", line);
	print_field("key", get_text(c, "key"));
	print_field("ca", json_is_true(json_object_get(c, "ca")) ? "yes" : "no");
	json_array_foreach(json_object_get(c, "san"), i, san)
		print_field(i == 0 ? "san" : "", json_string_value(san));
	print_field("sha256", get_text(c, "sha256"));
}

static void
print_crl_text(json_t *c)
{
	json_t *e;
	char line[256];
	size_t i;

	printf("%s: CRL\n", get_text(c, "file"));
	print_field("issuer", get_text(c, "issuer"));
	snprintf(line, sizeof(line), "%" JSON_INTEGER_FORMAT,
	    json_integer_value(json_object_get(c, "number")));
	print_field("number", line);
	print_field("last update", get_text(c, "last_update"));
	print_field("next update", get_text(c, "next_update"));
	snprintf(line, sizeof(line), "%" JSON_INTEGER_FORMAT,
	    json_integer_value(json_object_get(c, "count")));
	print_field("revoked", line);
	json_array_foreach(json_object_get(c, "entries"), i, e) {
		snprintf(line, sizeof(line), "%s  %s  %s", get_text(e, "serial"),
		    get_text(e, "revoked_at"), get_text(e, "reason"));
		print_field("", line);
	}
}

static void
print_key_text(json_t *k)
{
	char line[160];

	printf("%s: private key\n", get_text(k, "file"));
	if (json_is_string(json_object_get(k, "key")))
		snprintf(line, sizeof(line), "%s (%s)", get_text(k, "key"), get_text(k, "format"));
	else
		snprintf(line, sizeof(line), "%s (its type shows with --passphrase-env or "
		    "--passphrase-file)", get_text(k, "format"));
	print_field("key", line);
}

/* How a key file is stored, from its bytes (and whether it needs a passphrase). */
static const char *
key_format(struct rk_bytes data, bool encrypted)
{
	bool pem = memmem(data.ptr, data.len, "-----BEGIN", 10) != NULL;

	if (encrypted && memmem(data.ptr, data.len, "Proc-Type: 4,ENCRYPTED", 22) != NULL)
		return "encrypted PEM, OpenSSL's traditional format";
	if (encrypted)
		return pem ? "encrypted PKCS#8" : "encrypted PKCS#8, DER";
	if (memmem(data.ptr, data.len, "BEGIN PRIVATE KEY", 17) != NULL)
		return "PKCS#8";
	return pem ? "PEM, OpenSSL's traditional format" : "DER";
}

/*
 * Loads a key for inspect: without a passphrase first, so *encrypted tells whether it needs
 * one, then with pass when it does and one was given.
 */
static int
load_inspected_key(struct rk_key **out, bool *encrypted, struct rk_bytes data,
    const struct rk_secret *pass, const char *file, struct rk_err *why)
{
	*encrypted = false;
	if (rk_key_load(out, data, NULL, file, why) == 0)
		return 0;
	if (strstr(why->msg, "is encrypted") == NULL)
		return why->code;
	*encrypted = true;
	if (pass == NULL)
		return why->code;
	rk_err_clear(why);
	return rk_key_load(out, data, pass, file, why);
}

/* One FILE of inspect: what describes it, and its certificates for the chain's links. */
struct inspected {
	const char	 *file;
	json_t		 *item;		/* NULL when it could not be read (said already) */
	struct rk_cert	**certs;	/* ncerts of them; none for a CRL or a key */
	size_t		  ncerts;
};

static void
inspected_clear(struct inspected *f)
{
	json_decref(f->item);
	rk_cert_bundle_free(f->certs, f->ncerts);
	memset(f, 0, sizeof(*f));
}

/*
 * Describes one file as a JSON object: a certificate or bundle, a CRL, or a private key.
 * The certificates stay in *out, so links can be looked for across the files given.
 */
static int
inspect_file(struct inspected *out, const char *file, const struct rk_secret *pass,
    struct rk_err *err)
{
	struct rk_cert **certs = NULL, *der = NULL;
	struct rk_crl *crl = NULL;
	struct rk_key *key = NULL;
	struct rk_err why = { 0 };
	struct rk_buf buf;
	size_t n = 0, i;
	bool encrypted;
	char desc[64];
	json_t *list, **item = &out->item;
	int r;

	memset(out, 0, sizeof(*out));
	out->file = file;
	rk_buf_init(&buf, RK_PEM_MAX);
	if ((r = rk_file_read(&buf, file, RK_PEM_MAX, err)) != 0)
		goto out;
	if (rk_cert_load_bundle(&certs, &n, rk_buf_bytes(&buf), file, &why) == 0) {
		if (n == 1) {
			*item = cert_json(file, certs[0], time(NULL));
		} else if ((list = json_array()) != NULL) {
			for (i = 0; i < n; i++)
				json_array_append_new(list, cert_json(file, certs[i], time(NULL)));
			*item = json_pack("{s:s, s:s, s:o}", "file", file, "type", "bundle",
			    "certificates", list);
		}
	} else if (rk_err_clear(&why), rk_cert_load(&der, rk_buf_bytes(&buf), file, &why) == 0) {
		if ((certs = calloc(1, sizeof(*certs))) == NULL) {
			r = rk_fail_nomem(err);
			goto out;
		}
		certs[0] = der;
		der = NULL;
		n = 1;
		*item = cert_json(file, certs[0], time(NULL));
	} else if (rk_err_clear(&why), rk_crl_load(&crl, rk_buf_bytes(&buf), file, &why) == 0) {
		*item = crl_json(file, crl);
	} else if (rk_err_clear(&why), load_inspected_key(&key, &encrypted, rk_buf_bytes(&buf),
	    pass, file, &why) == 0) {
		rk_key_describe(desc, sizeof(desc), key);
		*item = json_pack("{s:s, s:s, s:s, s:b, s:s}", "file", file, "type", "private-key",
		    "key", desc, "encrypted", encrypted, "format",
		    key_format(rk_buf_bytes(&buf), encrypted));
	} else if (encrypted && pass == NULL) {
		/* Without the passphrase only the fact that it is a key can be told. */
		*item = json_pack("{s:s, s:s, s:n, s:b, s:s}", "file", file, "type", "private-key",
		    "key", "encrypted", true, "format", key_format(rk_buf_bytes(&buf), true));
	} else {
		r = rk_fail(err, RK_E_USAGE, "%s: not a certificate, CRL or private key (%s)", file,
		    why.msg);
		goto out;
	}
	if (*item == NULL) {
		r = rk_fail_nomem(err);
		goto out;
	}
	out->certs = certs;
	out->ncerts = n;
	certs = NULL;
	n = 0;
 out:
	if (r != 0)
		inspected_clear(out);
	rk_cert_bundle_free(certs, n);
	rk_cert_free(der);
	rk_crl_free(crl);
	rk_key_free(key);
	rk_buf_clear(&buf);
	return r;
}

/* ---- inspect: how the certificates of a file link -------------------------------------- */

/* The subject or issuer of certificate i of a file, as its JSON holds it (escaped if need be). */
static const char *
name_of(json_t *item, size_t i, const char *key)
{
	json_t *list = json_object_get(item, "certificates");
	const char *s = get_text(json_is_array(list) ? json_array_get(list, i) : item, key);

	return s != NULL ? s : "";
}

/*
 * A link in words, malloc'ed (NULL when out of memory). a is the certificate and b = a + 1
 * the one after it, counted from 1 as the certificates are shown.
 */
static char *
word_link(const struct rk_chain_link *l, size_t a, json_t *item)
{
	size_t b = a + 1;
	char *s = NULL, pathlen[32] = "";
	int len;

	if (l->issuer_path_len >= 0)
		snprintf(pathlen, sizeof(pathlen), " (pathlen %ld)", l->issuer_path_len);
	if (rk_chain_link_is_sound(l))
		len = asprintf(&s, "certificate %zu is issued by certificate %zu, a CA%s", a, b,
		    pathlen);
	else if (l->issued && !l->issuer_is_ca)
		len = asprintf(&s, "certificate %zu is issued by certificate %zu, which is not a "
		    "CA (no basicConstraints CA:TRUE): no client accepts it as an issuer", a, b);
	else if (l->issued)
		len = asprintf(&s, "certificate %zu is issued by certificate %zu, but certificate "
		    "%zu's pathlen %ld allows %ld CA%s under it and this file puts %zu there", a, b,
		    b, l->issuer_path_len, l->issuer_path_len, l->issuer_path_len == 1 ? "" : "s",
		    l->cas_below);
	else if (l->reversed)	/* b, which a issued, is a leaf unless it is a CA */
		len = asprintf(&s, "certificate %zu is not issued by certificate %zu; certificate "
		    "%zu is issued by certificate %zu: the order is reversed, %s", a, b, b, a,
		    l->issuer_is_ca ? "each certificate goes before its issuer" :
		    "the leaf goes first");
	else if (l->self_signed)
		len = asprintf(&s, "certificate %zu is self-signed, so its chain ends there, yet "
		    "certificate %zu follows it", a, b);
	else if (l->names_match && !l->issuer_can_sign)
		len = asprintf(&s, "certificate %zu names certificate %zu as its issuer, but "
		    "certificate %zu may not sign certificates (its keyUsage lacks keyCertSign)",
		    a, b, b);
	else if (l->names_match)
		len = asprintf(&s, "certificate %zu names certificate %zu as its issuer, but "
		    "certificate %zu's key does not verify its signature: another key of that "
		    "name signed it", a, b, b);
	else if (l->issuer_at != RK_CHAIN_NONE)
		len = asprintf(&s, "certificate %zu is not issued by certificate %zu but by "
		    "certificate %zu: the order is wrong, each issuer goes right after what it "
		    "signed", a, b, l->issuer_at + 1);
	else
		len = asprintf(&s, "certificate %zu is not issued by certificate %zu: its issuer "
		    "\"%s\" is not in this file, and certificate %zu is \"%s\"", a, b,
		    name_of(item, a - 1, "issuer"), b, name_of(item, b - 1, "subject"));
	return len < 0 ? NULL : s;
}

/* Where the issuer of a file's last certificate was found: this file, another, or none. */
struct found_issuer {
	const char	*file;		/* NULL: in no file given */
	size_t		 at;		/* its place in that file, from 0 */
	bool		 here;		/* that file is the one whose chain it is */
	bool		 is_ca;
};

/*
 * The issuer of the last certificate of files[me], when it is not self-signed: first in the
 * file itself (out of order), then in each other file in the order they were given, so
 * `inspect server.crt chain.crt` follows the server's chain into chain.crt.
 */
static struct found_issuer
find_top_issuer(const struct rk_chain_top *top, const struct inspected *files, size_t nfiles,
    size_t me)
{
	const struct inspected *f = &files[me];
	struct found_issuer found = { NULL, 0, false, false };
	size_t k, at;

	if (top->self_signed)
		return found;
	if (top->issuer_at != RK_CHAIN_NONE) {
		found.file = f->file;
		found.at = top->issuer_at;
		found.here = true;
		found.is_ca = rk_cert_is_ca(f->certs[top->issuer_at]);
		return found;
	}
	for (k = 0; k < nfiles; k++) {
		if (k == me || files[k].ncerts == 0)
			continue;
		at = rk_chain_find_issuer(f->certs[f->ncerts - 1], files[k].certs, files[k].ncerts,
		    RK_CHAIN_NONE);
		if (at != RK_CHAIN_NONE) {
			found.file = files[k].file;
			found.at = at;
			found.is_ca = rk_cert_is_ca(files[k].certs[at]);
			break;
		}
	}
	return found;
}

/* The top of the chain in words, malloc'ed (NULL when out of memory). */
static char *
word_top(const struct rk_chain_top *top, const struct found_issuer *found, size_t n,
    json_t *item, bool others_given)
{
	char *s = NULL;
	int len;

	if (top->self_signed)
		len = asprintf(&s, "certificate %zu is self-signed: %s", n, top->is_ca ?
		    "a root CA" : "not a CA, it vouches for itself alone");
	else if (found->here)
		len = asprintf(&s, "certificate %zu is issued by certificate %zu of this file, "
		    "which should come after it", n, found->at + 1);
	else if (found->file != NULL)
		len = asprintf(&s, "certificate %zu is issued by certificate %zu of %s, %s", n,
		    found->at + 1, found->file, found->is_ca ? "a CA" : "which is not a CA");
	else
		len = asprintf(&s, "certificate %zu's issuer \"%s\" is not in this file%s", n,
		    name_of(item, n - 1, "issuer"), others_given ? " nor in the others given" : "");
	return len < 0 ? NULL : s;
}

static json_t *
link_json(const struct rk_chain_link *l, size_t a, json_t *item)
{
	char *detail = word_link(l, a, item);
	json_t *o = NULL;

	if (detail != NULL)
		o = json_pack("{s:I, s:I, s:b, s:b, s:b, s:b, s:b, s:o, s:s}", "certificate",
		    (json_int_t)a, "next", (json_int_t)(a + 1), "ok", rk_chain_link_is_sound(l),
		    "issued", l->issued, "names_match", l->names_match, "issuer_is_ca",
		    l->issuer_is_ca, "reversed", l->reversed, "issuer_path_len",
		    l->issuer_path_len >= 0 ? json_integer(l->issuer_path_len) : json_null(),
		    "detail", detail);
	free(detail);
	return o;
}

static json_t *
top_json(const struct rk_chain_top *top, const struct found_issuer *found, size_t n,
    json_t *item, bool others_given)
{
	char *detail = word_top(top, found, n, item, others_given);
	json_t *o = NULL;

	if (detail != NULL)
		o = json_pack("{s:I, s:b, s:b, s:s, s:o, s:s}", "certificate", (json_int_t)n,
		    "self_signed", top->self_signed, "ca", top->is_ca, "issuer",
		    name_of(item, n - 1, "issuer"), "issuer_found", found->file == NULL ?
		    json_null() : json_pack("{s:s, s:I, s:b}", "file", found->file, "certificate",
		    (json_int_t)(found->at + 1), "ca", found->is_ca), "detail", detail);
	free(detail);
	return o;
}

/*
 * Adds "chain" to the JSON of files[me], a file of certificates: each link in its order,
 * and where its last certificate's chain goes (find_top_issuer).
 */
static int
add_chain_json(const struct inspected *files, size_t nfiles, size_t me, struct rk_err *err)
{
	const struct inspected *f = &files[me];
	struct rk_chain_links cl = { 0 };
	struct found_issuer found;
	json_t *links = NULL, *top = NULL, *chain;
	bool sound = true;
	size_t i;
	int r;

	if ((r = rk_chain_links_describe(&cl, f->certs, f->ncerts, err)) != 0)
		goto out;
	if ((links = json_array()) == NULL)
		goto oom;
	for (i = 0; i < cl.nlinks; i++) {
		sound = sound && rk_chain_link_is_sound(&cl.links[i]);
		if (json_array_append_new(links, link_json(&cl.links[i], i + 1, f->item)) != 0)
			goto oom;
	}
	found = find_top_issuer(&cl.top, files, nfiles, me);
	if ((top = top_json(&cl.top, &found, f->ncerts, f->item, nfiles > 1)) == NULL)
		goto oom;
	chain = json_pack("{s:b, s:o, s:o}", "ok", sound, "links", links, "top", top);
	links = top = NULL;		/* json_pack took both, even if it failed */
	/* json_object_set_new takes chain, even if it fails. */
	if (chain == NULL || json_object_set_new(f->item, "chain", chain) != 0)
		goto oom;
	goto out;
 oom:
	r = rk_fail_nomem(err);
 out:
	json_decref(links);
	json_decref(top);
	rk_chain_links_clear(&cl);
	return r;
}

static void
print_chain_text(json_t *item)
{
	json_t *chain = json_object_get(item, "chain"), *l;
	char label[48];
	size_t i;

	printf("%s: chain\n", get_text(item, "file"));
	json_array_foreach(json_object_get(chain, "links"), i, l) {
		snprintf(label, sizeof(label), "link %" JSON_INTEGER_FORMAT "-%"
		    JSON_INTEGER_FORMAT, json_integer_value(json_object_get(l, "certificate")),
		    json_integer_value(json_object_get(l, "next")));
		print_field(label, get_text(l, "detail"));
	}
	print_field("top", get_text(json_object_get(chain, "top"), "detail"));
}

static void
print_inspected_text(json_t *item)
{
	const char *type = get_text(item, "type");
	json_t *list, *cert;
	size_t k;

	if (strcmp(type, "crl") == 0) {
		print_crl_text(item);
	} else if (strcmp(type, "private-key") == 0) {
		print_key_text(item);
	} else if (strcmp(type, "bundle") == 0) {
		list = json_object_get(item, "certificates");
		json_array_foreach(list, k, cert)
			print_cert_text(cert, k, json_array_size(list));
		print_chain_text(item);
	} else {
		print_cert_text(item, 0, 1);
		print_chain_text(item);
	}
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
	struct inspected *files = NULL;
	json_t *all = NULL;
	bool json = false, has_pass, shown = false;
	size_t nfiles = 0, k;
	int c, rc = RK_EXIT_OK;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = true; break;
		case 'e': so.env = optarg; break;
		case 'f': so.file = optarg; break;
		case 'h': return cli_show_help(inspect_help, true);
		default: return cli_show_help(inspect_help, false);
		}
	}
	if (optind >= argc)
		return cli_usage_error(cli, "inspect expects one FILE or more");
	if ((rc = load_secret(&pass, &has_pass, &so, "key", cli)) != RK_EXIT_OK)
		return rc;
	nfiles = (size_t)(argc - optind);
	if ((all = json_array()) == NULL || (files = calloc(nfiles, sizeof(*files))) == NULL) {
		rc = cli_usage_error(cli, "out of memory");
		goto out;
	}
	/* Every file is read before any is shown: a chain may go on in a file given later. */
	for (k = 0; k < nfiles; k++) {
		struct rk_err err = { 0 };

		if (inspect_file(&files[k], argv[optind + (int)k], has_pass ? &pass : NULL,
		    &err) != 0) {
			cli_report_error(cli, "pki inspect", &err);
			rc = RK_EXIT_FAILED;
		}
	}
	for (k = 0; k < nfiles; k++) {
		struct rk_err err = { 0 };

		if (files[k].ncerts > 0 && add_chain_json(files, nfiles, k, &err) != 0) {
			cli_report_error(cli, "pki inspect", &err);
			rc = RK_EXIT_FAILED;
		}
	}
	for (k = 0; k < nfiles; k++) {
		if (files[k].item == NULL)
			continue;
		if (json) {
			json_array_append(all, files[k].item);
			continue;
		}
		if (shown)
			putchar('\n');
		print_inspected_text(files[k].item);
		shown = true;
	}
	if (json) {
		json_dumpf(all, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		putchar('\n');
	}
 out:
	for (k = 0; files != NULL && k < nfiles; k++)
		inspected_clear(&files[k]);
	free(files);
	json_decref(all);
	rk_secret_clear(&pass);
	return rc;
}

/* ---- init ---------------------------------------------------------------------------- */

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

static int
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
			if (nnames == sizeof(names) / sizeof(names[0])) {
				rc = cli_usage_error(cli, "too many --name options");
				goto out;
			}
			if (rk_san_parse(&names[nnames], optarg, why, sizeof(why)) != 0) {
				rc = cli_usage_error(cli, "--name: %s", why);
				goto out;
			}
			nnames++;
			break;
		case 'k':
			if (!parse_key_type(optarg, &type)) {
				rc = cli_usage_error(cli, "--key: unsupported key type '%s' (%s)",
				    optarg, KEY_TYPES);
				goto out;
			}
			break;
		case 'd':
			if (!parse_days(optarg, RK_DAYS_MAX_LEAF, &days)) {
				rc = cli_usage_error(cli, "--days: 1 to %d", RK_DAYS_MAX_LEAF);
				goto out;
			}
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
	const char *key_out = NULL, *ledger_path = NULL, *replaces = NULL;
	struct secret_opt ca_so = { NULL, NULL }, key_so = { NULL, NULL };
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
				    optarg, KEY_TYPES);
				goto out;
			}
			break;
		case 'd':
			if (!parse_days(optarg, RK_DAYS_MAX_LEAF, &days)) {
				rc = cli_usage_error(cli, "--days: 1 to %d", RK_DAYS_MAX_LEAF);
				goto out;
			}
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
	if ((rc = load_secret(&ca_pass, &has_ca_pass, &ca_so, "CA", cli)) != RK_EXIT_OK ||
	    (rc = load_secret(&key_pass, &has_key_pass, &key_so, "key", cli)) != RK_EXIT_OK)
		goto out;
	rc = RK_EXIT_FAILED;
	if (ledger_path == NULL &&
	    (ledger_path = ledger_default = path_beside(ca_cert, "ledger.json")) == NULL)
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

/* ---- revoke -------------------------------------------------------------------------- */

/* Prints "rekey: pki revoke: " and msg on stderr, escaped: it may name files from a folder. */
static void
print_note(const char *msg)
{
	char *esc = rk_text_escape(msg);

	fprintf(stderr, "rekey: pki revoke: %s\n", esc != NULL ? esc : msg);
	free(esc);
}

enum target_kind { TARGET_SERIAL, TARGET_CERT, TARGET_FOLDER, TARGET_CN };

struct target {
	enum target_kind	 kind;
	const char		*value;
};

static bool
parse_reason(const struct rk_cli *cli, const char *word, enum rk_reason *out, int *rc)
{
	const char *near;
	int v;

	if (rk_enum_lookup(rk_reason_names, word, &v)) {
		*out = (enum rk_reason)v;
		return true;
	}
	if ((near = rk_reason_suggest(word)) != NULL)
		*rc = cli_usage_error(cli, "--reason: unsupported value '%s' (did you mean "
		    "'%s'?)", word, near);
	else
		*rc = cli_usage_error(cli, "--reason: unsupported value '%s' (%s)", word, REASONS);
	return false;
}

/* One line per serial selected, on stdout: what was revoked is never left to guess. */
static void
print_revocations(const struct rk_revoked_set *rv, const struct rk_crl *previous)
{
	char line[800];
	size_t i;

	for (i = 0; i < rv->n; i++) {
		bool before = previous != NULL && rk_crl_has_serial(previous, rv->items[i].serial);
		char *esc;

		snprintf(line, sizeof(line), "%s %s (%s)", before ? "already revoked" : "revoked",
		    rv->items[i].serial, rv->items[i].source);
		esc = rk_text_escape(line);
		printf("%s\n", esc != NULL ? esc : line);
		free(esc);
	}
}

/* The CRL entries for the set, each with this run's time and reason. */
static int
crl_entries_of(struct rk_crl_entry **out, const struct rk_revoked_set *rv, enum rk_reason reason,
    struct rk_err *err)
{
	time_t now = time(NULL);
	size_t i;

	if ((*out = calloc(rv->n + 1, sizeof(**out))) == NULL)
		return rk_fail_nomem(err);
	for (i = 0; i < rv->n; i++) {
		memcpy((*out)[i].serial, rv->items[i].serial, sizeof((*out)[i].serial));
		(*out)[i].revoked_at = now;
		(*out)[i].reason = reason;
		(*out)[i].has_reason = true;
	}
	return 0;
}

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
		{ "include-current", no_argument, NULL, 'i' },
		{ "renew", no_argument, NULL, 'N' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct target targets[256];
	struct secret_opt ca_so = { NULL, NULL };
	struct rk_secret ca_pass = { NULL, 0 };
	struct rk_signing_ca ca = { NULL, NULL, NULL };
	struct rk_revoked_set rv = { NULL, 0, NULL, 0 };
	struct rk_crl_entry *entries = NULL;
	enum rk_reason reason = RK_REASON_UNSPECIFIED;
	struct rk_crl *previous = NULL, *crl = NULL;
	struct rk_ledger *ledger = NULL;
	struct rk_err err = { 0 };
	struct rk_buf pem;
	const char *ca_cert = NULL, *ca_key = NULL, *crl_path = NULL, *ledger_path = NULL;
	char *crl_default = NULL, *ledger_default = NULL, next[32], source[PATH_MAX + 16];
	size_t ntargets = 0, i, found, before = 0;
	bool has_pass, include_current = false, ledger_tried = false, renew = false;
	int c, crl_days = 7, rc = RK_EXIT_USAGE, r = 0;

	rk_buf_init(&pem, RK_PEM_MAX);
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		enum target_kind kind;

		switch (c) {
		case 'C': ca_cert = optarg; continue;
		case 'K': ca_key = optarg; continue;
		case 'E': ca_so.env = optarg; continue;
		case 'F': ca_so.file = optarg; continue;
		case 'c': crl_path = optarg; continue;
		case 'l': ledger_path = optarg; continue;
		case 'i': include_current = true; continue;
		case 'N': renew = true; continue;
		case 'd':
			if (!parse_days(optarg, RK_CRL_DAYS_MAX, &crl_days)) {
				rc = cli_usage_error(cli, "--crl-days: 1 to %d", RK_CRL_DAYS_MAX);
				goto out;
			}
			continue;
		case 'r':
			if (!parse_reason(cli, optarg, &reason, &rc))
				goto out;
			continue;
		case 's': kind = TARGET_SERIAL; break;
		case 'x': kind = TARGET_CERT; break;
		case 'D': kind = TARGET_FOLDER; break;
		case 'n': kind = TARGET_CN; break;
		case 'h': rc = cli_show_help(revoke_help, true); goto out;
		default: rc = cli_show_help(revoke_help, false); goto out;
		}
		if (ntargets == sizeof(targets) / sizeof(targets[0])) {
			rc = cli_usage_error(cli, "too many revocation targets");
			goto out;
		}
		targets[ntargets].kind = kind;
		targets[ntargets++].value = optarg;
	}
	if (ca_cert == NULL || ca_key == NULL || (ntargets == 0 && !renew) || optind != argc) {
		rc = cli_usage_error(cli, "revoke needs --ca-cert, --ca-key and at least one of "
		    "--serial, --cert, --folder or --cn (or --renew to sign the CRL again)");
		goto out;
	}
	if ((rc = load_secret(&ca_pass, &has_pass, &ca_so, "CA", cli)) != RK_EXIT_OK)
		goto out;
	rc = RK_EXIT_FAILED;
	if ((crl_path == NULL && (crl_path = crl_default = path_beside(ca_cert, "ca.crl")) ==
	    NULL) || (ledger_path == NULL &&
	    (ledger_path = ledger_default = path_beside(ca_cert, "ledger.json")) == NULL)) {
		r = rk_fail_nomem(&err);
		goto fail;
	}
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
		if (targets[i].kind == TARGET_CN && ledger == NULL &&
		    (r = rk_ledger_open(&ledger, ledger_path, &err)) != 0)
			break;
		switch (targets[i].kind) {
		case TARGET_SERIAL:
			/* The ledger only names the profile here: a damaged one must not stop
			 * an emergency revocation by serial. */
			if (ledger == NULL && !ledger_tried) {
				struct rk_err ignored = { 0 };

				ledger_tried = true;
				if (rk_ledger_open(&ledger, ledger_path, &ignored) != 0)
					ledger = NULL;
			}
			r = rk_revoked_add_serial(&rv, targets[i].value, "--serial", ledger, &err);
			break;
		case TARGET_CERT:
			snprintf(source, sizeof(source), "--cert %s", targets[i].value);
			r = rk_revoked_add_cert_file(&rv, targets[i].value, source, ca.cert, &err);
			break;
		case TARGET_FOLDER:
			if ((r = rk_revoked_add_folder(&rv, targets[i].value, ca.cert, &found,
			    &err)) == 0)
				printf("%s: %zu certificate%s issued by this CA\n", targets[i].value,
				    found, found == 1 ? "" : "s");
			break;
		case TARGET_CN:
			r = rk_revoked_add_cn(&rv, targets[i].value, ledger, ledger_path,
			    include_current, &found, &err);
			break;
		}
	}
	for (i = 0; i < rv.nnotes; i++)
		print_note(rv.notes[i]);
	if (r != 0 || crl_entries_of(&entries, &rv, reason, &err) != 0 ||
	    rk_crl_build(&crl, previous, entries, rv.n, ca.cert, ca.key, crl_days,
	    &err) != 0 || rk_crl_to_pem(&pem, crl, &err) != 0 ||
	    rk_file_replace(crl_path, rk_buf_bytes(&pem), 0644, &err) != 0)
		goto fail;
	print_revocations(&rv, previous);
	cli_format_time(next, sizeof(next), rk_crl_next_update(crl));
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
	rk_revoked_set_clear(&rv);
	free(entries);
	free(crl_default);
	free(ledger_default);
	rk_ledger_free(ledger);
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
	static const struct cli_subcommand subs[] = {
		{ "inspect", pki_inspect },
		{ "init", pki_init },
		{ "issue", pki_issue },
		{ "revoke", pki_revoke },
	};

	return cli_run_subcommand(cli, argc, argv, subs, sizeof(subs) / sizeof(subs[0]), pki_help,
	    "inspect, init, issue, revoke");
}
