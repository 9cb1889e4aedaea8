# shellcheck shell=sh
# The checks of a replace's target that replace.sh and the rehearsal's probe (pushprobe.c)
# share: tputil.c puts this file in front of each script, so a replace and its rehearsal refuse
# the same targets. The local backend makes the same checks with system calls (local.c), and
# tputil.c words every refusal once. Each function returns 0, or the status its script exits
# with, having printed on standard error what the message needs:
#   15 "N"            the file has N names besides the target (hard links)
#   16 "MODE FOLDER"  a folder on the way may be written by its group or others, not sticky
#   17 "MODE OWNER"   another user's file, in a folder others may write (sticky)
# POSIX sh and GNU coreutils only; it runs as the replace does (the login, or root by sudo).

# check_folders DIR: 16 when a folder on the way to DIR, as written or as its symbolic links
# resolve, may be written by its group or others and has no sticky bit: anyone who may write
# there could rename the file, or a folder above it, and put their own in its place (OpenSSH's
# safe_path() refuses the same). A symbolic link on the way is followed, and the folders it
# leads through are checked too. Sets sticky to DIR's own mode when others may write DIR and
# it is sticky (a /tmp), else "". Returns 0 when DIR is not a folder: the replace says what is
# missing. One stat for all the folders; cd -P (a builtin) resolves the links.
check_folders() {
	sticky=
	[ -d "$1" ] || return 0
	cf_dir=$1 cf_real=$1
	if cd -P -- "$1" 2>/dev/null; then
		cf_real=$PWD
		cd / || return 1
	fi
	set --
	for cf_p in "$cf_dir" "$cf_real"; do
		while :; do
			set -- "$@" "$cf_p"
			[ "$cf_p" != / ] || break
			cf_p=${cf_p%/*}
			[ -n "$cf_p" ] || cf_p=/
		done
		[ "$cf_real" != "$cf_dir" ] || break
	done
	# %f alone: one line for each folder, whatever its name holds.
	cf_out=$(stat -L -c '%f' -- "$@") || return 1
	cf_first=yes
	while IFS= read -r cf_raw; do
		cf_m=$((0x$cf_raw & 07777))
		if [ $((cf_m & 022)) -ne 0 ]; then
			if [ $((cf_m & 01000)) -eq 0 ]; then
				printf '%04o %s\n' "$cf_m" "$1" >&2
				return 16
			fi
			[ -z "$cf_first" ] || sticky=$cf_m
		fi
		cf_first=
		shift
	done <<EOF
$cf_out
EOF
	return 0
}

# check_links PATH N: 15 when the regular file at PATH, whose link count is N, has names
# besides PATH that are not rekey's own backups beside it (a run cut off between its backup
# link and its rename leaves one): renamed over, PATH would get the new bytes and every other
# name would keep the old ones, perhaps the leaked key.
check_links() {
	[ "$2" -gt 1 ] || return 0
	cl_n=$(($2 - 1))
	# -ef is not POSIX sh: coreutils' test(1) says whether two names are one file.
	for cl_f in "$1".rekey-bak-*; do
		if [ -f "$cl_f" ] && env test "$cl_f" -ef "$1"; then cl_n=$((cl_n - 1)); fi
	done
	[ "$cl_n" -gt 0 ] || return 0
	printf '%s\n' "$cl_n" >&2
	return 15
}

# check_owner OWNER WHO...: 17 when the folder check_folders saw last is one others may write
# (sticky) and the file there is owned by none of root and WHO (the login, the owner the file
# is to get): any user may have put it there under the name the playbook gives.
check_owner() {
	[ -n "$sticky" ] || return 0
	co_owner=$1
	shift
	for co_ok in root "$@"; do
		[ "$co_owner" != "$co_ok" ] || return 0
	done
	printf '%04o %s\n' "$sticky" "$co_owner" >&2
	return 17
}
