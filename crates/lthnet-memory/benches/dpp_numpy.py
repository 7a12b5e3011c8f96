"""numpy side of the DPP benchmark (run by `cargo bench -p lthnet-memory --bench dpp`).

The reference fast greedy MAP (laming-chen/fast-map-dpp@6ab745ca, dpp.py: `dpp` = Algorithm 1,
`dpp_sw` = Algorithm 2) on the reference demo (`dpp_test.py`): 5,000 items, 5,000-d Gaussian
features normalised, r = exp(0.01·g + 0.2), kernel L = diag(r)·F·Fᵀ·diag(r), 1,000 selections,
window 10. The kernel is precomputed (not timed), as in `dpp_test.py`, and saved for the Rust side.

    python3 crates/lthnet-memory/benches/dpp_numpy.py /tmp/lthnet-dpp
writes kernel.npy (f64, 5000×5000, 200 MB), numpy_selection.npy, numpy_selection_sw.npy and
numpy_times.json into the directory.
"""
import json, math, os, sys, time
import numpy as np

out = sys.argv[1] if len(sys.argv) > 1 else "/tmp/lthnet-dpp"
repeats = int(os.environ.get("LTHNET_DPP_REPEATS", "3"))
os.makedirs(out, exist_ok=True)
np.random.seed(1)
item_size, feature_dim, max_length, window = 5000, 5000, 1000, 10
scores = np.exp(0.01 * np.random.randn(item_size) + 0.2)
feature_vectors = np.random.randn(item_size, feature_dim)
feature_vectors /= np.linalg.norm(feature_vectors, axis=1, keepdims=True)
similarities = np.dot(feature_vectors, feature_vectors.T)
kernel = scores.reshape((item_size, 1)) * similarities * scores.reshape((1, item_size))
np.save(os.path.join(out, "kernel.npy"), kernel)


def dpp(kernel_matrix, max_length, epsilon=1e-10):
    # The reference `dpp`, verbatim in substance.
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


def dpp_sw(kernel_matrix, window_size, max_length, epsilon=1e-10):
    # The reference `dpp_sw`, verbatim in substance.
    item_size = kernel_matrix.shape[0]
    v = np.zeros((max_length, max_length))
    cis = np.zeros((max_length, item_size))
    di2s = np.copy(np.diag(kernel_matrix))
    selected_items = list()
    selected_item = np.argmax(di2s)
    selected_items.append(selected_item)
    window_left_index = 0
    while len(selected_items) < max_length:
        k = len(selected_items) - 1
        ci_optimal = cis[window_left_index:k, selected_item]
        di_optimal = math.sqrt(di2s[selected_item])
        v[k, window_left_index:k] = ci_optimal
        v[k, k] = di_optimal
        elements = kernel_matrix[selected_item, :]
        eis = (elements - np.dot(ci_optimal, cis[window_left_index:k, :])) / di_optimal
        cis[k, :] = eis
        di2s -= np.square(eis)
        if len(selected_items) >= window_size:
            window_left_index += 1
            for ind in range(window_left_index, k + 1):
                t = math.sqrt(v[ind, ind] ** 2 + v[ind, window_left_index - 1] ** 2)
                c = t / v[ind, ind]
                s = v[ind, window_left_index - 1] / v[ind, ind]
                v[ind, ind] = t
                v[ind + 1:k + 1, ind] += s * v[ind + 1:k + 1, window_left_index - 1]
                v[ind + 1:k + 1, ind] /= c
                v[ind + 1:k + 1, window_left_index - 1] *= c
                v[ind + 1:k + 1, window_left_index - 1] -= s * v[ind + 1:k + 1, ind]
                cis[ind, :] += s * cis[window_left_index - 1, :]
                cis[ind, :] /= c
                cis[window_left_index - 1, :] *= c
                cis[window_left_index - 1, :] -= s * cis[ind, :]
            di2s += np.square(cis[window_left_index - 1, :])
        di2s[selected_item] = -np.inf
        selected_item = np.argmax(di2s)
        if di2s[selected_item] < epsilon:
            break
        selected_items.append(selected_item)
    return selected_items


def timed(f):
    times, result = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        result = f()
        times.append(time.perf_counter() - t)
    return sorted(times), result


t1, sel = timed(lambda: dpp(kernel, max_length))
t2, sel_sw = timed(lambda: dpp_sw(kernel, window, max_length))
np.save(os.path.join(out, "numpy_selection.npy"), np.array(sel, dtype=np.int64))
np.save(os.path.join(out, "numpy_selection_sw.npy"), np.array(sel_sw, dtype=np.int64))
with open(os.path.join(out, "numpy_times.json"), "w") as f:
    json.dump({"numpy": np.__version__, "dpp": t1, "dpp_sw": t2}, f)
print(f"numpy {np.__version__}, N={item_size}, k={max_length}, {repeats} runs each:")
print(f"  dpp    (Algorithm 1):           median {t1[len(t1) // 2]:.3f} s (min {t1[0]:.3f}); {len(sel)} items")
print(f"  dpp_sw (Algorithm 2, window {window}): median {t2[len(t2) // 2]:.3f} s (min {t2[0]:.3f}); {len(sel_sw)} items")
