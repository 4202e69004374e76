#!/usr/bin/env bash
# Run libFuzzer targets: run.sh OUTDIR total|each SECONDS BIN...
# "total" splits SECONDS evenly over the targets (at least 1 s each), "each" gives every target
# SECONDS. Prints one line per target (executions, rate, corpus size) and ends with
# "fuzz: N targets, N crashes"; exits non-zero when any target crashed, hung or leaked.
set -uo pipefail

out=$1 how=$2 secs=$3
shift 3
[ $# -gt 0 ] || { echo "fuzz: no targets"; exit 1; }
if [ "$how" = total ]; then
	per=$((secs / $#))
	[ "$per" -ge 1 ] || per=1
else
	per=$secs
fi
timeout_s=${FUZZ_TIMEOUT:-5}
crashes=0
for bin in "$@"; do
	name=$(basename "$bin")
	corpus=$out/corpus/$name
	seeds=$out/seeds/$name
	log=$out/$name.log
	mkdir -p "$corpus" "$seeds"
	# seed inputs: one hex line each in tests/fuzz/seeds/<name>.txt ('#' starts a comment)
	if [ -f "tests/fuzz/seeds/$name.txt" ]; then
		i=0
		sed -e 's/#.*//' "tests/fuzz/seeds/$name.txt" | while read -r line; do
			hex=$(printf '%s' "$line" | tr -d ' \t')
			[ -n "$hex" ] || continue
			printf '%b' "$(printf '%s' "$hex" | sed 's/../\\x&/g')" >"$seeds/seed-$i"
			i=$((i + 1))
		done
	fi
	start=$(date +%s)
	# FUZZ_SEED fixes libFuzzer's random choices (make test's smoke run), else each run differs.
	"$bin" -max_total_time="$per" -timeout="$timeout_s" -print_final_stats=1 ${FUZZ_SEED:+-seed="$FUZZ_SEED"} \
		-artifact_prefix="$out/crash-$name-" "$corpus" "$seeds" >"$log" 2>&1
	rc=$?
	end=$(date +%s)
	execs=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$log" | tail -1)
	execs=${execs:-0}
	el=$((end - start))
	[ "$el" -ge 1 ] || el=1
	files=$(find "$corpus" -type f | wc -l)
	if [ "$rc" -ne 0 ]; then
		crashes=$((crashes + 1))
		echo "fuzz: $name FAILED (exit $rc) after $execs executions; log $log"
		grep -E 'ERROR|SUMMARY|==[0-9]+==|Test unit written|runtime error|deadly signal|timeout' "$log" | head -20
	else
		echo "fuzz: $name: $execs executions in ${el} s ($((execs / el))/s), corpus $files inputs, 0 crashes"
	fi
done
echo "fuzz: $# targets, $crashes crashes"
[ "$crashes" -eq 0 ]
