#!/usr/bin/env bash
# End to end: the dealer and two real online processes over loopback TCP on LeNet with
# the trained Fashion-MNIST weights; the revealed logits must equal the clear run's bit
# for bit. Then the bad inputs: each must stop with a clear message and a nonzero exit,
# and leave no output file behind.
#   e2e_lenet.sh BUILD_DIR SOURCE_DIR
set -u
build=$1
src=$2
source "$src/tests/e2e_common.sh"
weights=$src/cnn/lenet-fashion.safetensors

cp "$src/cnn/fashion-test-4.npy" "$work/in4.npy"

# a good run: party 0 in the background, party 1 in the foreground
run_pair() { # dir p0keys p1keys out -> sets rc0 rc1, logs in $work/log0 $work/log1
    local p=$(port)
    "$online" --party 0 --keys "$2" --peer 127.0.0.1:$p --weights "$weights" --quiet --timeout 10 --threads 1 \
        >"$work/log0" 2>&1 &
    local pid=$!
    "$online" --party 1 --keys "$3" --peer 127.0.0.1:$p --input "$work/in4.npy" --output "$4" --quiet --threads 1 \
        --timeout 10 >"$work/log1" 2>&1
    rc1=$?
    wait $pid
    rc0=$?
}

"$dealer" --model lenet --batch 4 --out "$work/a" --quiet || bad "dealer failed"
[ "$(stat -c %a "$work/a/p0.bin")" = 600 ] && ok || bad "key file mode is not 0600"
cp "$work/a/p0.bin" "$work/a/p0.copy" && cp "$work/a/p1.bin" "$work/a/p1.copy"
run_pair a "$work/a/p0.bin" "$work/a/p1.bin" "$work/secure.npy"
[ $rc0 = 0 ] && [ $rc1 = 0 ] && ok || { bad "secure run failed ($rc0, $rc1)"; cat "$work/log0" "$work/log1"; }
"$online" --clear --model lenet --weights "$weights" --input "$work/in4.npy" --output "$work/clear.npy" ||
    bad "clear run failed"
cmp -s "$work/secure.npy" "$work/clear.npy" && ok || bad "secure logits differ from the clear run"

expect_fail() { # name rc logfile pattern outfile
    if [ "$2" = 0 ]; then bad "$1: exit status 0"; else ok; fi
    grep -qi -- "$4" "$3" && ok || { bad "$1: no message matching '$4'"; cat "$3"; }
    [ -e "$5" ] && bad "$1: output file left behind" || ok
}

# gate keys split into pieces of 1000 bytes: parties read across the pieces (odd sizes,
# so steps and piece edges never line up); the logits still equal the clear run
"$dealer" --model lenet --batch 4 --out "$work/pc" --piece-bytes 1000 --quiet || bad "dealer --piece-bytes failed"
run_pair pc "$work/pc/p0.bin" "$work/pc/p1.bin" "$work/pieces.npy"
[ $rc0 = 0 ] && [ $rc1 = 0 ] && ok || { bad "run with 1000-byte pieces failed ($rc0, $rc1)"; cat "$work/log0" "$work/log1"; }
cmp -s "$work/pieces.npy" "$work/clear.npy" && ok || bad "logits from 1000-byte pieces differ from the clear run"
[ "$(stat -c %s "$work/pc/p1.bin")" -gt "$(stat -c %s "$work/a/p1.bin")" ] && ok ||
    bad "the 1000-byte pieces did not make more chunks (same file size)"

# a stranger connects to party 0 first and stays silent: party 0 drops it after its
# handshake window and the real party 1 still gets in
"$dealer" --model lenet --batch 4 --out "$work/s" --quiet
p=$(port)
"$online" --party 0 --keys "$work/s/p0.bin" --peer 127.0.0.1:$p --weights "$weights" --quiet --timeout 20 \
    --threads 1 >"$work/log0" 2>&1 &
pid0=$!
for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null && break; sleep 0.1; done
exec 3<>/dev/tcp/127.0.0.1/$p # the silent stranger (the probe above was one too: it closed)
"$online" --party 1 --keys "$work/s/p1.bin" --peer 127.0.0.1:$p --input "$work/in4.npy" --output "$work/s.npy" \
    --quiet --threads 1 --timeout 20 >"$work/log1" 2>&1
