#include "rekey/material.h"

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/crypto.h>
#include <openssl/decoder.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>

#include "pki_int.h"
#include "rekey/key.h"

/* The PEM labels read (RFC 7468, and OpenSSL's traditional ones), and what each holds. */
struct label_def {
	const char		*label;
	enum rk_material_kind	 kind;
	enum rk_material_form	 form;
};

static const struct label_def labels[] = {
	{ "CERTIFICATE",		RK_MATERIAL_CERTIFICATE,	RK_MATERIAL_X509 },
	{ "TRUSTED CERTIFICATE",	RK_MATERIAL_CERTIFICATE,	RK_MATERIAL_X509 },
	{ "X509 CERTIFICATE",		RK_MATERIAL_CERTIFICATE,	RK_MATERIAL_X509 },
	{ "PRIVATE KEY",		RK_MATERIAL_PRIVATE_KEY,	RK_MATERIAL_PKCS8 },
	{ "RSA PRIVATE KEY",		RK_MATERIAL_PRIVATE_KEY,	RK_MATERIAL_TRADITIONAL },
	{ "EC PRIVATE KEY",		RK_MATERIAL_PRIVATE_KEY,	RK_MATERIAL_TRADITIONAL },
	{ "DSA PRIVATE KEY",		RK_MATERIAL_PRIVATE_KEY,	RK_MATERIAL_TRADITIONAL },
	{ "ENCRYPTED PRIVATE KEY",	RK_MATERIAL_ENCRYPTED_KEY,
	    RK_MATERIAL_PKCS8_ENCRYPTED },
	{ "PUBLIC KEY",			RK_MATERIAL_PUBLIC_KEY,		RK_MATERIAL_SPKI },
	{ "RSA PUBLIC KEY",		RK_MATERIAL_PUBLIC_KEY,		RK_MATERIAL_PKCS1_PUBLIC },
};

/* Reasons, constants so that an item never holds text built from the input. */
static const char reason_no_pass[] = "encrypted: no passphrase";
static const char reason_wrong_pass[] = "encrypted: no passphrase given opens it";
static const char reason_p12_locked[] = "pkcs12, locked: no password given opens it";
static const char reason_p12_iter[] = "pkcs12, locked: key derivation cost over the cap";
static const char reason_cost[] = "encrypted: key derivation cost over the cap";
static const char reason_bad_pubkey[] = "its public key cannot be read";

#define BEGIN_MARK	"-----BEGIN "
#define BEGIN_LEN	(sizeof(BEGIN_MARK) - 1)
#define DASHES		"-----"
#define LABEL_MAX	40

struct reader {
	struct rk_material		*m;
	const struct rk_material_opts	*opts;
	size_t				 alloc;
};

const char *
rk_material_kind_name(enum rk_material_kind kind)
{
	switch (kind) {
	case RK_MATERIAL_CERTIFICATE:
		return "certificate";
	case RK_MATERIAL_PRIVATE_KEY:
		return "private key";
	case RK_MATERIAL_PUBLIC_KEY:
		return "public key";
	case RK_MATERIAL_ENCRYPTED_KEY:
		return "encrypted private key";
	case RK_MATERIAL_PKCS12:
		return "pkcs12";
	}
	return "?";
}

const char *
rk_material_encoding_name(enum rk_material_encoding encoding)
{
	switch (encoding) {
	case RK_MATERIAL_PEM:
		return "PEM";
	case RK_MATERIAL_PEM_IN_TEXT:
		return "PEM in text";
	case RK_MATERIAL_PEM_ESCAPED:
		return "PEM escaped";
	case RK_MATERIAL_DER:
		return "DER";
	case RK_MATERIAL_IN_PKCS12:
		return "PKCS#12";
	}
	return "?";
}

const char *
rk_material_form_name(enum rk_material_form form)
{
	switch (form) {
	case RK_MATERIAL_X509:
		return "X.509";
	case RK_MATERIAL_PKCS8:
		return "PKCS#8";
	case RK_MATERIAL_PKCS8_ENCRYPTED:
		return "encrypted PKCS#8";
	case RK_MATERIAL_TRADITIONAL:
		return "traditional";
	case RK_MATERIAL_TRADITIONAL_ENCRYPTED:
		return "traditional, Proc-Type encrypted";
	case RK_MATERIAL_SPKI:
		return "SubjectPublicKeyInfo";
	case RK_MATERIAL_PKCS1_PUBLIC:
		return "PKCS#1 public key";
	case RK_MATERIAL_PFX:
		return "PKCS#12";
	}
	return "?";
}

/* ---- sniffing ------------------------------------------------------------------------- */

/*
 * Whether p (n bytes) opens with a SEQUENCE a certificate, key or PKCS#12 file could be.
 * OpenSSL's decoders take BER as well as DER here: an indefinite length (0x80) and a long
 * form with more length bytes than needed (0x84 for 300 bytes), so both count.
 */
static bool
looks_like_der(const unsigned char *p, size_t n)
{
	size_t len = 0, hdr, k;

	if (n < 2 || p[0] != 0x30)
		return false;
	if (p[1] == 0x80) {
		hdr = 2;
	} else if (p[1] > 0x80 && p[1] <= 0x84) {
		/* Long form: the length needs no more than head, which may be a prefix only. */
		hdr = 2 + (size_t)(p[1] & 0x7f);
		if (n < hdr)
			return true;
		for (k = 2; k < hdr; k++)
			len = len << 8 | p[k];
		/* The smallest meant is an Ed25519 SubjectPublicKeyInfo, 42 bytes inside. */
		if (len < 0x28)
			return false;
	} else if (p[1] >= 0x28 && p[1] < 0x80) {
		/* An Ed25519 SPKI (0x2a) or key (0x2e), an EC traditional key (0x77). */
		hdr = 2;
		len = p[1];
		/* Short: the whole structure is in head, or head is not all of the file. */
		if (n < hdr + len && n < RK_MATERIAL_SNIFF_LEN)
			return false;
	} else {
		return false;
	}
	/* Every structure meant begins with a version INTEGER or an inner SEQUENCE. */
	return n == hdr || p[hdr] == 0x02 || p[hdr] == 0x30;
}

