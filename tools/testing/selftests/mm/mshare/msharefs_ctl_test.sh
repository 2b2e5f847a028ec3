#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# mshare-ctl (tools/mshare/), the installed binary, on the booted kernel:
# every command on its good path, every bad input with its message and
# exit code (and nothing changed), --json checked field by field with jq
# against figures the test knows, and the figures checked against
# /proc/meminfo deltas, up to 64 processes over 1 GiB.
#
# Needs: mshare-ctl and jq in PATH, mshare_attach beside this script, root.

DIR=$(cd "$(dirname "$0")" && pwd)
. "$DIR/../../kselftest/ktap_helpers.sh"

CTL=${MSHARE_CTL:-mshare-ctl}
ATTACH=$DIR/mshare_attach
MNT=/sys/fs/mshare
G=1073741824
M=1048576
PIDS=

# --- helpers -------------------------------------------------------------

# A case fails if any check in it fails; the reasons are printed.
failed=0
fail() { ktap_print_msg "FAIL: $*"; failed=1; }

# run RC CMD...: run CMD, keep its stdout in $out and stderr in $errout,
# and check its exit status.
run() {
	want=$1; shift
	out=$("$@" 2>/tmp/ctl.err); rc=$?
	errout=$(cat /tmp/ctl.err)
	[ "$rc" = "$want" ] || fail "'$*' exited $rc, not $want: $errout"
}

# err_has TEXT: the last command's stderr has TEXT.
err_has() {
	case "$errout" in *"$1"*) ;; *) fail "stderr lacks '$1': $errout" ;; esac
}

out_has() {
	case "$out" in *"$1"*) ;; *) fail "output lacks '$1'" ;; esac
}

# jqt FILTER [JSON]: FILTER is true of JSON (default: the last output).
jqt() {
	if ! printf '%s' "${2:-$out}" | jq -e "$1" >/dev/null 2>&1; then
		fail "jq '$1' is not true of: $(printf '%s' "${2:-$out}" | tr -d '\n' | cut -c1-300)"
	fi
}

# jqv FILTER: the value of FILTER on the last output.
jqv() { printf '%s' "$out" | jq -r "$1"; }

meminfo_kb() {
	echo 1 >/proc/sys/vm/stat_refresh 2>/dev/null
	awk -v k="$1:" '$1 == k { print $2 }' /proc/meminfo
}

# state NAME: the region's figures and mappings, to show nothing changed.
state() { "$CTL" -J info "$1" 2>/dev/null | jq -c '{m: .mappings, s: .region.size}'; }

# attach ARGS...: start mshare_attach in the background and wait until it
# printed "touched" (or "mapped" with -w); its pid goes to PIDS.
LOGS=/tmp/ctl-attach.$$
nattach=0
attach() {
	nattach=$((nattach + 1))
	log=$LOGS.$nattach
	"$ATTACH" "$@" >"$log" 2>&1 &
	apid=$!
	PIDS="$PIDS $apid"
	want=touched
	case " $* " in *" -w "*) want=mapped ;; esac
	i=0
	while ! grep -q "$want" "$log" 2>/dev/null; do
		i=$((i + 1))
		if [ $i -gt 1200 ] || ! kill -0 $apid 2>/dev/null; then
			fail "mshare_attach $* did not get ready: $(cat "$log")"
			return 1
		fi
		sleep 0.1
	done
}

detach_all() {
	if [ -n "$PIDS" ]; then
		kill $PIDS 2>/dev/null
		wait $PIDS 2>/dev/null
	fi
	PIDS=
	rm -f $LOGS.*
}

within_pct() {	# A B PCT: |A - B| <= PCT% of B
	awk -v a="$1" -v b="$2" -v p="$3" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= b * p / 100) }'
}

cleanup() {
	detach_all
	for r in db ro big odd bad nope; do rm -f "$MNT/$r" 2>/dev/null; done
	[ -n "$old_zap" ] && echo "$old_zap" >/proc/sys/vm/pt_reclaim_zap
	[ -n "$old_huge" ] && echo "$old_huge" >/proc/sys/vm/nr_hugepages
	umount /tmp/ctl-m2 2>/dev/null
	umount "$MNT" 2>/dev/null
}

