/*
 * What expires, estate-wide, and what is out of step: for every service the certificate it
 * serves now and the files deployed on its host, every client's deployed files, and the
 * playbook's own CA and CRLs. `rekey expiry` prints it; `rekey run --only-expiring` chooses
 * the certificates to rotate from it. Changes nothing.
 */
#ifndef REKEY_EXPIRY_H
#define REKEY_EXPIRY_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "rekey/cert.h"
#include "rekey/err.h"
#include "rekey/model.h"
#include "rekey/transport.h"

enum rk_expiry_what {
	RK_EXPIRY_CERT,		/* a leaf: a server's, or a client's */
	RK_EXPIRY_CA,		/* a CA file: the earliest-ending certificate in it */
	RK_EXPIRY_CRL,		/* a CRL file: the earliest nextUpdate in it */
};

enum rk_expiry_source {
	RK_EXPIRY_SERVED,	/* what the server presents in its TLS handshake */
	RK_EXPIRY_DEPLOYED,	/* a file on the host, read over its transport */
	RK_EXPIRY_PLAYBOOK,	/* a file on this machine the playbook names (ca.cert, ca.crl) */
};

/* What is wrong with an item: bits, so one item can carry several. */
enum rk_expiry_problem {
	RK_EXPIRY_EXPIRING		= 1 << 0,	/* a leaf ends inside the window */
	RK_EXPIRY_EXPIRED		= 1 << 1,	/* a leaf or a CA has ended */
	RK_EXPIRY_RELOAD_PENDING	= 1 << 2,	/* served differs from the file deployed */
	RK_EXPIRY_CHAIN_INCOMPLETE	= 1 << 3,	/* the leaf without its intermediates */
	RK_EXPIRY_UNTRUSTED		= 1 << 4,	/* does not verify up to what clients trust */
	RK_EXPIRY_CRL_DUE		= 1 << 5,	/* nextUpdate inside the CRL window */
	RK_EXPIRY_CRL_EXPIRED		= 1 << 6,	/* nextUpdate past: servers refuse clients */
	RK_EXPIRY_CA_DUE		= 1 << 7,	/* a CA ends inside the window */
	RK_EXPIRY_UNREACHABLE		= 1 << 8,	/* the host or the server could not be reached */
	RK_EXPIRY_UNREADABLE		= 1 << 9,	/* the file is missing or not what it should be */
};
#define RK_EXPIRY_PROBLEMS	10

struct rk_expiry_item {
	enum rk_expiry_what		 what;
	enum rk_expiry_source		 source;
	const struct rk_service		*service;	/* whose it is: a service, a client, */
	const struct rk_client		*client;	/* or neither (the playbook's files) */
	const struct rk_host		*host;		/* NULL for the playbook's files */
	/* The playbook's certificate a server serves or a client file holds, or NULL. */
	const struct rk_certificate	*certificate;
	const char			*path;		/* borrowed from the model; NULL: served */
	bool				 known;		/* the facts below were read */
	char				 subject[256];	/* a CRL's: its issuer */
	char				 issuer[256];
	char				 fingerprint[RK_FINGERPRINT_LEN];	/* not for a CRL */
	time_t				 until;		/* notAfter, or a CRL's nextUpdate */
	long				 days_left;
	unsigned			 problems;	/* enum rk_expiry_problem bits */
	char				 detail[512];	/* why it is unreachable, unreadable or
							 * untrusted */
	char				 pending[512];	/* reload-pending: what the file holds
							 * instead */
};

struct rk_expiry_report {
	struct rk_expiry_item	*items;
	size_t			 n;
	time_t			 checked_at;
	long			 window;	/* seconds */
	long			 crl_window;
	size_t			 nproblems;	/* items with at least one problem */
	bool			 complete;	/* every host, server and file could be read */
};

/* Opens and connects a transport for host (the command line chooses ssh or local). */
typedef int (*rk_expiry_open_fn)(struct rk_transport **out, const struct rk_host *host,
    void *payload, struct rk_err *err);

struct rk_expiry_request {
	const struct rk_model	*model;
	time_t			 now;
	long			 window;	/* a leaf or CA ending sooner is flagged (seconds) */
	long			 crl_window;	/* a CRL due sooner is flagged */
	const char		*trust_file;	/* what clients trust: served and deployed leaves
						 * are verified up to it */
	rk_expiry_open_fn	 open;
	void			*payload;
	size_t			 max_parallel;	/* hosts checked at once */
};

/*
 * Looks at everything the playbook names, one worker per host (a host's services and clients
 * share its connection; probes run beside it). Fails only when out of memory: a host that
 * cannot be reached or a file that cannot be read is an item's problem, not an error.
 */
int	rk_expiry_check(struct rk_expiry_report *out, const struct rk_expiry_request *req,
	    struct rk_err *err) RK_MUST_CHECK;
void	rk_expiry_report_clear(struct rk_expiry_report *r);

/* "expiring", "reload-pending": the word of one problem bit, as --json and the metrics
 * spell it. */
const char *rk_expiry_problem_name(unsigned bit);
/* One problem of an item in a sentence, "expires in 10 days (2026-12-12), inside the 30-day
 * window", with what to do. */
void	rk_expiry_describe(char *buf, size_t size, const struct rk_expiry_report *r,
	    const struct rk_expiry_item *item, unsigned bit);
const char *rk_expiry_source_name(enum rk_expiry_source s);
const char *rk_expiry_what_name(enum rk_expiry_what w);

/*
 * Whether run --only-expiring rotates certificate c: a server serving it or a file holding it
 * ends inside the window, or none could be read (a rotation puts right what cannot be told).
 * why (may be NULL) says which, in a few words.
 */
bool	rk_expiry_certificate_due(const struct rk_expiry_report *r,
	    const struct rk_certificate *c, char *why, size_t size);
/* Whether a CRL (deployed or the playbook's) is due within the CRL window or past. */
bool	rk_expiry_crl_due(const struct rk_expiry_report *r);

/* Parses "30d", "12h", "2w" or "30" (days) into seconds; false when it is none of those or
 * is over 100 years. */
bool	rk_expiry_parse_duration(const char *text, long *seconds);

#endif
