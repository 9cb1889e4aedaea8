#!/usr/bin/env bash
# The man pages render without a single warning (groff -ww, man --warnings at 80 columns, no
# line wider than that), lexgrog reads their NAME lines, and they cannot drift from the
# program: every command and option that `rekey --help` and each command's --help print is an
# entry of its own subsection of doc/rekey.1 (and no entry there names an option the command
# does not take), every key of every key table of src/parse/playbook.c is an entry of its
# section of doc/rekey-playbook.5, both pages carry the version `rekey --version` prints, and
# the playbook page's example is a playbook `rekey plan` accepts.
# Usage: tests/doc/man.sh REKEY REPO
set -euo pipefail
# shellcheck source=../check.sh
. "$(dirname "${BASH_SOURCE[0]}")/../check.sh"
rekey=${1:?usage: man.sh REKEY REPO}
repo=${2:?usage: man.sh REKEY REPO}
page1=$repo/doc/rekey.1
page5=$repo/doc/rekey-playbook.5
parser=$repo/src/parse/playbook.c
# shellcheck source=help.sh
. "$(dirname "${BASH_SOURCE[0]}")/help.sh"

for tool in groff man lexgrog; do
	command -v "$tool" >/dev/null ||
		{ echo "man.sh: no $tool (scripts/install-deps.sh installs groff-base and man-db)" >&2; exit 1; }
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export LC_ALL=C.UTF-8 MANWIDTH=80 MANPAGER=cat PAGER=cat

# ---- rendering -------------------------------------------------------------------------------

# page NAME SECTION: the file renders cleanly and its NAME line parses.
check_rendering() {
	local page=$1 name=$2 out
	if LC_ALL=C grep -q $'[\x01-\x08\x0b-\x1f\x7f]' "$page"; then
		bad "$page holds a control character (a stray \\f written by a script?)"
	fi
	out=$(groff -ww -z -man "$page" 2>&1) || bad "$page: groff failed"
	[ -z "$out" ] && ok "$page: groff -ww -z -man says nothing" ||
		bad "$page: groff -ww -z -man: $out"
	out=$(man --warnings -l "$page" 2>&1 >"$tmp/rendered") || bad "$page: man -l failed"
	[ -z "$out" ] && ok "$page: man --warnings -l says nothing" ||
		bad "$page: man --warnings -l: $out"
	out=$(awk 'length > 80 { printf "line %d: %d columns\n", NR, length }' "$tmp/rendered")
	[ -z "$out" ] && ok "$page: no rendered line wider than 80 columns" ||
		bad "$page: wider than MANWIDTH=80: $out"
	grep -q '^NAME$' "$tmp/rendered" || bad "$page: rendered without a NAME section"
	out=$(lexgrog "$page" 2>&1) || bad "$page: lexgrog cannot parse it: $out"
	case $out in
	"$page: \"$name - "*\") ok "$page: lexgrog reads the NAME line as '$name - ...'" ;;
	*) bad "$page: lexgrog says: $out (expected '$name - ...')" ;;
	esac
}
check_rendering "$page1" rekey
check_rendering "$page5" rekey-playbook

version=$("$rekey" --version)
for page in "$page1" "$page5"; do
	th=$(grep -m1 '^\.TH ' "$page")
	case $th in
	*"\"$version\""*) ok "$page: .TH says \"$version\", as rekey --version" ;;
	*) bad "$page: .TH ($th) does not carry \"$version\" that rekey --version prints" ;;
	esac
done

# ---- the entries of a page -------------------------------------------------------------------

