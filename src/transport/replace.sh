# shellcheck shell=sh
# The replace of a host's files of one step, run as one command on the host (filecmd.c embeds
# this file; `sh -c SCRIPT rekey-replace ARGS...`). Each file's content arrives on standard
# input, one after another, each exactly its size. POSIX sh and GNU coreutils only.
#
# Arguments: LOGIN GROUP HOW CAP, then eleven per file: PATH TEMPORARY BACKUP MODE OWNER GROUP
# LINKS FOLDER SIZE SHA256 UMASK. HOW is "sudo" (run as root by sudo) or "login". CAP bounds an
# old file that is hashed. OWNER and GROUP are "-" to keep the old file's (else the login's).
# LINKS is "yes" when a symlink at PATH may be replaced. UMASK makes a new file with its final
# mode from the first byte when no owner or group has to change, "-" when a chmod is needed.
#
# Prints, for each file it goes on with, "old RAW OWNER GROUP SIZE SHA256" (RAW is st_mode in
# hex, SHA256 "-" for a symlink) or "absent", then "as OWNER GROUP"; after every swap, for each
# file swapped, "new RAW OWNER GROUP SIZE SHA256". The files go in order and it stops at the
# first that fails: the files before it are swapped all the same, those after it are left
# alone, and its exit status says how far that one got:
#   1 stat or hash of what is there failed   4 the old file is over CAP (its size on stderr)
#   10 a symlink, not allowed                11 not a regular file
#   15 other hard links   16 a folder on the way others may write   17 a planted file
#   (target_checks.sh, which tputil.c puts in front of this script: its functions, its words)
#   20 the backup failed                     30 the new file could not be written
#   31 what was written is not what was sent 32 it did not get its mode, owner or group
#   40 the rename failed (target untouched)  41 renamed, then the check failed
#
# Why it is done this way, and in passes over all the files: every process costs a host a
# millisecond or two, and a rotation starts thousands. One stat and one sha256sum read what is
# there; the backup is a hard link (the old file itself, kept under the backup's name, which
# the rename then leaves behind: nothing copied, nothing to check), or a checked copy where a
# link may not be made; dd conv=excl creates the temporary sibling O_EXCL, with the final mode
# when the owner stays, else with the owner's bits only until chown has set the owner; one
# stat and one sha256sum check every sibling before any rename; one sync makes them durable,
# mv -f -T (rename(2)) swaps each, one sync makes the renames durable, one stat reads back.
# On the way out the siblings and backups of the files not swapped are removed.
LC_ALL=C
export LC_ALL
me=$1 mygroup=$2 how=$3 cap=$4
shift 4
i=0
# shellcheck disable=SC2034  # read through eval (a0, a1, ...)
for a do
	eval "a$i=\$a"
	i=$((i + 1))
done
n=$((i / 11)) limit=$((i / 11)) status=0 staged=0 swapped=0