case_result() {
	if [ $failed -eq 0 ]; then ktap_test_pass "$1"; else ktap_test_fail "$1"; fi
	failed=0
}

# --- cases ---------------------------------------------------------------

t_usage() {
	run 0 "$CTL" --help
	for w in create map unmap list info reclaim rm --json --raw --noheadings \
		 --bytes --output --mount --mode --anon --hugetlb --file \
		 --object-offset --read-only --processes; do
		out_has "$w"
	done
	run 0 "$CTL" --version
	out_has "mshare-ctl"
	run 2 "$CTL" frobnicate
	err_has "Try 'mshare-ctl --help' for more information."
	run 2 "$CTL" --frobnicate
	run 2 "$CTL" create db
	run 2 "$CTL" -J -r list
	run 2 "$CTL" map db 0 4K
	run 2 "$CTL" map db 0 4K --anon --file /etc/passwd
	run 2 "$CTL" create db 1X
	err_has "1X"
	run 2 "$CTL" map db 0 12Q --anon
	run 2 "$CTL" create "a/b" 1G
	run 2 "$CTL" create db 1G --mode 0999
	run 2 "$CTL" -o NOSUCH list
}

t_not_mounted() {
	if grep -q ' - msharefs ' /proc/self/mountinfo; then
		ktap_print_msg "an msharefs is mounted here: the check needs none"
		return 2
	fi
	run 1 "$CTL" list
	err_has "msharefs is not mounted"
	run 1 "$CTL" create db 1G
	err_has "not mounted"
	run 1 "$CTL" -m /tmp list
	err_has "not a msharefs mount"
}

t_create() {
	run 0 "$CTL" create db 1G
	[ "$(stat -c '%s %a' $MNT/db)" = "$G 600" ] || fail "db: $(stat -c '%s %a' $MNT/db)"
	run 1 "$CTL" create db 2G
	err_has "mshare-ctl: "
	err_has "File exists"
	[ "$(stat -c %s $MNT/db)" = "$G" ] || fail "db was changed"
	run 1 "$CTL" create odd 1536M
	err_has "size must be a multiple of 1G (mshare_info)"
	[ -e $MNT/odd ] && fail "odd was left behind"
	run 2 "$CTL" create bad 1GX
	[ -e $MNT/bad ] && fail "bad was left behind"
	run 0 "$CTL" create ro 1GiB --mode 0644
	[ "$(stat -c '%s %a' $MNT/ro)" = "$G 644" ] || fail "ro: $(stat -c '%s %a' $MNT/ro)"
	run 0 "$CTL" create big 2G
	[ "$(stat -c %s $MNT/big)" = $((2 * G)) ] || fail "big is not 2G"
}

t_map() {
	before=$(state db)
	run 0 "$CTL" map db 0 64M --anon
	run 1 "$CTL" map db 32M 4K --anon
	err_has "32M+4K overlaps an existing mapping: File exists"
	run 1 "$CTL" map db 1G 4K --anon
	err_has "past the end"
	run 1 "$CTL" map db 4097 4K --anon
	run 1 "$CTL" map nope 0 4K --anon
	err_has "No such file or directory"
	run 1 "$CTL" map db 0 4K --file /proc/version --read-only
	err_has "No such device"
	run 1 "$CTL" map db 512M 4K --file /nonexistent
	err_has "/nonexistent: No such file or directory"
	head -c 16777216 /dev/zero >"/tmp/my data"
	run 0 "$CTL" map db 128M 8M --file "/tmp/my data" --read-only
	run 0 "$CTL" map db 144M 8M --file "/tmp/my data" --object-offset 8M
	if [ "$(cat /proc/sys/vm/nr_hugepages)" -ge 2 ]; then
		run 0 "$CTL" map db 512M 4M --hugetlb=2M
	fi
	run 0 "$CTL" -J -b info db
	jqt '.region.name == "db" and .region.size == 1073741824'
	jqt '.mappings[0] | .offset == 0 and .size == 67108864 and .prot == "rw-" and .type == "anon" and .object == "/dev/zero (deleted)" and .pagesize == 4096'
	jqt '.mappings[1] | .offset == 134217728 and .size == 8388608 and .prot == "r--" and .type == "file" and .object == "/tmp/my data" and .obj_offset == 0'
	jqt '.mappings[2] | .offset == 150994944 and .prot == "rw-" and .obj_offset == 8388608'
	if [ "$(cat /proc/sys/vm/nr_hugepages)" -ge 2 ]; then
		jqt '.mappings[3] | .offset == 536870912 and .type == "anon_hugetlb" and .pagesize == 2097152'
		jqt '.region.mappings == 4'
	fi
	# A failed map changes nothing.
	now=$(state db)
	run 1 "$CTL" map db 60M 8M --anon
	[ "$(state db)" = "$now" ] || fail "a refused map changed the region"
}