# Prints one line per tagged paragraph (.TP) of a page: section, subsection and each word of
# its tag, with roff's escapes and quotes taken out (\- is -, \fB and \& are nothing).
tags_of() {
	awk '
	function clean(s) {
		gsub(/\\-/, "-", s); gsub(/\\f[BIRP]/, "", s); gsub(/\\&/, "", s)
		gsub(/"/, " ", s); return s
	}
	/^\.SH / { sh = clean(substr($0, 5)); ss = ""; next }
	/^\.SS / { ss = clean(substr($0, 5)); gsub(/^ +| +$/, "", ss); next }
	/^\.TP/ { want = 1; next }
	want {
		want = 0; line = clean($0); sub(/^\.[A-Z]+ /, "", line)
		n = split(line, w, /[ ,|()\[\]]+/)
		for (i = 1; i <= n; i++) if (w[i] != "") printf "%s\t%s\t%s\n", sh, ss, w[i]
	}' "$1"
}
tags_of "$page1" >"$tmp/tags1"
# "SECTION<TAB>subsection title" of each .SS of rekey.1.
awk '/^\.SH / { sh = substr($0, 5) } /^\.SS / { t = substr($0, 5); gsub(/"/, "", t); print sh "\t" t }' \
	"$page1" >"$tmp/subsections1"
tags_of "$page5" >"$tmp/tags5"

# ---- rekey.1 against the program -------------------------------------------------------------

mapfile -t commands < <(help_commands)
((${#commands[@]} >= 9)) || bad "rekey --help lists only ${#commands[@]} commands: ${commands[*]}"
# A command, or each subcommand of one that has them (record, pki).
mapfile -t leaves < <(help_leaves)
for c in "${commands[@]}"; do
	grep -qx "COMMANDS	rekey $c\\( .*\\)\\{0,1\\}" "$tmp/subsections1" &&
		ok "rekey.1 has a subsection for 'rekey $c'" ||
		bad "rekey.1 has no subsection 'rekey $c' under COMMANDS (it is in rekey --help)"
done

for leaf in "${leaves[@]}"; do
	read -ra words <<<"$leaf"
	"$rekey" "${words[@]}" --help | help_options | grep -vx -- --help >"$tmp/want" || true
	awk -F '\t' -v ss="rekey $leaf" '$1 == "COMMANDS" && $2 == ss && $3 ~ /^--/ { print $3 }' \
		"$tmp/tags1" | sort -u >"$tmp/have"
	grep -qx "COMMANDS	rekey $leaf" "$tmp/subsections1" ||
		{ bad "rekey.1 has no subsection 'rekey $leaf'"; continue; }
	missing=$(comm -23 "$tmp/want" "$tmp/have" | tr '\n' ' ')
	extra=$(comm -13 "$tmp/want" "$tmp/have" | tr '\n' ' ')
	[ -z "$missing" ] && ok "rekey.1 'rekey $leaf' describes each of its options: $(tr '\n' ' ' <"$tmp/want")" ||
		bad "rekey.1 'rekey $leaf' has no entry for: $missing(rekey $leaf --help offers it)"
	[ -z "$extra" ] || bad "rekey.1 'rekey $leaf' describes options the command does not take: $extra"
done

# The global options: -h/--help, -V/--version, --debug, as rekey --help lists them.
help_global_options >"$tmp/want"
awk -F '\t' '$1 == "OPTIONS" && $3 ~ /^-/ { print $3 }' "$tmp/tags1" | sort -u >"$tmp/have"
missing=$(comm -23 "$tmp/want" "$tmp/have" | tr '\n' ' ')
[ -s "$tmp/want" ] && [ -z "$missing" ] && ok "rekey.1 OPTIONS describes $(tr '\n' ' ' <"$tmp/want")" ||
	bad "rekey.1 OPTIONS lacks global options of rekey --help: ${missing:-(none found in rekey --help)}"

# ---- rekey-playbook.5 against the parser -----------------------------------------------------

# Where each key table of the parser is described: the subsection of rekey-playbook.5 and the
# prefix its keys carry there (ca_parent_keys' "cert" is the entry parent.cert of ca). A new
# table fails the test until it is given a place here and entries in the page.
declare -A where=(
	[top_keys]="Top level|"
	[sweep_keys]="sweep|"
	[incident_keys]="incident|"
	[ca_keys]="ca|"
	[ca_parent_keys]="ca|parent."
	[new_ca_keys]="ca|new."
	[revoke_keys]="revoke|"
	[certificate_keys]="certificates|"
	[host_keys]="hosts|"
	[local_host_keys]="hosts|"
	[service_keys]="services|"
	[service_files_keys]="services|files."
	[reload_keys]="services|reload."
	[connect_keys]="services|connect."
	[verify_keys]="services|verify."
	[file_keys]="File entries|"
	[client_file_keys]="File entries|"
	[client_keys]="clients|"
	[client_config_keys]="clients|file."
	[client_files_keys]="clients|files."
	[command_keys]="clients|reload."
	[client_verify_keys]="clients|verify."
	[policy_keys]="policy|"
	[record_keys]="record|"
)

parser_keys "$parser" >"$tmp/keys"
ntables=$(cut -d' ' -f1 "$tmp/keys" | sort -u | wc -l)
((ntables >= 20)) || bad "found only $ntables key tables in $parser: has their form changed?"

nkeys=0
while read -r table key; do
	if [ -z "${where[$table]+set}" ]; then
		bad "key table $table of src/parse/playbook.c has no place in tests/doc/man.sh (map it to a subsection of rekey-playbook.5 and describe its keys there)"
		where[$table]="(none)|"
		continue
	fi
	[ "${where[$table]}" = "(none)|" ] && continue
	ss=${where[$table]%%|*}
	prefix=${where[$table]#*|}
	# The key is an entry's tag, or the start of one (files is described as files.cert ...).
	if awk -F '\t' -v ss="$ss" -v k="$prefix$key" \
		'$1 == "KEYS" && $2 == ss && ($3 == k || index($3, k ".") == 1) { f = 1 } END { exit !f }' \
		"$tmp/tags5"; then
		nkeys=$((nkeys + 1))
	else
		bad "rekey-playbook.5 section '$ss' has no entry for '$prefix$key' ($table in src/parse/playbook.c)"
	fi
done <"$tmp/keys"
ok "rekey-playbook.5 describes $nkeys keys of $ntables key tables, each in its section"

# ---- the example -----------------------------------------------------------------------------

awk '/^\.SH EXAMPLE/ { e = 1 } e && /^\.EX/ { x = 1; next } x && /^\.EE/ { exit } x' "$page5" |
	sed 's/\\-/-/g; s/\\e/\\/g' >"$tmp/example.yml"
[ -s "$tmp/example.yml" ] || bad "rekey-playbook.5 has no example between .EX and .EE"
# Its secrets are named by variable; plan warns about files it cannot see and connects nowhere.
if out=$(REKEY_CA_PASSPHRASE=x REKEY_PG_PASSWORD=x "$rekey" plan "$tmp/example.yml" 2>&1 >/dev/null); then
	ok "rekey plan accepts the example of rekey-playbook.5"
else
	bad "rekey plan refuses the example of rekey-playbook.5: $out"
fi

check_end man.sh