# get K F: field F of file K (0 path, 1 temporary, 2 backup, 3 mode, 4 owner, 5 group,
# 6 links, 7 folder, 8 size, 9 sha256, 10 umask) into v.
get() { eval "v=\$a$(($1 * 11 + $2))"; }
# put NAME K VALUE and take NAME K: what the script learned of file K.
put() { eval "$1$2=\$3"; }
take() { eval "v=\${$1$2-}"; }
# fail K STATUS: file K failed (the first failure wins); the files after it are left alone.
fail() {
	if [ "$1" -lt "$limit" ]; then
		limit=$1 status=$2
	fi
}
# is_kind K KIND: file K is of KIND ("": any; "present": anything but absent).
is_kind() {
	take kind "$1"
	[ -z "$2" ] || [ "$v" = "$2" ] || { [ "$2" = present ] && [ "$v" != absent ]; }
}
# collect N F KIND: field F of the files of [0, N) of KIND, as c0, c1, ... and collected.
collect() {
	collected=0
	k=0
	while [ "$k" -lt "$1" ]; do
		if is_kind "$k" "$3"; then
			get "$k" "$2"
			eval "c$collected=\$v"
			collected=$((collected + 1))
		fi
		k=$((k + 1))
	done
}
# spread NAME KIND HOW TEXT: TEXT's lines one by one into NAMEk for the files k of
# [0, limit) of KIND; HOW "sum" keeps only the hash of a sha256sum line (whose name may be
# escaped, which starts the line with a backslash).
spread() {
	k=0
	while IFS= read -r line; do
		while [ "$k" -lt "$limit" ] && ! is_kind "$k" "$2"; do k=$((k + 1)); done
		[ "$k" -lt "$limit" ] || break
		if [ "$3" = sum ]; then
			line=${line#\\}
			line=${line%% *}
		fi
		put "$1" "$k" "$line"
		k=$((k + 1))
	done <<EOF
$4
EOF
}
# args_of_collected: list, the words that make what collect gathered arguments under eval.
args_of_collected() {
	k=0
	list=
	while [ "$k" -lt "$collected" ]; do
		list="$list \"\$c$k\""
		k=$((k + 1))
	done
}
clean() {
	k=$swapped
	while [ "$k" -lt "$staged" ]; do
		take made "$k"
		if [ -n "$v" ]; then get "$k" 1; rm -f -- "$v"; fi
		take linked "$k"
		if [ -n "$v" ]; then get "$k" 2; rm -f -- "$v"; fi
		k=$((k + 1))
	done
}
trap clean EXIT
trap 'exit 143' HUP INT TERM PIPE

# What stands at each path (shell tests only), the folders on the way to each (once per
# folder), and the siblings a killed run left.
k=0
checked=
while [ "$k" -lt "$n" ]; do
	get "$k" 7
	if [ "$k" -eq 0 ] || [ "$v" != "$checked" ]; then
		checked=$v
		check_folders "$v" || { fail "$k" $?; break; }
	fi
	put sticky "$k" "$sticky"
	get "$k" 0
	path=$v
	if [ -h "$path" ]; then
		get "$k" 6
		if [ "$v" != yes ]; then fail "$k" 10; break; fi
		put kind "$k" link
	elif [ -f "$path" ]; then
		put kind "$k" file
	elif [ -e "$path" ]; then
		fail "$k" 11
		break
	else
		put kind "$k" absent
	fi
	for f in "$path".rekey-tmp-*; do
		if [ -f "$f" ] && ! rm -f -- "$f"; then fail "$k" 1; break 2; fi
	done
	k=$((k + 1))
done

# One stat for every file there (its link count first, taken off), one sha256sum for every
# regular one under the cap.
collect "$limit" 0 present
if [ "$collected" -gt 0 ]; then
	args_of_collected
	if ! out=$(eval "stat -c '%h %f %U %G %s' -- $list" 2>&1); then
		printf '%s\n' "$out" >&2
		fail 0 1
	fi
	spread old present line "$out"
fi
k=0
while [ "$k" -lt "$limit" ]; do
	take kind "$k"
	kind=$v
	if [ "$kind" != absent ]; then
		take old "$k"
		links=${v%% *} old=${v#* }
		put old "$k" "$old"
		get "$k" 0
		path=$v
		if [ "$kind" = file ]; then
			check_links "$path" "$links" || { fail "$k" $?; break; }
		fi
		take sticky "$k"
		sticky=$v
		get "$k" 4
		rest=${old#* }
		check_owner "${rest%% *}" "$me" "$v" || { fail "$k" $?; break; }
	fi
	if [ "$kind" = file ]; then
		take old "$k"
		if [ "${v##* }" -gt "$cap" ]; then
			printf '%s\n' "${v##* }" >&2
			fail "$k" 4
			break
		fi
	fi
	k=$((k + 1))
done
collect "$limit" 0 file
if [ "$collected" -gt 0 ]; then
	args_of_collected
	if ! out=$(eval "sha256sum -- $list"); then
		fail 0 1
	fi
	spread oldsum file sum "$out"
fi

# What each file was, and what owner and group it gets.
k=0
while [ "$k" -lt "$limit" ]; do
	take kind "$k"
	kind=$v
	get "$k" 4
	owner=$v
	get "$k" 5
	group=$v
	if [ "$kind" = absent ]; then
		echo absent
	else
		take old "$k"
		old=$v
		sum=-
		if [ "$kind" = file ]; then
			rest=${old#* }
			[ "$owner" != - ] || owner=${rest%% *}
			rest=${rest#* }
			[ "$group" != - ] || group=${rest%% *}
			take oldsum "$k"
			sum=$v
		fi
		printf 'old %s %s\n' "$old" "$sum"
	fi
	[ "$owner" != - ] || owner=$me
	[ "$group" != - ] || group=$mygroup
	put owner "$k" "$owner"
	put group "$k" "$group"
	printf 'as %s %s\n' "$owner" "$group"
	k=$((k + 1))
done

# Backups and the new files, each exactly its size of the input.
k=0
while [ "$k" -lt "$limit" ]; do
	staged=$((k + 1))
	get "$k" 0; path=$v
	get "$k" 1; tmp=$v
	get "$k" 2; bak=$v
	get "$k" 3; mode=$v
	get "$k" 8; size=$v
	get "$k" 10; mask=$v
	take owner "$k"; owner=$v
	take group "$k"; group=$v
	take kind "$k"; kind=$v
	if [ "$kind" != absent ]; then
		if ln -P -- "$path" "$bak" 2>/dev/null; then
			put linked "$k" 1
		else
			take old "$k"
			old=$v
			put linked "$k" 1
			if ! cp -P -p -- "$path" "$bak" || ! now=$(stat -c '%f %U %G %s' -- "$bak"); then
				fail "$k" 20
				break
			fi
			# A link's copy is a link of the login's (only root keeps owners).
			if [ "$kind" = link ]; then
				if [ ! -h "$bak" ]; then
					echo 'the copy of the symbolic link is not a link' >&2
					fail "$k" 20
					break
				fi
			elif [ "$now" != "$old" ]; then
				printf 'the copy is "%s", not "%s" as the file\n' "$now" "$old" >&2
				fail "$k" 20
				break
			fi
			if [ "$kind" = file ] && ! cmp -s -- "$path" "$bak"; then
				echo 'the copy differs from the file' >&2
				fail "$k" 20
				break
			fi
		fi
	fi
	chown=
	if [ "$how" = sudo ] || [ "$owner" != "$me" ] || [ "$group" != "$mygroup" ]; then
		chown=yes
	fi
	if [ -z "$chown" ] && [ "$mask" != - ]; then umask "$mask"; else umask 077; fi
	put made "$k" 1
	if [ "$size" -gt 0 ]; then
		dd of="$tmp" conv=excl bs="$size" count=1 iflag=fullblock status=none
	else
		dd of="$tmp" conv=excl count=0 status=none
	fi || { fail "$k" 30; break; }
	umask 077
	if [ -n "$chown" ]; then
		chown -- "$owner:$group" "$tmp" && chmod -- "$mode" "$tmp" || { fail "$k" 30; break; }
	elif [ "$mask" = - ]; then
		chmod -- "$mode" "$tmp" || { fail "$k" 30; break; }
	fi
	k=$((k + 1))
done

# Every new file checked before any rename: what was sent, mode, owner, group.
collect "$limit" 1
if [ "$collected" -gt 0 ]; then
	args_of_collected
	if ! news=$(eval "stat -c '%f %U %G %s %i' -- $list") ||
	    ! sums=$(eval "sha256sum -- $list"); then
		fail 0 30
	fi
	spread new "" line "$news"
	spread newsum "" sum "$sums"
fi
k=0
while [ "$k" -lt "$limit" ]; do
	take new "$k"; new=$v
	take newsum "$k"; sum=$v
	take owner "$k"; owner=$v
	take group "$k"; group=$v
	get "$k" 3; mode=$v
	get "$k" 8; size=$v
	get "$k" 9
	got=${new% *}
	if [ "$sum" != "$v" ]; then
		printf 'the file written on the host is not what was sent (%s of %s bytes)\n' \
		    "${got##* }" "$size" >&2
		fail "$k" 31
		break
	fi
	rest=${new#* }
	o=${rest%% *}
	rest=${rest#* }
	g=${rest%% *}
	m=$((0x${new%% *} & 07777))
	if [ "$m" -ne $((mode)) ] || [ "$o" != "$owner" ] || [ "$g" != "$group" ]; then
		printf 'the file written on the host has mode %04o and owner %s:%s, not %s and %s:%s\n' \
		    "$m" "$o" "$g" "$mode" "$owner" "$group" >&2
		fail "$k" 32
		break
	fi
	k=$((k + 1))
done

# Durable, swapped in order, the renames durable, read back.
collect "$limit" 1
if [ "$collected" -gt 0 ]; then
	args_of_collected
	eval "sync -- $list" || fail 0 30
fi
k=0
while [ "$k" -lt "$limit" ]; do
	get "$k" 1
	tmp=$v
	get "$k" 0
	if ! mv -f -T -- "$tmp" "$v"; then
		fail "$k" 40
		break
	fi
	swapped=$((k + 1))
	k=$((k + 1))
done
[ "$swapped" -gt 0 ] || exit "$status"
limit=$swapped
collect "$swapped" 7
args_of_collected
eval "sync -- $list" || exit 41
collect "$swapped" 0
args_of_collected
out=$(eval "stat -c '%f %U %G %s %i' -- $list") || exit 41
k=0
while IFS= read -r line; do
	[ "$k" -lt "$swapped" ] || break
	take new "$k"
	if [ "$line" != "$v" ]; then
		printf 'after the rename the file is "%s", not the one written ("%s")\n' "$line" "$v" >&2
		exit 41
	fi
	take newsum "$k"
	printf 'new %s %s\n' "${line% *}" "$v"
	k=$((k + 1))
done <<EOF
$out
EOF
exit "$status"