bool
rk_material_sniff(struct rk_bytes head)
{
	size_t n = head.len < RK_MATERIAL_SNIFF_LEN ? head.len : RK_MATERIAL_SNIFF_LEN;

	if (head.ptr == NULL || n == 0)
		return false;
	/* "-----BEGIN" also finds a block after "KEY=\"" and one written with "\n" escapes. */
	if (n >= 10 && memmem(head.ptr, n, "-----BEGIN", 10) != NULL)
		return true;
	return looks_like_der(head.ptr, n);
}

/* ---- items ---------------------------------------------------------------------------- */

static int
add_item(struct reader *rd, const struct rk_material_item *item, struct rk_err *err)
{
	struct rk_material *m = rd->m;
	struct rk_material_item *grown;
	size_t want;

	if (m->n >= RK_MATERIAL_ITEMS_MAX)
		return rk_fail(err, RK_E_LIMIT, "more than %d certificates and keys in one file",
		    RK_MATERIAL_ITEMS_MAX);
	if (m->n == rd->alloc) {
		want = rd->alloc == 0 ? 4 : rd->alloc * 2;
		if ((grown = reallocarray(m->items, want, sizeof(*grown))) == NULL)
			return rk_fail_nomem(err);
		m->items = grown;
		rd->alloc = want;
	}
	m->items[m->n++] = *item;
	return 0;
}

static void
item_init(struct rk_material_item *it, enum rk_material_kind kind,
    enum rk_material_encoding encoding, enum rk_material_form form, size_t line)
{
	memset(it, 0, sizeof(*it));
	it->kind = kind;
	it->encoding = encoding;
	it->form = form;
	it->line = line;
	it->issued_by = -1;
}

/*
 * After hashing an item's public key (r, its message in a scratch rk_err): out of memory fails
 * the read; anything else (a key OpenSSL parsed but cannot encode) is the item's reason, and
 * err stays clean for a real failure.
 */
static int
spki_or_reason(struct rk_material_item *it, int r, struct rk_err *err)
{
	if (r == RK_E_NOMEM)
		return rk_fail_nomem(err);
	if (r != 0) {
		it->spki_sha256[0] = '\0';
		it->reason = reason_bad_pubkey;
	}
	return 0;
}

/*
 * The index in opts' issuers of the first CA whose subject is x's issuer name and whose
 * public key verifies x's signature, or -1.
 */
static int
find_issuer(const struct reader *rd, X509 *x)
{
	const struct rk_cert cert = { x };	/* borrowed */
	const struct rk_cert *ca;
	EVP_PKEY *pub;
	size_t i, n = rd->opts != NULL ? rd->opts->nissuers : 0;
	int found = -1;

	for (i = 0; i < n && i <= INT_MAX && found < 0; i++) {
		if ((ca = rd->opts->issuers[i]) == NULL || !rk_cert_names_as_issuer(&cert, ca))
			continue;
		if ((pub = X509_get0_pubkey(ca->x509)) != NULL && X509_verify(x, pub) == 1)
			found = (int)i;
	}
	ERR_clear_error();
	return found;
}

/* A certificate as an item: the SPKI hash, fingerprint, names, serial and issuer. */
static int
add_cert(struct reader *rd, X509 *x, enum rk_material_encoding encoding, size_t line,
    struct rk_err *err)
{
	struct rk_cert cert = { x };	/* borrowed: the caller frees x */
	struct rk_err scratch = { 0 };
	struct rk_material_item it;
	int r;

	item_init(&it, RK_MATERIAL_CERTIFICATE, encoding, RK_MATERIAL_X509, line);
	if ((r = spki_or_reason(&it, rk_cert_spki_sha256(it.spki_sha256, &cert, &scratch),
	    err)) != 0)
		return r;
	rk_cert_fingerprint(it.fingerprint, &cert);
	if (rk_cert_subject(it.subject, sizeof(it.subject), &cert) < 0)
		it.subject[0] = '\0';
	if (rk_cert_issuer(it.issuer, sizeof(it.issuer), &cert) < 0)
		it.issuer[0] = '\0';
	/* Over 20 octets it would not fit: "", never a cut serial that names another. */
	if (rk_cert_serial(it.serial, sizeof(it.serial), &cert) < 0)
		it.serial[0] = '\0';
	it.issued_by = find_issuer(rd, x);
	return add_item(rd, &it, err);
}

/* A key (public or private, opened) as an item: only the hash of its public half. */
static int
add_key(struct reader *rd, EVP_PKEY *pkey, enum rk_material_kind kind,
    enum rk_material_encoding encoding, enum rk_material_form form, size_t line,
    struct rk_err *err)
{
	struct rk_err scratch = { 0 };
	struct rk_material_item it;
	int r;

	item_init(&it, kind, encoding, form, line);
	if ((r = spki_or_reason(&it, rk_pki_spki_sha256(it.spki_sha256, pkey, &scratch),
	    err)) != 0)
		return r;
	return add_item(rd, &it, err);
}

