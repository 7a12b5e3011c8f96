//! Hamming distances and exhaustive search.
//!
//! Every scan over the database is specialised for the code length (one, two or more `u64`
//! words) and, on x86-64, compiled twice: once with the `popcnt` target feature, selected at run
//! time with `is_x86_feature_detected!`, and once for the generic baseline. Binaries built for the
//! plain x86-64 target therefore still use the hardware popcount, without
//! `-C target-cpu=native`. aarch64 always has a vector popcount (`cnt`).

use rayon::prelude::*;

use crate::codes::PackedCodes;

/// A pass over the database for a block of `Q` queries that is handed `dist(k, i)`, the Hamming
/// distance from query `k` of the block to database item `i`, specialised for the code length
/// and the CPU's popcount. Blocking queries lets one sweep over the database serve several
/// queries, with independent dependency chains.
pub(crate) trait Scan<const Q: usize> {
    /// What the pass produces.
    type Output;
    /// Runs the pass over `n` items. Implementations must be `#[inline(always)]` so that the
    /// body is compiled inside the `popcnt`-enabled wrapper.
    fn scan<D: Fn(usize, usize) -> u32>(self, n: usize, dist: D) -> Self::Output;
}

#[inline(always)]
fn run_scan_body<const Q: usize, S: Scan<Q>>(qs: [&[u64]; Q], db: &PackedCodes, s: S) -> S::Output {
    let n = db.len();
    let w = db.words();
    match db.words_per_code() {
        1 => {
            let q: [u64; Q] = std::array::from_fn(|k| qs[k][0]);
            let w = &w[..n];
            s.scan(n, move |k, i| (q[k] ^ w[i]).count_ones())
        }
        2 => {
            let q: [(u64, u64); Q] = std::array::from_fn(|k| (qs[k][0], qs[k][1]));
            let w = &w[..2 * n];
            s.scan(n, move |k, i| {
                (q[k].0 ^ w[2 * i]).count_ones() + (q[k].1 ^ w[2 * i + 1]).count_ones()
            })
        }
        wpc => s.scan(n, move |k, i| {
            qs[k]
                .iter()
                .zip(&w[i * wpc..(i + 1) * wpc])
                .map(|(a, b)| (a ^ b).count_ones())
                .sum()
        }),
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "popcnt")]
fn run_scan_popcnt<const Q: usize, S: Scan<Q>>(
    qs: [&[u64]; Q],
    db: &PackedCodes,
    s: S,
) -> S::Output {
    run_scan_body(qs, db, s)
}

/// Runs `s` over the database for the query codes `qs` (their words), with the fastest
/// popcount.
pub(crate) fn run_scan<const Q: usize, S: Scan<Q>>(
    qs: [&[u64]; Q],
    db: &PackedCodes,
    s: S,
) -> S::Output {
    for q in qs {
        assert_eq!(
            q.len(),
            db.words_per_code(),
            "query has {} words per code, the database {}",
            q.len(),
            db.words_per_code()
        );
    }
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("popcnt") {
            // SAFETY: the CPU supports popcnt (checked just above).
            return unsafe { run_scan_popcnt(qs, db, s) };
        }
    }
    run_scan_body(qs, db, s)
}

/// Whether the hardware popcount is used on this CPU (always true on aarch64).
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

struct IntoBuffer<'a>(&'a mut [u32]);

impl Scan<1> for IntoBuffer<'_> {
    type Output = ();
    #[inline(always)]
    fn scan<D: Fn(usize, usize) -> u32>(self, n: usize, dist: D) {
        for (i, o) in self.0[..n].iter_mut().enumerate() {
            *o = dist(0, i);
        }
    }
}

/// Distances from `query` (the words of one code) to every database code, into `out`.
///
/// # Panics
/// If `query.len() != db.words_per_code()` or `out.len() != db.len()`.
pub fn distances_into(query: &[u64], db: &PackedCodes, out: &mut [u32]) {
    assert_eq!(
        out.len(),
        db.len(),
        "output buffer has {} entries for {} database codes",
        out.len(),
        db.len()
    );
    run_scan([query], db, IntoBuffer(out))
}

