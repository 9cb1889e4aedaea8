/* A bounded YAML tree built from libyaml events: no aliases, no anchors, capped depth and size. */
#ifndef REKEY_YAMLTREE_H
#define REKEY_YAMLTREE_H

#include <stdbool.h>
#include <stddef.h>

#include "rekey/bytes.h"
#include "rekey/diag.h"

enum rk_ynode_kind {
	RK_YNODE_SCALAR,
	RK_YNODE_SEQ,
	RK_YNODE_MAP,
};

struct rk_ynode {
	enum rk_ynode_kind	 kind;
	struct rk_pos		 pos;
	/* Scalars: value is NUL-terminated; len < strlen() means it holds a NUL byte. */
	char			*value;
	size_t			 len;
	bool			 plain;		/* unquoted, so null/true/42 mean what they say */
	/* Collections: a sequence's items, or a mapping's keys and values alternating. */
	struct rk_ynode		**items;
	size_t			 n, cap;
};

struct rk_ytree_limits {
	size_t	max_depth;
	size_t	max_nodes;
	size_t	max_scalar;
};

/*
 * Builds the tree of the single YAML document in text. Problems (syntax, aliases, anchors,
 * limits, a second document, a non-scalar key, duplicate keys) become error diags; any error
 * leaves *out NULL. An empty stream gives *out NULL and no diag: the caller says "empty".
 * Returns false only when memory ran out.
 */
bool	rk_ytree_parse(struct rk_ynode **out, struct rk_bytes text,
	    const struct rk_ytree_limits *limits, struct rk_diags *diags);
void	rk_ynode_free(struct rk_ynode *node);

/* A mapping's value for key, or NULL. */
const struct rk_ynode *rk_ynode_get(const struct rk_ynode *map, const char *key);
/* A plain scalar that YAML reads as null: empty, "~", "null". */
bool	rk_ynode_is_null(const struct rk_ynode *node);
const char *rk_ynode_kind_name(const struct rk_ynode *node);

#endif
