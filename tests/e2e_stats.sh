#!/usr/bin/env bash
# End to end for joint statistics (the stats family) on real tables: scikit-learn's
# diabetes and breast-cancer data (Debian's python3-sklearn, fetched by
# stats/sklearn-data.sh), split between two hospitals by rows and by columns at random
# (the seed is printed; STATS_SEED=S replays it). For each split: the dealer and two online
# processes over loopback must give the clear run's results byte for byte, at both parties,
# and the clear fixed point must agree with numpy on the joined table within the issue's
# bounds (stats/stats_ref.py). Then: results revealed to one party only, and tables and
# specs that do not match refused before a key is spent.
#   e2e_stats.sh BUILD_DIR SOURCE_DIR
set -u
build=$1
src=$2
source "$src/tests/e2e_common.sh"
py=$(bash "$src/tests/numpy-python.sh") || { echo "e2e_stats: needs python3 with numpy (apt-get install python3-numpy)"; exit 1; }
data=$(bash "$src/stats/sklearn-data.sh") || { echo "e2e_stats: no scikit-learn data"; exit 1; }
seed=${STATS_SEED:-$RANDOM$RANDOM}
echo "seed $seed (STATS_SEED=$seed replays it)"
"$py" "$src/stats/hospitals.py" "$data" "$work/h" --seed "$seed" 2>/dev/null || { echo "hospitals.py failed"; exit 1; }
h=$work/h

# Both parties over loopback: SPEC KEYS TABLE0 TABLE1 OUT0 OUT1 (an empty OUT: no --output).
parties() {
    local spec=$1 keys=$2 t0=$3 t1=$4 o0=$5 o1=$6
    pair --keys "$keys/p0.bin" --stats "$spec" --table "$t0" ${o0:+--output "$o0"} --timeout 60 --quiet -- \
        --keys "$keys/p1.bin" --stats "$spec" --table "$t1" ${o1:+--output "$o1"} --timeout 60 --quiet
}

for t in diabetes cancer; do
    for split in rows columns; do
        name=$t-$split
        spec=$h/$name.json
        "$dealer" --stats "$spec" --out "$work/k-$name" --quiet >/dev/null 2>&1 || bad "$name: dealer"
        "$online" --clear --stats "$spec" --table0 "$h/$name-0.csv" --table1 "$h/$name-1.csv" \
            --output "$work/$name-clear.json" --quiet 2>"$work/log" || { bad "$name: clear run"; cat "$work/log"; }
        if parties "$spec" "$work/k-$name" "$h/$name-0.csv" "$h/$name-1.csv" "$work/$name-0.json" "$work/$name-1.json" &&
            cmp -s "$work/$name-0.json" "$work/$name-clear.json" && cmp -s "$work/$name-1.json" "$work/$name-clear.json"; then
            ok
        else
            bad "$name: the parties' results differ from the clear run's"
            cat "$work/log0" "$work/log1"
        fi
        "$py" "$src/stats/stats_ref.py" "$spec" "$h/$name-0.csv" "$h/$name-1.csv" "$work/$name-clear.json" --json &&
            ok || bad "$name: the clear fixed point is out of the bounds against numpy"
    done
done

# revealed to party 1 only: party 0 gets no file (and may not ask for one)
sed 's/"reveal_to": \[0, 1\]/"reveal_to": [1]/' "$h/diabetes-rows.json" >"$work/one.json"
"$dealer" --stats "$work/one.json" --out "$work/k1" --quiet >/dev/null 2>&1 || bad "reveal_to [1]: dealer"
"$online" --party 0 --keys "$work/k1/p0.bin" --peer 127.0.0.1:1 --stats "$work/one.json" \
    --table "$h/diabetes-rows-0.csv" --output "$work/no.json" >"$work/log" 2>&1
[ $? != 0 ] && grep -q "party 0 receives nothing, drop --output" "$work/log" && [ "$(key_state "$work/k1/p0.bin")" = 0 ] &&
    ok || { bad "reveal_to [1]: party 0's --output is not refused"; cat "$work/log"; }
"$online" --clear --stats "$work/one.json" --table0 "$h/diabetes-rows-0.csv" --table1 "$h/diabetes-rows-1.csv" \
    --output "$work/one-clear.json" --quiet 2>/dev/null
parties "$work/one.json" "$work/k1" "$h/diabetes-rows-0.csv" "$h/diabetes-rows-1.csv" "" "$work/one-1.json" &&
    cmp -s "$work/one-1.json" "$work/one-clear.json" && ok ||
    { bad "reveal_to [1]: party 1's results"; cat "$work/log0" "$work/log1"; }
[ "$(stat -c %a "$work/one-1.json")" = 600 ] && ok || bad "the results file is not mode 0600"

# refused, with the row and column named, before the key file is spent
"$dealer" --stats "$h/diabetes-rows.json" --out "$work/r" --quiet >/dev/null 2>&1
refused() { # WHAT PATTERN TABLE [SPEC]
    "$online" --party 0 --keys "$work/r/p0.bin" --peer 127.0.0.1:1 --stats "${4:-$h/diabetes-rows.json}" \
        --table "$3" --output "$work/o.json" --quiet >"$work/log" 2>&1
    [ $? != 0 ] && grep -q -- "$2" "$work/log" && [ "$(key_state "$work/r/p0.bin")" = 0 ] && ok ||
        { bad "$1"; cat "$work/log"; }
}
t0=$h/diabetes-rows-0.csv
awk -F, -v OFS=, 'NR == 4 { $3 = "abc" } 1' "$t0" >"$work/nan.csv"
refused "a cell that is not a number" "row 3 (line 4), column 'bmi': 'abc' is not a finite decimal number" "$work/nan.csv"
awk -F, -v OFS=, 'NR == 6 { $11 = "" } 1' "$t0" >"$work/empty.csv"
refused "an empty cell" "row 5 (line 6), column 'target': the cell is empty" "$work/empty.csv"
cut -d, -f1-3,5- "$t0" >"$work/nobp.csv"
refused "a missing column" "the header has no column 'bp'" "$work/nobp.csv"
head -n -1 "$t0" >"$work/short.csv"
refused "a row too few" "rows of data; the spec says party 0 holds" "$work/short.csv"
awk -F, -v OFS=, 'NR == 2 { $1 = "130" } 1' "$t0" >"$work/old.csv"
refused "a value out of the bounds" "row 1, column 'age': the value is outside the spec's bounds \[0, 100\]" "$work/old.csv"
awk -F, -v OFS=, 'NR == 3 { $2 = "1,5" } 1' "$t0" >"$work/fields.csv"
refused "a row of another width" "row 2 (line 3) has 12 fields; the header has 11" "$work/fields.csv"
sed 's/"reveal_to": \[0, 1\]/"reveal_to": [0]/' "$h/diabetes-rows.json" >"$work/other.json"
refused "another spec than the dealer's" "is not the one these keys were dealt for" "$t0" "$work/other.json"
sed 's/"reveal_to"/"reveal_too"/' "$h/diabetes-rows.json" >"$work/typo.json"
"$dealer" --stats "$work/typo.json" --out "$work/t" >"$work/log" 2>&1
[ $? = 2 ] && grep -q 'has a field "reveal_too" the spec does not know' "$work/log" && ok ||
    { bad "a misspelt field in the spec"; cat "$work/log"; }
finish
