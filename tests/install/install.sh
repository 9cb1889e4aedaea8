#!/usr/bin/env bash
# `cmake --install BUILD --prefix TMP` puts exactly the files README's "Command line" names
# where it says: bin/rekey (0755), the man pages gzip'ed in share/man/man1 and man5, the bash
# completion in share/bash-completion/completions/rekey, the README, playbooks/ and examples/
# under share/doc/rekey (0644, byte for byte the repository's), and nothing else (no test or
# benchmark binary); the installed rekey runs and prints the build's version, man finds the
# pages under the prefix, and bash registers the installed completion.
# Usage: tests/install/install.sh CMAKE BUILD REPO
set -euo pipefail
# shellcheck source=../check.sh
. "$(dirname "${BASH_SOURCE[0]}")/../check.sh"
cmake=${1:?usage: install.sh CMAKE BUILD REPO}
build=${2:?usage: install.sh CMAKE BUILD REPO}
repo=${3:?usage: install.sh CMAKE BUILD REPO}
# shellcheck source=tree.sh
. "$(dirname "${BASH_SOURCE[0]}")/tree.sh"


tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
"$cmake" --install "$build" --prefix "$prefix" >"$tmp/install.log" 2>&1 ||
	{ cat "$tmp/install.log"; echo "FAIL: cmake --install"; exit 1; }
ok "cmake --install $build --prefix $prefix"

tree_expected "$repo" >"$tmp/want"
# find prints the mode in octal digits ("755"): padded to four, as tree_expected writes it.
(cd "$prefix" && find . -type f -printf '%m %P\n' | awk '{ printf "%04d %s\n", $1, $2 }' |
	sort -k2) >"$tmp/have"
if diff -u "$tmp/want" "$tmp/have" >"$tmp/diff"; then
	ok "installed exactly these files with these modes: $(awk '{ print $2 }' "$tmp/have" | tr '\n' ' ')"
else
	bad "the installed tree (+) is not the one expected (-):"; cat "$tmp/diff"
fi
other=$(cd "$prefix" && find . ! -type f ! -type d)
[ -z "$other" ] || bad "installed something that is neither a file nor a folder: $other"
dirs=$(cd "$prefix" && find . -type d ! -perm 0755)
[ -z "$dirs" ] && ok "every folder is 0755" || bad "folders not 0755: $dirs"

while read -r _ path; do
	src=$(tree_source "$repo" "$path")
	[ -n "$src" ] || continue
	case $path in
	*.gz) same=$(gzip -dc "$prefix/$path" | cmp - "$src" >/dev/null && echo yes) ;;
	*) same=$(cmp "$prefix/$path" "$src" >/dev/null && echo yes) ;;
	esac
	[ "$same" = yes ] || bad "$path is not ${src#"$repo"/} byte for byte"
done <"$tmp/want"
ok "every installed document is its source byte for byte (man pages once gunzip'ed)"

# gzip -9n: no name and no time stamp in the header, so two builds give the same bytes.
for gz in "$prefix"/share/man/man*/*.gz; do
	mtime=$(od -An -tu4 -j4 -N4 "$gz" | tr -d ' ')
	flags=$(od -An -tu1 -j3 -N1 "$gz" | tr -d ' ')
	[ "$mtime" = 0 ] && [ $((flags & 8)) = 0 ] && ok "${gz#"$prefix"/}: gzip header has no name or time" ||
		bad "${gz#"$prefix"/}: gzip header has a name or a time (flags $flags, mtime $mtime): not gzip -n"
done

want_version=$("$build/bin/rekey" --version)
if got=$("$prefix/bin/rekey" --version 2>&1) && [ "$got" = "$want_version" ]; then
	ok "the installed rekey --version prints '$got'"
else
	bad "the installed rekey --version prints '$got', the build's '$want_version'"
fi

export LC_ALL=C.UTF-8 MANPAGER=cat PAGER=cat
for page in "1 rekey" "5 rekey-playbook"; do
	read -r section name <<<"$page"
	found=$(MANPATH=$prefix/share/man man -w "$section" "$name" 2>&1) || true
	[ "$found" = "$prefix/share/man/man$section/$name.$section.gz" ] &&
		ok "man -w $section $name finds the installed page under the prefix" ||
		bad "man -w $section $name with MANPATH=$prefix/share/man says: $found"
	MANPATH=$prefix/share/man MANWIDTH=80 man "$section" "$name" 2>&1 | grep -q '^NAME$' ||
		bad "man $section $name does not render the installed page"
done

registered=$(bash --norc --noprofile -c '. "$1"; complete -p rekey' _ \
	"$prefix/share/bash-completion/completions/rekey" 2>&1)
[ "$registered" = "complete -F _rekey rekey" ] && ok "bash registers the installed completion" ||
	bad "sourcing the installed completion: $registered"

check_end install.sh
