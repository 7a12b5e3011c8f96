"""numpy side of the DPP benchmark: the reference fast greedy MAP (laming-chen/fast-map-dpp,
dpp.py `dpp`, Algorithm 1) on the reference demo size — 5,000 items, 5,000-d Gaussian features
(normalised), r = exp(0.01·g + 0.2), kernel L = diag(r)·F·Fᵀ·diag(r), 1,000 selections.

    python3 crates/lthnet-memory/benches/dpp_numpy.py /tmp/lthnet-dpp
Writes kernel.npy (f64, 5000×5000, ~200 MB) and numpy_selection.npy for the Rust side:
    cargo run --release -p lthnet-memory --example dpp_bench -- /tmp/lthnet-dpp
"""
import math, os, sys, time
import numpy as np

out = sys.argv[1] if len(sys.argv) > 1 else "/tmp/lthnet-dpp"
os.makedirs(out, exist_ok=True)
np.random.seed(1)
item_size, feature_dim, max_length = 5000, 5000, 1000
scores = np.exp(0.01 * np.random.randn(item_size) + 0.2)
feature_vectors = np.random.randn(item_size, feature_dim)
feature_vectors /= np.linalg.norm(feature_vectors, axis=1, keepdims=True)
similarities = np.dot(feature_vectors, feature_vectors.T)
kernel = scores.reshape((item_size, 1)) * similarities * scores.reshape((1, item_size))
np.save(os.path.join(out, "kernel.npy"), kernel)


def dpp(kernel_matrix, max_length, epsilon=1e-10):
    # The reference implementation, verbatim in substance.
    item_size = kernel_matrix.shape[0]
    cis = np.zeros((max_length, item_size))
    di2s = np.copy(np.diag(kernel_matrix))
    selected_items = list()
    selected_item = np.argmax(di2s)
    selected_items.append(selected_item)
    while len(selected_items) < max_length:
        k = len(selected_items) - 1
        ci_optimal = cis[:k, selected_item]
        di_optimal = math.sqrt(di2s[selected_item])
        elements = kernel_matrix[selected_item, :]
        eis = (elements - np.dot(ci_optimal, cis[:k, :])) / di_optimal
        cis[k, :] = eis
        di2s -= np.square(eis)
        di2s[selected_item] = -np.inf
        selected_item = np.argmax(di2s)
        if di2s[selected_item] < epsilon:
            break
        selected_items.append(selected_item)
    return selected_items


times = []
for _ in range(3):
    t = time.perf_counter()
    sel = dpp(kernel, max_length)
    times.append(time.perf_counter() - t)
np.save(os.path.join(out, "numpy_selection.npy"), np.array(sel, dtype=np.int64))
print(f"numpy {np.__version__} Algorithm 1, N=5000, k=1000: median {sorted(times)[1]:.3f} s "
      f"(min {min(times):.3f}); {len(sel)} items")