t_list_two_processes() {
	shmem0=$(meminfo_kb Shmem)
	pt0=$(meminfo_kb PageTables)
	ahp0=$(meminfo_kb AnonHugePages)
	attach -o 0 -l 67108864 $MNT/db || return
	attach -r -o 0 -l 67108864 $MNT/db || return
	shmem1=$(meminfo_kb Shmem)
	pt1=$(meminfo_kb PageTables)
	ahp1=$(meminfo_kb AnonHugePages)
	run 0 "$CTL" -J list
	jqt '.regions | length == 3'
	jqt '.regions[] | select(.name == "db") | .rss == 67108864 and .attached == 2 and .mappings >= 3'
	jqt '.regions[] | select(.name == "ro") | .rss == 0 and .attached == 0 and .mappings == 0 and .mode == "-rw-r--r--"'
	jqt '.regions[] | select(.name == "db") | .owner == "root" and .size == 1073741824'
	run 0 "$CTL" -J -O list
	jqt '.regions[] | select(.name == "db") | .rss_shmem == 67108864 and .rss_anon == 0 and .linked == 2 and .pud_links == 2'
	rss=$(jqv '.regions[] | select(.name == "db") | .rss_shmem')
	ktap_print_msg "Shmem +$((shmem1 - shmem0)) kB, PageTables +$((pt1 - pt0)) kB; list: RSS $((rss / 1024)) kB"
	within_pct $((shmem1 - shmem0)) $((rss / 1024)) 1 || fail "Shmem delta $((shmem1 - shmem0)) kB vs RSS $((rss / 1024)) kB"
	# Region anonymous memory is shmem: no anonymous THP, no rss_anon.
	[ $((ahp1 - ahp0)) -eq $(($(jqv '.regions[] | select(.name == "db") | .rss_anon') / 1024)) ] ||
		fail "AnonHugePages +$((ahp1 - ahp0)) kB, rss_anon $(jqv '.regions[] | select(.name == "db") | .rss_anon')"
	# The human table.
	run 0 "$CTL"
	out_has "NAME"
	out_has "64M"
	run 0 "$CTL" -r -n -o NAME,ATTACHED
	out_has "db 2"
}

t_info_processes() {
	run 0 "$CTL" -J info db --processes
	for p in $PIDS; do
		jqt ".processes | map(.pid) | index($p) != null"
	done
	jqt '.processes | length == 2'
	jqt '[.processes[].mode] | sort == ["r", "rw"]'
	jqt '[.processes[].command] | unique == ["mshare_attach"]'
	jqt '.processes[0].address | test("^0x[0-9a-f]+$")'
	jqt '.mappings[0].rss == 67108864'
	run 0 "$CTL" info db -p
	out_has "mshare_attach"
	out_has "/tmp/my data"
}

