//! Ranking metrics for Hamming retrieval: MAP@all / MAP@R (stable, random or tie-aware),
//! P@N and R@N, precision/recall within a Hamming radius, PR curves by radius, per-class AP and
//! head / medium / tail breakdowns.
//!
//! Every query is ranked with a counting sort over the `bits + 1` distance values in two passes
//! over the database (O(N + bits) time, O(N) memory per thread): no queries × database matrix.
//!
//! Definitions (see `retrieval-metrics.md`):
//! - AP@R = (1/Rel_R) Σ_{r ≤ R} rel_r · P@r, with Rel_R = relevant items within the top R — the
//!   hashing convention of every Python toolkit. R = all means every database item. This
//!   normaliser is not monotone in the ranking (DeepHash-pytorch issue #33).
//! - Tie-aware AP (He et al., CVPR 2018) is the expectation of AP@all over uniformly random orders
//!   inside each distance bucket, computed exactly in closed form per bucket.

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::codes::PackedCodes;
use crate::hamming::distances_into;
use crate::labels::{Labels, relevance_into};

/// How items at equal Hamming distance are ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum TieMode {
    /// By database index (deterministic; the default).
    #[default]
    StableIndex,
    /// A seeded random permutation inside each distance bucket (query `q` uses seed ⊕ q).
    Random(u64),
}

/// What to do with queries that have no relevant item within the top R.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum ZeroRelevant {
    /// AP = 0 and the query counts in the mean (DeepHash-pytorch, LTHNet code, CSQ).
    #[default]
    Zero,
    /// Leave the query out of the mean.
    Skip,
}

/// Which evaluation to reproduce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum Protocol {
    /// Correct: R = all ranks every database item.
    #[default]
    Exact,
    /// **Compatibility with the LTHNet authors' evaluation** (and DeepHash-pytorch's default):
    /// their `topk = −1` slice drops the last-ranked database item, so "MAP@all" is MAP@(N−1).
    /// Use only to compare with published numbers.
    AuthorsDropLast,
}

/// What to compute.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalConfig {
    /// R for MAP@R; `None` = all database items.
    pub top_r: Option<usize>,
    /// Tie order for MAP@R and P@N.
    pub ties: TieMode,
    /// Zero-relevant policy for MAP@R.
    pub zero_relevant: ZeroRelevant,
    /// Exact or the authors' off-by-one.
    pub protocol: Protocol,
    /// N values for P@N and R@N.
    pub precision_at: Vec<usize>,
    /// Hamming radius for P@H≤r and R@H≤r.
    pub radius: u32,
}

impl Default for EvalConfig {
    fn default() -> Self {
        Self {
            top_r: None,
            ties: TieMode::StableIndex,
            zero_relevant: ZeroRelevant::Zero,
            protocol: Protocol::Exact,
            precision_at: vec![1, 10, 100, 1000],
            radius: 2,
        }
    }
}

/// Per-query results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueryResult {
    /// AP@R under the configured tie order; `None` when the query had no relevant item in the
    /// top R.
    pub ap: Option<f64>,
    /// Tie-aware (expected) AP@all; `None` when the query has no relevant item at all.
    pub ap_tie_aware: Option<f64>,
    /// Relevant items in the whole database.
    pub num_relevant: usize,
    /// Relevant items among the top N, for each configured N.
    pub hits_at: Vec<usize>,
    /// Items and relevant items within the radius.
    pub radius_retrieved: usize,
    /// Relevant items within the radius.
    pub radius_relevant: usize,
    /// Cumulative (retrieved, relevant) counts for radius 0..=bits.
    pub by_radius: Vec<(usize, usize)>,
}

