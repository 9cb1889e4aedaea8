#include "rekey/model.h"

#include <stdlib.h>
#include <string.h>

#include "rekey/err.h"

const struct rk_enum_name rk_key_type_names[] = {
	{ "rsa-2048", RK_KEY_RSA_2048 },
	{ "rsa-3072", RK_KEY_RSA_3072 },
	{ "rsa-4096", RK_KEY_RSA_4096 },
	{ "ec-p256", RK_KEY_EC_P256 },
	{ "ec-p384", RK_KEY_EC_P384 },
	{ "ed25519", RK_KEY_ED25519 },
	{ NULL, 0 },
};

const struct rk_enum_name rk_profile_names[] = {
	{ "server", RK_PROFILE_SERVER },
	{ "client", RK_PROFILE_CLIENT },
	{ "ca", RK_PROFILE_CA },
	{ NULL, 0 },
};

const struct rk_enum_name rk_reason_names[] = {
	{ "unspecified", RK_REASON_UNSPECIFIED },
	{ "keyCompromise", RK_REASON_KEY_COMPROMISE },
	{ "cACompromise", RK_REASON_CA_COMPROMISE },
	{ "affiliationChanged", RK_REASON_AFFILIATION_CHANGED },
	{ "superseded", RK_REASON_SUPERSEDED },
	{ "cessationOfOperation", RK_REASON_CESSATION_OF_OPERATION },
	{ NULL, 0 },
};

/* `true` is today's re-rooting, kept for the playbooks written before intermediates. */
const struct rk_enum_name rk_ca_rotation_names[] = {
	{ "root", RK_ROTATE_ROOT },
	{ "intermediate", RK_ROTATE_INTERMEDIATE },
	{ NULL, 0 },
};

const struct rk_enum_name rk_trust_names[] = {
	{ "root", RK_TRUST_ROOT },
	{ "chain", RK_TRUST_CHAIN },
	{ NULL, 0 },
};

const struct rk_enum_name rk_transport_names[] = {
	{ "ssh", RK_TRANSPORT_SSH },
	{ "local", RK_TRANSPORT_LOCAL },
	{ NULL, 0 },
};

const struct rk_enum_name rk_service_kind_names[] = {
	{ "postgresql", RK_SERVICE_POSTGRESQL },
	{ "mysql", RK_SERVICE_MYSQL },
	{ "mariadb", RK_SERVICE_MYSQL },
	{ NULL, 0 },
};

const struct rk_enum_name rk_sslmode_names[] = {
	{ "require", RK_SSLMODE_REQUIRE },
	{ "verify-ca", RK_SSLMODE_VERIFY_CA },
	{ "verify-full", RK_SSLMODE_VERIFY_FULL },
	{ NULL, 0 },
};

const struct rk_enum_name rk_tls_version_names[] = {
	{ "TLSv1.2", RK_TLS_1_2 },
	{ "TLSv1.3", RK_TLS_1_3 },
	{ NULL, 0 },
};

const struct rk_enum_name rk_format_names[] = {
	{ "env", RK_FORMAT_ENV },
	{ "ini", RK_FORMAT_INI },
	{ "pg_service", RK_FORMAT_PG_SERVICE },
	{ "conninfo", RK_FORMAT_CONNINFO },
	{ NULL, 0 },
};

const struct rk_enum_name rk_on_failure_names[] = {
	{ "rollback", RK_ON_FAILURE_ROLLBACK },
	{ "halt", RK_ON_FAILURE_HALT },
	{ "continue", RK_ON_FAILURE_CONTINUE },
	{ NULL, 0 },
};

const char *
rk_enum_spelling(const struct rk_enum_name *table, const char *word)
{
	for (; table->name != NULL; table++)
		if (strcmp(table->name, word) == 0)
			return table->name;
	return NULL;
}

bool
rk_enum_lookup(const struct rk_enum_name *table, const char *word, int *out)
{
	for (; table->name != NULL; table++) {
		if (strcmp(table->name, word) == 0) {
			*out = table->value;
			return true;
		}
	}
	return false;
}

const char *
rk_enum_name(const struct rk_enum_name *table, int value)
{
	for (; table->name != NULL; table++)
		if (table->value == value)
			return table->name;
	return "?";
}

const char *
rk_key_type_name(enum rk_key_type t)
{
	return rk_enum_name(rk_key_type_names, (int)t);
}

