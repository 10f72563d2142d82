#!/usr/bin/env bash
# Weights input once, end to end: dealer --setup, the setup run (party 0 sends its masked
# weights once, party 1 keeps them in a file), then inferences dealt under the model key with
# no weights on the wire (party 0's keys carry their masks' seeds): each output equals the clear run's bit for
# bit, party 0 sends less than an ordinary run by at least the weights, and the dry run's
# figures are the run's. Then the refusals: the wrong file, no file, a file where there
# should be none, another model's key, a damaged or truncated file, a reused key file.
#   e2e_weights_once.sh BUILD_DIR SOURCE_DIR
set -u
build=$1
src=$2
source "$src/tests/e2e_common.sh"
json() { python3 -c "import json, sys; print(eval(sys.argv[2], {}, json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])))" "$@"; }

pair() { # NAME KEYDIR "P0 FLAGS" "P1 FLAGS": both parties, their JSON to NAME.p*.json, logs to NAME.log*
    local name=$1 keys=$2 p
    p=$(port)
    # shellcheck disable=SC2086
    "$online" --party 0 --keys "$keys/p0.bin" --peer 127.0.0.1:$p $3 --quiet --threads 1 --timeout 30 --json \
        >"$work/$name.p0.json" 2>"$work/$name.log0" &
    local pid=$!
    # shellcheck disable=SC2086
    "$online" --party 1 --keys "$keys/p1.bin" --peer 127.0.0.1:$p $4 --quiet --threads 1 --timeout 30 --json \
        >"$work/$name.p1.json" 2>"$work/$name.log1"
    local rc1=$?
    wait $pid
    local rc0=$?
    [ $rc0 = 0 ] && [ $rc1 = 0 ] && return 0
    echo "$name: parties exited $rc0, $rc1"
    cat "$work/$name.log0" "$work/$name.log1"
    return 1
}

for shape in "bert-tiny --seq 8" "gpt2-tiny --seq 5 --batch 2"; do
    read -r model _ <<<"$shape"
    w=$work/$model
    mkdir -p "$w"
    "$dealer" --model "$model" --setup "$w/model.key" --out "$w/setup" --quiet >/dev/null 2>"$work/log" ||
        { bad "$model: dealer --setup"; cat "$work/log"; continue; }
    [ "$(stat -c %a "$w/model.key")" = 600 ] && ok || bad "$model: the model key is not mode 0600"
    pair "$model-setup" "$w/setup" "--random-weights 7" "--masked-weights $w/m1.bin" && ok || bad "$model: the setup run"
    # two inferences from the one setup, each against the clear run
    # shellcheck disable=SC2086
    "$online" --clear --model $shape --random-weights 7 --input random --output "$w/clear.npy" --quiet ||
        bad "$model: clear run"
    for i in 1 2; do
        # shellcheck disable=SC2086
        "$dealer" --model $shape --weights-key "$w/model.key" --dry-run --json --quiet >"$w/inf$i.dry" &&
            "$dealer" --model $shape --weights-key "$w/model.key" --out "$w/inf$i" --quiet >/dev/null 2>&1 ||
            { bad "$model: dealer --weights-key"; continue; }
        pair "$model-inf$i" "$w/inf$i" "--random-weights 7" "--masked-weights $w/m1.bin --input random --output $w/out$i.npy" &&
            ok || bad "$model: inference $i"
        cmp -s "$w/out$i.npy" "$w/clear.npy" && ok || bad "$model: inference $i differs from the clear run"
        for b in 0 1; do
            [ "$(json "$work/$model-inf$i.p$b.json" rounds)" = "$(json "$w/inf$i.dry" rounds)" ] &&
                [ "$(stat -c %s "$w/inf$i/p$b.bin")" = "$(json "$w/inf$i.dry" "key_bytes[$b]")" ] && ok ||
                bad "$model: inference $i, party $b: the dry run's rounds or key bytes are not the run's"
        done
    done
    # against an ordinary run's dry run: party 0 sends at least the masked weights less
    # shellcheck disable=SC2086
    "$dealer" --model $shape --dry-run --json --quiet >"$w/plain.dry"
    python3 - "$w/plain.dry" "$w/inf1.dry" "$w/m1.bin" <<'PY' && ok || bad "$model: party 0 still sends its weights"
import json, os, sys
plain, once = (json.load(open(p)) for p in sys.argv[1:3])
weights = os.path.getsize(sys.argv[3]) * 0.98  # the file: the packed weights and small headers
sys.exit(0 if plain["bytes_sent"][0] - once["bytes_sent"][0] >= weights else
         "party 0 sends %d, ordinary %d; the weights are %d bytes" % (once["bytes_sent"][0], plain["bytes_sent"][0], weights))
PY
done

