#include "rekey/names.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rekey/strutil.h"

/* Attribute types a subject may name, as OpenSSL's -subj spells them. */
static const char *const dn_types[] = {
	"C", "ST", "L", "O", "OU", "CN", "emailAddress", "DC", "serialNumber", "street",
	"title", "GN", "SN", "UID", "postalCode", NULL,
};

static bool
is_dn_type(const char *t)
{
	size_t i;

	for (i = 0; dn_types[i] != NULL; i++)
		if (strcmp(dn_types[i], t) == 0)
			return true;
	return false;
}

/* Appends one attribute to dn after checking its type and value. */
static int
dn_add(struct rk_dn *dn, const char *type, size_t tlen, const char *value, char *why,
    size_t whysize)
{
	struct rk_dn_attr *grown, *a;
	const char *near;

	if ((grown = reallocarray(dn->attrs, dn->n + 1, sizeof(*grown))) == NULL)
		goto oom;
	dn->attrs = grown;
	a = &dn->attrs[dn->n];
	if ((a->type = strndup(type, tlen)) == NULL)
		goto oom;
	if ((a->value = strdup(value)) == NULL) {
		free(a->type);
		goto oom;
	}
	dn->n++;
	if (!is_dn_type(a->type)) {
		near = rk_closest_word(a->type, dn_types);
		snprintf(why, whysize, "unknown attribute type '%s'%s%s%s", a->type,
		    near != NULL ? " (did you mean '" : "", near != NULL ? near : "",
		    near != NULL ? "'?)" : "");
		return RK_E_USAGE;
	}
	if (*value == '\0') {
		snprintf(why, whysize, "%s has an empty value", a->type);
		return RK_E_USAGE;
	}
	if (strcmp(a->type, "C") == 0 && strlen(value) != 2) {
		snprintf(why, whysize, "the country C=%s must be a two-letter code", value);
		return RK_E_USAGE;
	}
	if (strlen(value) > 64) {
		snprintf(why, whysize, "%s is longer than 64 characters (the RFC 5280 upper bound)",
		    a->type);
		return RK_E_USAGE;
	}
	return 0;
 oom:
	snprintf(why, whysize, "out of memory");
	return RK_E_NOMEM;
}

int
rk_dn_parse(struct rk_dn *out, const char *s, char *why, size_t whysize)
{
	struct rk_dn dn = { NULL, 0 };
	const char *p = s, *type;
	size_t tlen, vlen;
	char *value;
	int r = 0;

	if (*p != '/') {
		snprintf(why, whysize, "'%s' must look like \"/O=Example/CN=db1.example.com\"", s);
		return RK_E_USAGE;
	}
	if ((value = malloc(strlen(s) + 1)) == NULL) {
		snprintf(why, whysize, "out of memory");
		return RK_E_NOMEM;
	}
	while (*p == '/' && r == 0) {
		type = ++p;
		tlen = strcspn(type, "=/");
		if (tlen == 0 || type[tlen] != '=') {
			snprintf(why, whysize, "'%s': each part is TYPE=value, as /CN=db1", s);
			r = RK_E_USAGE;
			break;
		}
		for (p = type + tlen + 1, vlen = 0; *p != '\0' && *p != '/'; p++) {
			if (*p == '\\' && p[1] != '\0')
				p++;
			value[vlen++] = *p;
		}
		value[vlen] = '\0';
		r = dn_add(&dn, type, tlen, value, why, whysize);
	}
	free(value);
	if (r != 0) {
		rk_dn_clear(&dn);
		return r;
	}
	rk_dn_clear(out);
	*out = dn;
	return 0;
}

bool
rk_dns_name_is_valid(const char *s)
{
	size_t label = 0, total = strlen(s);
	const char *p = s;

	if (total == 0 || total > 253)
		return false;
	if (p[0] == '*' && p[1] == '.')
		p += 2;			/* one wildcard, leftmost label only (RFC 6125 6.4.3) */
	for (; *p != '\0'; p++) {
		if (*p == '.') {
			if (label == 0 || p[-1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_')
			return false;
		if (label == 0 && *p == '-')
			return false;
		if (++label > 63)
			return false;
	}
	return label > 0 && p[-1] != '-';
}

int
rk_san_parse(char **out, const char *s, char *why, size_t whysize)
{
	unsigned char addr[16];
	const char *v;
	int n;

	*out = NULL;
	if (strncasecmp(s, "DNS:", 4) == 0) {
		v = s + 4;
		if (!rk_dns_name_is_valid(v)) {
			snprintf(why, whysize, "bad SAN entry '%s': '%s' is not a DNS name", s, v);
			return RK_E_USAGE;
		}
		n = asprintf(out, "DNS:%s", v);
	} else if (strncasecmp(s, "IP:", 3) == 0) {
		v = s + 3;
		if (inet_pton(AF_INET, v, addr) != 1 && inet_pton(AF_INET6, v, addr) != 1) {
			snprintf(why, whysize,
			    "bad SAN entry '%s': '%s' is not an IPv4 or IPv6 address", s, v);
			return RK_E_USAGE;
		}
		n = asprintf(out, "IP:%s", v);
	} else {
		snprintf(why, whysize,
		    "bad SAN entry '%s': write DNS:name, IP:v4-address or IP:v6-address", s);
		return RK_E_USAGE;
	}
	if (n < 0) {
		*out = NULL;
		snprintf(why, whysize, "out of memory");
		return RK_E_NOMEM;
	}
	return 0;
}

/* Lower-case letters and digits of s, so "Key-Compromise" and "keycompromise" compare equal. */
static void
fold_word(char *out, size_t size, const char *s)
{
	size_t n = 0;

	for (; *s != '\0' && n + 1 < size; s++)
		if (isalnum((unsigned char)*s))
			out[n++] = (char)tolower((unsigned char)*s);
	out[n] = '\0';
}

const char *
rk_reason_suggest(const char *word)
{
	const char *names[16];
	char folded[128], candidate[64];
	size_t n;

	fold_word(folded, sizeof(folded), word);
	for (n = 0; rk_reason_names[n].name != NULL && n + 1 < sizeof(names) / sizeof(names[0]);
	    n++) {
		names[n] = rk_reason_names[n].name;
		fold_word(candidate, sizeof(candidate), names[n]);
		if (strcmp(folded, candidate) == 0)
			return names[n];	/* "key_compromise", "KeyCompromise" */
	}
	names[n] = NULL;
	/*
	 * People write what happened ("compromised", "key compromised"): the edit distance to
	 * "keyCompromise" is too long for a typo, and the CA's own compromise is the rare case,
	 * named as such ("ca compromised", "CA key compromise").
	 */
	if (strstr(folded, "compromis") != NULL)
		return strncmp(folded, "ca", 2) == 0 || strstr(folded, "authority") != NULL ?
		    "cACompromise" : "keyCompromise";
	return rk_closest_word(word, names);
}
