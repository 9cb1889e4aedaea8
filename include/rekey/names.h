/* Distinguished names ("/O=Example/CN=db1") and SAN entries ("DNS:x", "IP:y"), as people write them. */
#ifndef REKEY_NAMES_H
#define REKEY_NAMES_H

#include <stdbool.h>
#include <stddef.h>

#include "rekey/err.h"
#include "rekey/model.h"

/*
 * Parses a subject such as "/O=Example/CN=db1"; "\/" escapes a slash in a value. Returns 0,
 * RK_E_USAGE with a one-line reason in why and *out untouched, or RK_E_NOMEM.
 */
int	rk_dn_parse(struct rk_dn *out, const char *s, char *why, size_t whysize) RK_MUST_CHECK;
/* Parses "DNS:name", "IP:v4" or "IP:v6" (prefix in any case) into *out, malloc'ed as "DNS:x";
 * returns as rk_dn_parse. */
int	rk_san_parse(char **out, const char *s, char *why, size_t whysize) RK_MUST_CHECK;
/* A host name as a SAN may hold it: letters, digits, '-', '_', one leading "*." wildcard. */
bool	rk_dns_name_is_valid(const char *s);
/*
 * The revocation reason (rk_reason_names, RFC 5280 5.3.1) a word that is none most likely
 * means, or NULL: a spelling in another case or with separators, what people write for a
 * key compromise ("compromised" means keyCompromise, "ca compromised" cACompromise), a typo.
 * One function for the playbook's reason: and pki revoke's --reason.
 */
const char *rk_reason_suggest(const char *word);

#endif
