#!/usr/bin/env bash
# Burn vs PyTorch training step, run alternately so that machine drift hits both sides alike
# (docs/benchmarks.md). Builds the `train_step` bench, copies it to a temp dir, then runs
# ROUNDS rounds of: Burn head, PyTorch head, Burn CifarNet, PyTorch CifarNet. Prints each
# round's medians and, at the end, the median of the round medians and the Burn/PyTorch ratio.
#
#     crates/lthnet/benches/train_step_interleaved.sh [ROUNDS]   # default 5; extra cargo
#                                                                 # features via $FEATURES
set -euo pipefail
cd "$(dirname "$0")/../../.."
rounds="${1:-5}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/lthnet-target}"
bin=$(cargo bench -p lthnet --bench train_step ${FEATURES:+--features "$FEATURES"} --no-run 2>&1 |
    sed -n 's/.*Executable.*(\(.*\))/\1/p' | tail -1)
tmp=$(mktemp -d)
cp "$bin" "$tmp/train_step"
log="$tmp/rounds.log"
for r in $(seq "$rounds"); do
    echo "round $r: $(uptime)" | tee -a "$log"
    for net in head_step cifarnet_step; do
        "$tmp/train_step" --bench "$net" --skip burn_rmsprop 2>&1 |
            awk -v net="$net" '/─ (8|16|128) /{print "burn", net, $2, $9, $10}' | tee -a "$log"
        python3 crates/lthnet/benches/train_step_torch.py --threads 2 --only "$net" | tee -a "$log"
    done
done
python3 - "$log" <<'PY'
import collections, re, statistics, sys
d = collections.defaultdict(list)
for line in open(sys.argv[1]):
    m = re.match(r"burn (\w+) (\d+) ([\d.]+) (ms|s)", line)
    if m:
        d["burn", m[1], int(m[2])].append(float(m[3]) * (1000 if m[4] == "s" else 1))
    m = re.match(r"torch .* (\w+) batch=(\d+): median ([\d.]+)", line)
    if m:
        d["torch", m[1], int(m[2])].append(float(m[3]))
for net in ("head_step", "cifarnet_step"):
    for b in (8, 16, 128):
        ours, theirs = d["burn", net, b], d["torch", net, b]
        if ours and theirs:
            mo, mt = statistics.median(ours), statistics.median(theirs)
            print(f"{net:14} batch {b:3}: burn {mo:8.1f} ms ({min(ours):.1f}-{max(ours):.1f})  "
                  f"torch {mt:8.1f} ms ({min(theirs):.1f}-{max(theirs):.1f})  ratio {mo / mt:.2f}")
PY