/* An item that could not be opened: no hash, a reason. */
static int
add_locked(struct reader *rd, enum rk_material_kind kind, enum rk_material_encoding encoding,
    enum rk_material_form form, size_t line, const char *reason, struct rk_err *err)
{
	struct rk_material_item it;

	item_init(&it, kind, encoding, form, line);
	it.reason = reason;
	return add_item(rd, &it, err);
}

/* ---- what a passphrase would cost ---------------------------------------------------- */

/* Whether an ASN1_INTEGER is between 1 and max. */
static bool
int_in(const ASN1_INTEGER *a, long max)
{
	long v;

	if (a == NULL)
		return true;		/* an absent optional field takes its small default */
	v = ASN1_INTEGER_get(a);
	return v >= 1 && v <= max;
}

/*
 * Whether trying a passphrase on data encrypted under alg costs a bounded amount: the file
 * chooses the iteration count (PBES1, PKCS#12 PBE, PBES2 with PBKDF2) or scrypt's N, r and p
 * (RFC 8018, RFC 7914), and a hostile one could ask for 2^31 iterations.
 */
static bool
pbe_cost_ok(const X509_ALGOR *alg)
{
	const ASN1_OBJECT *obj, *kobj;
	const void *pval, *kval;
	PBKDF2PARAM *kdf = NULL;
	SCRYPT_PARAMS *sc = NULL;
	PBE2PARAM *pbe2 = NULL;
	PBEPARAM *pbe = NULL;
	int ptype, ktype;
	bool ok = false;

	X509_ALGOR_get0(&obj, &ptype, &pval, alg);
	if (ptype != V_ASN1_SEQUENCE)
		return false;
	if (OBJ_obj2nid(obj) != NID_pbes2) {
		pbe = ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(PBEPARAM), alg->parameter);
		ok = pbe != NULL && int_in(pbe->iter, RK_MATERIAL_ITER_MAX);
		goto out;
	}
	if ((pbe2 = ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(PBE2PARAM), alg->parameter)) == NULL ||
	    pbe2->keyfunc == NULL)
		goto out;
	X509_ALGOR_get0(&kobj, &ktype, &kval, pbe2->keyfunc);
	if (ktype != V_ASN1_SEQUENCE)
		goto out;
	switch (OBJ_obj2nid(kobj)) {
	case NID_id_pbkdf2:
		kdf = ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(PBKDF2PARAM),
		    pbe2->keyfunc->parameter);
		ok = kdf != NULL && int_in(kdf->iter, RK_MATERIAL_ITER_MAX);
		break;
	case NID_id_scrypt:
		/* N 2^20 with r 8 is 1 GiB already; OpenSSL's own cap on memory is 32 MiB. */
		sc = ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(SCRYPT_PARAMS),
		    pbe2->keyfunc->parameter);
		ok = sc != NULL && int_in(sc->costParameter, 1L << 20) &&
		    int_in(sc->blockSize, 32) && int_in(sc->parallelizationParameter, 16);
		break;
	default:
		break;
	}
 out:
	PBEPARAM_free(pbe);
	PBE2PARAM_free(pbe2);
	PBKDF2PARAM_free(kdf);
	SCRYPT_PARAMS_free(sc);
	ERR_clear_error();
	return ok;
}

/*
 * The same for an encrypted key in in ("PEM" or "DER"). Only an EncryptedPrivateKeyInfo names
 * its cost: a Proc-Type key derives its key with one MD5 round (EVP_BytesToKey), so anything
 * that is not one costs little.
 */
static bool
key_cost_ok(struct rk_bytes in, const char *type)
{
	struct rk_pki_pass none = { NULL, false };	/* no terminal, as in read_block */
	const unsigned char *p = in.ptr;
	const X509_ALGOR *alg;
	X509_SIG *sig = NULL;
	BIO *bio = NULL;
	bool ok = true;

	if (strcmp(type, "PEM") == 0) {
		if (in.len <= INT_MAX && (bio = BIO_new_mem_buf(in.ptr, (int)in.len)) != NULL)
			sig = PEM_read_bio_PKCS8(bio, NULL, rk_pki_pass_cb, &none);
	} else {
		sig = d2i_X509_SIG(NULL, &p, (long)in.len);
	}
	if (sig != NULL) {
		X509_SIG_get0(sig, &alg, NULL);
		ok = pbe_cost_ok(alg);
	}
	X509_SIG_free(sig);
	BIO_free(bio);
	ERR_clear_error();
	return ok;
}

/*
 * The same for every encrypted part of a PKCS#12 file that can be seen before a password
 * opens it: the encrypted authenticated safes (certificates, usually) and the shrouded key
 * bags of the plain ones. A shrouded key bag inside an encrypted safe is seen only once a
 * password has opened that safe; walk_bags checks each bag before it is decrypted.
 */
static bool
pkcs12_cost_ok(STACK_OF(PKCS7) *safes)
{
	STACK_OF(PKCS12_SAFEBAG) *bags = NULL;
	PKCS7 *p7;
	bool ok = true;
	int i, k;

	for (i = 0; ok && i < sk_PKCS7_num(safes); i++) {
		p7 = sk_PKCS7_value(safes, i);
		switch (OBJ_obj2nid(p7->type)) {
		case NID_pkcs7_encrypted:
			ok = p7->d.encrypted != NULL && p7->d.encrypted->enc_data != NULL &&
			    p7->d.encrypted->enc_data->algorithm != NULL &&
			    pbe_cost_ok(p7->d.encrypted->enc_data->algorithm);
			break;
		case NID_pkcs7_data:
			if ((bags = PKCS12_unpack_p7data(p7)) == NULL)
				break;
			for (k = 0; ok && k < sk_PKCS12_SAFEBAG_num(bags); k++) {
				const PKCS12_SAFEBAG *bag = sk_PKCS12_SAFEBAG_value(bags, k);
				const X509_ALGOR *alg;

				if (PKCS12_SAFEBAG_get_nid(bag) != NID_pkcs8ShroudedKeyBag)
					continue;
				X509_SIG_get0(PKCS12_SAFEBAG_get0_pkcs8(bag), &alg, NULL);
				ok = pbe_cost_ok(alg);
			}
			sk_PKCS12_SAFEBAG_pop_free(bags, PKCS12_SAFEBAG_free);
			bags = NULL;
			break;
		default:
			break;
		}
	}
	ERR_clear_error();
	return ok;
}

