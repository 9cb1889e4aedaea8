/*
 * Where else the compromised material is (issue 18): every host of the playbook searched,
 * over its transport, for copies of the keys and certificates an incident replaces, whatever
 * their encoding. The host runs one bounded `find` and sends back its candidate files as one
 * tar stream over the open session; everything is matched here, on the controller. Reads and
 * reports; never deletes or changes a file.
 */
#ifndef REKEY_SWEEP_H
#define REKEY_SWEEP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "rekey/cert.h"
#include "rekey/digest.h"
#include "rekey/err.h"
#include "rekey/material.h"
#include "rekey/model.h"
#include "rekey/secret.h"
#include "rekey/transport.h"

/* A host's answer is capped (the tar of its candidate files); past it, the rest is not read. */
#define RK_SWEEP_OUTPUT_MAX	(64u * 1024 * 1024)

/* What one item of the compromised set is. */
enum rk_sweep_kind {
	RK_SWEEP_KEY,		/* a key (its certificates carry it too) */
	RK_SWEEP_CERTIFICATE,	/* a certificate, and the key it holds */
	RK_SWEEP_CA,		/* a compromised CA: its key, its certificate, what it issued */
};

/* One thing looked for. A field left "" is not matched on. */
struct rk_sweep_target {
	enum rk_sweep_kind	 kind;
	char			 name[128];	/* "db1-server", "the old CA", "leaked.pem" */
	char			 source[600];	/* where it was learnt, in words */
	char			 spki_sha256[RK_SHA256_HEX];
	char			 fingerprint[RK_FINGERPRINT_LEN];
	/* A certificate known only by its serial (revoke: serial, cn): matched by issuer too. */
	char			 serial[RK_MATERIAL_SERIAL_LEN];
	char			 issuer[256];
	int			 ca_index;	/* RK_SWEEP_CA: its index in the request's cas */
};

/* A file on a host whose material is compromised: read first, to learn what to look for. */
struct rk_sweep_source {
	const struct rk_host	*host;
	const char		*path;
	const char		*name;		/* the playbook's certificate it holds */
	const char		*what;		/* "deployed", "the run's backup of /x" */
};

/* A path the playbook or a run put there, so a finding says whose it is. */
struct rk_sweep_managed {
	const struct rk_host	*host;
	const char		*path;
	const char		*label;		/* "files.key of service pg-a" */
};

enum rk_sweep_class {
	RK_SWEEP_COMPROMISED,	/* holds an item of the compromised set */
	RK_SWEEP_EXPOSED,	/* a private key any user of the host may read */
	RK_SWEEP_UNREADABLE,	/* a file or folder the sweep could not read */
	RK_SWEEP_TOO_LARGE,	/* a key-like file over max_file_size, not read */
};

struct rk_sweep_finding {
	size_t			 host;		/* index in the model's hosts */
	char			*path;
	char			 owner[64];
	char			 group[64];
	mode_t			 mode;
	unsigned long long	 size;
	enum rk_sweep_class	 cls;
	bool			 has_item;
	struct rk_material_item	 item;		/* when has_item */
	int			 target;	/* index in the report's targets, or -1 */
	/* "key", "certificate", "issued-by-ca", "serial", or "beside": an encrypted key with
	 * no passphrase given, named like a compromised file beside it (db.key by db.crt) */
	const char		*match;
	const char		*managed;	/* borrowed label, or NULL */
	bool			 world_readable;
	bool			 is_folder;	/* unreadable: a folder, not a file */
};

struct rk_sweep_host {
	bool			 swept;
	char			 error[512];	/* why it could not be, or a source not read */
	char			**folders;	/* what was searched, homes resolved there */
	size_t			 nfolders;
	char			**missing;	/* folders that are not there */
	size_t			 nmissing;
	size_t			 files_seen;	/* regular files in reach (up to max_files + 1) */
	size_t			 files_read;	/* candidates read and matched */
	bool			 truncated;	/* max_files or the output cap cut the sweep */
	/* Unreadable files whose names say nothing of keys (a database's own): counted only. */
	size_t			 unreadable_other;
	double			 seconds;
};

struct rk_sweep_report {
	struct rk_sweep_target	*targets;
	size_t			 ntargets;
	struct rk_sweep_host	*hosts;		/* one per model host */
	size_t			 nhosts;
	struct rk_sweep_finding	*findings;	/* by host, then path */
	size_t			 nfindings;
	size_t			 counts[4];	/* by enum rk_sweep_class */
	size_t			 hosts_swept;
	size_t			 hosts_with_compromised;
	/* Sources that could not be read (their host, or the file gone): said in words. */
	char			**notes;
	size_t			 nnotes;
};

typedef int (*rk_sweep_open_fn)(struct rk_transport **out, const struct rk_host *host,
    void *payload, struct rk_err *err);

struct rk_sweep_request {
	const struct rk_model		*model;
	/* Known before any host is reached (--match, revoke:, the old CA); copied. */
	const struct rk_sweep_target	*targets;
	size_t				 ntargets;
	/* Read on their hosts first; every certificate and key in them is looked for. */
	const struct rk_sweep_source	*sources;
	size_t				 nsources;
	const struct rk_sweep_managed	*managed;
	size_t				 nmanaged;
	/* Compromised CAs (borrowed): every certificate one of them issued is a finding. */
	const struct rk_cert *const	*cas;
	size_t				 ncas;
	const struct rk_secret		*passphrases;	/* for encrypted keys and PKCS#12 */
	size_t				 npassphrases;
	/* The folders of every host instead of sweep.paths (--paths); NULL: the playbook's. */
	const char *const		*paths;
	size_t				 npaths;
	rk_sweep_open_fn		 open;
	void				*payload;
	size_t				 max_parallel;
	/*
	 * Tests and fuzzing: host i's command output as given here (any bytes), instead of
	 * reaching it; sources are then not read. NULL in every real sweep.
	 */
	const struct rk_bytes		*outputs;
};

/*
 * Reads the sources, then sweeps every host (one worker per host, a host's one session for
 * both). A host that cannot be reached is its rk_sweep_host's error, not a failure: fails
 * only when out of memory or the request is wrong.
 */
int	rk_sweep_run(struct rk_sweep_report *out, const struct rk_sweep_request *req,
	    struct rk_err *err) RK_MUST_CHECK;
void	rk_sweep_report_clear(struct rk_sweep_report *r);

/*
 * The folders swept on host: req->paths or sweep.paths or the defaults, the folders of the
 * files the playbook names there, and host->sweep_paths; nested ones dropped. *out and its
 * strings malloc'ed. Homes are added on the host itself.
 */
int	rk_sweep_folders(char ***out, size_t *n, const struct rk_model *m,
	    const struct rk_host *host, const char *const *paths, size_t npaths,
	    struct rk_err *err) RK_MUST_CHECK;

const char *rk_sweep_class_name(enum rk_sweep_class c);
const char *rk_sweep_kind_name(enum rk_sweep_kind k);
/* What to do about a finding, in one sentence. */
void	rk_sweep_advice(char *buf, size_t size, const struct rk_sweep_report *r,
	    const struct rk_sweep_finding *f);

#endif
