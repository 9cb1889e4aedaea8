#!/usr/bin/env python3
"""Prints the diagnostics of `rekey plan --json` as rekey's text form, one a line.

Reads the JSON document on stdin. With errors it must be exactly {"errors": [...],
"warnings": [...]}; a plan document must carry "warnings". Each entry must have the keys
file, line, column and message, with line and column integers (or both null). Exits 1 with a
reason when the document is not of that shape.
"""
import json
import sys


def entry_line(e, severity):
    if set(e) != {"file", "line", "column", "message"}:
        sys.exit(f"json-diags: entry keys {sorted(e)}")
    if not isinstance(e["file"], str) or not isinstance(e["message"], str):
        sys.exit("json-diags: file and message must be strings")
    if e["line"] is None and e["column"] is None:
        return f'{e["file"]}: {severity}: {e["message"]}'
    if not (isinstance(e["line"], int) and isinstance(e["column"], int)):
        sys.exit("json-diags: line and column must be integers")
    return f'{e["file"]}:{e["line"]}:{e["column"]}: {severity}: {e["message"]}'


def main():
    doc = json.load(sys.stdin)
    if "errors" in doc:
        if set(doc) != {"errors", "warnings"}:
            sys.exit(f"json-diags: an error document has keys {sorted(doc)}")
    elif doc.get("rekey_plan") != 1 or "warnings" not in doc:
        sys.exit("json-diags: neither an error document nor a plan with warnings")
    for key, severity in (("errors", "error"), ("warnings", "warning")):
        for e in doc.get(key, []):
            print(entry_line(e, severity))


main()