/// Pass 1 of top-k: the histogram of the distances up to a cut that shrinks as soon as the
/// buckets below it hold k items, so that most items cost a comparison and no store. At the end
/// `hist[d]` is exact for every `d ≤ cut`, and `cut` is the bucket that holds position k.
struct CutHistogram<'a> {
    k: usize,
    hist: &'a mut [usize],
}

impl Scan<1> for CutHistogram<'_> {
    type Output = u32;
    #[inline(always)]
    fn scan<D: Fn(usize, usize) -> u32>(self, n: usize, dist: D) -> u32 {
        let hist = self.hist;
        let mut cut = (hist.len() - 1) as u32;
        let mut total = 0usize;
        for i in 0..n {
            let d = dist(0, i);
            if d <= cut {
                hist[d as usize] += 1;
                total += 1;
                while cut > 0 && total - hist[cut as usize] >= self.k {
                    total -= hist[cut as usize];
                    cut -= 1;
                }
            }
        }
        cut
    }
}

/// Pass 2 of top-k: items with distance ≤ `cut` go to their stable position, if it is < k.
struct Place<'a> {
    cut: u32,
    next: &'a mut [usize],
    ids: &'a mut [u64],
    dists: &'a mut [u32],
}

impl Scan<1> for Place<'_> {
    type Output = ();
    #[inline(always)]
    fn scan<D: Fn(usize, usize) -> u32>(self, n: usize, dist: D) {
        let k = self.ids.len();
        for i in 0..n {
            let d = dist(0, i);
            if d <= self.cut {
                let slot = &mut self.next[d as usize];
                if *slot < k {
                    self.ids[*slot] = i as u64;
                    self.dists[*slot] = d;
                }
                *slot += 1;
            }
        }
    }
}

/// Top-k neighbours of every query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Neighbors {
    /// Neighbours per query: `min(k, database size)`.
    pub k: usize,
    /// Database indices, `queries × k` row-major, each row ordered by (distance, index).
    pub ids: Vec<u64>,
    /// The matching Hamming distances.
    pub distances: Vec<u32>,
}

impl Neighbors {
    /// The neighbours of query `q`: (ids, distances).
    pub fn row(&self, q: usize) -> (&[u64], &[u32]) {
        (
            &self.ids[q * self.k..(q + 1) * self.k],
            &self.distances[q * self.k..(q + 1) * self.k],
        )
    }
}

/// Exhaustive top-`k` Hamming search: for every query, the `min(k, db.len())` nearest database
/// codes ordered by (distance, database index).
///
/// Multi-threaded over queries (rayon). Per query: a histogram pass, whose cut shrinks to the
/// bucket holding position k, and a placement pass over the database (a counting sort over the
/// `bits + 1` distance values): O(N + bits) time and O(bits) extra memory; the distances are
/// recomputed rather than stored.
///
/// Returns `(ids, distances)`, each `queries.len() × min(k, db.len())` row-major; see
/// [`search_topk_neighbors`] for a struct.
///
/// # Panics
/// If the code lengths differ.
pub fn search_topk(queries: &PackedCodes, db: &PackedCodes, k: usize) -> (Vec<u64>, Vec<u32>) {
    let n = search_topk_neighbors(queries, db, k);
    (n.ids, n.distances)
}

/// [`search_topk`], returning [`Neighbors`].
///
/// # Panics
/// If the code lengths differ.
pub fn search_topk_neighbors(queries: &PackedCodes, db: &PackedCodes, k: usize) -> Neighbors {
    assert_eq!(
        queries.bits(),
        db.bits(),
        "query codes have {} bits, database codes {}",
        queries.bits(),
        db.bits()
    );
    let k = k.min(db.len());
    let bits = db.bits();
    let mut ids = vec![0u64; queries.len() * k];
    let mut distances = vec![0u32; queries.len() * k];
    if k > 0 {
        ids.par_chunks_mut(k)
            .zip(distances.par_chunks_mut(k))
            .enumerate()
            .for_each_init(
                || (vec![0usize; bits + 1], vec![0usize; bits + 1]),
                |(hist, next), (qi, (ids, dists))| {
                    let code = queries.code(qi);
                    hist.fill(0);
                    let cut = run_scan([code], db, CutHistogram { k, hist });
                    let mut taken = 0usize;
                    for d in 0..=cut as usize {
                        next[d] = taken;
                        taken += hist[d];
                    }
                    run_scan(
                        [code],
                        db,
                        Place {
                            cut,
                            next: &mut next[..=cut as usize],
                            ids,
                            dists,
                        },
                    );
                },
            );
    }
    Neighbors { k, ids, distances }
}

