#!/usr/bin/env bash
# End to end for the tabular models of the two hospitals (cnn/train_tabular.py: hospital A's
# logistic regression and MLP on its half of the breast-cancer table; hospital B's half,
# labelled): through the dealer and two online processes, the probabilities of benign
# (--task probability: a secure sigmoid of the logits' difference) and the accuracy
# (--task accuracy, with the confusion matrix) must equal the clear run's bit for bit; the
# probabilities must be within 2e-3 of the float model's (the sigmoid's 5e-4 and the
# logits' fixed point), and the accuracy the float model's.
#   e2e_tabular.sh BUILD_DIR SOURCE_DIR
set -u
build=$1
src=$2
source "$src/tests/e2e_common.sh"
x=$src/cnn/cancer-b.npy
y=$src/cnn/cancer-b-labels.npy
n=285
for m in logreg-cancer mlp-cancer; do
    w=$src/cnn/$m.safetensors
    for task in probability accuracy; do
        extra=()
        [ $task = accuracy ] && extra=(--confusion)
        out=$work/$m-$task
        "$dealer" --model $m --batch $n --task $task "${extra[@]}" --out "$out" --quiet >/dev/null 2>&1 ||
            bad "$m $task: dealer"
        ext=npy
        [ $task = accuracy ] && ext=json
        "$online" --clear --model $m --weights "$w" --input "$x" --labels "$y" --task $task "${extra[@]}" \
            --output "$out-clear.$ext" --quiet >/dev/null 2>&1 || bad "$m $task: clear run"
        lab=()
        [ $task = accuracy ] && lab=(--labels "$y")
        pair --keys "$out/p0.bin" --weights "$w" --quiet --timeout 30 -- \
            --keys "$out/p1.bin" --input "$x" "${lab[@]}" --output "$out-1.$ext" --quiet --timeout 30 &&
            cmp -s "$out-1.$ext" "$out-clear.$ext" && ok ||
            { bad "$m $task: the secure output differs from the clear run's"; cat "$work/log0" "$work/log1"; }
    done
    python3 - "$work/$m-probability-clear.npy" "$work/$m-accuracy-clear.json" "$src/cnn/cancer-b-float.json" $m <<'PY' &&
import ast, json, struct, sys
raw = open(sys.argv[1], "rb").read()
hl = struct.unpack("<H", raw[8:10])[0]
shape = ast.literal_eval(raw[10:10 + hl].decode())["shape"]
p = struct.unpack("<%df" % shape[0], raw[10 + hl:])
ref = json.load(open(sys.argv[3]))[sys.argv[4]]
worst = max(abs(a - b) for a, b in zip(p, ref["probability"]))
acc = json.load(open(sys.argv[2]))
conf = acc["confusion"]
assert shape == (285,), shape
assert worst <= 2e-3, f"probability error {worst}"
assert acc["correct"] == ref["correct"] == conf[0][0] + conf[1][1], (acc, ref["correct"])
assert sum(map(sum, conf)) == 285
print(f"{sys.argv[4]}: probabilities within {worst:.2g} of the float model's, {acc['correct']} of 285 right")
PY
        ok || bad "$m: against the float model"
done
finish
