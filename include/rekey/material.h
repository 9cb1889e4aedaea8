/* Key material in a file's bytes: which certificates and keys it holds, by public-key hash. */
#ifndef REKEY_MATERIAL_H
#define REKEY_MATERIAL_H

#include <stdbool.h>
#include <stddef.h>

#include "rekey/bytes.h"
#include "rekey/cert.h"
#include "rekey/digest.h"
#include "rekey/err.h"
#include "rekey/secret.h"

/*
 * A file's bytes become a list of items, each named by the SHA-256 of its public key's DER
 * SubjectPublicKeyInfo (what `openssl pkey -pubout -outform DER | sha256sum` prints), so the
 * same key is recognised whatever its encoding: PEM, PEM inside other text, DER, PKCS#12,
 * PKCS#8 or traditional. Items never hold key bytes: only hashes, a certificate's names,
 * serial and issuing CA, kind, form and place. Nothing here prints, prompts or touches the
 * file system; it is thread-safe (the issuers given are only read).
 */

/* Most items one input may give (a bundle of 4096 certificates is far past any real one). */
#define RK_MATERIAL_ITEMS_MAX	4096
/* How many bytes of a file rk_material_sniff wants to see. */
#define RK_MATERIAL_SNIFF_LEN	4096
/*
 * Highest iteration count a passphrase is tried under (PKCS#12 MAC and bags, PBES1, PBES2 with
 * PBKDF2; scrypt is held to N 2^20, r 32, p 16): the file chooses it, each try costs that many
 * hashes, and a hostile file could ask for 2^31 (OpenSSL's default is 2048). A key or file over
 * it is an item with a reason, never tried.
 */
#define RK_MATERIAL_ITER_MAX	1000000
/*
 * Room for a certificate's serial as rk_cert_serial writes it, "5D:3A:91": RFC 5280 (4.1.2.2)
 * allows 20 octets, 59 characters and a NUL.
 */
#define RK_MATERIAL_SERIAL_LEN	60

enum rk_material_kind {
	RK_MATERIAL_CERTIFICATE,
	RK_MATERIAL_PRIVATE_KEY,
	RK_MATERIAL_PUBLIC_KEY,
	RK_MATERIAL_ENCRYPTED_KEY,	/* a private key under a passphrase; SPKI once opened */
	RK_MATERIAL_PKCS12,		/* a PKCS#12 file none of the passwords opened */
};

/* How the item was written in the file. */
enum rk_material_encoding {
	RK_MATERIAL_PEM,		/* a PEM block on lines of its own */
	RK_MATERIAL_PEM_IN_TEXT,	/* after other text on its line, or indented (YAML) */
	RK_MATERIAL_PEM_ESCAPED,	/* on one line with literal "\n" escapes (.env, JSON) */
	RK_MATERIAL_DER,
	RK_MATERIAL_IN_PKCS12,		/* a bag of a PKCS#12 file (or the locked file itself) */
};

/* What structure the item is. */
enum rk_material_form {
	RK_MATERIAL_X509,		/* CERTIFICATE, TRUSTED CERTIFICATE, DER X.509 */
	RK_MATERIAL_PKCS8,		/* PRIVATE KEY */
	RK_MATERIAL_PKCS8_ENCRYPTED,	/* ENCRYPTED PRIVATE KEY */
	RK_MATERIAL_TRADITIONAL,	/* RSA PRIVATE KEY, EC PRIVATE KEY (or their DER) */
	RK_MATERIAL_TRADITIONAL_ENCRYPTED,	/* the same with Proc-Type: 4,ENCRYPTED */
	RK_MATERIAL_SPKI,		/* PUBLIC KEY, DER SubjectPublicKeyInfo */
	RK_MATERIAL_PKCS1_PUBLIC,	/* RSA PUBLIC KEY */
	RK_MATERIAL_PFX,		/* the PKCS#12 container itself */
};

