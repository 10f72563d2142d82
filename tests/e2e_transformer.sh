#!/usr/bin/env bash
# End to end for the transformer family: the dealer and two real online processes over
# loopback on a BERT (post-LayerNorm, GeLU), a GPT-2 (pre-LayerNorm, causal) and a Llama
# (RMSNorm, rotary, SwiGLU, grouped key/value heads) of small shapes, and bert-tiny itself:
# what party 1 receives (hidden states, the last position's logits, or the next token) must
# equal the clear walk's bit for bit and have its documented shape. Then the
# refusals that leave the keys unspent.
#   e2e_transformer.sh BUILD_DIR SOURCE_DIR
set -u
build=$1
src=$2
source "$src/tests/e2e_common.sh"
key_state() { od -An -tu4 -j64 -N4 "$1" | tr -d ' '; }
# an .npy file's dtype and shape, as "<f4 (2, 97)"
npy_shape() { python3 -c "import ast, sys; f = open(sys.argv[1], 'rb'); f.read(8); n = int.from_bytes(f.read(2), 'little'); h = ast.literal_eval(f.read(n).decode()); print(h['descr'], h['shape'])" "$1"; }

run() { # NAME MODEL DEALER-FLAGS...
    local name=$1 model=$2 p
    shift 2
    "$dealer" --model "$model" "$@" --out "$work/$name" --quiet >/dev/null || { bad "$name: dealer"; return; }
    "$online" --clear --model "$model" "$@" --random-weights 5 --input random --output "$work/$name-clear.npy" --quiet ||
        { bad "$name: clear run"; return; }
    p=$(port)
    "$online" --party 0 --keys "$work/$name/p0.bin" --peer 127.0.0.1:$p --random-weights 5 --quiet --threads 1 \
        --timeout 30 >"$work/log0" 2>&1 &
    local pid=$!
    "$online" --party 1 --keys "$work/$name/p1.bin" --peer 127.0.0.1:$p --input random --output "$work/$name.npy" \
        --quiet --threads 1 --timeout 30 >"$work/log1" 2>&1
    local rc1=$?
    wait $pid
    local rc0=$?
    [ $rc0 = 0 ] && [ $rc1 = 0 ] && ok || { bad "$name: parties exited $rc0, $rc1"; cat "$work/log0" "$work/log1"; }
    cmp -s "$work/$name.npy" "$work/$name-clear.npy" && ok || bad "$name: secure hidden states differ from the clear run"
    [ "$(stat -c %a "$work/$name.npy" 2>/dev/null)" = 600 ] && ok || bad "$name: output mode is not 0600"
    rm -rf "${work:?}/$name"
}

run bert bert-tiny --seq 8
[ "$(npy_shape "$work/bert.npy")" = "<f4 (1, 8, 128)" ] && ok || bad "bert-tiny's output is $(npy_shape "$work/bert.npy")"
run gpt gpt2-tiny --seq 5 --batch 2
[ "$(npy_shape "$work/gpt.npy")" = "<f4 (2, 97)" ] && ok || bad "gpt2-tiny's logits are $(npy_shape "$work/gpt.npy")"
run gpth gpt2-tiny --seq 5 --hidden
[ "$(npy_shape "$work/gpth.npy")" = "<f4 (1, 5, 64)" ] && ok || bad "gpt2-tiny --hidden gives $(npy_shape "$work/gpth.npy")"
run llama llama-tiny --seq 6 --layers 1 --next-token --batch 3
[ "$(npy_shape "$work/llama.npy")" = "<i8 (3,)" ] && ok || bad "llama-tiny --next-token gives $(npy_shape "$work/llama.npy")"
run gpt2 gpt2 --seq 3 --layers 1