const char *
rk_profile_name(enum rk_profile p)
{
	return rk_enum_name(rk_profile_names, (int)p);
}

const char *
rk_reason_name(enum rk_reason r)
{
	return rk_enum_name(rk_reason_names, (int)r);
}

const char *
rk_transport_name(enum rk_transport_kind t)
{
	return rk_enum_name(rk_transport_names, (int)t);
}

const char *
rk_service_kind_name(enum rk_service_kind k)
{
	return rk_enum_name(rk_service_kind_names, (int)k);
}

bool
rk_model_signs_crl(const struct rk_model *m)
{
	size_t i;

	/* Rotating an intermediate signs the root's CRL, and the hosts get every link's. */
	if (m->nrevocations > 0 || m->ca.rotate == RK_ROTATE_INTERMEDIATE)
		return true;
	for (i = 0; i < m->nservices; i++)
		if (m->services[i].files[RK_FILE_CRL].present)
			return true;
	for (i = 0; i < m->nclients; i++)
		if (m->clients[i].files[RK_FILE_CRL].present)
			return true;
	return false;
}

const char *
rk_service_kind_label(const struct rk_service *svc)
{
	return svc->kind_name != NULL ? svc->kind_name : rk_service_kind_name(svc->kind);
}

const char *
rk_sslmode_name(enum rk_sslmode m)
{
	return rk_enum_name(rk_sslmode_names, (int)m);
}

const char *
rk_tls_version_name(enum rk_tls_version v)
{
	return rk_enum_name(rk_tls_version_names, (int)v);
}

const char *
rk_format_name(enum rk_client_format f)
{
	return rk_enum_name(rk_format_names, (int)f);
}

const char *
rk_on_failure_name(enum rk_on_failure p)
{
	return rk_enum_name(rk_on_failure_names, (int)p);
}

const char *
rk_ca_rotation_name(enum rk_ca_rotation r)
{
	return r == RK_ROTATE_NONE ? "none" : rk_enum_name(rk_ca_rotation_names, (int)r);
}

const char *
rk_trust_name(enum rk_trust t)
{
	return rk_enum_name(rk_trust_names, (int)t);
}

bool
rk_model_trust_changes(const struct rk_model *m)
{
	return m->ca.rotate == RK_ROTATE_ROOT || (m->ca.rotate == RK_ROTATE_INTERMEDIATE &&
	    m->ca.trust == RK_TRUST_CHAIN);
}

bool
rk_model_leaves_have_intermediates(const struct rk_model *m)
{
	return m->ca.rotate != RK_ROTATE_ROOT && (m->ca.chain != NULL ||
	    m->ca.rotate == RK_ROTATE_INTERMEDIATE);
}

const char *
rk_revoke_kind_name(enum rk_revoke_kind k)
{
	switch (k) {
	case RK_REVOKE_CERT:	return "cert";
	case RK_REVOKE_SERIAL:	return "serial";
	case RK_REVOKE_FOLDER:	return "folder";
	case RK_REVOKE_CN:	return "cn";
	}
	return "?";
}

const char *
rk_file_role_name(enum rk_file_role r)
{
	switch (r) {
	case RK_FILE_CERT:	return "cert";
	case RK_FILE_KEY:	return "key";
	case RK_FILE_CA:	return "ca";
	case RK_FILE_CRL:	return "crl";
	}
	return "?";
}

bool
rk_key_type_is_rsa(enum rk_key_type t)
{
	switch (t) {
	case RK_KEY_RSA_2048:
	case RK_KEY_RSA_3072:
	case RK_KEY_RSA_4096:
		return true;
	case RK_KEY_EC_P256:
	case RK_KEY_EC_P384:
	case RK_KEY_ED25519:
		return false;
	}
	return false;
}

const struct rk_host *
rk_model_find_host(const struct rk_model *m, const char *name)
{
	size_t i;

	/* While parsing, an entry whose name was refused has none: skip it. */
	for (i = 0; i < m->nhosts; i++)
		if (m->hosts[i].name != NULL && strcmp(m->hosts[i].name, name) == 0)
			return &m->hosts[i];
	return NULL;
}