struct rk_material_item {
	enum rk_material_kind		kind;
	enum rk_material_encoding	encoding;
	enum rk_material_form		form;
	/* Lower-case hex SHA-256 of the SPKI, or "" when the key could not be opened. */
	char				spki_sha256[RK_SHA256_HEX];
	/*
	 * Certificates only ("" otherwise): as rk_cert_fingerprint, rk_cert_subject,
	 * rk_cert_issuer ("/O=Example/CN=Example CA") and rk_cert_serial (upper-case hex bytes
	 * joined by ':', "5D:3A:91"). A serial longer than RFC 5280's 20 octets, which would
	 * not fit, is "" too, never cut.
	 */
	char				fingerprint[RK_FINGERPRINT_LEN];
	char				subject[256];
	char				issuer[256];
	char				serial[RK_MATERIAL_SERIAL_LEN];
	/*
	 * Certificates only: the index in opts->issuers of the first CA certificate that issued
	 * this one, which is that this certificate's issuer name is the CA's subject (compared
	 * as X509_NAME_cmp compares them) and the CA's public key verifies its signature;
	 * keyUsage, basicConstraints, AKI and dates are not looked at. A self-signed certificate
	 * given among the issuers is its own issuer. -1 for none of them, for every item that is
	 * not a certificate, and when opts is NULL or names no issuer.
	 */
	int				issued_by;
	/* 1-based line of the "-----BEGIN" in a text; 0 for DER and PKCS#12. */
	size_t				line;
	/*
	 * Why spki_sha256 is empty, a constant; NULL when it is set: "encrypted: no
	 * passphrase", "encrypted: no passphrase given opens it", "encrypted: key derivation
	 * cost over the cap", "pkcs12, locked: no password given opens it", "pkcs12, locked:
	 * key derivation cost over the cap", "its public key cannot be read" (a certificate
	 * keeps its fingerprint then). A PKCS#12 file whose visible parts (its MAC, its
	 * encrypted safes, the shrouded key bags of its plain ones) cost more than
	 * RK_MATERIAL_ITER_MAX is one locked item: no password is tried on it. A shrouded key
	 * bag seen only once a password has opened the file (inside an encrypted safe, or in a
	 * nested safe) is its own item when it costs more: an encrypted key, in PKCS#12,
	 * encrypted PKCS#8, "encrypted: key derivation cost over the cap", beside the file's
	 * other certificates and keys, since the file itself did open. A shrouded key bag that
	 * neither the password that opened the file nor any other given opens is an encrypted
	 * key item too, "encrypted: no passphrase given opens it".
	 */
	const char			*reason;
};

struct rk_material {
	struct rk_material_item	*items;
	size_t			 n;
	/*
	 * PEM blocks of a key or certificate label that did not decode (truncated, a bad
	 * base64 body, damaged DER inside), and bags of an opened PKCS#12 file that did not
	 * (a certificate or key bag, or safes nested deeper than four): not items, since they
	 * name no key, but a sign that the file held something.
	 */
	size_t			 unreadable;
};

struct rk_material_opts {
	/* Tried in order on encrypted keys and PKCS#12 files; borrowed. PKCS#12 is also tried
	 * with no password and the empty one first. */
	const struct rk_secret	*passphrases;
	size_t			 npassphrases;
	/* CA certificates that each certificate item is checked against (issued_by); borrowed,
	 * and only read. */
	const struct rk_cert *const	*issuers;
	size_t				 nissuers;
};

/*
 * Whether a file whose first bytes are head (up to RK_MATERIAL_SNIFF_LEN of them) may hold key
 * material: "-----BEGIN" anywhere (which covers PEM inside text and escaped on one line), or a
 * DER SEQUENCE at the start long enough for a key or certificate and followed by the INTEGER or
 * SEQUENCE every such structure begins with. Cheap, and errs towards yes.
 */
bool	rk_material_sniff(struct rk_bytes head);

/*
 * Everything found in data, in file order (a PKCS#12 file: every certificate and every key of
 * every bag, as its safes hold them), into *out (initialised here; rk_material_clear it
 * even after a failure). Nothing found, or only unreadable or locked items, is success: the
 * caller reads out->n, each item's reason and out->unreadable. opts may be NULL. Fails only
 * with RK_E_LIMIT (data over RK_PEM_MAX, or more than RK_MATERIAL_ITEMS_MAX items) and
 * RK_E_NOMEM. Passphrases are never asked for: a key that needs one and has none is an item
 * with a reason. Every buffer that held decoded key bytes is cleansed before it is freed.
 */
int	rk_material_read(struct rk_material *out, struct rk_bytes data,
	    const struct rk_material_opts *opts, struct rk_err *err) RK_MUST_CHECK;

/* Frees the items; NULL and a cleared one are fine. */
void	rk_material_clear(struct rk_material *m);

/* Constant names: "certificate", "private key", ...; "PEM", "DER", ...; "PKCS#8", ... */
const char *rk_material_kind_name(enum rk_material_kind kind);
const char *rk_material_encoding_name(enum rk_material_encoding encoding);
const char *rk_material_form_name(enum rk_material_form form);

#endif