/* ---- keys ----------------------------------------------------------------------------- */

/*
 * One attempt at decoding a key from in ("PEM" or "DER"; structure NULL for any) with pass
 * (NULL: none, and the callback fails). *asked: whether the input wanted a passphrase.
 * OpenSSL's failures, out of memory among them, all read as "not decoded" here.
 */
static EVP_PKEY *
decode_key_once(struct rk_bytes in, const char *type, const char *structure, int selection,
    const struct rk_secret *pass, bool *asked)
{
	struct rk_pki_pass ps = { pass, false };
	OSSL_DECODER_CTX *dctx;
	EVP_PKEY *pkey = NULL;
	const unsigned char *p = in.ptr;
	size_t len = in.len;

	dctx = OSSL_DECODER_CTX_new_for_pkey(&pkey, type, structure, NULL, selection, NULL,
	    NULL);
	if (dctx != NULL && OSSL_DECODER_CTX_set_pem_password_cb(dctx, rk_pki_pass_cb, &ps))
		(void)OSSL_DECODER_from_data(dctx, &p, &len);
	OSSL_DECODER_CTX_free(dctx);
	ERR_clear_error();
	*asked = ps.asked;
	return pkey;
}

/*
 * Decodes a key, trying opts' passphrases in turn when it is encrypted and each try costs a
 * bounded amount. NULL with *asked set means locked, for the reason in *reason.
 */
static EVP_PKEY *
decode_key(struct reader *rd, struct rk_bytes in, const char *type, const char *structure,
    int selection, bool *asked, const char **reason)
{
	EVP_PKEY *pkey;
	size_t i;

	*reason = reason_no_pass;
	pkey = decode_key_once(in, type, structure, selection, NULL, asked);
	if (pkey != NULL || !*asked || rd->opts == NULL || rd->opts->npassphrases == 0)
		return pkey;
	*reason = reason_wrong_pass;
	if (!key_cost_ok(in, type)) {
		*reason = reason_cost;
		return NULL;
	}
	for (i = 0; i < rd->opts->npassphrases && pkey == NULL; i++) {
		bool again = false;

		pkey = decode_key_once(in, type, structure, selection, &rd->opts->passphrases[i],
		    &again);
	}
	return pkey;
}

/* ---- PEM ------------------------------------------------------------------------------ */

/* One PEM block found in a text, rewritten as OpenSSL reads PEM. */
struct block {
	const struct label_def		*def;
	enum rk_material_encoding	 encoding;
	bool				 encrypted;	/* Proc-Type: 4,ENCRYPTED */
	size_t				 line;
	struct rk_buf			 pem;		/* wiped: it may hold a private key */
};

static const struct label_def *
find_label(const unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i < sizeof(labels) / sizeof(labels[0]); i++)
		if (strlen(labels[i].label) == n && memcmp(labels[i].label, p, n) == 0)
			return &labels[i];
	return NULL;
}

