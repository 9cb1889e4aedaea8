/*
 * The verdict on one service. The order matters: a failed probe ends it (nothing else could
 * be judged), and no login is tried on a chain that does not verify (it would only repeat
 * the failure in a library's words).
 */
#include "rekey/verdict.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "rekey/cert.h"
#include "rekey/secret.h"

static enum rk_probe_protocol
protocol_of(const struct rk_service *s)
{
	switch (s->kind) {
	case RK_SERVICE_POSTGRESQL:	return RK_PROBE_POSTGRESQL;
	case RK_SERVICE_MYSQL:		return RK_PROBE_MYSQL;
	}
	return RK_PROBE_TLS;
}

static void
add_problem(struct rk_verdict *v, const char *what)
{
	size_t used = strlen(v->problems);

	snprintf(v->problems + used, sizeof(v->problems) - used, "%s%s", used > 0 ? "; " : "",
	    what);
	v->ok = false;
}


/*
 * The service backends start their messages with the service's label ("pg1 127.0.0.1:5432:
 * login as rekey: ..."), as a run's events need; the table already names the service, so
 * that label is dropped there rather than shown twice. Names hold no blank or ": ", so the
 * label ends at the first ": " (an IPv6 address has no blank after its colons).
 */
static const char *
without_label(const char *msg, const char *name)
{
	size_t n = strlen(name);
	const char *end;

	if (strncmp(msg, name, n) != 0 || (msg[n] != ' ' && msg[n] != ':') ||
	    (end = strstr(msg + n, ": ")) == NULL)
		return msg;
	return end + 2;
}

/* Logs in as the service's clients do (connect.user), and proves plaintext is refused. */
static void
check_login(struct rk_verdict *v, const struct rk_verdict_request *req)
{
	const struct rk_service *s = v->service;
	const struct rk_service_ops *ops = req->ops;
	struct rk_secret password = { NULL, 0 };
	struct rk_service_login login = { s, req->ca_file, req->crl_file,
	    req->cert_file != NULL ? req->cert_file : s->connect.sslcert,
	    req->cert_file != NULL ? req->key_file : s->connect.sslkey, NULL,
	    s->host != NULL ? s->host->timeout : 10 };
	struct rk_err err = { 0 };
	char why[600];

	if (s->connect.user == NULL || ops == NULL)
		return;
	v->login_checked = true;
	if (rk_secret_from_source(&password, s->connect.password.env,
	    s->connect.password.file, &err) != 0) {
		snprintf(v->login_error, sizeof(v->login_error), "%s", err.msg);
		snprintf(why, sizeof(why), "login as %s: %s", s->connect.user, err.msg);
		add_problem(v, why);
		return;
	}
	login.password = password.ptr != NULL ? &password : NULL;
	if (ops->check_login(&v->login, &login, &err) != 0) {
		snprintf(v->login_error, sizeof(v->login_error), "%s", err.msg);
		add_problem(v, without_label(err.msg, s->name));
		goto out;
	}
	if (s->verify.require_tls) {
		rk_err_clear(&err);
		if (ops->check_plaintext_refused(&v->plaintext_refused, &login, &err) != 0) {
			add_problem(v, "could not check a plaintext login");
		} else {
			v->plaintext_checked = true;
			if (!v->plaintext_refused)
				add_problem(v, "a login without TLS is accepted");
		}
	}
 out:
	rk_secret_clear(&password);
}

/*
 * OpenSSL says "self-signed certificate in certificate chain" when a server presents another
 * CA's chain; the responder needs to hear that the server is not on the CA the playbook
 * names, and which one it is on.
 */
static void
describe_chain_failure(char *buf, size_t size, const struct rk_probe_result *probe,
    const char *ca_subject)
{
	if (ca_subject[0] != '\0' && strcmp(probe->issuer, ca_subject) != 0)
		snprintf(buf, size, "not issued by ca.cert (served: issuer %s; expected %s)",
		    probe->issuer, ca_subject);
	else
		snprintf(buf, size, "chain: %s", probe->chain_error);
}

void
rk_verdict_probe_request(struct rk_probe_request *req, const struct rk_service *s,
    const char *ca_file, const char *crl_file)
{
	memset(req, 0, sizeof(*req));
	req->protocol = protocol_of(s);
	req->address = s->connect.address;
	req->port = s->connect.port;
	req->name = s->connect.address;
	req->ca_file = ca_file;
	req->crl_file = crl_file;
	req->timeout = s->host != NULL ? s->host->timeout : 10;
}