# embeddings from an .npy file (float32 [1][5][64], written here without numpy), through
# the dealer and both parties: the same bits as the clear run on the same file
python3 - "$work/emb.npy" <<'PY'
import random, struct, sys
random.seed(11)
vals = [random.uniform(-2, 2) for _ in range(5 * 64)]
hdr = "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 5, 64), }"
hdr += " " * ((64 - (10 + len(hdr) + 1) % 64) % 64) + "\n"
with open(sys.argv[1], "wb") as f:
    f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(hdr)) + hdr.encode() + struct.pack("<%df" % len(vals), *vals))
PY
"$dealer" --model gpt2-tiny --seq 5 --out "$work/f" --quiet >/dev/null
"$online" --clear --model gpt2-tiny --random-weights 5 --input "$work/emb.npy" --output "$work/f-clear.npy" --quiet ||
    bad "clear run on an embeddings file"
p=$(port)
"$online" --party 0 --keys "$work/f/p0.bin" --peer 127.0.0.1:$p --random-weights 5 --quiet --threads 1 --timeout 30 \
    >"$work/log0" 2>&1 &
pid=$!
"$online" --party 1 --keys "$work/f/p1.bin" --peer 127.0.0.1:$p --input "$work/emb.npy" --output "$work/f.npy" \
    --quiet --threads 1 --timeout 30 >"$work/log1" 2>&1
rc1=$?
wait $pid
[ $? = 0 ] && [ $rc1 = 0 ] && cmp -s "$work/f.npy" "$work/f-clear.npy" && ok ||
    { bad "embeddings from a file: the secure logits differ from the clear run"; cat "$work/log0" "$work/log1"; }
# the same file against keys for 6 tokens: refused before the key is spent
"$dealer" --model gpt2-tiny --seq 6 --out "$work/g" --quiet >/dev/null
"$online" --party 1 --keys "$work/g/p1.bin" --peer 127.0.0.1:1 --input "$work/emb.npy" --output "$work/g.npy" \
    --quiet >"$work/log" 2>&1
[ $? != 0 ] && grep -q "takes \[1, 6, 64\] (the keys' batch and sequence)" "$work/log" &&
    [ "$(key_state "$work/g/p1.bin")" = 0 ] && ok || { bad "5 tokens against keys for 6"; cat "$work/log"; }

# refused before a key is spent: party 1's embeddings of another shape, party 0 without
# weights; the dealer without --seq, a --layers beyond the model
"$dealer" --model gpt2-tiny --seq 5 --out "$work/r" --quiet >/dev/null
"$online" --party 1 --keys "$work/r/p1.bin" --peer 127.0.0.1:1 --input "$src/tests/fuzz/corpus/npy/f4_2x3" \
    --output "$work/o.npy" --quiet >"$work/log" 2>&1
[ $? != 0 ] && grep -q "gpt2-tiny takes \[1, 5, 64\]" "$work/log" && ok || { bad "embeddings of another shape"; cat "$work/log"; }
"$online" --party 0 --keys "$work/r/p0.bin" --peer 127.0.0.1:1 --quiet >"$work/log" 2>&1
[ $? = 2 ] && grep -q -- "--random-weights" "$work/log" && ok || { bad "party 0 without weights"; cat "$work/log"; }
[ "$(key_state "$work/r/p0.bin")$(key_state "$work/r/p1.bin")" = 00 ] && ok || bad "a refused run spent a key file"
"$dealer" --model gpt2 --out "$work/s" >"$work/log" 2>&1
[ $? = 2 ] && grep -q -- "--seq" "$work/log" && ok || { bad "the dealer without --seq"; cat "$work/log"; }
"$dealer" --model llama7b --seq 4 --layers 33 --out "$work/s" >"$work/log" 2>&1
[ $? = 2 ] && grep -q "1 to 32" "$work/log" && ok || { bad "--layers 33 of llama7b"; cat "$work/log"; }
"$dealer" --model bert-tiny --seq 4 --next-token --out "$work/s" >"$work/log" 2>&1
[ $? = 2 ] && grep -q "no LM head" "$work/log" && ok || { bad "bert-tiny --next-token"; cat "$work/log"; }

finish