# a CNN: LeNet with its trained weights, batch 4 of the Fashion-MNIST images
w=$work/lenet
cnn=(--weights "$src/cnn/lenet-fashion.safetensors")
imgs=(--input "$src/cnn/fashion-test-100.npy" --first 4)
mkdir -p "$w"
"$dealer" --model lenet --setup "$w/model.key" --out "$w/setup" --quiet >/dev/null 2>&1 &&
    pair lenet-setup "$w/setup" "${cnn[*]}" "--masked-weights $w/m1.bin" &&
    "$dealer" --model lenet --batch 4 --weights-key "$w/model.key" --out "$w/inf" --quiet >/dev/null 2>&1 &&
    pair lenet-inf "$w/inf" "${cnn[*]}" "--masked-weights $w/m1.bin ${imgs[*]} --output $w/o.npy" &&
    "$online" --clear --model lenet "${cnn[@]}" "${imgs[@]}" --output "$w/c.npy" >/dev/null 2>&1 &&
    cmp -s "$w/o.npy" "$w/c.npy" && ok || bad "lenet: weights once differs from the clear run"

w=$work/bert-tiny
"$dealer" --model bert-tiny --seq 8 --weights-key "$w/model.key" --out "$w/r" --quiet >/dev/null 2>&1
"$dealer" --model bert-tiny --seq 8 --out "$w/plain" --quiet >/dev/null 2>&1
refused() { # WHAT PATTERN PARTY KEYDIR FLAGS...: refused with PATTERN in the message, the key file unspent
    local what=$1 pattern=$2 b=$3 keys=$4
    shift 4
    "$online" --party "$b" --keys "$keys/p$b.bin" --peer 127.0.0.1:1 --quiet --timeout 2 "$@" >"$work/log" 2>&1
    [ $? != 0 ] && grep -q -- "$pattern" "$work/log" && [ "$(key_state "$keys/p$b.bin")" = 0 ] && ok ||
        { bad "$what"; cat "$work/log"; }
}
refused "an inference without --masked-weights" "needs --masked-weights" 1 "$w/r" --input random --output "$w/o.npy"
refused "another setup's masked weights" "another setup" 1 "$w/r" --masked-weights "$work/gpt2-tiny/m1.bin" \
    --input random --output "$w/o.npy"
refused "masked weights with ordinary keys" "drop --masked-weights" 1 "$w/plain" --masked-weights "$w/m1.bin" \
    --input random --output "$w/o.npy"
head -c 3000 "$w/m1.bin" >"$w/short.bin"
refused "a truncated masked weights file" "truncated" 1 "$w/r" --masked-weights "$w/short.bin" --input random \
    --output "$w/o.npy"
refused "party 0 with --masked-weights" "party 0 keeps no masked weights" 0 "$w/r" --random-weights 7 \
    --masked-weights "$w/m1.bin"
"$dealer" --model bert-tiny --setup "$w/k2" --out "$w/s2" --quiet >/dev/null 2>&1
refused "a setup run over an existing file" "exists" 1 "$w/s2" --masked-weights "$w/m1.bin"
refused "party 1's input in a setup run" "takes no --input" 1 "$w/s2" --masked-weights "$w/new.bin" --input random
"$dealer" --model bert-tiny --setup "$w/model.key" --out "$w/k" >"$work/log" 2>&1
[ $? != 0 ] && grep -q "model key of another setup" "$work/log" && ok || { bad "a second setup over a model key"; cat "$work/log"; }
mkdir -p "$w/k3"
"$dealer" --model bert-tiny --setup "$w/k3/model.key" --out "$w/k3" >"$work/log" 2>&1
[ $? != 0 ] && grep -q "would sit with the parties' key files" "$work/log" && [ ! -e "$w/k3/model.key" ] &&
    [ ! -e "$w/k3/p0.bin" ] && ok || { bad "a model key among the key files"; cat "$work/log"; }
"$dealer" --model gpt2-tiny --seq 5 --weights-key "$w/model.key" --out "$w/x" >"$work/log" 2>&1
[ $? != 0 ] && grep -q "not of this run" "$work/log" && [ ! -e "$w/x/p0.bin" ] && ok ||
    { bad "another model's key"; cat "$work/log"; }
"$dealer" --model bert-tiny --seq 8 --setup "$w/k4" --weights-key "$w/model.key" --out "$w/x" >"$work/log" 2>&1
[ $? = 2 ] && ok || { bad "--setup with --weights-key"; cat "$work/log"; }
# the file without its end record (cut at a record's edge): refused before the key is spent
python3 - "$w/m1.bin" "$w/cut.bin" <<'PY'
import sys
d = open(sys.argv[1], "rb").read()
open(sys.argv[2], "wb").write(d[:-32])
PY
refused "a masked weights file cut at a record's edge" "without its end record" 1 "$w/r" --masked-weights "$w/cut.bin" \
    --input random --output "$w/o.npy"
