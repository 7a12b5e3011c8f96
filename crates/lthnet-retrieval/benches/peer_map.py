"""Peer timings on the codes written by `cargo run --release -p lthnet-retrieval --example eval_bench`.

    python3 crates/lthnet-retrieval/benches/peer_map.py /tmp/lthnet-bench [--threads 2] [--queries 1000]

(a) numpy port of the LTHNet authors' evaluation (utils/evaluate.py: inner-product Hamming
    distance, argsort per query, cumulative precision) — on the first --queries queries, then
    extrapolated to all 10,000 (it is linear in the number of queries); both the authors'
    off-by-one (drops the last item) and the exact MAP@all are printed for a sanity check;
(b) faiss IndexBinaryFlat top-100 search on all queries with the same thread count (median of 3).
Wall and process CPU time are printed: on a shared machine the CPU time is the steadier number.
"""
import argparse, os, sys, time
import numpy as np

p = argparse.ArgumentParser()
p.add_argument("dir")
p.add_argument("--threads", type=int, default=2)
p.add_argument("--queries", type=int, default=1000)
a = p.parse_args()
os.environ["OMP_NUM_THREADS"] = str(a.threads)

q = np.load(os.path.join(a.dir, "query_codes.npy")).astype(np.float32)
d = np.load(os.path.join(a.dir, "db_codes.npy")).astype(np.float32)
ql = np.load(os.path.join(a.dir, "query_labels.npy"))
dl = np.load(os.path.join(a.dir, "db_labels.npy"))
nq, bits = q.shape


def authors_map(qc, dc, qlab, dlab, topk):
    # butterfly-chinese/long-tail-hashing utils/evaluate.py (mean_average_precision), ported to numpy.
    aps = []
    for i in range(qc.shape[0]):
        rel = (dlab == qlab[i]).astype(np.float32)
        ham = 0.5 * (bits - dc @ qc[i])
        order = np.argsort(ham, kind="stable")
        rel = rel[order][:topk]
        cnt = rel.sum()
        if cnt == 0:
            aps.append(0.0)
            continue
        score = np.linspace(1, cnt, int(cnt))
        idx = np.nonzero(rel)[0] + 1.0
        aps.append((score / idx).mean())
    return float(np.mean(aps))


k = min(a.queries, nq)
t, c = time.perf_counter(), time.process_time()
m_authors = authors_map(q[:k], d, ql[:k], dl, -1)
dt, dc = time.perf_counter() - t, time.process_time() - c
m_exact = authors_map(q[:k], d, ql[:k], dl, d.shape[0])
print(f"(a) numpy authors' evaluation: {dt:.2f} s wall ({dc:.2f} CPU-s) for {k} queries -> "
      f"{dt * nq / k:.1f} s wall ({dc * nq / k:.1f} CPU-s) extrapolated to {nq}; "
      f"MAP(first {k}) authors {m_authors:.6f} exact {m_exact:.6f}")

try:
    import faiss
    faiss.omp_set_num_threads(a.threads)
    pack = lambda x: np.packbits((x > 0).astype(np.uint8), axis=1, bitorder="little")
    index = faiss.IndexBinaryFlat(bits)
    index.add(pack(d))
    qb = pack(q)
    walls, cpus = [], []
    for _ in range(3):
        t, c = time.perf_counter(), time.process_time()
        D, I = index.search(qb, 100)
        walls.append(time.perf_counter() - t)
        cpus.append(time.process_time() - c)
    print(f"(b) faiss {faiss.__version__} IndexBinaryFlat top-100, {a.threads} threads: "
          f"median {sorted(walls)[1]:.3f} s wall (min {min(walls):.3f}), {sorted(cpus)[1]:.2f} CPU-s")
except ImportError:
    print("(b) faiss not installed: pip install faiss-cpu", file=sys.stderr)
