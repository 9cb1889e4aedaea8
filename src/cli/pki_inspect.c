/*
 * `rekey pki inspect`: what certificates, CRLs and keys hold, and how a file's certificates
 * link. Never prints key material.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "pki_cmd.h"
#include "rekey/cert.h"
#include "rekey/chainlinks.h"
#include "rekey/crl.h"
#include "rekey/fsutil.h"
#include "rekey/key.h"

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
	pki_print_field("subject", get_text(c, "subject"));
	pki_print_field("issuer", get_text(c, "issuer"));
	pki_print_field("serial", get_text(c, "serial"));
	pki_print_field("not before", get_text(c, "not_before"));
	snprintf(line, sizeof(line), "%s (%" JSON_INTEGER_FORMAT " days left)",
	    get_text(c, "not_after"), json_integer_value(json_object_get(c, "days_left")));
	pki_print_field("not after", line);
	pki_print_field("key", get_text(c, "key"));
	pki_print_field("ca", json_is_true(json_object_get(c, "ca")) ? "yes" : "no");
	json_array_foreach(json_object_get(c, "san"), i, san)
		pki_print_field(i == 0 ? "san" : "", json_string_value(san));
	pki_print_field("sha256", get_text(c, "sha256"));
}

static void
print_crl_text(json_t *c)
{
	json_t *e;
	char line[256];
	size_t i;

	printf("%s: CRL\n", get_text(c, "file"));
	pki_print_field("issuer", get_text(c, "issuer"));
	snprintf(line, sizeof(line), "%" JSON_INTEGER_FORMAT,
	    json_integer_value(json_object_get(c, "number")));
	pki_print_field("number", line);
	pki_print_field("last update", get_text(c, "last_update"));
	pki_print_field("next update", get_text(c, "next_update"));
	snprintf(line, sizeof(line), "%" JSON_INTEGER_FORMAT,
	    json_integer_value(json_object_get(c, "count")));
	pki_print_field("revoked", line);
	json_array_foreach(json_object_get(c, "entries"), i, e) {
		snprintf(line, sizeof(line), "%s  %s  %s", get_text(e, "serial"),
		    get_text(e, "revoked_at"), get_text(e, "reason"));
		pki_print_field("", line);
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
	pki_print_field("key", line);
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
		pki_print_field(label, get_text(l, "detail"));
	}
	pki_print_field("top", get_text(json_object_get(chain, "top"), "detail"));
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

int
pki_inspect(const struct rk_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "passphrase-env", required_argument, NULL, 'e' },
		{ "passphrase-file", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct pki_secret_opt so = { NULL, NULL };
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
	if ((rc = pki_load_secret(&pass, &has_pass, &so, "key", cli)) != RK_EXIT_OK)
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