/// Aggregated results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalReport {
    /// MAP@R (R from the config) under the configured tie order and zero-relevant policy.
    pub map: f64,
    /// Tie-aware MAP@all (queries with no relevant item count as 0 under `Zero`).
    pub map_tie_aware: f64,
    /// Queries with no relevant item within the top R.
    pub zero_relevant_queries: usize,
    /// (N, mean P@N).
    pub precision_at: Vec<(usize, f64)>,
    /// (N, mean R@N).
    pub recall_at: Vec<(usize, f64)>,
    /// Mean precision within the radius (0 for a query that retrieves nothing).
    pub precision_radius: f64,
    /// Mean recall within the radius.
    pub recall_radius: f64,
    /// PR curve by radius: (radius, mean precision, mean recall) for 0..=bits.
    pub pr_curve: Vec<(u32, f64, f64)>,
    /// Per-query results, in query order.
    pub queries: Vec<QueryResult>,
}

/// Harmonic prefix sums `H[t] = Σ_{s ≤ t} 1/s`.
fn harmonic(n: usize) -> Vec<f64> {
    let mut h = vec![0.0; n + 1];
    for t in 1..=n {
        h[t] = h[t - 1] + 1.0 / t as f64;
    }
    h
}

struct Scratch {
    dist: Vec<u32>,
    rel: Vec<bool>,
    order: Vec<u32>,
    relevant: Vec<(u32, u32, u32)>,
}

/// Evaluate `queries` against `db`.
///
/// # Panics
/// If code lengths differ, label counts differ from code counts, or label kinds differ.
pub fn evaluate(
    queries: &PackedCodes,
    query_labels: &Labels,
    db: &PackedCodes,
    db_labels: &Labels,
    config: &EvalConfig,
) -> EvalReport {
    assert_eq!(
        queries.bits(),
        db.bits(),
        "query and database code lengths differ"
    );
    assert_eq!(
        queries.len(),
        query_labels.len(),
        "queries and query labels differ in number"
    );
    assert_eq!(
        db.len(),
        db_labels.len(),
        "database codes and labels differ in number"
    );
    let n = db.len();
    let bits = db.bits();
    let r_all = match config.protocol {
        Protocol::Exact => n,
        Protocol::AuthorsDropLast => n.saturating_sub(1),
    };
    let top_r = config.top_r.unwrap_or(r_all).min(r_all);
    let h = harmonic(n);
    let results: Vec<QueryResult> = (0..queries.len())
        .into_par_iter()
        .map_init(
            || Scratch {
                dist: vec![0; n],
                rel: vec![false; n],
                order: Vec::new(),
                relevant: Vec::new(),
            },
            |s, qi| {
                one_query(
                    queries.code(qi),
                    qi,
                    query_labels,
                    db,
                    db_labels,
                    config,
                    top_r,
                    bits,
                    &h,
                    s,
                )
            },
        )
        .collect();
    aggregate(results, config, bits)
}

