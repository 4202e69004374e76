#!/usr/bin/env bash
# Run cmocka test programs, show their output, and end with one line "unit: N passed, N failed".
# Exits non-zero when any test failed or any program crashed (a sanitizer report ends a program).
set -uo pipefail

export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
passed=0 failed=0 status=0
for prog in "$@"; do
	log=$(mktemp)
	"$prog" 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test(s)\..*/\1/p' "$log" | tail -1)
	f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test(s), listed below:.*/\1/p' "$log" | tail -1)
	rm -f "$log"
	passed=$((passed + ${p:-0}))
	failed=$((failed + ${f:-0}))
	if [ "$rc" -ne 0 ]; then
		status=1
		# a crash or sanitizer abort leaves no summary: count it as one failure
		[ -z "$f" ] && { failed=$((failed + 1)); echo "unit: $prog exited with $rc"; }
	fi
done
echo "unit: $passed passed, $failed failed"
exit $status