rc1=$?
wait $pid0
rc0=$?
exec 3>&-
[ $rc0 = 0 ] && [ $rc1 = 0 ] && cmp -s "$work/s.npy" "$work/clear.npy" && ok ||
    { bad "a silent stranger locked party 1 out ($rc0, $rc1)"; cat "$work/log0" "$work/log1"; }

# certificates both ways on top of the run's secret (--tls-cert/--tls-key/--tls-ca)
c=$work/certs
mkdir -p "$c"
mkca() { openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$c/$1.key" -out "$c/$1.pem" \
    -days 1 -subj "/CN=$1" 2>/dev/null; }
mkcert() { # NAME CA SUBJECT_ALT_NAME
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$c/$1.key" -out "$c/$1.csr" \
        -subj "/CN=$1" 2>/dev/null &&
        openssl x509 -req -in "$c/$1.csr" -CA "$c/$2.pem" -CAkey "$c/$2.key" -CAcreateserial -out "$c/$1.pem" \
            -days 1 -extfile <(printf "subjectAltName=%s" "$3") 2>/dev/null
}
mkca ca && mkca other && mkcert p0 ca IP:127.0.0.1 && mkcert p1 ca DNS:party1 && mkcert p0x other IP:127.0.0.1 &&
    mkcert p0h ca DNS:elsewhere && ok || bad "openssl could not make the test certificates"
tls() { echo --tls-cert "$c/$1.pem" --tls-key "$c/$1.key" --tls-ca "$c/ca.pem"; }
cert_pair() { # P0KEYS P1KEYS OUT P0CERT P1CERT (a cert name, or "none") -> rc0 rc1
    local p=$(port) a0=() a1=()
    [ "$4" = none ] || a0=($(tls "$4"))
    [ "$5" = none ] || a1=($(tls "$5"))
    "$online" --party 0 --keys "$1" --peer 127.0.0.1:$p --weights "$weights" --quiet --timeout 3 --threads 1 \
        "${a0[@]}" >"$work/log0" 2>&1 &
    local pid=$!
    "$online" --party 1 --keys "$2" --peer 127.0.0.1:$p --input "$work/in4.npy" --output "$3" --quiet --threads 1 \
        --timeout 3 "${a1[@]}" >"$work/log1" 2>&1
    rc1=$?
    wait $pid
    rc0=$?
}
"$dealer" --model lenet --batch 4 --out "$work/t" --quiet
cert_pair "$work/t/p0.bin" "$work/t/p1.bin" "$work/t.npy" p0 p1
[ $rc0 = 0 ] && [ $rc1 = 0 ] && cmp -s "$work/t.npy" "$work/clear.npy" && ok ||
    { bad "a run with certificates ($rc0, $rc1)"; cat "$work/log0" "$work/log1"; }
"$dealer" --model lenet --batch 4 --out "$work/t2" --quiet
"$dealer" --model lenet --batch 4 --out "$work/t3" --quiet
for case in "p0x p1 the peer's certificate: unable to get local issuer" "p0h p1 the peer's certificate: IP address mismatch" \
    "none p1 TLS handshake" "p0 none the peer showed a certificate instead of this run's key"; do
    set -- $case
    cert_pair "$work/t2/p0.bin" "$work/t2/p1.bin" "$work/t2.npy" "$1" "$2"
    shift 2
    expect_fail "certificates: party 0 $case" $rc1 "$work/log1" "$*" "$work/t2.npy"
    [ $rc0 != 0 ] && ok || bad "certificates: $case: party 0 exited 0"
done
# good certificates, keys of two runs: refused by the proof of the run's secret
cert_pair "$work/t2/p0.bin" "$work/t3/p1.bin" "$work/t2.npy" p0 p1
expect_fail "certificates, keys of another run" $rc1 "$work/log1" \
    "certificate is good, but it does not hold the other key file of this run" "$work/t2.npy"
[ "$(key_state "$work/t2/p0.bin")$(key_state "$work/t2/p1.bin")$(key_state "$work/t3/p1.bin")" = 000 ] && ok ||
    bad "certificates: a refused run spent a key file"

# keys are one-time: the same files again are refused
run_pair a "$work/a/p0.bin" "$work/a/p1.bin" "$work/o1.npy"
expect_fail "reused keys" $rc1 "$work/log1" "already used" "$work/o1.npy"
# copies made before the run (fresh on disk): refused by this machine's ledger, both sides
run_pair a "$work/a/p0.copy" "$work/a/p1.copy" "$work/o1.npy"
expect_fail "a copy of used keys" $rc1 "$work/log1" "already used by party 1 on this machine" "$work/o1.npy"
expect_fail "a copy of used keys, party 0" $rc0 "$work/log0" "already used by party 0 on this machine" "$work/o1.npy"

# a truncated key file
"$dealer" --model lenet --batch 4 --out "$work/b" --quiet
head -c 1000000 "$work/b/p1.bin" >"$work/b/p1.cut"
"$online" --party 1 --keys "$work/b/p1.cut" --peer 127.0.0.1:1 --input "$work/in4.npy" --output "$work/o2.npy" \
    --quiet >"$work/log2" 2>&1
expect_fail "truncated key file" $? "$work/log2" "truncated" "$work/o2.npy"

# both parties given party 0's file
"$dealer" --model lenet --batch 4 --out "$work/d" --quiet
"$online" --party 1 --keys "$work/d/p0.bin" --peer 127.0.0.1:1 --input "$work/in4.npy" --output "$work/o4.npy" \
    --quiet >"$work/log4" 2>&1
expect_fail "party 0's file for party 1" $? "$work/log4" "party 0" "$work/o4.npy"

# (keys of another run, corrupted chunks, a peer killed, frozen or failing at the end:
# the fault matrix, e2e_faults.sh)

# command-line mistakes: exit 2 with one line
"$online" --party 1 --bogus >"$work/log6" 2>&1
[ $? = 2 ] && ok || bad "unknown flag: exit status not 2"
"$online" --clear --model lenet --random-weights 1 --input "$work/missing.npy" --output "$work/o7.npy" >"$work/log7" 2>&1
expect_fail "missing input" $? "$work/log7" "missing.npy" "$work/o7.npy"
"$dealer" --model nosuch --out "$work/f" >"$work/log8" 2>&1
[ $? = 2 ] && ok || bad "unknown model: exit status not 2"
"$dealer" --out "$work/f" --model >"$work/log8" 2>&1
[ $? = 2 ] && grep -q -- "--model needs a value" "$work/log8" && ok || { bad "dealer --model without a value"; cat "$work/log8"; }
"$online" --party 1 --keys "$work/a/p1.bin" --peer >"$work/log8" 2>&1
[ $? = 2 ] && grep -q -- "--peer needs a value" "$work/log8" && ok || { bad "online --peer without a value"; cat "$work/log8"; }

# what can be checked is checked before the key file is spent: keys for batch 2 with a
# 4-image input, party 0 given party 1's flag; the key files stay fresh (state 0)
"$dealer" --model lenet --batch 2 --out "$work/h" --quiet
"$online" --party 1 --keys "$work/h/p1.bin" --peer 127.0.0.1:1 --input "$work/in4.npy" --output "$work/o11.npy" \
    --quiet >"$work/log11" 2>&1
expect_fail "batch 2 keys, 4 images" $? "$work/log11" "holds 4 images; these keys are for batches of 2" "$work/o11.npy"
"$online" --party 0 --keys "$work/h/p0.bin" --peer 127.0.0.1:1 --input "$work/in4.npy" --quiet >"$work/log12" 2>&1
rc=$?
[ $rc = 2 ] && ok || bad "party 0 given --input: exit status $rc, not 2"
grep -q -- "--input belongs to party 1 and --clear, not to party 0" "$work/log12" && ok || { bad "party 0 given --input: message"; cat "$work/log12"; }
# party 0 without weights; an output in a missing directory; a port in use; a host that
# does not resolve; a timeout that is not a number
"$online" --party 0 --keys "$work/h/p0.bin" --peer 127.0.0.1:1 --quiet >"$work/log12" 2>&1
expect_fail "party 0 without weights" $? "$work/log12" "needs the model's weights: --weights FILE, or --random-weights" \
    "$work/none"
"$online" --party 0 --keys "$work/h/p0.bin" --peer 127.0.0.1:1 --random-weights 12x --quiet >"$work/log12" 2>&1
expect_fail "--random-weights 12x" $? "$work/log12" "needs a whole number, not '12x'" "$work/none"
"$online" --party 1 --keys "$work/h/p1.bin" --peer 127.0.0.1:1 --input "$work/in4.npy" --first 2 \
    --output "$work/nodir/o.npy" --quiet >"$work/log12" 2>&1
expect_fail "output in a missing directory" $? "$work/log12" "cannot write the output $work/nodir/o.npy" \
    "$work/nodir/o.npy"
p=$(port)
python3 -c "import socket,time,sys; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('127.0.0.1', $p)); s.listen(1); print('up', flush=True); time.sleep(20)" >"$work/busy" &
busy=$!
for _ in $(seq 50); do grep -q up "$work/busy" && break; sleep 0.1; done
"$online" --party 0 --keys "$work/h/p0.bin" --peer 127.0.0.1:$p --weights "$weights" --quiet >"$work/log12" 2>&1
expect_fail "a port in use" $? "$work/log12" "cannot listen on 127.0.0.1:$p" "$work/none"
kill $busy 2>/dev/null
"$online" --party 1 --keys "$work/h/p1.bin" --peer nosuch.invalid:7400 --input "$work/in4.npy" --first 2 \
    --output "$work/o12.npy" --quiet >"$work/log12" 2>&1
expect_fail "a host that does not resolve" $? "$work/log12" "cannot resolve nosuch.invalid:7400" "$work/o12.npy"
"$online" --party 1 --keys "$work/h/p1.bin" --peer 127.0.0.1:7400 --input "$work/in4.npy" --first 2 \
    --output "$work/o12.npy" --timeout nan --quiet >"$work/log12" 2>&1
expect_fail "--timeout nan" $? "$work/log12" "--timeout needs a positive number" "$work/o12.npy"
[ "$(key_state "$work/h/p0.bin")" = 0 ] && [ "$(key_state "$work/h/p1.bin")" = 0 ] && ok ||
    bad "a refused run spent its key file"

# the private output is created 0600 whatever the umask
(umask 022 && "$online" --clear --model lenet --weights "$weights" --input "$work/in4.npy" --output "$work/o13.npy")
[ "$(stat -c %a "$work/o13.npy")" = 600 ] && ok || bad "output mode $(stat -c %a "$work/o13.npy"), not 600"

# the dealer stopped by SIGINT or SIGTERM mid-run: its partial key files are removed, and a
# run into the same directory then works
# (a script's background jobs start with SIGINT ignored, which the dealer respects, as it
# does nohup's SIGHUP: the SIGINT case runs it with the default restored, as a terminal would)
for sig in INT TERM; do
    python3 -c 'import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execv(sys.argv[1], sys.argv[1:])' \
        "$dealer" --model resnet18-cifar --out "$work/sig" --quiet >"$work/logsig" 2>&1 &
    pid=$!
    for _ in $(seq 100); do [ -e "$work/sig/p1.bin.partial" ] && break; sleep 0.05; done
    kill -$sig $pid
    wait $pid
    rc=$?
    [ $rc -gt 128 ] && ok || bad "dealer SIG$sig: exit status $rc"
    left=$(ls -A "$work/sig" 2>/dev/null)
    [ -z "$left" ] && ok || bad "dealer SIG$sig left: $left"
    grep -q "partial key files are removed" "$work/logsig" && ok || { bad "dealer SIG$sig: no message"; cat "$work/logsig"; }
done
"$dealer" --model lenet --batch 1 --out "$work/sig" --quiet && [ -e "$work/sig/p1.bin" ] && ok ||
    bad "the dealer after an interrupted run"

# a FIFO as the key file, the input or the weights: refused at once, not a wait for ever
mkfifo "$work/fifo"
timeout 20 "$online" --party 1 --keys "$work/fifo" --peer 127.0.0.1:1 --input "$work/in4.npy" --output "$work/o14.npy" \
    --quiet >"$work/log14" 2>&1
expect_fail "a FIFO as --keys" $? "$work/log14" "not a regular file" "$work/o14.npy"
timeout 20 "$online" --clear --model lenet --weights "$weights" --input "$work/fifo" --output "$work/o14.npy" \
    >"$work/log14" 2>&1
expect_fail "a FIFO as --input" $? "$work/log14" "not a regular file" "$work/o14.npy"
timeout 20 "$online" --clear --model lenet --weights "$work/fifo" --input "$work/in4.npy" --output "$work/o14.npy" \
    >"$work/log14" 2>&1
expect_fail "a FIFO as --weights" $? "$work/log14" "not a regular file" "$work/o14.npy"

# an input of another shape: the message names both shapes
"$online" --clear --model lenet --weights "$weights" --input "$src/tests/fuzz/corpus/npy/f4_2x3" \
    --output "$work/o15.npy" >"$work/log15" 2>&1
expect_fail "an input of another shape" $? "$work/log15" "holds an array of shape \[2, 3\]; model lenet takes \[batch, 1, 28, 28\]" \
    "$work/o15.npy"

# a NaN in an input image: refused with the element named, exit 2
cp "$src/cnn/fashion-test-4.npy" "$work/nan.npy"
hl=$(od -A n -t u2 -j 8 -N 2 "$work/nan.npy" | tr -d ' ')
printf '\x00\x00\xc0\x7f' | dd of="$work/nan.npy" bs=1 seek=$((10 + hl + 4 * 1000)) conv=notrunc status=none
"$online" --clear --model lenet --weights "$src/cnn/lenet-fashion.safetensors" --input "$work/nan.npy" \
    --output "$work/o10.npy" >"$work/log10" 2>&1
rc=$?
[ $rc = 2 ] && ok || bad "NaN input: exit status $rc, not 2"
expect_fail "NaN input" $rc "$work/log10" "element 1000 (image 1) is not a finite" "$work/o10.npy"

# --task accuracy: only the count of right predictions (and, with --confusion, the
# confusion matrix) is opened, to party 1 or to both; it must equal the clear run's and the
# count from the clear run's logits against the labels
imgs=$src/cnn/fashion-test-100.npy
labs=$src/cnn/fashion-test-100-labels.npy
"$online" --clear --model lenet --weights "$weights" --input "$imgs" --first 12 --output "$work/l12.npy" --quiet \
    --labels "$labs" >"$work/plain" 2>&1 || bad "accuracy: the plain clear run"
for mode in plain confusion; do
    flags=()
    [ $mode = confusion ] && flags=(--confusion)
    who=1
    [ $mode = confusion ] && who=both
    "$dealer" --model lenet --batch 12 --task accuracy "${flags[@]}" --reveal-to $who --out "$work/acc-$mode" --quiet ||
        bad "accuracy ($mode): dealer"
    "$online" --clear --model lenet --weights "$weights" --input "$imgs" --first 12 --labels "$labs" --task accuracy \
        "${flags[@]}" --output "$work/acc-$mode-clear.json" --quiet >/dev/null || bad "accuracy ($mode): clear run"
    if [ $mode = plain ]; then # party 0 may not ask for what it does not get; nothing is spent
        "$online" --party 0 --keys "$work/acc-$mode/p0.bin" --peer 127.0.0.1:1 --weights "$weights" \
            --output "$work/no.json" >"$work/log0" 2>&1
        [ $? != 0 ] && grep -q "party 0 receives nothing from this run" "$work/log0" &&
            [ "$(key_state "$work/acc-$mode/p0.bin")" = 0 ] && ok || { bad "accuracy: party 0's --output"; cat "$work/log0"; }
        "$online" --party 1 --keys "$work/acc-$mode/p1.bin" --peer 127.0.0.1:1 --input "$imgs" --first 12 \
            --output "$work/no.json" >"$work/log1" 2>&1
        [ $? != 0 ] && grep -q "needs party 1's --labels" "$work/log1" && ok || { bad "accuracy: no labels"; cat "$work/log1"; }
    fi
    o0=()
    [ $who = both ] && o0=(--output "$work/acc-$mode-0.json")
    pair --keys "$work/acc-$mode/p0.bin" --weights "$weights" "${o0[@]}" --quiet --timeout 30 -- \
        --keys "$work/acc-$mode/p1.bin" --input "$imgs" --first 12 --labels "$labs" --output "$work/acc-$mode-1.json" \
        --quiet --timeout 30 && cmp -s "$work/acc-$mode-1.json" "$work/acc-$mode-clear.json" &&
        { [ $who = 1 ] || cmp -s "$work/acc-$mode-0.json" "$work/acc-$mode-clear.json"; } && ok ||
        { bad "accuracy ($mode): the parties' counts differ from the clear run's"; cat "$work/log0" "$work/log1"; }
    want=$(sed -n 's/^accuracy: \([0-9]*\) of 12.*/\1/p' "$work/plain")
    grep -q "\"correct\": $want, \"total\": 12" "$work/acc-$mode-clear.json" && ok ||
        bad "accuracy ($mode): $(cat "$work/acc-$mode-clear.json") is not the logits' $want of 12"
done
finish
