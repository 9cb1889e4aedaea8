/* The validated estate a playbook describes: plain structs, read-only after parsing. */
#ifndef REKEY_MODEL_H
#define REKEY_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "rekey/diag.h"
#include "rekey/err.h"

enum rk_key_type {
	RK_KEY_RSA_2048,
	RK_KEY_RSA_3072,
	RK_KEY_RSA_4096,
	RK_KEY_EC_P256,
	RK_KEY_EC_P384,
	RK_KEY_ED25519,
};

enum rk_profile {
	RK_PROFILE_SERVER,
	RK_PROFILE_CLIENT,
	RK_PROFILE_CA,
};

/* RFC 5280 section 5.3.1 CRLReason values; the numbers are the wire values. */
enum rk_reason {
	RK_REASON_UNSPECIFIED = 0,
	RK_REASON_KEY_COMPROMISE = 1,
	RK_REASON_CA_COMPROMISE = 2,
	RK_REASON_AFFILIATION_CHANGED = 3,
	RK_REASON_SUPERSEDED = 4,
	RK_REASON_CESSATION_OF_OPERATION = 5,
};

enum rk_transport_kind {
	RK_TRANSPORT_SSH,
	RK_TRANSPORT_LOCAL,
};

enum rk_service_kind {
	RK_SERVICE_POSTGRESQL,
	RK_SERVICE_MYSQL,	/* MariaDB or MySQL: the reload statement is chosen by version */
};

enum rk_reload_kind {
	RK_RELOAD_SQL,		/* pg_reload_conf(), FLUSH SSL or ALTER INSTANCE RELOAD TLS */
	RK_RELOAD_COMMAND,	/* a command run on the host */
	RK_RELOAD_NONE,
};

enum rk_sslmode {
	RK_SSLMODE_REQUIRE,
	RK_SSLMODE_VERIFY_CA,
	RK_SSLMODE_VERIFY_FULL,
};

enum rk_tls_version {
	RK_TLS_1_2,
	RK_TLS_1_3,
};

enum rk_client_format {
	RK_FORMAT_ENV,
	RK_FORMAT_INI,
	RK_FORMAT_PG_SERVICE,
	RK_FORMAT_CONNINFO,
};

enum rk_on_failure {
	RK_ON_FAILURE_ROLLBACK,
	RK_ON_FAILURE_HALT,
	RK_ON_FAILURE_CONTINUE,
};

enum rk_revoke_kind {
	RK_REVOKE_CERT,		/* a certificate file */
	RK_REVOKE_SERIAL,	/* a serial number */
	RK_REVOKE_FOLDER,	/* every certificate in a folder issued by the CA */
	RK_REVOKE_CN,		/* every certificate the ledger holds for a common name */
};

/* Which file of a service or client a file target is. */
enum rk_file_role {
	RK_FILE_CERT,
	RK_FILE_KEY,
	RK_FILE_CA,
	RK_FILE_CRL,
};
#define RK_FILE_ROLES	4

/* Where a secret comes from. The model never holds a secret value itself. */
struct rk_secret_ref {
	char	*env;		/* an environment variable name, or NULL */
	char	*file;		/* a resolved local path, or NULL */
};

struct rk_incident {
	char		*id;		/* from the playbook, or INC-YYYYMMDD-HHMMSSZ */
	bool		 id_generated;
	enum rk_reason	 reason;
	bool		 reason_given;	/* the playbook says it (else unspecified) */
	char		*summary;	/* may be NULL */
	char		*records;	/* resolved local folder for the journal and archive */
};

/* One attribute of a distinguished name, in the order written ("/O=x/CN=y": O first). */
struct rk_dn_attr {
	char	*type;		/* "C", "ST", "L", "O", "OU", "CN", ... */
	char	*value;		/* unescaped */
};

struct rk_dn {
	struct rk_dn_attr	*attrs;
	size_t			 n;
};

struct rk_new_ca {
	char			*subject;
	struct rk_dn		 dn;
	enum rk_key_type	 key;
	int			 days;
	struct rk_pos		 pos;
};

/* ca.rotate: what a CA compromise replaces. NONE is 0, so `if (ca.rotate)` asks "is a new
 * CA made". */