static bool
is_blank(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/*
 * The next piece of a body from *pos to end: a line ended by a newline or by a literal "\n"
 * (two characters, as .env and JSON values write one), trimmed of blanks, quotes, and the
 * "\r" or "\" an escaped CRLF or a doubled escape leaves. *escaped and *indented are set
 * when a piece was so ended or had blanks before it.
 */
static struct rk_bytes
next_piece(const unsigned char *data, size_t *pos, size_t end, bool *escaped, bool *indented)
{
	size_t s = *pos, e = *pos, next;

	while (e < end && data[e] != '\n' && !(data[e] == '\\' && e + 1 < end &&
	    data[e + 1] == 'n'))
		e++;
	next = e;
	if (e < end && data[e] == '\n')
		next = e + 1;
	else if (e < end) {
		next = e + 2;
		*escaped = true;
	}
	*pos = next;
	if (s < e && (data[s] == ' ' || data[s] == '\t'))
		*indented = true;
	while (s < e && (is_blank(data[s]) || data[s] == '"' || data[s] == '\''))
		s++;
	for (;;) {
		if (e > s && (is_blank(data[e - 1]) || data[e - 1] == '\\' || data[e - 1] == '"' ||
		    data[e - 1] == '\''))
			e--;
		else if (e >= s + 2 && data[e - 1] == 'r' && data[e - 2] == '\\')
			e -= 2;
		else
			break;
	}
	return (struct rk_bytes){ data + s, e - s };
}

/* Whether piece is an RFC 1421 header ("Proc-Type: 4,ENCRYPTED"): a name, then ": ". */
static bool
is_header(struct rk_bytes piece)
{
	const unsigned char *colon = memchr(piece.ptr, ':', piece.len);

	return colon != NULL && colon > piece.ptr;
}

/*
 * Rewrites the body data[from, to) of a block as OpenSSL's PEM reader wants it: the armour,
 * the headers, a blank line, then the base64 in 64-column lines whatever it was written as.
 */
static int
rewrite_block(struct block *b, const unsigned char *data, size_t from, size_t to,
    struct rk_err *err)
{
	struct rk_buf b64;
	struct rk_bytes piece;
	size_t pos = from, i;
	bool escaped = false, indented = false, in_headers = true, any_header = false;
	int r;

	rk_buf_init(&b64, RK_PEM_MAX);
	if ((r = rk_buf_printf(&b->pem, err, "-----BEGIN %s-----\n", b->def->label)) != 0)
		goto out;
	while (pos < to) {
		piece = next_piece(data, &pos, to, &escaped, &indented);
		if (piece.len == 0) {
			if (any_header)
				in_headers = false;
			continue;
		}
		if (in_headers && is_header(piece)) {
			any_header = true;
			if (piece.len >= 10 && memcmp(piece.ptr, "Proc-Type:", 10) == 0 &&
			    memmem(piece.ptr, piece.len, "ENCRYPTED", 9) != NULL)
				b->encrypted = true;
			if ((r = rk_buf_append(&b->pem, piece.ptr, piece.len, err)) != 0 ||
			    (r = rk_buf_append(&b->pem, "\n", 1, err)) != 0)
				goto out;
			continue;
		}
		in_headers = false;
		if ((r = rk_buf_append(&b64, piece.ptr, piece.len, err)) != 0)
			goto out;
	}
	if (any_header && (r = rk_buf_append(&b->pem, "\n", 1, err)) != 0)
		goto out;
	for (i = 0; i < b64.len; i += 64)
		if ((r = rk_buf_append(&b->pem, b64.ptr + i, b64.len - i < 64 ? b64.len - i : 64,
		    err)) != 0 || (r = rk_buf_append(&b->pem, "\n", 1, err)) != 0)
			goto out;
	r = rk_buf_printf(&b->pem, err, "-----END %s-----\n", b->def->label);
	if (escaped)
		b->encoding = RK_MATERIAL_PEM_ESCAPED;
	else if (indented)
		b->encoding = RK_MATERIAL_PEM_IN_TEXT;
 out:
	rk_buf_clear(&b64);
	return r;
}

/* Decodes one rewritten block into items; *readable: whether it named anything. */
static int
read_block(struct reader *rd, struct block *b, bool *readable, struct rk_err *err)
{
	struct rk_bytes pem = rk_buf_bytes(&b->pem);
	enum rk_material_kind kind = b->def->kind;
	enum rk_material_form form = b->def->form;
	struct rk_pki_pass none = { NULL, false };
	const char *reason = NULL;
	EVP_PKEY *pkey = NULL;
	BIO *bio = NULL;
	X509 *x = NULL;
	bool asked = false;
	int r = 0;

	*readable = false;
	switch (kind) {
	case RK_MATERIAL_CERTIFICATE:
		if (pem.len > INT_MAX || (bio = BIO_new_mem_buf(pem.ptr, (int)pem.len)) == NULL)
			break;
		/*
		 * The _AUX reader takes CERTIFICATE and TRUSTED CERTIFICATE alike. A block with
		 * Proc-Type headers makes any PEM reader ask for a passphrase, and a NULL
		 * callback means OpenSSL's own, which reads the terminal: never that.
		 */
		if ((x = PEM_read_bio_X509_AUX(bio, NULL, rk_pki_pass_cb, &none)) != NULL) {
			*readable = true;
			r = add_cert(rd, x, b->encoding, b->line, err);
		}
		break;
	case RK_MATERIAL_PUBLIC_KEY:
		if ((pkey = decode_key(rd, pem, "PEM", NULL, EVP_PKEY_PUBLIC_KEY, &asked,
		    &reason)) != NULL) {
			*readable = true;
			r = add_key(rd, pkey, kind, b->encoding, form, b->line, err);
		}
		break;
	case RK_MATERIAL_PRIVATE_KEY:
	case RK_MATERIAL_ENCRYPTED_KEY:
		if (b->encrypted) {
			kind = RK_MATERIAL_ENCRYPTED_KEY;
			form = RK_MATERIAL_TRADITIONAL_ENCRYPTED;
		}
		pkey = decode_key(rd, pem, "PEM", NULL, EVP_PKEY_KEYPAIR, &asked, &reason);
		if (pkey != NULL) {
			*readable = true;
			r = add_key(rd, pkey, asked ? RK_MATERIAL_ENCRYPTED_KEY : kind, b->encoding,
			    form, b->line, err);
		} else if (asked) {
			*readable = true;
			r = add_locked(rd, RK_MATERIAL_ENCRYPTED_KEY, b->encoding, form, b->line,
			    reason, err);
		}
		break;
	case RK_MATERIAL_PKCS12:
		break;		/* no PEM label holds one */
	}
	ERR_clear_error();
	BIO_free(bio);
	X509_free(x);
	EVP_PKEY_free(pkey);	/* cleanses a private key */
	return r;
}

/* Whether anything but blanks precedes data[at] on its line. */
static bool
has_text_before(const unsigned char *data, size_t at)
{
	while (at > 0 && data[at - 1] != '\n') {
		if (!is_blank(data[at - 1]))
			return true;
		at--;
	}
	return false;
}

/*
 * Every PEM block of data. A block whose END is missing, or comes only after another BEGIN,
 * is truncated: counted unreadable, and the scan goes on at the next BEGIN.
 */
static int
read_pem(struct reader *rd, struct rk_bytes data, struct rk_err *err)
{
	const unsigned char *d = data.ptr, *hit, *end, *next;
	char endmark[LABEL_MAX + 16];
	size_t pos = 0, counted = 0, line = 1, lstart, lend, body, limit, i;
	struct block b;
	bool readable;
	int r = 0;

	while (pos < data.len && (hit = memmem(d + pos, data.len - pos, BEGIN_MARK,
	    BEGIN_LEN)) != NULL) {
		size_t at = (size_t)(hit - d);

		for (i = counted; i < at; i++)
			if (d[i] == '\n')
				line++;
		counted = at;
		pos = at + BEGIN_LEN;
		lstart = pos;
		for (lend = lstart; lend < data.len && lend - lstart <= LABEL_MAX &&
		    ((d[lend] >= 'A' && d[lend] <= 'Z') || (d[lend] >= '0' && d[lend] <= '9') ||
		    d[lend] == ' '); lend++)
			;
		if (lend + 5 > data.len || memcmp(d + lend, DASHES, 5) != 0)
			continue;
		memset(&b, 0, sizeof(b));
		if ((b.def = find_label(d + lstart, lend - lstart)) == NULL)
			continue;	/* a CRL, a request, parameters: not key material */
		body = lend + 5;
		snprintf(endmark, sizeof(endmark), "-----END %s-----", b.def->label);
		/* The END is looked for only up to the next BEGIN, so that a file of many BEGINs
		 * is read in linear time. */
		next = memmem(d + body, data.len - body, BEGIN_MARK, BEGIN_LEN);
		limit = next != NULL ? (size_t)(next - d) : data.len;
		end = memmem(d + body, limit - body, endmark, strlen(endmark));
		if (end == NULL) {
			rd->m->unreadable++;
			continue;
		}
		b.line = line;
		b.encoding = has_text_before(d, at) ? RK_MATERIAL_PEM_IN_TEXT : RK_MATERIAL_PEM;
		rk_buf_init(&b.pem, 2 * (size_t)RK_PEM_MAX);
		r = rewrite_block(&b, d, body, (size_t)(end - d), err);
		if (r == 0)
			r = read_block(rd, &b, &readable, err);
		rk_buf_clear(&b.pem);
		if (r != 0)
			return r;
		if (!readable)
			rd->m->unreadable++;
		pos = (size_t)(end - d) + strlen(endmark);
	}
	return 0;
}

/* ---- DER and PKCS#12 ------------------------------------------------------------------ */

/*
 * The tag of the second element of the outer SEQUENCE of der, or -1: a PKCS#8 key has its
 * algorithm SEQUENCE there, a traditional one an INTEGER; an SPKI opens with a SEQUENCE
 * and a PKCS#1 public key with an INTEGER, so for those the first element says it.
 */
static int
element_tag(struct rk_bytes der, int nth)
{
	const unsigned char *p = der.ptr, *end = der.ptr + der.len;
	long len;
	int tag, xclass, ret, i;

	/* 0x80 is an error (a length past the end among them), 0x21 an indefinite length. */
	ret = ASN1_get_object(&p, &len, &tag, &xclass, (long)der.len);
	if ((ret & 0x80) != 0 || ret == 0x21 || tag != V_ASN1_SEQUENCE)
		return -1;
	for (i = 0;; i++) {
		ret = ASN1_get_object(&p, &len, &tag, &xclass, (long)(end - p));
		if ((ret & 0x80) != 0 || ret == 0x21)
			return -1;
		if (i == nth)
			return xclass == V_ASN1_UNIVERSAL ? tag : -1;
		p += len;
	}
}

/*
 * A password tried on a PKCS#12 file: none at all (ptr NULL), the empty one, or a passphrase
 * of opts. RFC 7292 (appendix B.1) makes no password and the empty one different keys.
 */
struct p12_pass {
	const char	*ptr;
	int		 len;
};

/* How deep safe contents bags may sit inside each other (OpenSSL's parser has no bound). */
#define P12_NEST_MAX	4

struct p12_walk {
	struct reader		*rd;
	const struct p12_pass	*pw;		/* [0] opened the file; the rest in order */
	size_t			 npw;
};

/*
 * A shrouded key bag as an item: under the cost cap, opened by the password that opened the
 * file or, failing that, another one; else locked with its reason.
 */
static int
add_shrouded_key(struct p12_walk *w, const PKCS12_SAFEBAG *bag, struct rk_err *err)
{
	PKCS8_PRIV_KEY_INFO *p8 = NULL;
	const X509_ALGOR *alg;
	EVP_PKEY *pkey = NULL;
	size_t i;
	int r;

	X509_SIG_get0(PKCS12_SAFEBAG_get0_pkcs8(bag), &alg, NULL);
	if (alg == NULL || !pbe_cost_ok(alg))
		return add_locked(w->rd, RK_MATERIAL_ENCRYPTED_KEY, RK_MATERIAL_IN_PKCS12,
		    RK_MATERIAL_PKCS8_ENCRYPTED, 0, reason_cost, err);
	for (i = 0; i < w->npw && p8 == NULL; i++)
		p8 = PKCS12_decrypt_skey(bag, w->pw[i].ptr, w->pw[i].len);
	ERR_clear_error();
	if (p8 == NULL)
		return add_locked(w->rd, RK_MATERIAL_ENCRYPTED_KEY, RK_MATERIAL_IN_PKCS12,
		    RK_MATERIAL_PKCS8_ENCRYPTED, 0, reason_wrong_pass, err);
	pkey = EVP_PKCS82PKEY(p8);
	PKCS8_PRIV_KEY_INFO_free(p8);		/* cleanses the key bytes */
	ERR_clear_error();
	if (pkey == NULL) {
		w->rd->m->unreadable++;
		return 0;
	}
	r = add_key(w->rd, pkey, RK_MATERIAL_PRIVATE_KEY, RK_MATERIAL_IN_PKCS12,
	    RK_MATERIAL_PKCS8, 0, err);
	EVP_PKEY_free(pkey);
	return r;
}

/*
 * Every certificate and key of bags, in order, safe contents bags included. CRL and secret
 * bags, and certificates other than X.509, name no key here.
 */
static int
walk_bags(struct p12_walk *w, const STACK_OF(PKCS12_SAFEBAG) *bags, int depth,
    struct rk_err *err)
{
	const PKCS12_SAFEBAG *bag;
	EVP_PKEY *pkey;
	X509 *x;
	int i, r = 0;

	for (i = 0; r == 0 && i < sk_PKCS12_SAFEBAG_num(bags); i++) {
		bag = sk_PKCS12_SAFEBAG_value(bags, i);
		switch (PKCS12_SAFEBAG_get_nid(bag)) {
		case NID_certBag:
			if (PKCS12_SAFEBAG_get_bag_nid(bag) != NID_x509Certificate)
				break;
			if ((x = PKCS12_SAFEBAG_get1_cert(bag)) == NULL) {
				w->rd->m->unreadable++;
				break;
			}
			r = add_cert(w->rd, x, RK_MATERIAL_IN_PKCS12, 0, err);
			X509_free(x);
			break;
		case NID_keyBag:
			if ((pkey = EVP_PKCS82PKEY(PKCS12_SAFEBAG_get0_p8inf(bag))) == NULL) {
				w->rd->m->unreadable++;
				break;
			}
			r = add_key(w->rd, pkey, RK_MATERIAL_PRIVATE_KEY, RK_MATERIAL_IN_PKCS12,
			    RK_MATERIAL_PKCS8, 0, err);
			EVP_PKEY_free(pkey);
			break;
		case NID_pkcs8ShroudedKeyBag:
			r = add_shrouded_key(w, bag, err);
			break;
		case NID_safeContentsBag:
			if (depth >= P12_NEST_MAX)
				w->rd->m->unreadable++;
			else
				r = walk_bags(w, PKCS12_SAFEBAG_get0_safes(bag), depth + 1, err);
			break;
		default:
			break;
		}
		ERR_clear_error();
	}
	return r;
}

/*
 * Whether pw opens the file: its MAC (when it has one) verifies, and every safe unpacks,
 * the encrypted ones decrypted with it, into sets[i] (to be freed by the caller).
 */
static bool
pkcs12_open_with(PKCS12 *p12, STACK_OF(PKCS7) *safes, const struct p12_pass *pw,
    STACK_OF(PKCS12_SAFEBAG) **sets)
{
	PKCS7 *p7;
	bool ok;
	int i;

	ok = !PKCS12_mac_present(p12) || PKCS12_verify_mac(p12, pw->ptr, pw->len) == 1;
	for (i = 0; ok && i < sk_PKCS7_num(safes); i++) {
		p7 = sk_PKCS7_value(safes, i);
		switch (OBJ_obj2nid(p7->type)) {
		case NID_pkcs7_data:
			ok = (sets[i] = PKCS12_unpack_p7data(p7)) != NULL;
			break;
		case NID_pkcs7_encrypted:
			ok = (sets[i] = PKCS12_unpack_p7encdata(p7, pw->ptr, pw->len)) != NULL;
			break;
		default:
			break;		/* enveloped data: public-key privacy, which OpenSSL skips too */
		}
	}
	ERR_clear_error();
	return ok;
}

static void
bag_sets_free(STACK_OF(PKCS12_SAFEBAG) **sets, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		sk_PKCS12_SAFEBAG_pop_free(sets[i], PKCS12_SAFEBAG_free);	/* cleanses keys */
		sets[i] = NULL;
	}
}