struct Within<'a> {
    radius: u32,
    out: &'a mut Vec<(u64, u32)>,
}

impl Scan<1> for Within<'_> {
    type Output = ();
    #[inline(always)]
    fn scan<D: Fn(usize, usize) -> u32>(self, n: usize, dist: D) {
        for i in 0..n {
            let d = dist(0, i);
            if d <= self.radius {
                self.out.push((i as u64, d));
            }
        }
    }
}

/// All database items within Hamming distance `radius` (inclusive) of each query, as
/// `(database index, distance)` in index order. Multi-threaded over queries.
///
/// # Panics
/// If the code lengths differ.
pub fn search_radius(queries: &PackedCodes, db: &PackedCodes, radius: u32) -> Vec<Vec<(u64, u32)>> {
    assert_eq!(
        queries.bits(),
        db.bits(),
        "query codes have {} bits, database codes {}",
        queries.bits(),
        db.bits()
    );
    (0..queries.len())
        .into_par_iter()
        .map(|qi| {
            let mut out = Vec::new();
            run_scan(
                [queries.code(qi)],
                db,
                Within {
                    radius,
                    out: &mut out,
                },
            );
            out
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn codes(v: &[&[i8]]) -> PackedCodes {
        let bits = v[0].len();
        let flat: Vec<f32> = v.iter().flat_map(|r| r.iter().map(|&b| b as f32)).collect();
        PackedCodes::from_signs(&flat, bits)
    }

    fn brute_distance(a: &[u64], b: &[u64]) -> u32 {
        a.iter().zip(b).map(|(x, y)| (x ^ y).count_ones()).sum()
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
        // k larger than the database, and k = 0.
        assert_eq!(search_topk_neighbors(&q, &db, 99).k, 5);
        assert!(search_topk(&q, &db, 0).0.is_empty());
    }

    #[test]
    fn popcount_detection_runs() {
        let _ = hardware_popcount();
    }

    proptest! {
        /// Top-k equals a stable sort by (distance, index), for 1-, 2- and 3-word codes;
        /// the radius search equals a filter.
        #[test]
        fn topk_and_radius_match_brute_force(
            bits in prop::sample::select(vec![1usize, 7, 64, 65, 128, 150]),
            n in 0usize..40,
            nq in 1usize..4,
            k in 0usize..45,
            radius in 0u32..80,
            seed in any::<u64>(),
        ) {
            use rand::{Rng, SeedableRng};
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
            // Few distinct codes, so that there are many ties.
            let pool: Vec<f32> = (0..3 * bits).map(|_| if rng.random_bool(0.5) { 1.0 } else { -1.0 }).collect();
            let pick = |rng: &mut rand_chacha::ChaCha8Rng, m: usize| -> Vec<f32> {
                (0..m).flat_map(|_| { let c = rng.random_range(0..3); pool[c * bits..(c + 1) * bits].to_vec() }).collect()
            };
            let db = PackedCodes::from_signs(&pick(&mut rng, n), bits);
            let q = PackedCodes::from_signs(&pick(&mut rng, nq), bits);
            let got = search_topk_neighbors(&q, &db, k);
            let radius_hits = search_radius(&q, &db, radius);
            for (qi, hits) in radius_hits.iter().enumerate() {
                let mut order: Vec<(u32, u64)> = (0..n).map(|i| (brute_distance(q.code(qi), db.code(i)), i as u64)).collect();
                order.sort();
                let (ids, ds) = got.row(qi);
                let want_ids: Vec<u64> = order.iter().take(k).map(|x| x.1).collect();
                let want_ds: Vec<u32> = order.iter().take(k).map(|x| x.0).collect();
                prop_assert_eq!(ids, &want_ids[..]);
                prop_assert_eq!(ds, &want_ds[..]);
                let want_r: Vec<(u64, u32)> = (0..n).map(|i| (i as u64, brute_distance(q.code(qi), db.code(i)))).filter(|x| x.1 <= radius).collect();
                prop_assert_eq!(hits, &want_r);
            }
        }
    }
}
