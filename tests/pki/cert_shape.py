#!/usr/bin/env python3
"""Checks that every certificate in a rekey JSON document has the one shape the README gives.

usage: cert_shape.py inspect|verify < DOCUMENT

inspect: the output of `rekey pki inspect --json` (each certificate, bundles included; every
field known; and each file's chain, its links and its top). verify: the output of
`rekey verify --json` (each service's "certificate"; the every field known as well: the
probe keeps the served leaf). Exit 1 naming every mismatch.
"""
import json
import re
import sys

RFC3339_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
HEX_PAIRS = re.compile(r"^[0-9A-F]{2}(:[0-9A-F]{2})*$")

# field: (type, check of the value, may the probe leave it null)
SHAPE = {
    "subject": (str, None, False),
    "issuer": (str, None, False),
    "serial": (str, HEX_PAIRS.match, False),
    "sha256": (str, lambda v: HEX_PAIRS.match(v) and len(v) == 95, False),
    "san": (list, lambda v: all(isinstance(x, str) for x in v), False),
    "not_before": (str, RFC3339_UTC.match, True),
    "not_after": (str, RFC3339_UTC.match, False),
    "days_left": (int, None, False),
    "key": (str, None, True),
    "key_type": (str, lambda v: v in ("RSA", "EC", "Ed25519", "Ed448"), True),
    "key_bits": (int, lambda v: v > 0, True),
    "ca": (bool, None, True),
}
# pki inspect puts these two in front of the shape, to say which file it describes, and a
# lone certificate's file has its "chain" after it (a bundle has it beside "certificates").
INSPECT_EXTRA = {"file", "type", "chain"}
# The chain of a file of certificates: each link in the file's order, and its top.
LINK_SHAPE = {"certificate": int, "next": int, "ok": bool, "issued": bool,
              "names_match": bool, "issuer_is_ca": bool, "reversed": bool,
              "issuer_path_len": (int, type(None)), "detail": str}
TOP_SHAPE = {"certificate": int, "self_signed": bool, "ca": bool, "issuer": str,
             "issuer_found": (dict, type(None)), "detail": str}


def check(cert, where, nullable, extra, problems):
    keys = set(cert) - extra
    for missing in sorted(set(SHAPE) - keys):
        problems.append(f"{where}: no {missing}")
    for unknown in sorted(keys - set(SHAPE)):
        problems.append(f"{where}: {unknown} is not in the shape")
    for name, (kind, valid, may_be_null) in SHAPE.items():
        if name not in cert:
            continue
        value = cert[name]
        if value is None and nullable and may_be_null:
            continue
        # bool is an int in Python: a days_left of true must not pass.
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            problems.append(f"{where}: {name} is {value!r}, not {kind.__name__}")
        elif valid is not None and not valid(value):
            problems.append(f"{where}: {name} {value!r} is malformed")


def check_keys(obj, shape, where, problems):
    if not isinstance(obj, dict):
        problems.append(f"{where}: {obj!r} is not an object")
        return
    if set(obj) != set(shape):
        problems.append(f"{where}: keys {sorted(obj)}, want {sorted(shape)}")
    for name, kind in shape.items():
        if name in obj and (not isinstance(obj[name], kind) or
                            (kind is int and isinstance(obj[name], bool))):
            problems.append(f"{where}: {name} is {obj[name]!r}")


def check_chain(item, ncerts, where, problems):
    chain = item.get("chain")
    if not isinstance(chain, dict) or set(chain) != {"ok", "links", "top"}:
        problems.append(f"{where}: chain is {chain!r}")
        return
    if len(chain["links"]) != ncerts - 1:
        problems.append(f"{where}: {len(chain['links'])} links for {ncerts} certificates")
    for k, link in enumerate(chain["links"]):
        check_keys(link, LINK_SHAPE, f"{where}.links[{k}]", problems)
        if link.get("certificate") != k + 1 or link.get("next") != k + 2:
            problems.append(f"{where}.links[{k}]: not certificate {k + 1} to {k + 2}")
    check_keys(chain["top"], TOP_SHAPE, f"{where}.top", problems)
    found = chain["top"].get("issuer_found")
    if found is not None:
        check_keys(found, {"file": str, "certificate": int, "ca": bool},
                   f"{where}.top.issuer_found", problems)
    if chain["ok"] != all(link.get("ok") for link in chain["links"]):
        problems.append(f"{where}: chain ok is not every link's")


def main():
    mode = sys.argv[1] if len(sys.argv) == 2 else ""
    doc = json.load(sys.stdin)
    problems, seen = [], 0
    if mode == "inspect":
        for i, item in enumerate(doc):
            certs = item["certificates"] if item["type"] == "bundle" else [item]
            if item["type"] not in ("certificate", "bundle"):
                continue
            for k, cert in enumerate(certs):
                check(cert, f"[{i}][{k}]", False, INSPECT_EXTRA, problems)
                seen += 1
            check_chain(item, len(certs), f"[{i}]", problems)
    elif mode == "verify":
        for svc in doc["services"]:
            if "certificate" in svc:
                # The probe keeps the served leaf: every field is known there too.
                check(svc["certificate"], svc["service"], False, set(), problems)
                seen += 1
    else:
        sys.exit(__doc__)
    if seen == 0:
        problems.append("no certificate in the document")
    for p in problems:
        print(p)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