const struct rk_certificate *
rk_model_find_certificate(const struct rk_model *m, const char *name)
{
	size_t i;

	for (i = 0; i < m->ncertificates; i++)
		if (m->certificates[i].name != NULL && strcmp(m->certificates[i].name, name) == 0)
			return &m->certificates[i];
	return NULL;
}

void
rk_dn_clear(struct rk_dn *dn)
{
	size_t i;

	for (i = 0; i < dn->n; i++) {
		free(dn->attrs[i].type);
		free(dn->attrs[i].value);
	}
	free(dn->attrs);
	dn->attrs = NULL;
	dn->n = 0;
}

const char *
rk_dn_get(const struct rk_dn *dn, const char *type)
{
	const char *found = NULL;
	size_t i;

	for (i = 0; i < dn->n; i++)
		if (strcmp(dn->attrs[i].type, type) == 0)
			found = dn->attrs[i].value;
	return found;
}

static void
strings_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void
secret_ref_clear(struct rk_secret_ref *s)
{
	free(s->env);
	free(s->file);
}

static void
file_targets_clear(struct rk_file_target *files)
{
	size_t i;

	for (i = 0; i < RK_FILE_ROLES; i++) {
		free(files[i].path);
		free(files[i].owner);
		free(files[i].group);
	}
}

static void
certificate_clear(struct rk_certificate *c)
{
	size_t j;

	free(c->name);
	free(c->subject);
	rk_dn_clear(&c->dn);
	for (j = 0; j < c->nsan; j++)
		free(c->san[j]);
	free(c->san);
	secret_ref_clear(&c->key_passphrase);
}

static void
service_clear(struct rk_service *s)
{
	free(s->name);
	file_targets_clear(s->files);
	free(s->reload.command);
	free(s->log);
	free(s->connect.address);
	free(s->connect.dbname);
	free(s->connect.user);
	secret_ref_clear(&s->connect.password);
	free(s->connect.sslcert);
	free(s->connect.sslkey);
}

static void
client_clear(struct rk_client *c)
{
	size_t j;

	free(c->name);
	free(c->path);
	free(c->section);
	free(c->variable);
	for (j = 0; j < c->nset; j++) {
		free(c->set[j].key);
		free(c->set[j].value);
	}
	free(c->set);
	file_targets_clear(c->files);
	free(c->reload_command);
	free(c->verify_command);
}

/* ---- narrowing a run ---------------------------------------------------------------------- */

static bool
kept(const struct rk_model *m, const bool *keep, const struct rk_certificate *c)
{
	return c != NULL && keep[c - m->certificates];
}

static bool
stays(const struct rk_model *m, const bool *keep, const struct rk_file_target *files,
    const struct rk_certificate *own, bool crl_loaders, bool trust)
{
	return kept(m, keep, own) || (crl_loaders && files[RK_FILE_CRL].present) ||
	    (trust && files[RK_FILE_CA].present);
}

/* The key and certificate files of a unit that stays without its certificate are not
 * pushed; their strings are freed with the model as ever. */
static void
drop_leaf_files(struct rk_file_target *files)
{
	files[RK_FILE_KEY].present = false;
	files[RK_FILE_CERT].present = false;
}

static const struct rk_certificate *
moved(const struct rk_certificate *c, const struct rk_certificate *old,
    struct rk_certificate *fresh, const size_t *index)
{
	return c != NULL ? &fresh[index[c - old]] : NULL;
}

int
rk_model_select(struct rk_model *m, const bool *keep_in, bool keep_crl_loaders,
    struct rk_err *err)
{
	bool trust = rk_model_trust_changes(m), *keep = NULL, *svc_stays = NULL, *cli_stays = NULL;
	struct rk_certificate *certs = NULL;
	size_t *index = NULL, i, n;
	int r = 0;

	if ((keep = calloc(m->ncertificates + 1, sizeof(*keep))) == NULL ||
	    (index = calloc(m->ncertificates + 1, sizeof(*index))) == NULL ||
	    (svc_stays = calloc(m->nservices + 1, sizeof(*svc_stays))) == NULL ||
	    (cli_stays = calloc(m->nclients + 1, sizeof(*cli_stays))) == NULL ||
	    (certs = calloc(m->ncertificates + 1, sizeof(*certs))) == NULL) {
		r = rk_fail_nomem(err);
		goto out;
	}
	memcpy(keep, keep_in, m->ncertificates * sizeof(*keep));
	for (i = 0; i < m->nservices; i++)
		svc_stays[i] = stays(m, keep, m->services[i].files, m->services[i].certificate,
		    keep_crl_loaders, trust);
	for (i = 0; i < m->nclients; i++)
		cli_stays[i] = stays(m, keep, m->clients[i].files,
		    m->clients[i].files[RK_FILE_CERT].certificate, keep_crl_loaders, trust);
	/* A service that stays logs in with its client certificate: that one is issued too. */
	for (i = 0; i < m->nservices; i++)
		if (svc_stays[i] && m->services[i].connect.certificate != NULL)
			keep[m->services[i].connect.certificate - m->certificates] = true;