# fewer blocks than the setup's (its final norm and head under the same numbers), and the
# next token instead of the logits: both equal the clear runs
g=$work/gpt2-tiny
for flags in "--layers 1" "--next-token"; do
    # shellcheck disable=SC2086
    "$dealer" --model gpt2-tiny --seq 5 $flags --weights-key "$g/model.key" --out "$g/f" --quiet >/dev/null 2>&1 &&
        pair "fewer" "$g/f" "--random-weights 7" "--masked-weights $g/m1.bin --input random --output $g/f.npy" &&
        "$online" --clear --model gpt2-tiny --seq 5 $flags --random-weights 7 --input random --output "$g/fc.npy" \
            --quiet && cmp -s "$g/f.npy" "$g/fc.npy" && ok || bad "gpt2-tiny $flags under a full setup"
    rm -rf "$g/f"
done
# a setup without the LM head, an inference with it: the dealer refuses
"$dealer" --model gpt2-tiny --hidden --setup "$g/hidden.key" --out "$g/hs" --quiet >/dev/null 2>&1
"$dealer" --model gpt2-tiny --seq 5 --weights-key "$g/hidden.key" --out "$g/x" >"$work/log" 2>&1
[ $? != 0 ] && grep -q "without the LM head" "$work/log" && ok || { bad "logits under a setup without the head"; cat "$work/log"; }
# party 0 with other weights than the setup's: both stop, and party 1 writes nothing
"$dealer" --model bert-tiny --seq 8 --weights-key "$w/model.key" --out "$w/r2" --quiet >/dev/null 2>&1
pair other "$w/r2" "--random-weights 8" "--masked-weights $w/m1.bin --input random --output $w/other.npy" >/dev/null 2>&1
[ $? != 0 ] && grep -q "not those of the setup" "$work/other.log1" && [ ! -e "$w/other.npy" ] && ok ||
    { bad "party 0's weights changed since the setup"; cat "$work/other.log1"; }
# a damaged record's data: the run stops with the weight named (the key file is spent by then)
python3 - "$w/m1.bin" "$w/bad.bin" <<'PY'
import sys
d = bytearray(open(sys.argv[1], "rb").read())
d[len(d) // 2] ^= 1
open(sys.argv[2], "wb").write(d)
PY
pair damaged "$w/r" "--random-weights 7" \
    "--masked-weights $w/bad.bin --input random --output $w/o.npy" >/dev/null 2>&1
[ $? != 0 ] && grep -q "damaged" "$work/damaged.log1" && ok || { bad "a damaged masked weights file"; cat "$work/damaged.log1"; }
# generation under a setup: each step after the prompt's pass takes the weights it kept
# (no store read, no key): the tokens are the clear run's, the rounds and key bytes the dry run's
s=$work/gen
mkdir -p "$s"
printf 'The patient was seen' >"$s/p.txt"
gen=(--model smollm2 --layers 1 --seq 6 --generate 3)
"$dealer" --model smollm2 --layers 1 --setup "$s/model.key" --out "$s/setup" --quiet >/dev/null 2>&1 &&
    pair gen-setup "$s/setup" "--random-weights 7" "--masked-weights $s/m1.bin" &&
    "$dealer" "${gen[@]}" --weights-key "$s/model.key" --dry-run --json --quiet >"$s/dry" &&
    "$dealer" "${gen[@]}" --weights-key "$s/model.key" --out "$s/inf" --quiet >/dev/null 2>&1 &&
    pair gen "$s/inf" "--random-weights 7" "--masked-weights $s/m1.bin --text-file $s/p.txt --output $s/out.npy" &&
    "$online" --clear "${gen[@]}" --random-weights 7 --text-file "$s/p.txt" --output "$s/clear.npy" --quiet &&
    cmp -s "$s/out.npy" "$s/clear.npy" && ok || bad "smollm2 --generate under a setup differs from the clear run"
for b in 0 1; do
    [ "$(json "$work/gen.p$b.json" rounds)" = "$(json "$s/dry" rounds)" ] &&
        [ "$(stat -c %s "$s/inf/p$b.bin")" = "$(json "$s/dry" "key_bytes[$b]")" ] && ok ||
        bad "smollm2 --generate under a setup, party $b: the dry run's rounds or key bytes are not the run's"
done
# an inference key file, once used, is refused
pair reuse "$w/inf1" "--random-weights 7" \
    "--masked-weights $w/m1.bin --input random --output $w/o.npy" >/dev/null 2>&1
[ $? != 0 ] && grep -qi "used" "$work/reuse.log1" && ok || { bad "a reused inference key file"; cat "$work/reuse.log1"; }
finish
