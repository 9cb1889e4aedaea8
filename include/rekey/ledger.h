/* The ledger: every certificate rekey issued, kept beside the CA as JSON, written atomically. */
#ifndef REKEY_LEDGER_H
#define REKEY_LEDGER_H

#include <stddef.h>
#include <time.h>

#include "rekey/err.h"

/* Cap on a ledger file: some hundred thousand certificates. */
#define RK_LEDGER_MAX	(64 * 1024 * 1024)

/* One issued certificate. Strings are owned by the ledger; optional ones may be NULL. */
struct rk_ledger_entry {
	char	*serial;	/* "5D:3A:91:..." */
	char	*subject;	/* "/O=Example/CN=db1" */
	char	*common_name;
	char	**san;		/* nsan entries, "DNS:x" / "IP:y" */
	size_t	 nsan;
	char	*fingerprint;	/* SHA-256, "AB:CD:..." */
	char	*profile;	/* "server", "client", "ca" */
	char	*key_type;	/* "EC P-256" */
	time_t	 issued_at;
	time_t	 not_after;
	char	*replaces;	/* serial of the certificate it replaced, or NULL */
	char	*incident;	/* incident id, or NULL */
};

struct rk_ledger;

/* Opens the ledger at path; a missing file is an empty ledger. */
int	rk_ledger_open(struct rk_ledger **out, const char *path, struct rk_err *err) RK_MUST_CHECK;
/* Adds a deep copy of entry. */
int	rk_ledger_add(struct rk_ledger *ledger, const struct rk_ledger_entry *entry,
	    struct rk_err *err) RK_MUST_CHECK;
/*
 * Writes the whole ledger atomically (temporary file, fsync, rename, fsync of the folder);
 * a ledger that exists keeps its mode, owner and group, a new one is 0644.
 */
int	rk_ledger_save(const struct rk_ledger *ledger, struct rk_err *err) RK_MUST_CHECK;
/* The document rk_ledger_save writes, for a caller that writes it itself; *out is malloc'ed. */
int	rk_ledger_to_json(char **out, const struct rk_ledger *ledger, struct rk_err *err)
	    RK_MUST_CHECK;
/*
 * Adds what a certificate rekey just issued is (serial, names, fingerprint, key, validity),
 * issued now. profile "server", "client" or "ca"; replaces and incident may be NULL.
 */
struct rk_cert;
int	rk_ledger_add_cert(struct rk_ledger *ledger, const struct rk_cert *cert,
	    const char *profile, const char *replaces, const char *incident, struct rk_err *err)
	    RK_MUST_CHECK;
size_t	rk_ledger_count(const struct rk_ledger *ledger);
const struct rk_ledger_entry *rk_ledger_entry_at(const struct rk_ledger *ledger, size_t i);
/* The entry with this serial, or NULL. */
const struct rk_ledger_entry *rk_ledger_find_serial(const struct rk_ledger *ledger,
	    const char *serial);
/*
 * The newest certificate the ledger holds for common name cn (the latest issued_at, the
 * later entry on a tie), or NULL: the one most likely in service.
 */
const struct rk_ledger_entry *rk_ledger_newest_for_cn(const struct rk_ledger *ledger,
	    const char *cn);
void	rk_ledger_free(struct rk_ledger *ledger);

#endif