void
rk_verdict_check(struct rk_verdict *v, const struct rk_verdict_request *vreq)
{
	const struct rk_service *s = vreq->service;
	struct rk_probe_request req;
	struct rk_err err = { 0 };
	char why[640];	/* two subjects and the words around them */

	rk_verdict_probe_request(&req, s, vreq->ca_file, vreq->crl_file);
	memset(v, 0, sizeof(*v));
	v->service = s;
	v->ok = true;
	if (rk_probe(&v->probe, &req, &err) != 0) {
		snprintf(v->error, sizeof(v->error), "%s", err.msg);
		add_problem(v, "unreachable or no TLS");
		return;
	}
	v->reached = true;
	v->days_left = (long)((v->probe.not_after - time(NULL)) / 86400);
	/* Some clients have the intermediate at hand and connect; the others cannot build
	 * the chain. The cause is named rather than OpenSSL's "unable to get local issuer". */
	if (vreq->expect_intermediates && v->probe.chain_length < 2) {
		snprintf(why, sizeof(why), "serves its certificate without the intermediate CA "
		    "that signed it (%s): clients that trust only the root cannot build the "
		    "chain; the certificate file must hold the leaf, then the intermediate",
		    v->probe.issuer);
		add_problem(v, why);
	} else if (!v->probe.chain_ok) {
		describe_chain_failure(why, sizeof(why), &v->probe,
		    vreq->ca_subject != NULL ? vreq->ca_subject : "");
		add_problem(v, why);
	}
	if (s->verify.sslmode == RK_SSLMODE_VERIFY_FULL && !v->probe.name_ok) {
		snprintf(why, sizeof(why), "%s is not among the certificate's names",
		    s->connect.address);
		add_problem(v, why);
	}
	v->version_ok = !(s->verify.min_tls == RK_TLS_1_3 &&
	    strcmp(v->probe.protocol, "TLSv1.3") != 0);
	if (!v->version_ok) {
		snprintf(why, sizeof(why), "negotiated %s, below min_tls %s", v->probe.protocol,
		    rk_tls_version_name(s->verify.min_tls));
		add_problem(v, why);
	}
	if (v->probe.not_after < time(NULL))
		add_problem(v, "certificate expired");
	/* What must not work: a handshake older than min_tls. */
	rk_err_clear(&err);
	if (rk_probe_refuses_older_than(&v->old_tls_refused, &req,
	    rk_probe_version_of(s->verify.min_tls), &err) != 0) {
		snprintf(v->old_tls_error, sizeof(v->old_tls_error), "%s", err.msg);
		add_problem(v, "could not check older TLS versions");
	} else {
		v->old_tls_checked = true;
		if (!v->old_tls_refused) {
			snprintf(why, sizeof(why), "accepts TLS older than %s",
			    rk_tls_version_name(s->verify.min_tls));
			add_problem(v, why);
		}
	}
	/* A login verifies the same chain and would only repeat its failure in a library's
	 * words ("self-signed certificate in certificate chain"). */
	if (v->probe.chain_ok)
		check_login(v, vreq);
	else if (s->connect.user != NULL)
		add_problem(v, "login not tried: the chain does not verify");
}

void
rk_verdict_ca_subject(char *buf, size_t size, const char *path)
{
	struct rk_cert *ca = NULL;
	struct rk_err err = { 0 };

	buf[0] = '\0';
	/* Unreadable: the probe reports it, and chain errors keep OpenSSL's words. */
	if (rk_cert_load_file(&ca, path, &err) == 0 && rk_cert_subject(buf, size, ca) < 0)
		buf[0] = '\0';
	rk_cert_free(ca);
}


const char *
rk_verdict_what_was_verified(enum rk_sslmode mode)
{
	switch (mode) {
	case RK_SSLMODE_VERIFY_FULL:	return "chain and name verified";
	case RK_SSLMODE_VERIFY_CA:	return "chain verified (verify-ca: the name is not checked)";
	case RK_SSLMODE_REQUIRE:	return "chain verified (require: the name is not checked)";
	}
	return "?";
}
