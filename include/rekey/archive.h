/*
 * The incident record's archive (issue 15): a tar.gz of named members sealed by a manifest
 * and a signature, written and read back with libarchive, checkable without rekey:
 *
 *   tar -tzf INC.tar.gz
 *   tar -xzf INC.tar.gz -C dir && (cd dir && sha256sum -c MANIFEST.sha256)
 *   openssl dgst -sha256 -verify dir/signer.pub -signature dir/MANIFEST.sig dir/MANIFEST.sha256
 *
 * (an Ed25519 signer: OpenSSL 3.0's dgst cannot check EdDSA, so there
 *   openssl pkeyutl -verify -rawin -pubin -inkey dir/signer.pub -sigfile dir/MANIFEST.sig \
 *       -in dir/MANIFEST.sha256
 * and see rk_key_sign_sha256 in key.h). signer.pub proves only that the record is whole;
 * who sealed it is proved by its fingerprint against a copy of the key kept elsewhere.
 *
 * Members are kept in the order added, under one folder named after the archive
 * ("INC-1/incident.json" for INC-1.tar.gz), then signer.pub, MANIFEST.sha256 and MANIFEST.sig.
 * MANIFEST.sha256 lists every other member (signer.pub included) in `sha256sum` format, paths
 * relative to that folder. A writer never lets a secret in: a member holding private-key PEM
 * or any value registered with rk_archive_forbid is refused by name.
 */
#ifndef REKEY_ARCHIVE_H
#define REKEY_ARCHIVE_H

#include <stdbool.h>
#include <stddef.h>

#include "rekey/bytes.h"
#include "rekey/err.h"
#include "rekey/key.h"

/* Bounds of what a reader accepts (a record is a few hundred KiB; these are generous). */
#define RK_ARCHIVE_MEMBERS_MAX	10000
#define RK_ARCHIVE_MEMBER_MAX	(64u * 1024 * 1024)
#define RK_ARCHIVE_TOTAL_MAX	(256u * 1024 * 1024)

struct rk_archive;

int	rk_archive_new(struct rk_archive **out, const char *folder, struct rk_err *err)
	    RK_MUST_CHECK;
/*
 * Adds a member: name relative ("certs/db1.crt"; no "..", no leading '/', no empty part, at
 * most 255 bytes), unique, data copied. Refused (RK_E_USAGE, naming the member): private-key
 * PEM (a BEGIN line of any PRIVATE KEY armour, encrypted ones included), or any forbidden
 * value appearing anywhere in it.
 */
int	rk_archive_add(struct rk_archive *a, const char *name, struct rk_bytes data,
	    struct rk_err *err) RK_MUST_CHECK;
/* A value this run read that no member may hold (a password, a passphrase): copied, wiped
 * when a is freed. Values shorter than 4 bytes are refused as too likely to match by chance. */
int	rk_archive_forbid(struct rk_archive *a, struct rk_bytes secret, struct rk_err *err)
	    RK_MUST_CHECK;
/*
 * Writes the archive to path, mode 0600 from the first byte, all or nothing (a temporary
 * sibling renamed over path): the members, signer.pub (the signer's public key, PEM
 * SubjectPublicKeyInfo), MANIFEST.sha256 and MANIFEST.sig (SHA-256 signature of
 * MANIFEST.sha256 by signer, as `openssl dgst -sha256 -sign` makes it).
 */
int	rk_archive_write(struct rk_archive *a, const char *path, const struct rk_key *signer,
	    struct rk_err *err) RK_MUST_CHECK;
void	rk_archive_free(struct rk_archive *a);

/* What a check of an archive found. */
struct rk_archive_check {
	bool	 ok;			/* everything below holds */
	size_t	 members;		/* read, manifest and signature included */
	bool	 manifest_ok;		/* every member listed, every digest right, nothing extra */
	bool	 signature_ok;		/* MANIFEST.sig verifies with the key used */
	bool	 chain_ok;		/* timeline.jsonl's hash chain holds (true when absent) */
	bool	 key_given;		/* checked against the caller's key, not signer.pub */
	char	 signer[100];		/* SHA-256 fingerprint of the key used, "AB:CD:..." */
	char	 problem[600];		/* the first thing wrong, naming the member or line */
};

/*
 * Checks an archive's bytes: readable within the bounds above, the manifest, the signature
 * (with pubkey_pem when given, which must then be the key that signed it and the one
 * signer.pub holds, else with signer.pub),
 * and timeline.jsonl's chain: each line a JSON object whose "prev" is the SHA-256 (hex) of
 * the line before it, the first line's that of playbook.yml. Returns 0 when the check could
 * be made (out says the verdict), an error only when it could not (out of memory). Any
 * bytes are safe to give: gzip and tar alone are read, within the bounds (sizes checked
 * before reading and bytes counted while reading); names with "..", absolute names, names
 * outside one top folder, duplicates, links, devices and FIFOs make the archive not valid.
 * Folder entries inside the top folder are allowed (tar writes them on re-packing).
 * Thread-safe.
 */
int	rk_archive_verify(struct rk_archive_check *out, struct rk_bytes archive,
	    const struct rk_bytes *pubkey_pem, struct rk_err *err) RK_MUST_CHECK;

/*
 * One member's bytes, by its name relative to the folder; RK_E_USAGE when absent or when
 * the archive cannot be read within the bounds (the message says why). No check of the
 * manifest or signature: rk_archive_verify does that. out is initialised here; the caller
 * clears it.
 */
int	rk_archive_read_member(struct rk_buf *out, struct rk_bytes archive, const char *name,
	    struct rk_err *err) RK_MUST_CHECK;
/*
 * *missing is the first of names[0..n) the archive does not hold, or NULL when it holds them
 * all; the archive is read once. RK_E_USAGE when it cannot be read within the bounds.
 */
int	rk_archive_first_missing(const char **missing, struct rk_bytes archive,
	    const char *const *names, size_t n, struct rk_err *err) RK_MUST_CHECK;

/*
 * Rewrites the archive at path with the member name set to data (added, or replacing the one
 * there), sealed anew by signer, all or nothing. The archive must first verify with signer's
 * public key: one damaged or sealed by another key is left as it is (RK_E_USAGE, why).
 */
int	rk_archive_amend(const char *path, const char *name, struct rk_bytes data,
	    const struct rk_key *signer, struct rk_err *err) RK_MUST_CHECK;

/* One regular file of a plain tar stream, as rk_tar_each gives it. */
struct rk_tar_file {
	const char		*path;		/* as stored (absolute names kept) */
	const char		*owner;		/* "" when the header has no name */
	const char		*group;
	unsigned		 mode;		/* permission bits */
	unsigned long long	 size;
	struct rk_bytes		 data;		/* valid for the call only */
};

/*
 * Calls each(arg, file) for every regular file of an uncompressed tar stream (what
 * `tar -cf -` writes: ustar, GNU or pax), in order, each at most max_file bytes (larger ones
 * are skipped and counted in *skipped). Links, folders and devices are passed over. A stream
 * cut short (a capped output) or damaged stops the walk without error: *complete says
 * whether it ended properly. each returning non-zero stops it and that code is returned;
 * otherwise 0, or RK_E_NOMEM.
 */
int	rk_tar_each(struct rk_bytes tar, size_t max_file,
	    int (*each)(void *arg, const struct rk_tar_file *file), void *arg, bool *complete,
	    size_t *skipped, struct rk_err *err) RK_MUST_CHECK;

#endif
