#!/usr/bin/env bash
# A/B of two builds of the `train_step` bench (docs/benchmarks.md): builds the bench with each
# set of cargo flags, copies both binaries to a temp dir, then runs ROUNDS rounds of
# A head, A CifarNet, B head, B CifarNet, so that machine drift hits both builds alike. Prints
# each run's fastest and median per batch size and, at the end, the median of the round
# medians and the lowest fastest for each build.
#
#     crates/lthnet/benches/train_step_ab.sh ROUNDS "CARGO FLAGS A" "CARGO FLAGS B"
#     # e.g. AVX2-only GEMM against the default (AVX-512 kernels picked at run time):
#     crates/lthnet/benches/train_step_ab.sh 5 "--no-default-features --features flex" ""
#     # $A_ENV / $B_ENV: environment assignments for one side's runs, e.g. rayon's default pool
#     # beside the main thread against the main thread as worker 0:
#     A_ENV=TRAIN_STEP_RAYON_DEFAULT=1 crates/lthnet/benches/train_step_ab.sh 5 "" ""
#     # $BIN_A / $BIN_B: a train_step binary built beforehand (another commit, say) instead of
#     # building that side:
#     BIN_A=/tmp/train_step_before crates/lthnet/benches/train_step_ab.sh 5 "" ""
set -euo pipefail
cd "$(dirname "$0")/../../.."
rounds="${1:?rounds}"
flags_a="${2?cargo flags of build A}"
flags_b="${3?cargo flags of build B}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/lthnet-target}"
tmp=$(mktemp -d)
for side in a b; do
    flags=$flags_a prebuilt=${BIN_A:-}
    [ "$side" = b ] && flags=$flags_b prebuilt=${BIN_B:-}
    if [ -n "$prebuilt" ]; then
        cp "$prebuilt" "$tmp/$side"
        continue
    fi
    # shellcheck disable=SC2086 # the flags are meant to split into words
    bin=$(cargo bench -p lthnet --bench train_step $flags --no-run 2>&1 |
        sed -n 's/.*Executable.*(\(.*\))/\1/p' | tail -1)
    cp "$bin" "$tmp/$side"
done
log="$tmp/rounds.log"
echo "A: ${A_ENV:-} ${BIN_A:-cargo bench $flags_a} | B: ${B_ENV:-} ${BIN_B:-cargo bench $flags_b}" | tee "$log"
for r in $(seq "$rounds"); do
    echo "round $r: $(uptime)" | tee -a "$log"
    for side in a b; do
        side_env=${A_ENV:-}
        [ "$side" = b ] && side_env=${B_ENV:-}
        for net in head_step cifarnet_step; do
            # shellcheck disable=SC2086 # assignments split into words for env
            env $side_env "$tmp/$side" --bench "$net" --skip burn_rmsprop 2>&1 |
                awk -v s="$side" -v net="$net" '/─ (8|16|128) /{print s, net, $2, $3, $4, $9, $10}' |
                tee -a "$log"
        done
    done
done
python3 - "$log" <<'PY'
import collections, re, statistics, sys
ms = lambda v, u: float(v) * (1000 if u == "s" else 1)
med, fast = collections.defaultdict(list), collections.defaultdict(list)
for line in open(sys.argv[1]):
    m = re.match(r"([ab]) (\w+) (\d+) ([\d.]+) (ms|s) ([\d.]+) (ms|s)", line)
    if m:
        fast[m[1], m[2], int(m[3])].append(ms(m[4], m[5]))
        med[m[1], m[2], int(m[3])].append(ms(m[6], m[7]))
for net in ("head_step", "cifarnet_step"):
    for b in (8, 16, 128):
        if med["a", net, b] and med["b", net, b]:
            a, bb = statistics.median(med["a", net, b]), statistics.median(med["b", net, b])
            print(f"{net:14} batch {b:3}: median A {a:8.1f} ms  B {bb:8.1f} ms  B/A {bb / a:.2f}"
                  f"   fastest A {min(fast['a', net, b]):8.1f}  B {min(fast['b', net, b]):8.1f}")
PY