	/* Nothing can fail from here on: the model is changed in place. */
	for (i = n = 0; i < m->ncertificates; i++) {
		if (!keep[i]) {
			certificate_clear(&m->certificates[i]);
			continue;
		}
		index[i] = n;
		certs[n++] = m->certificates[i];
	}
	for (i = 0; i < m->nservices; i++) {
		struct rk_service *s = &m->services[i];

		if (!kept(m, keep, s->certificate)) {
			s->certificate = NULL;
			drop_leaf_files(s->files);
		}
		s->certificate = moved(s->certificate, m->certificates, certs, index);
		s->connect.certificate = moved(s->connect.certificate, m->certificates, certs,
		    index);
	}
	for (i = 0; i < m->nclients; i++) {
		struct rk_client *c = &m->clients[i];
		size_t k;

		if (!kept(m, keep, c->files[RK_FILE_CERT].certificate))
			drop_leaf_files(c->files);
		for (k = 0; k < RK_FILE_ROLES; k++)
			c->files[k].certificate = c->files[k].present ?
			    moved(c->files[k].certificate, m->certificates, certs, index) : NULL;
	}
	free(m->certificates);
	m->certificates = certs;
	m->ncertificates = n;
	certs = NULL;
	for (i = n = 0; i < m->nservices; i++) {
		if (svc_stays[i])
			m->services[n++] = m->services[i];
		else
			service_clear(&m->services[i]);
	}
	m->nservices = n;
	for (i = n = 0; i < m->nclients; i++) {
		if (cli_stays[i])
			m->clients[n++] = m->clients[i];
		else
			client_clear(&m->clients[i]);
	}
	m->nclients = n;
 out:
	free(keep);
	free(index);
	free(svc_stays);
	free(cli_stays);
	free(certs);
	return r;
}

void
rk_model_free(struct rk_model *m)
{
	size_t i;

	if (m == NULL)
		return;
	free(m->playbook);
	free(m->base_dir);
	free(m->incident.id);
	free(m->incident.summary);
	free(m->incident.records);
	free(m->ca.cert);
	free(m->ca.key);
	free(m->ca.crl);
	free(m->ca.chain);
	secret_ref_clear(&m->ca.key_passphrase);
	free(m->ca.parent.cert);
	free(m->ca.parent.key);
	free(m->ca.parent.crl);
	secret_ref_clear(&m->ca.parent.key_passphrase);
	free(m->record.signing_key);
	secret_ref_clear(&m->record.signing_key_passphrase);
	free(m->ca.new_ca.subject);
	rk_dn_clear(&m->ca.new_ca.dn);
	for (i = 0; i < m->nrevocations; i++)
		free(m->revocations[i].value);
	free(m->revocations);
	for (i = 0; i < m->ncertificates; i++)
		certificate_clear(&m->certificates[i]);
	free(m->certificates);
	for (i = 0; i < m->nhosts; i++) {
		struct rk_host *h = &m->hosts[i];

		free(h->name);
		free(h->address);
		free(h->user);
		free(h->identity);
		secret_ref_clear(&h->identity_passphrase);
		free(h->known_hosts);
		strings_free(h->sweep_paths, h->nsweep_paths);
	}
	free(m->hosts);
	strings_free(m->sweep.paths, m->sweep.npaths);
	for (i = 0; i < m->sweep.npassphrases; i++)
		secret_ref_clear(&m->sweep.passphrases[i]);
	free(m->sweep.passphrases);
	for (i = 0; i < m->nservices; i++)
		service_clear(&m->services[i]);
	free(m->services);
	for (i = 0; i < m->nclients; i++)
		client_clear(&m->clients[i]);
	free(m->clients);
	free(m);
}