#[allow(clippy::too_many_arguments)]
fn one_query(
    code: &[u64],
    qi: usize,
    query_labels: &Labels,
    db: &PackedCodes,
    db_labels: &Labels,
    config: &EvalConfig,
    top_r: usize,
    bits: usize,
    harmonic: &[f64],
    s: &mut Scratch,
) -> QueryResult {
    let n = db.len();
    // Pass 1: histograms. For ties by index, an item's rank inside its bucket is the bucket's
    // count so far, so the relevant items' positions are known after this single pass: record
    // (distance, rank in bucket, rank among the bucket's relevant items) for them.
    let mut hist = vec![0usize; bits + 1];
    let mut relhist = vec![0usize; bits + 1];
    s.relevant.clear();
    let fused = matches!(config.ties, TieMode::StableIndex) && db.words_per_code() == 1;
    match (query_labels, db_labels) {
        (Labels::Single(ql), Labels::Single(dl)) if fused => {
            // Fast path: distance, relevance and histogram in one sweep, no per-item buffers.
            fused_single(
                code[0],
                ql[qi],
                db.words(),
                dl,
                &mut hist,
                &mut relhist,
                &mut s.relevant,
            );
        }
        _ => {
            distances_into(code, db, &mut s.dist);
            relevance_into(query_labels, qi, db_labels, &mut s.rel);
            for (&d, &r) in s.dist.iter().zip(&s.rel) {
                let d = d as usize;
                if r {
                    s.relevant
                        .push((d as u32, hist[d] as u32, relhist[d] as u32));
                    relhist[d] += 1;
                }
                hist[d] += 1;
            }
        }
    }
    let num_relevant: usize = relhist.iter().sum();
    let mut start = vec![0usize; bits + 1];
    let mut relstart = vec![0usize; bits + 1];
    for d in 1..=bits {
        start[d] = start[d - 1] + hist[d - 1];
        relstart[d] = relstart[d - 1] + relhist[d - 1];
    }

    // Tie-aware AP@all, closed form per bucket.
    let ap_tie_aware = (num_relevant > 0).then(|| {
        let mut sum = 0.0;
        for d in 0..=bits {
            let (nd, md) = (hist[d], relhist[d]);
            if md == 0 {
                continue;
            }
            let big_n = start[d];
            let hd = harmonic[big_n + nd] - harmonic[big_n];
            let f = if nd > 1 {
                (md - 1) as f64 / (nd - 1) as f64
            } else {
                0.0
            };
            let inner =
                (relstart[d] as f64 + 1.0) * hd + f * (nd as f64 - (big_n as f64 + 1.0) * hd);
            sum += md as f64 / nd as f64 * inner;
        }
        sum / num_relevant as f64
    });

    let mut ap_sum = 0.0;
    let mut rel_in_r = 0usize;
    let mut hits_at = vec![0usize; config.precision_at.len()];
    let count = |pos: usize,
                 rank_rel: usize,
                 ap_sum: &mut f64,
                 rel_in_r: &mut usize,
                 hits_at: &mut [usize]| {
        if pos <= top_r {
            *ap_sum += rank_rel as f64 / pos as f64;
            *rel_in_r += 1;
        }
        for (hit, &cut) in hits_at.iter_mut().zip(&config.precision_at) {
            if pos <= cut {
                *hit += 1;
            }
        }
    };
    match config.ties {
        TieMode::StableIndex => {
            for &(d, rank, relrank) in &s.relevant {
                let d = d as usize;
                let pos = start[d] + rank as usize + 1;
                let rank_rel = relstart[d] + relrank as usize + 1;
                count(pos, rank_rel, &mut ap_sum, &mut rel_in_r, &mut hits_at);
            }
        }
        TieMode::Random(seed) => {
            // Pass 2 in a seeded random order: positions inside each bucket follow that order.
            let mut seen = vec![0usize; bits + 1];
            let mut relseen = vec![0usize; bits + 1];
            s.order.clear();
            s.order.extend(0..n as u32);
            s.order.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(
                seed ^ qi as u64,
            ));
            for k in 0..n {
                let i = s.order[k] as usize;
                let d = s.dist[i] as usize;
                let pos = start[d] + seen[d] + 1;
                seen[d] += 1;
                if s.rel[i] {
                    let rank_rel = relstart[d] + relseen[d] + 1;
                    relseen[d] += 1;
                    count(pos, rank_rel, &mut ap_sum, &mut rel_in_r, &mut hits_at);
                }
            }
        }
    }
    let ap = (rel_in_r > 0).then(|| ap_sum / rel_in_r as f64);

    let mut by_radius = Vec::with_capacity(bits + 1);
    let (mut ret, mut relr) = (0usize, 0usize);
    for d in 0..=bits {
        ret += hist[d];
        relr += relhist[d];
        by_radius.push((ret, relr));
    }
    let r = (config.radius as usize).min(bits);
    QueryResult {
        ap,
        ap_tie_aware,
        num_relevant,
        hits_at,
        radius_retrieved: by_radius[r].0,
        radius_relevant: by_radius[r].1,
        by_radius,
    }
}

