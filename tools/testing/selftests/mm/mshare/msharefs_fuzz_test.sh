#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The short form of the region API fuzzer (msharefs_fuzz): a few fixed
# seeds of 3000 operations each, as make check runs it. Each seed replays
# the same operations; a failure prints the seed and operation to replay
# (msharefs_fuzz -s SEED -n OPS). make soak runs it for longer.

DIR=$(cd "$(dirname "$0")" && pwd)
. "$DIR/../../kselftest/ktap_helpers.sh"

SEEDS=${FUZZ_SEEDS:-1 2 3}
OPS=${FUZZ_OPS:-3000}

ktap_print_header
if [ "$(id -u)" != 0 ] || [ ! -x "$DIR/msharefs_fuzz" ]; then
	ktap_skip_all "needs root and msharefs_fuzz"
	exit "$KSFT_SKIP"
fi
ktap_set_plan "$(echo $SEEDS | wc -w)"
for seed in $SEEDS; do
	"$DIR/msharefs_fuzz" -s "$seed" -n "$OPS" >/tmp/fuzz.$seed.log 2>&1
	rc=$?
	grep -v '^TAP version\|^1\.\.' /tmp/fuzz.$seed.log | sed 's/^/# /'
	if [ $rc -eq 0 ]; then
		ktap_test_pass "fuzz seed $seed, $OPS operations"
	else
		ktap_test_fail "fuzz seed $seed, $OPS operations (exit $rc)"
	fi
done
ktap_finished
