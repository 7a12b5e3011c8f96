//! Hamming distances and exhaustive search.
//!
//! The distance scan uses the hardware `popcnt` instruction when the CPU has it (runtime
//! detection on x86-64; aarch64 always has `cnt`), so binaries built for the generic x86-64
//! baseline still get it without `-C target-cpu=native`.

use rayon::prelude::*;

use crate::codes::PackedCodes;

#[inline(always)]
fn scan_generic(q: &[u64], db: &[u64], wpc: usize, out: &mut [u32]) {
    match wpc {
        1 => {
            let q0 = q[0];
            for (o, d) in out.iter_mut().zip(db) {
                *o = (q0 ^ d).count_ones();
            }
        }
        2 => {
            let (q0, q1) = (q[0], q[1]);
            for (o, d) in out.iter_mut().zip(db.chunks_exact(2)) {
                *o = (q0 ^ d[0]).count_ones() + (q1 ^ d[1]).count_ones();
            }
        }
        _ => {
            for (o, d) in out.iter_mut().zip(db.chunks_exact(wpc)) {
                *o = q.iter().zip(d).map(|(a, b)| (a ^ b).count_ones()).sum();
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "popcnt")]
fn scan_popcnt(q: &[u64], db: &[u64], wpc: usize, out: &mut [u32]) {
    scan_generic(q, db, wpc, out)
}

/// Whether the fast `popcnt` path is in use on this CPU.
pub fn hardware_popcount() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("popcnt")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        true
    }
}

/// Distances from `query` (one code's words) to every database code, into `out` (`db.len()`).
///
/// # Panics
/// If the code lengths differ or `out` has the wrong length.
pub fn distances_into(query: &[u64], db: &PackedCodes, out: &mut [u32]) {
    assert_eq!(
        query.len(),
        db.words_per_code(),
        "query and database code lengths differ"
    );
    assert_eq!(out.len(), db.len(), "output buffer length");
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("popcnt") {
            // SAFETY: the CPU supports popcnt (checked just above).
            unsafe { scan_popcnt(query, db.words(), db.words_per_code(), out) };
            return;
        }
    }
    scan_generic(query, db.words(), db.words_per_code(), out)
}

/// Top-`k` neighbours of every query, ordered by (distance, database index).
///
/// Returns `(ids, distances)`, each `queries.len() × min(k, db.len())`, row-major.
/// Multi-threaded over queries; a counting sort over the `bits + 1` distance values per query.
///
/// # Panics
/// If the code lengths differ.
pub fn search_topk(queries: &PackedCodes, db: &PackedCodes, k: usize) -> (Vec<u64>, Vec<u32>) {
    assert_eq!(
        queries.bits(),
        db.bits(),
        "query and database code lengths differ"
    );
    let k = k.min(db.len());
    let bits = db.bits();
    let rows: Vec<(Vec<u64>, Vec<u32>)> = (0..queries.len())
        .into_par_iter()
        .map_init(
            || (vec![0u32; db.len()], vec![0usize; bits + 2]),
            |(dist, hist), qi| {
                distances_into(queries.code(qi), db, dist);
                hist.iter_mut().for_each(|h| *h = 0);
                for &d in dist.iter() {
                    hist[d as usize] += 1;
                }
                // Largest distance that is needed.
                let mut taken = 0;
                let mut cut = bits;
                for (d, &h) in hist.iter().enumerate().take(bits + 1) {
                    taken += h;
                    if taken >= k {
                        cut = d;
                        break;
                    }
                }
                let mut start = vec![0usize; cut + 2];
                for d in 0..=cut {
                    start[d + 1] = start[d] + hist[d];
                }
                let mut ids = vec![0u64; k];
                let mut ds = vec![0u32; k];
                for (i, &d) in dist.iter().enumerate() {
                    let d = d as usize;
                    if d <= cut {
                        let pos = start[d];
                        if pos < k {
                            ids[pos] = i as u64;
                            ds[pos] = d as u32;
                        }
                        start[d] += 1;
                    }
                }
                (ids, ds)
            },
        )
        .collect();
    let mut ids = Vec::with_capacity(queries.len() * k);
    let mut ds = Vec::with_capacity(queries.len() * k);
    for (i, d) in rows {
        ids.extend(i);
        ds.extend(d);
    }
    (ids, ds)
}

/// All database items within Hamming distance `radius` of each query, in index order.
pub fn search_radius(queries: &PackedCodes, db: &PackedCodes, radius: u32) -> Vec<Vec<(u64, u32)>> {
    assert_eq!(
        queries.bits(),
        db.bits(),
        "query and database code lengths differ"
    );
    (0..queries.len())
        .into_par_iter()
        .map_init(
            || vec![0u32; db.len()],
            |dist, qi| {
                distances_into(queries.code(qi), db, dist);
                dist.iter()
                    .enumerate()
                    .filter(|(_, d)| **d <= radius)
                    .map(|(i, &d)| (i as u64, d))
                    .collect()
            },
        )
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(v: &[&[i8]]) -> PackedCodes {
        let bits = v[0].len();
        let flat: Vec<f32> = v.iter().flat_map(|r| r.iter().map(|&b| b as f32)).collect();
        PackedCodes::from_signs(&flat, bits)
    }

    #[test]
    fn distances_match_definition() {
        let db = codes(&[&[1, 1, 1, 1], &[1, -1, 1, -1], &[-1, -1, -1, -1]]);
        let q = codes(&[&[1, 1, -1, -1]]);
        let mut out = vec![0; 3];
        distances_into(q.code(0), &db, &mut out);
        assert_eq!(out, vec![2, 2, 2]);
        let q = codes(&[&[1, 1, 1, -1]]);
        distances_into(q.code(0), &db, &mut out);
        assert_eq!(out, vec![1, 1, 3]);
    }

    #[test]
    fn topk_is_stable_by_index() {
        let db = codes(&[&[1, 1], &[-1, 1], &[1, 1], &[-1, -1], &[1, -1]]);
        let q = codes(&[&[1, 1], &[-1, -1]]);
        let (ids, ds) = search_topk(&q, &db, 4);
        assert_eq!(&ids[..4], &[0, 2, 1, 4]);
        assert_eq!(&ds[..4], &[0, 0, 1, 1]);
        assert_eq!(&ids[4..], &[3, 1, 4, 0]);
        let r = search_radius(&q, &db, 0);
        assert_eq!(r[0], vec![(0, 0), (2, 0)]);
    }

    #[test]
    fn popcount_detection_runs() {
        let _ = hardware_popcount();
    }
}