enum rk_ca_rotation {
	RK_ROTATE_NONE,
	RK_ROTATE_ROOT,		/* a new self-signed CA: clients are re-rooted (`true`, `root`) */
	RK_ROTATE_INTERMEDIATE,	/* a new issuing CA signed by ca.parent; the root stays */
};

/* What files.ca of servers and clients holds when ca.cert is an intermediate. */
enum rk_trust {
	RK_TRUST_ROOT,		/* the root alone (the last certificate of ca.chain) */
	RK_TRUST_CHAIN,		/* ca.cert and the whole chain above it */
};

/* ca.parent: the CA that signed ca.cert (the root, brought online for the run). */
struct rk_ca_parent {
	bool			 present;
	char			*cert;		/* resolved local paths; key may be NULL */
	char			*key;
	char			*crl;		/* its CRL, distributed with ca.crl; may be NULL */
	struct rk_secret_ref	 key_passphrase;
	struct rk_pos		 pos;
	struct rk_pos		 cert_pos;
	struct rk_pos		 key_pos;
	struct rk_pos		 crl_pos;
};

struct rk_ca {
	char			*cert;		/* resolved local paths */
	char			*key;
	char			*crl;		/* default: ca.crl beside cert */
	/* The certificates above ca.cert up to the root, in that order (a PEM bundle); NULL:
	 * ca.cert is a root. Defaults to ca.parent.cert when only that is given. */
	char			*chain;
	enum rk_trust		 trust;
	struct rk_secret_ref	 key_passphrase;
	int			 crl_days;	/* nextUpdate = now + crl_days */
	enum rk_ca_rotation	 rotate;
	bool			 has_new;
	struct rk_new_ca	 new_ca;
	struct rk_ca_parent	 parent;
	struct rk_pos		 pos;
	struct rk_pos		 cert_pos;	/* of the values, for checks made after parsing */
	struct rk_pos		 key_pos;
	struct rk_pos		 chain_pos;
	struct rk_pos		 rotate_pos;
	struct rk_pos		 crl_pos;	/* of ca.crl, or of ca.cert when it is the default */
};

struct rk_revocation {
	enum rk_revoke_kind	 kind;
	char			*value;		/* resolved path, normalised hex serial, or CN */
	enum rk_reason		 reason;
	struct rk_pos		 pos;
};

struct rk_certificate {
	char			*name;
	enum rk_profile		 profile;
	char			*subject;	/* "/O=.../CN=..." as written */
	struct rk_dn		 dn;
	char			**san;		/* "DNS:x", "IP:y"; nsan entries */
	size_t			 nsan;
	enum rk_key_type	 key;
	int			 days;
	struct rk_secret_ref	 key_passphrase;	/* encrypt the written key when set */
	struct rk_pos		 pos;
};

struct rk_host {
	char			*name;
	enum rk_transport_kind	 transport;
	char			*address;	/* NULL for local */
	int			 port;
	char			*user;		/* NULL: the current user */
	char			*identity;	/* resolved; NULL: ssh-agent */
	struct rk_secret_ref	 identity_passphrase;
	char			*known_hosts;	/* resolved; default ~/.ssh/known_hosts */
	bool			 sudo;
	const struct rk_host	*jump;		/* bastion, or NULL */
	int			 timeout;	/* seconds, for connect and each command */
	char			**sweep_paths;	/* folders `sweep` adds on this host */
	size_t			 nsweep_paths;
	struct rk_pos		 pos;
};

struct rk_file_target {
	bool			 present;
	enum rk_file_role	 role;
	char			*path;		/* absolute, on the host */
	char			*owner;		/* NULL: keep the current owner */
	char			*group;
	mode_t			 mode;
	const struct rk_certificate *certificate;	/* for client cert/key; else NULL */
	bool			 allow_symlink;
	struct rk_pos		 pos;
};

struct rk_reload {
	enum rk_reload_kind	 kind;
	char			*command;	/* for RK_RELOAD_COMMAND */
	struct rk_pos		 pos;
};

struct rk_connect {
	char			*address;
	int			 port;
	char			*dbname;
	char			*user;
	struct rk_secret_ref	 password;
	const struct rk_certificate *certificate;	/* client certificate for cert auth */
	char			*sslcert;	/* or existing local files */
	char			*sslkey;
};