t_unmap() {
	now=$(state db)
	run 1 "$CTL" unmap db 300M 4M
	err_has "nothing is mapped in 300M+4M"
	[ "$(state db)" = "$now" ] || fail "an unmap of a hole changed the region"
	run 2 "$CTL" unmap db 0
	run 0 "$CTL" unmap db 144M 8M
	run 0 "$CTL" -J info db
	jqt '[.mappings[] | select(.offset == 150994944)] | length == 0'
	run 0 "$CTL" unmap db 0 32M
	run 0 "$CTL" -J info db
	jqt '.mappings[0] | .offset == 33554432 and .size == 33554432 and .obj_offset == 33554432'
}

t_reclaim() {
	old_zap=$(cat /proc/sys/vm/pt_reclaim_zap)
	echo 0 >/proc/sys/vm/pt_reclaim_zap
	run 0 "$CTL" map db 256M 64M --anon
	"$ATTACH" -o 268435456 -l 67108864 -d -D 1 $MNT/db >/dev/null
	run 0 "$CTL" -J list
	pt0=$(jqv '.regions[] | select(.name == "db") | .pagetables')
	run 0 "$CTL" reclaim db
	out_has "db: freed 128K of page tables (32 tables)"
	run 0 "$CTL" -J list
	pt1=$(jqv '.regions[] | select(.name == "db") | .pagetables')
	[ $((pt0 - pt1)) -eq 131072 ] || fail "pagetables $pt0 -> $pt1"
	run 0 "$CTL" -J reclaim db
	jqt '.reclaim.name == "db" and .reclaim.freed == 0 and .reclaim.tables == 0'
	echo "$old_zap" >/proc/sys/vm/pt_reclaim_zap
	old_zap=
	run 1 "$CTL" reclaim nope
	err_has "No such file or directory"
}

t_unprivileged() {
	# As uid 65534 ("nobody"); the arguments have no spaces.
	as() { su -s /bin/sh nobody -c "$*"; }
	run 0 as "$CTL" -J list
	jqt '.regions[] | select(.name == "db") | .mappings == null and .rss == null and .owner == "root"'
	jqt '.regions[] | select(.name == "ro") | .mappings == 0'
	run 1 as "$CTL" info db
	err_has "Permission denied"
	now=$(state ro)
	run 1 as "$CTL" map ro 0 4K --anon
	err_has "Permission denied"
	run 1 as "$CTL" rm ro
	err_has "Permission denied"
	run 1 as "$CTL" create mine 1G
	err_has "Permission denied"
	[ "$(state ro)" = "$now" ] || fail "a refused command changed ro"
	[ -e $MNT/ro ] || fail "ro went away"
	run 0 as "$CTL" reclaim ro
	# A reader sees the figures of what it may open, not the paths.
	run 0 "$CTL" map ro 0 4M --anon
	run 0 as "$CTL" -J info ro
	jqt '.mappings[0].object == null and .mappings[0].size == 4194304'
}

t_rm() {
	run 0 "$CTL" rm ro big
	[ -e $MNT/ro ] && fail "ro is still there"
	run 1 "$CTL" rm ro
	err_has "No such file or directory"
	run 2 "$CTL" rm mshare_info
	[ -e $MNT/mshare_info ] || fail "mshare_info went away"
	# Another mount, by --mount, then found with libmount.
	mkdir -p /tmp/ctl-m2
	mount -t msharefs none /tmp/ctl-m2
	run 0 "$CTL" -m /tmp/ctl-m2 create other 1G
	run 0 "$CTL" -J -m /tmp/ctl-m2 -o NAME,PATH list
	jqt '.regions[0].path == "/tmp/ctl-m2/other"'
	run 0 "$CTL" info /tmp/ctl-m2/other
	detach_all
	run 0 "$CTL" rm db
	umount $MNT
	run 0 "$CTL" -J list
	jqt '.regions[0].name == "other"'
	run 0 "$CTL" rm other
	umount /tmp/ctl-m2
	mount -t msharefs msharefs $MNT
}