/*
 * Opens a PKCS#12 file with no password, the empty one, then opts' passphrases, and gives
 * every certificate and key it holds, in the order of its safes and bags.
 */
static int
read_pkcs12(struct reader *rd, PKCS12 *p12, struct rk_err *err)
{
	STACK_OF(PKCS12_SAFEBAG) **sets = NULL;
	STACK_OF(PKCS7) *safes = NULL;
	const ASN1_INTEGER *iter = NULL;
	struct p12_pass *pw = NULL, first;
	struct p12_walk w;
	size_t i, npw = 2, given = rd->opts != NULL ? rd->opts->npassphrases : 0;
	int nsafes = 0, r = 0, k;
	bool open = false;

	if (PKCS12_mac_present(p12)) {
		PKCS12_get0_mac(NULL, NULL, NULL, &iter, p12);
		/* An absent count is 1 (RFC 7292, appendix D's default). */
		if (iter != NULL && (ASN1_INTEGER_get(iter) < 1 ||
		    ASN1_INTEGER_get(iter) > RK_MATERIAL_ITER_MAX))
			return add_locked(rd, RK_MATERIAL_PKCS12, RK_MATERIAL_IN_PKCS12,
			    RK_MATERIAL_PFX, 0, reason_p12_iter, err);
	}
	ERR_clear_error();
	if ((safes = PKCS12_unpack_authsafes(p12)) == NULL) {
		ERR_clear_error();
		return add_locked(rd, RK_MATERIAL_PKCS12, RK_MATERIAL_IN_PKCS12, RK_MATERIAL_PFX, 0,
		    reason_p12_locked, err);
	}
	/* The MAC is checked before the bags are decrypted, but a file may have none, or one
	 * made for the empty password. */
	if (!pkcs12_cost_ok(safes)) {
		r = add_locked(rd, RK_MATERIAL_PKCS12, RK_MATERIAL_IN_PKCS12, RK_MATERIAL_PFX, 0,
		    reason_p12_iter, err);
		goto out;
	}
	nsafes = sk_PKCS7_num(safes);
	if (given > SIZE_MAX / sizeof(*pw) - npw ||
	    (pw = calloc(npw + given, sizeof(*pw))) == NULL ||
	    (sets = calloc(nsafes > 0 ? (size_t)nsafes : 1, sizeof(*sets))) == NULL) {
		r = rk_fail_nomem(err);
		goto out;
	}
	pw[0] = (struct p12_pass){ NULL, 0 };
	pw[1] = (struct p12_pass){ "", 0 };
	for (i = 0; i < given; i++) {
		const struct rk_secret *s = &rd->opts->passphrases[i];

		if (s->ptr != NULL && s->len <= INT_MAX)
			pw[npw++] = (struct p12_pass){ (const char *)s->ptr, (int)s->len };
	}
	for (i = 0; i < npw && !open; i++) {
		open = pkcs12_open_with(p12, safes, &pw[i], sets);
		if (!open)
			bag_sets_free(sets, nsafes);
		else if (i > 0) {
			/* The password that opened the file is tried first on its keys. */
			first = pw[i];
			memmove(&pw[1], &pw[0], i * sizeof(*pw));
			pw[0] = first;
		}
	}
	if (!open) {
		r = add_locked(rd, RK_MATERIAL_PKCS12, RK_MATERIAL_IN_PKCS12, RK_MATERIAL_PFX, 0,
		    reason_p12_locked, err);
		goto out;
	}
	w = (struct p12_walk){ rd, pw, npw };
	for (k = 0; r == 0 && k < nsafes; k++)
		if (sets[k] != NULL)
			r = walk_bags(&w, sets[k], 0, err);
 out:
	if (sets != NULL)
		bag_sets_free(sets, nsafes);
	free(sets);
	free(pw);		/* pointers into opts' secrets, not copies */
	sk_PKCS7_pop_free(safes, PKCS7_free);
	ERR_clear_error();
	return r;
}