struct rk_verify_spec {
	enum rk_sslmode		 sslmode;
	enum rk_tls_version	 min_tls;
	bool			 require_tls;	/* prove that a plaintext login is refused */
};

struct rk_service {
	char			*name;
	const struct rk_host	*host;
	enum rk_service_kind	 kind;
	const char		*kind_name;	/* as written: "mariadb" or "mysql" (static) */
	const struct rk_certificate *certificate;
	struct rk_file_target	 files[RK_FILE_ROLES];
	struct rk_reload	 reload;
	struct rk_connect	 connect;
	struct rk_verify_spec	 verify;
	/* The server's log on its host: quoted when a reload is not taken. NULL: not known. */
	char			*log;
	struct rk_pos		 pos;
};

struct rk_setting {
	char		*key;
	char		*value;
	struct rk_pos	 pos;
};

struct rk_client {
	char			*name;
	const struct rk_host	*host;
	char			*path;		/* the configuration file on the host */
	enum rk_client_format	 format;
	char			*section;	/* ini / pg_service section, or NULL */
	char			*variable;	/* conninfo inside an env variable, or NULL */
	struct rk_setting	*set;
	size_t			 nset;
	struct rk_file_target	 files[RK_FILE_ROLES];
	char			*reload_command;	/* NULL: none */
	char			*verify_command;	/* NULL: none */
	bool			 verify_safe_in_rehearsal;	/* rehearse runs it too */
	struct rk_pos		 pos;
};

struct rk_policy {
	int			 max_parallel;
	int			 canary;
	enum rk_on_failure	 on_failure;
	bool			 trust_overlap;
};

/* record: what signs the incident record. */
struct rk_record_spec {
	char			*signing_key;	/* resolved; NULL: the CA key */
	struct rk_secret_ref	 signing_key_passphrase;
};

/* sweep: where `rekey sweep` looks for copies of compromised material, and how far. */
struct rk_sweep_spec {
	char			**paths;	/* absolute folders, no trailing '/'; NULL (0):
						 * the defaults (RK_SWEEP_DEFAULT_PATHS) */
	size_t			 npaths;
	int			 max_depth;	/* find -maxdepth below each path (1: its files) */
	int			 max_files;	/* regular files looked at per host */
	long long		 max_file_size;	/* bytes; a larger file is listed, not read */
	bool			 one_file_system;
	struct rk_secret_ref	*passphrases;	/* tried on encrypted keys and PKCS#12 files */
	size_t			 npassphrases;
	struct rk_pos		 pos;
};

#define RK_SWEEP_DEFAULT_PATHS	"/etc/ssl", "/etc/pki", "/etc/postgresql", "/etc/mysql", \
				"/var/lib/postgresql", "/var/lib/mysql"
#define RK_SWEEP_DEPTH_DEFAULT	8
#define RK_SWEEP_DEPTH_MAX	64
#define RK_SWEEP_FILES_DEFAULT	20000
#define RK_SWEEP_FILES_MAX	1000000
#define RK_SWEEP_SIZE_DEFAULT	(1024LL * 1024)
#define RK_SWEEP_SIZE_MAX	(64LL * 1024 * 1024)
#define RK_SWEEP_PATHS_MAX	256

struct rk_model {
	char			*playbook;	/* path as given */
	char			*base_dir;	/* relative paths resolve against it */
	int			 version;
	struct rk_incident	 incident;
	struct rk_ca		 ca;
	struct rk_revocation	*revocations;
	size_t			 nrevocations;
	struct rk_certificate	*certificates;
	size_t			 ncertificates;
	struct rk_host		*hosts;
	size_t			 nhosts;
	struct rk_service	*services;
	size_t			 nservices;
	struct rk_client	*clients;
	size_t			 nclients;
	struct rk_policy	 policy;
	struct rk_record_spec	 record;
	struct rk_sweep_spec	 sweep;
};

/* Bounds the playbook language enforces. */
#define RK_DAYS_MAX_LEAF	3650
#define RK_DAYS_MAX_CA		36500
#define RK_CRL_DAYS_MAX		365
#define RK_PARALLEL_MAX		1024
#define RK_TIMEOUT_MAX		3600