#[inline(always)]
fn fused_single_body(
    q: u64,
    label: u32,
    words: &[u64],
    labels: &[u32],
    hist: &mut [usize],
    relhist: &mut [usize],
    relevant: &mut Vec<(u32, u32, u32)>,
) {
    for (&w, &l) in words.iter().zip(labels) {
        let d = (q ^ w).count_ones() as usize;
        if l == label {
            relevant.push((d as u32, hist[d] as u32, relhist[d] as u32));
            relhist[d] += 1;
        }
        hist[d] += 1;
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "popcnt")]
fn fused_single_popcnt(
    q: u64,
    label: u32,
    words: &[u64],
    labels: &[u32],
    hist: &mut [usize],
    relhist: &mut [usize],
    relevant: &mut Vec<(u32, u32, u32)>,
) {
    fused_single_body(q, label, words, labels, hist, relhist, relevant)
}

/// One-word codes with single labels and ties by index: the whole per-query pass.
fn fused_single(
    q: u64,
    label: u32,
    words: &[u64],
    labels: &[u32],
    hist: &mut [usize],
    relhist: &mut [usize],
    relevant: &mut Vec<(u32, u32, u32)>,
) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("popcnt") {
            // SAFETY: the CPU supports popcnt (checked just above).
            unsafe { fused_single_popcnt(q, label, words, labels, hist, relhist, relevant) };
            return;
        }
    }
    fused_single_body(q, label, words, labels, hist, relhist, relevant)
}

fn aggregate(queries: Vec<QueryResult>, config: &EvalConfig, bits: usize) -> EvalReport {
    let nq = queries.len().max(1) as f64;
    let zero_relevant_queries = queries.iter().filter(|q| q.ap.is_none()).count();
    let map = match config.zero_relevant {
        ZeroRelevant::Zero => queries.iter().map(|q| q.ap.unwrap_or(0.0)).sum::<f64>() / nq,
        ZeroRelevant::Skip => {
            let kept: Vec<f64> = queries.iter().filter_map(|q| q.ap).collect();
            if kept.is_empty() {
                0.0
            } else {
                kept.iter().sum::<f64>() / kept.len() as f64
            }
        }
    };
    let map_tie_aware = match config.zero_relevant {
        ZeroRelevant::Zero => {
            queries
                .iter()
                .map(|q| q.ap_tie_aware.unwrap_or(0.0))
                .sum::<f64>()
                / nq
        }
        ZeroRelevant::Skip => {
            let kept: Vec<f64> = queries.iter().filter_map(|q| q.ap_tie_aware).collect();
            if kept.is_empty() {
                0.0
            } else {
                kept.iter().sum::<f64>() / kept.len() as f64
            }
        }
    };
    let precision_at = config
        .precision_at
        .iter()
        .enumerate()
        .map(|(k, &cut)| {
            (
                cut,
                queries
                    .iter()
                    .map(|q| q.hits_at[k] as f64 / cut.max(1) as f64)
                    .sum::<f64>()
                    / nq,
            )
        })
        .collect();
    let recall_at = config
        .precision_at
        .iter()
        .enumerate()
        .map(|(k, &cut)| {
            let r = queries
                .iter()
                .map(|q| {
                    if q.num_relevant == 0 {
                        0.0
                    } else {
                        q.hits_at[k] as f64 / q.num_relevant as f64
                    }
                })
                .sum::<f64>()
                / nq;
            (cut, r)
        })
        .collect();
    let prec = |ret: usize, rel: usize| {
        if ret == 0 {
            0.0
        } else {
            rel as f64 / ret as f64
        }
    };
    let rec = |rel: usize, total: usize| {
        if total == 0 {
            0.0
        } else {
            rel as f64 / total as f64
        }
    };
    let precision_radius = queries
        .iter()
        .map(|q| prec(q.radius_retrieved, q.radius_relevant))
        .sum::<f64>()
        / nq;
    let recall_radius = queries
        .iter()
        .map(|q| rec(q.radius_relevant, q.num_relevant))
        .sum::<f64>()
        / nq;
    let pr_curve = (0..=bits)
        .map(|d| {
            let p = queries
                .iter()
                .map(|q| prec(q.by_radius[d].0, q.by_radius[d].1))
                .sum::<f64>()
                / nq;
            let r = queries
                .iter()
                .map(|q| rec(q.by_radius[d].1, q.num_relevant))
                .sum::<f64>()
                / nq;
            (d as u32, p, r)
        })
        .collect();
    EvalReport {
        map,
        map_tie_aware,
        zero_relevant_queries,
        precision_at,
        recall_at,
        precision_radius,
        recall_radius,
        pr_curve,
        queries,
    }
}