/* data as one DER structure: certificate, PKCS#12, private key, public key. *found: any. */
static int
read_der(struct reader *rd, struct rk_bytes data, bool *found, struct rk_err *err)
{
	const unsigned char *p;
	enum rk_material_form form;
	const char *reason = NULL;
	EVP_PKEY *pkey = NULL;
	PKCS12 *p12 = NULL;
	X509 *x = NULL;
	bool asked = false;
	int r = 0;

	*found = true;
	p = data.ptr;
	if ((x = d2i_X509(NULL, &p, (long)data.len)) != NULL) {
		r = add_cert(rd, x, RK_MATERIAL_DER, 0, err);
		goto out;
	}
	p = data.ptr;
	if ((p12 = d2i_PKCS12(NULL, &p, (long)data.len)) != NULL) {
		r = read_pkcs12(rd, p12, err);
		goto out;
	}
	if ((pkey = decode_key(rd, data, "DER", NULL, EVP_PKEY_KEYPAIR, &asked,
	    &reason)) != NULL || asked) {
		if (asked)
			form = RK_MATERIAL_PKCS8_ENCRYPTED;
		else
			form = element_tag(data, 1) == V_ASN1_SEQUENCE ? RK_MATERIAL_PKCS8 :
			    RK_MATERIAL_TRADITIONAL;
		if (pkey != NULL)
			r = add_key(rd, pkey, asked ? RK_MATERIAL_ENCRYPTED_KEY :
			    RK_MATERIAL_PRIVATE_KEY, RK_MATERIAL_DER, form, 0, err);
		else
			r = add_locked(rd, RK_MATERIAL_ENCRYPTED_KEY, RK_MATERIAL_DER, form, 0,
			    reason, err);
		goto out;
	}
	if ((pkey = decode_key(rd, data, "DER", NULL, EVP_PKEY_PUBLIC_KEY, &asked,
	    &reason)) != NULL) {
		form = element_tag(data, 0) == V_ASN1_SEQUENCE ? RK_MATERIAL_SPKI :
		    RK_MATERIAL_PKCS1_PUBLIC;
		r = add_key(rd, pkey, RK_MATERIAL_PUBLIC_KEY, RK_MATERIAL_DER, form, 0, err);
		goto out;
	}
	*found = false;
 out:
	ERR_clear_error();
	X509_free(x);
	PKCS12_free(p12);
	EVP_PKEY_free(pkey);
	return r;
}

/* ---- the entry point ------------------------------------------------------------------ */

int
rk_material_read(struct rk_material *out, struct rk_bytes data,
    const struct rk_material_opts *opts, struct rk_err *err)
{
	struct reader rd = { out, opts, 0 };
	bool found = false;
	int r;

	memset(out, 0, sizeof(*out));
	if (data.len > RK_PEM_MAX)
		return rk_fail(err, RK_E_LIMIT, "%zu bytes, over the %d-byte limit for key "
		    "material", data.len, RK_PEM_MAX);
	if (data.ptr == NULL || data.len == 0)
		return 0;
	/* DER first: a binary file may hold "-----BEGIN " by chance, text never opens with
	 * a SEQUENCE that decodes. */
	if (data.ptr[0] == 0x30 && (r = read_der(&rd, data, &found, err)) != 0)
		return r;
	if (found)
		return 0;
	return read_pem(&rd, data, err);
}

void
rk_material_clear(struct rk_material *m)
{
	if (m == NULL)
		return;
	free(m->items);		/* hashes and names only: nothing to wipe */
	memset(m, 0, sizeof(*m));
}