void	rk_model_free(struct rk_model *m);
void	rk_dn_clear(struct rk_dn *dn);
/* The value of the last attribute of type in dn (the CN, say), or NULL. */
const char *rk_dn_get(const struct rk_dn *dn, const char *type);

/*
 * Whether a run signs a CRL: to revoke, and also with nothing new to revoke when a server or
 * client loads one, since its nextUpdate must move forward (an expired CRL takes a server down).
 */
bool	rk_model_signs_crl(const struct rk_model *m);
/* Whether what servers and clients trust changes: a new root, or the intermediate itself
 * when files.ca holds the chain (trust: chain). Rotating an intermediate under a root that
 * clients trust changes no trust file. */
bool	rk_model_trust_changes(const struct rk_model *m);
/* Whether the CA that signs this run's certificates is an intermediate, so that certificate
 * files hold the leaf followed by the intermediates. */
bool	rk_model_leaves_have_intermediates(const struct rk_model *m);
/*
 * Narrows a run to some certificates (`run --only-expiring`), before its plan is built:
 * keep[i] says whether m->certificates[i] is issued. A service or client stays when it gets
 * a kept certificate, or when it loads a CRL and keep_crl_loaders is set (the CRL is due, or
 * revocations are made), or when the trust changes (a new CA reaches everyone); any other
 * is left out of the run, as is every certificate not kept (a client certificate a kept
 * service logs in with is kept with it). A service or client that stays without its
 * certificate keeps its other files but not its key and certificate files. Fails only when
 * out of memory, with m unchanged.
 */
int	rk_model_select(struct rk_model *m, const bool *keep, bool keep_crl_loaders,
	    struct rk_err *err) RK_MUST_CHECK;
const struct rk_host		*rk_model_find_host(const struct rk_model *m, const char *name);
const struct rk_certificate	*rk_model_find_certificate(const struct rk_model *m,
				    const char *name);

/* One row of a table mapping the playbook's words to an enum; tables end with name NULL. */
struct rk_enum_name {
	const char	*name;
	int		 value;
};

extern const struct rk_enum_name rk_key_type_names[];
extern const struct rk_enum_name rk_profile_names[];
extern const struct rk_enum_name rk_reason_names[];
extern const struct rk_enum_name rk_transport_names[];
extern const struct rk_enum_name rk_service_kind_names[];
extern const struct rk_enum_name rk_sslmode_names[];
extern const struct rk_enum_name rk_tls_version_names[];
extern const struct rk_enum_name rk_format_names[];
extern const struct rk_enum_name rk_on_failure_names[];
extern const struct rk_enum_name rk_ca_rotation_names[];
extern const struct rk_enum_name rk_trust_names[];

/* Looks word up in table; false when it is not there. */
bool	rk_enum_lookup(const struct rk_enum_name *table, const char *word, int *out);
/* The table's own spelling of word (a static string), or NULL when it is not there. */
const char *rk_enum_spelling(const struct rk_enum_name *table, const char *word);
/* The first name of value in table ("?" if absent: a bug). */
const char *rk_enum_name(const struct rk_enum_name *table, int value);

/* Names as the playbook writes them; each returns a constant string. */
const char	*rk_key_type_name(enum rk_key_type t);
const char	*rk_profile_name(enum rk_profile p);
const char	*rk_reason_name(enum rk_reason r);
const char	*rk_transport_name(enum rk_transport_kind t);
const char	*rk_service_kind_name(enum rk_service_kind k);
/* The service's kind as its playbook names it ("mariadb", "mysql", "postgresql"). */
const char	*rk_service_kind_label(const struct rk_service *svc);
const char	*rk_sslmode_name(enum rk_sslmode m);
const char	*rk_tls_version_name(enum rk_tls_version v);
const char	*rk_format_name(enum rk_client_format f);
const char	*rk_on_failure_name(enum rk_on_failure p);
const char	*rk_ca_rotation_name(enum rk_ca_rotation r);
const char	*rk_trust_name(enum rk_trust t);
const char	*rk_revoke_kind_name(enum rk_revoke_kind k);
const char	*rk_file_role_name(enum rk_file_role r);
bool		 rk_key_type_is_rsa(enum rk_key_type t);

#endif