/// Long-tail groups of classes by training-set size (the long-tail recognition convention).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GroupThresholds {
    /// Classes with more than this many training images are "many" (head). Default 100.
    pub many_above: usize,
    /// Classes with fewer than this many are "few" (tail). Default 20.
    pub few_below: usize,
}

impl Default for GroupThresholds {
    fn default() -> Self {
        Self {
            many_above: 100,
            few_below: 20,
        }
    }
}

/// Per-class and per-group MAP.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassBreakdown {
    /// Mean AP of each class's queries (`None` for classes without queries).
    pub per_class: Vec<Option<f64>>,
    /// Mean AP over the queries of head classes (> many_above training images).
    pub many: Option<f64>,
    /// Mean AP over medium classes.
    pub medium: Option<f64>,
    /// Mean AP over tail classes (< few_below training images).
    pub few: Option<f64>,
    /// Number of classes in each group (many, medium, few).
    pub group_sizes: (usize, usize, usize),
}

/// Per-class AP and head / medium / tail MAP for single-label queries, given the training-set
/// size of every class. Zero-relevant queries count as AP 0.
///
/// # Panics
/// If the query labels are multi-hot.
pub fn class_breakdown(
    report: &EvalReport,
    query_labels: &Labels,
    train_class_sizes: &[usize],
    thresholds: GroupThresholds,
) -> ClassBreakdown {
    let Labels::Single(labels) = query_labels else {
        panic!("per-class AP needs single-label queries");
    };
    let c = train_class_sizes.len().max(query_labels.num_classes());
    let mut sums = vec![0.0; c];
    let mut counts = vec![0usize; c];
    for (q, &l) in report.queries.iter().zip(labels) {
        sums[l as usize] += q.ap.unwrap_or(0.0);
        counts[l as usize] += 1;
    }
    let per_class: Vec<Option<f64>> = (0..c)
        .map(|k| (counts[k] > 0).then(|| sums[k] / counts[k] as f64))
        .collect();
    let group = |k: usize| {
        let s = train_class_sizes.get(k).copied().unwrap_or(0);
        if s > thresholds.many_above {
            0
        } else if s < thresholds.few_below {
            2
        } else {
            1
        }
    };
    let mut gs = [(0.0, 0usize); 3];
    let mut gc = [0usize; 3];
    for k in 0..c {
        gc[group(k)] += 1;
        gs[group(k)].0 += sums[k];
        gs[group(k)].1 += counts[k];
    }
    let mean = |(s, n): (f64, usize)| (n > 0).then(|| s / n as f64);
    ClassBreakdown {
        per_class,
        many: mean(gs[0]),
        medium: mean(gs[1]),
        few: mean(gs[2]),
        group_sizes: (gc[0], gc[1], gc[2]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn codes_from(bits: usize, rows: &[Vec<i8>]) -> PackedCodes {
        let flat: Vec<f32> = rows
            .iter()
            .flat_map(|r| r.iter().map(|&b| b as f32))
            .collect();
        PackedCodes::from_signs(&flat, bits)
    }

    /// Reference: full sort by (distance, index), then the textbook AP@R.
    fn brute_ap(dist: &[u32], rel: &[bool], r: usize) -> Option<f64> {
        let mut idx: Vec<usize> = (0..dist.len()).collect();
        idx.sort_by_key(|&i| (dist[i], i));
        let (mut hits, mut sum) = (0usize, 0.0);
        for (pos, &i) in idx.iter().take(r).enumerate() {
            if rel[i] {
                hits += 1;
                sum += hits as f64 / (pos + 1) as f64;
            }
        }
        (hits > 0).then(|| sum / hits as f64)
    }

    /// Reference tie-aware AP: average AP@all over every permutation inside buckets (tiny N).
    fn brute_tie_ap(dist: &[u32], rel: &[bool]) -> Option<f64> {
        fn perms(v: Vec<usize>) -> Vec<Vec<usize>> {
            if v.len() <= 1 {
                return vec![v];
            }
            let mut out = Vec::new();
            for i in 0..v.len() {
                let mut rest = v.clone();
                let x = rest.remove(i);
                for mut p in perms(rest) {
                    p.insert(0, x);
                    out.push(p);
                }
            }
            out
        }
        let maxd = *dist.iter().max()?;
        let buckets: Vec<Vec<usize>> = (0..=maxd)
            .map(|d| (0..dist.len()).filter(|&i| dist[i] == d).collect())
            .collect();
        let mut orders: Vec<Vec<usize>> = vec![Vec::new()];
        for b in buckets {
            let ps = perms(b);
            orders = orders
                .iter()
                .flat_map(|o| ps.iter().map(move |p| [o.clone(), p.clone()].concat()))
                .collect();
        }
        let total = rel.iter().filter(|&&r| r).count();
        if total == 0 {
            return None;
        }
        let mut acc = 0.0;
        for o in &orders {
            let (mut hits, mut sum) = (0, 0.0);
            for (pos, &i) in o.iter().enumerate() {
                if rel[i] {
                    hits += 1;
                    sum += hits as f64 / (pos + 1) as f64;
                }
            }
            acc += sum / total as f64;
        }
        Some(acc / orders.len() as f64)
    }

    fn setup(
        bits: usize,
        db: &[Vec<i8>],
        dbl: &[u32],
        q: &[i8],
        ql: u32,
    ) -> (PackedCodes, Labels, PackedCodes, Labels) {
        (
            codes_from(bits, &[q.to_vec()]),
            Labels::Single(vec![ql]),
            codes_from(bits, db),
            Labels::Single(dbl.to_vec()),
        )
    }

    proptest! {
        #[test]
        fn map_matches_brute_force(
            bits in 1usize..6,
            n in 1usize..7,
            seed in proptest::collection::vec((any::<u8>(), 0u32..3), 7),
            qbits in any::<u8>(),
            r in 1usize..8,
        ) {
            let db: Vec<Vec<i8>> = (0..n).map(|i| (0..bits).map(|j| if seed[i].0 >> j & 1 == 1 { 1 } else { -1 }).collect()).collect();
            let dbl: Vec<u32> = (0..n).map(|i| seed[i].1).collect();
            let q: Vec<i8> = (0..bits).map(|j| if qbits >> j & 1 == 1 { 1 } else { -1 }).collect();
            let (qc, ql, dc, dl) = setup(bits, &db, &dbl, &q, 1);
            let cfg = EvalConfig { top_r: Some(r), ..Default::default() };
            let rep = evaluate(&qc, &ql, &dc, &dl, &cfg);
            let mut dist = vec![0; n];
            distances_into(qc.code(0), &dc, &mut dist);
            let rel: Vec<bool> = dbl.iter().map(|&l| l == 1).collect();
            let want = brute_ap(&dist, &rel, r.min(n));
            prop_assert_eq!(rep.queries[0].ap.is_some(), want.is_some());
            if let (Some(a), Some(b)) = (rep.queries[0].ap, want) {
                prop_assert!((a - b).abs() < 1e-12);
            }
            prop_assert!(rep.map >= 0.0 && rep.map <= 1.0);
            let tie = brute_tie_ap(&dist, &rel);
            match (rep.queries[0].ap_tie_aware, tie) {
                (Some(a), Some(b)) => prop_assert!((a - b).abs() < 1e-9, "tie {} vs {}", a, b),
                (None, None) => {}
                (a, b) => prop_assert!(false, "{:?} vs {:?}", a, b),
            }
        }
    }

    #[test]
    fn all_ties_tie_aware_is_expected_precision() {
        // 4 items all at distance 0, 2 relevant: E[AP] over the 6 orders.
        let db = vec![vec![1i8, 1]; 4];
        let (qc, ql, dc, dl) = setup(2, &db, &[1, 0, 1, 0], &[1, 1], 1);
        let rep = evaluate(&qc, &ql, &dc, &dl, &EvalConfig::default());
        let want = brute_tie_ap(&[0, 0, 0, 0], &[true, false, true, false]).unwrap();
        assert!((rep.map_tie_aware - want).abs() < 1e-12);
        // Stable order: relevant at positions 1 and 3 → (1 + 2/3)/2.
        assert!((rep.map - (1.0 + 2.0 / 3.0) / 2.0).abs() < 1e-12);
    }

    #[test]
    fn zero_relevant_queries_policy() {
        let db = vec![vec![1i8], vec![-1]];
        let (qc, ql, dc, dl) = setup(1, &db, &[0, 0], &[1], 5);
        let rep = evaluate(&qc, &ql, &dc, &dl, &EvalConfig::default());
        assert_eq!(rep.zero_relevant_queries, 1);
        assert_eq!(rep.map, 0.0);
        assert_eq!(rep.precision_radius, 0.0);
    }

    #[test]
    fn authors_protocol_drops_the_last_item() {
        // The only relevant item is ranked last: exact MAP@all = 1/3, authors' = 0.
        let db = vec![vec![1i8, 1], vec![1, -1], vec![-1, -1]];
        let (qc, ql, dc, dl) = setup(2, &db, &[0, 0, 1], &[1, 1], 1);
        let exact = evaluate(&qc, &ql, &dc, &dl, &EvalConfig::default());
        assert!((exact.map - 1.0 / 3.0).abs() < 1e-12);
        let compat = EvalConfig {
            protocol: Protocol::AuthorsDropLast,
            ..Default::default()
        };
        assert_eq!(evaluate(&qc, &ql, &dc, &dl, &compat).map, 0.0);
    }

    #[test]
    fn multi_label_relevance_and_radius_metrics() {
        let db = vec![vec![1i8, 1, 1], vec![1, 1, -1], vec![-1, -1, -1]];
        let dl = Labels::from_multi_hot(&[1, 0, 0, 1, 1, 0, 0, 0, 1], 3);
        let ql = Labels::from_multi_hot(&[0, 1, 0], 3);
        let qc = codes_from(3, &[vec![1, 1, 1]]);
        let dc = codes_from(3, &db);
        let rep = evaluate(
            &qc,
            &ql,
            &dc,
            &dl,
            &EvalConfig {
                radius: 1,
                ..Default::default()
            },
        );
        // Relevant: item 1 only (shares label 1), at distance 1 → rank 2.
        assert!((rep.map - 0.5).abs() < 1e-12);
        assert!((rep.precision_radius - 0.5).abs() < 1e-12);
        assert!((rep.recall_radius - 1.0).abs() < 1e-12);
        assert_eq!(rep.pr_curve.len(), 4);
    }

    #[test]
    fn random_ties_are_seeded() {
        let db = vec![vec![1i8, 1]; 6];
        let (qc, ql, dc, dl) = setup(2, &db, &[1, 0, 0, 1, 0, 1], &[1, 1], 1);
        let cfg = EvalConfig {
            ties: TieMode::Random(3),
            ..Default::default()
        };
        let a = evaluate(&qc, &ql, &dc, &dl, &cfg).map;
        let b = evaluate(&qc, &ql, &dc, &dl, &cfg).map;
        assert_eq!(a, b);
    }

    #[test]
    fn breakdown_groups() {
        let db = vec![vec![1i8], vec![-1]];
        let qc = codes_from(1, &[vec![1], vec![-1]]);
        let dc = codes_from(1, &db);
        let ql = Labels::Single(vec![0, 1]);
        let dl = Labels::Single(vec![0, 1]);
        let rep = evaluate(&qc, &ql, &dc, &dl, &EvalConfig::default());
        let b = class_breakdown(&rep, &ql, &[500, 5], GroupThresholds::default());
        assert_eq!(b.group_sizes, (1, 0, 1));
        assert_eq!(b.many, Some(1.0));
        assert_eq!(b.few, Some(1.0));
        assert_eq!(b.medium, None);
    }
}
