/*
 * What a revocation names, resolved to serials: a certificate file, a serial, every
 * certificate of a folder the CA issued, or every certificate the ledger holds for a common
 * name but the newest (most likely the one just put into service). `pki revoke` and the
 * engine resolve through this one module, so `plan` shows the serials `run` will revoke.
 */
#ifndef REKEY_REVOCATION_H
#define REKEY_REVOCATION_H

#include <stdbool.h>
#include <stddef.h>

#include "rekey/cert.h"
#include "rekey/err.h"
#include "rekey/ledger.h"

/* One serial to revoke, and what selected it. */
struct rk_revoked {
	char		 serial[64];	/* normalised: upper-case hex bytes, colon-separated */
	char		*source;	/* "--cn db1", "/pki/old/db1.crt": what selected it */
	/* "server", "client", "ca" from the certificate (its EKU) or the ledger; NULL when
	 * only the serial is known. */
	const char	*profile;
	bool		 client_auth;	/* it could log in as a client (EKU clientAuth) */
	/* A client certificate revoked by file whose private key lies beside it (NAME.key,
	 * private, unencrypted, matching): with both, a run can prove that the servers now
	 * refuse it. NULL otherwise. */
	char		*cert_path;
	char		*key_path;
};

/* A list of serials, each once, and the notes (skipped files, a kept newest) to show. */
struct rk_revoked_set {
	struct rk_revoked	*items;
	size_t			 n;
	char			**notes;
	size_t			 nnotes;
};

void	rk_revoked_set_clear(struct rk_revoked_set *set);
/* Adds serial (hex, colons optional); the ledger, when given, tells its profile. */
int	rk_revoked_add_serial(struct rk_revoked_set *set, const char *serial, const char *source,
	    const struct rk_ledger *ledger, struct rk_err *err) RK_MUST_CHECK;
/* The certificate in the file at path, which must be one ca issued. */
int	rk_revoked_add_cert_file(struct rk_revoked_set *set, const char *path,
	    const char *source, const struct rk_cert *ca, struct rk_err *err) RK_MUST_CHECK;
/*
 * Every certificate (*.crt, *.pem, *.cer) in folder that ca issued; anything else there (a
 * file of another CA, junk, a FIFO) is skipped and named in a note, so whoever can write the
 * folder cannot stall or stop a revocation. *found counts what was added.
 */
int	rk_revoked_add_folder(struct rk_revoked_set *set, const char *folder,
	    const struct rk_cert *ca, size_t *found, struct rk_err *err) RK_MUST_CHECK;
/*
 * Every certificate the ledger holds for cn but the newest, unless include_current; a name
 * whose only certificate is that newest one fails, and the kept serial is named in a note.
 */
int	rk_revoked_add_cn(struct rk_revoked_set *set, const char *cn,
	    const struct rk_ledger *ledger, const char *ledger_path, bool include_current,
	    size_t *found, struct rk_err *err) RK_MUST_CHECK;

/* The set's serials joined by commas ("" for none), as the journal keeps them; *out
 * malloc'ed. */
int	rk_revoked_set_serials(char **out, const struct rk_revoked_set *set, struct rk_err *err)
	    RK_MUST_CHECK;
/* Whether any serial of the set is a client certificate's. */
bool	rk_revoked_set_has_client(const struct rk_revoked_set *set);
/* The first revoked client certificate whose key is at hand (cert_path, key_path), or NULL. */
const struct rk_revoked *rk_revoked_set_client_with_key(const struct rk_revoked_set *set);

#endif