# 64 processes over 1 GiB, each writing 16 MiB of it: what list prints
# against /proc/meminfo. Each process maps the region and writes the first
# page of its part (which makes its own page tables, and links the host's)
# before the second baseline; then all write the rest together.
t_sharers64() {
	n=64
	shmem0=$(meminfo_kb Shmem)
	pt0=$(meminfo_kb PageTables)
	run 0 "$CTL" create db 1G
	run 0 "$CTL" map db 0 1G --anon
	for i in $(seq 0 $((n - 1))); do
		attach -w -p -o $((i * 16 * M)) -l $((16 * M)) $MNT/db || return
	done
	shmem1=$(meminfo_kb Shmem)
	pt1=$(meminfo_kb PageTables)
	run 0 "$CTL" -J list
	ptb1=$(jqv '.regions[] | select(.name == "db") | .pagetables')
	kill -USR1 $PIDS
	i=0
	while [ "$(grep -l touched $LOGS.* 2>/dev/null | wc -l)" -lt $n ]; do
		i=$((i + 1))
		[ $i -lt 3000 ] || { fail "the writers did not finish"; return; }
		sleep 0.1
	done
	shmem2=$(meminfo_kb Shmem)
	pt2=$(meminfo_kb PageTables)
	run 0 "$CTL" -J -O list
	jqt '.regions[] | select(.name == "db") | .attached == 64 and .linked == 64 and .pud_links == 64 and .mapped == 1073741824'
	rss=$(jqv '.regions[] | select(.name == "db") | .rss')
	ptb2=$(jqv '.regions[] | select(.name == "db") | .pagetables')
	[ "$rss" = "$G" ] || fail "RSS $rss, not 1 GiB"
	ktap_print_msg "64 sharers, 1 GiB written: list RSS $((rss / 1024)) kB, Shmem +$((shmem2 - shmem0)) kB since before the region"
	ktap_print_msg "list page tables $((ptb1 / 1024)) -> $((ptb2 / 1024)) kB (+$(((ptb2 - ptb1) / 1024))), PageTables +$((pt2 - pt1)) kB over the same writes"
	ktap_print_msg "(the 64 processes' own tables and the first pages' host tables: PageTables +$((pt1 - pt0)) kB before, host part $((ptb1 / 1024)) kB)"
	within_pct $((shmem2 - shmem0)) $((rss / 1024)) 1 ||
		fail "Shmem grew by $((shmem2 - shmem0)) kB, list says $((rss / 1024)) kB"
	within_pct $((pt2 - pt1)) $(((ptb2 - ptb1) / 1024)) 1 ||
		fail "PageTables grew by $((pt2 - pt1)) kB, list by $(((ptb2 - ptb1) / 1024)) kB"
	# 512 PTE tables, a PMD and a PUD table: 2056 kB.
	[ "$ptb2" = $((514 * 4096)) ] || fail "host page tables $ptb2, not 514 pages"
	run 0 "$CTL" -o NAME,SIZE,MAPPINGS,RSS,PAGETABLES,ATTACHED,PUD-LINKS
	printf '%s\n' "$out" | sed 's/^/# /'
	detach_all
	run 0 "$CTL" rm db
}

# --- main ----------------------------------------------------------------

ktap_print_header
if [ "$(id -u)" != 0 ] || ! command -v "$CTL" >/dev/null || ! command -v jq >/dev/null ||
   [ ! -x "$ATTACH" ]; then
	ktap_skip_all "needs root, $CTL, jq and mshare_attach"
	exit "$KSFT_SKIP"
fi
ktap_set_plan 11
trap cleanup EXIT
old_huge=$(cat /proc/sys/vm/nr_hugepages)
echo $((old_huge + 2)) >/proc/sys/vm/nr_hugepages 2>/dev/null

t_usage; case_result usage
t_not_mounted; rc=$?
if [ $rc -eq 2 ]; then ktap_test_skip not_mounted; failed=0; else case_result not_mounted; fi
mount -t msharefs msharefs $MNT || ktap_exit_fail_msg "cannot mount msharefs on $MNT"
t_create; case_result create
t_map; case_result map
t_list_two_processes; case_result list_two_processes
t_info_processes; case_result info_processes
t_unmap; case_result unmap
t_reclaim; case_result reclaim
t_unprivileged; case_result unprivileged
t_rm; case_result rm
t_sharers64; case_result sharers64_meminfo
ktap_finished
