//! Ranking metrics for Hamming retrieval: MAP@all / MAP@R (ties by index, seeded random, or the
//! exact tie-aware expectation), P@N and R@N, precision/recall within a Hamming radius, PR curves
//! by radius, per-class AP and head / medium / tail breakdowns.
//!
//! Every query is ranked with a counting sort over the `bits + 1` distance values (O(N + bits)
//! time, O(N) memory per thread), never a queries × database matrix. With ties by index one
//! sweep suffices: it computes each item's distance, relevance and the distance histogram; the
//! position of a relevant item is the number of items in closer buckets plus its rank inside its
//! own bucket, which the histogram-so-far gives.
//!
//! Definitions (see `retrieval-metrics.md`):
//! - The ranking is the database sorted by ascending Hamming distance.
//! - Relevant = shares a label with the query.
//! - AP@R = (1/Rel_R) Σ_{r ≤ R} rel_r · P@r with **Rel_R = the relevant items within the top R**:
//!   the hashing convention of every Python toolkit ([`ApNormalizer::RelevantInTopR`]). R = all
//!   ranks every database item. This normaliser is not monotone in the ranking: with R = 3,
//!   `[+ − +]` scores 5/6 and `[+ − −]` scores 1 (DeepHash-pytorch issue #33). The IR variant
//!   divides by min(R, |Rel|) instead ([`ApNormalizer::MinRAndRelevant`]).
//! - Tie-aware AP (He et al., *Hashing as Tie-Aware Learning to Rank*, CVPR 2018) is the
//!   expectation of AP over uniformly random orders inside each distance bucket, computed exactly
//!   in closed form per bucket with harmonic prefix sums.

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::codes::PackedCodes;
use crate::error::RetrievalError;
use crate::hamming::{Scan, distances_into, run_scan};
use crate::labels::{Labels, relevance_into};

/// How items at equal Hamming distance are ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[non_exhaustive]
pub enum TieMode {
    /// By database index: deterministic and reproducible (the default).
    #[default]
    StableIndex,
    /// A seeded random permutation inside each distance bucket (query `q` uses the ChaCha8
    /// stream seeded with `seed ^ q`).
    Random(u64),
    /// The expectation over uniformly random orders inside each bucket (He et al., CVPR 2018),
    /// in closed form. Exact for AP@all, P@N and R@N. For AP@R with R < N and the
    /// [`ApNormalizer::RelevantInTopR`] normaliser the expectation of the ratio has no closed
    /// form; this mode reports E\[Σ_{r≤R} rel_r·P@r\] / E\[Rel_R\] (a ratio of expectations) there.
    /// With [`ApNormalizer::MinRAndRelevant`] it is exact for every R.
    Expected,
}

/// What to do with a query whose AP normaliser is zero (no relevant item within the top R).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[non_exhaustive]
pub enum ZeroRelevant {
    /// AP = 0 and the query counts in the mean (DeepHash-pytorch, the LTHNet code, CSQ).
    #[default]
    Zero,
    /// Leave the query out of the mean (thulab/DeepHash).
    Skip,
    /// Refuse: [`try_evaluate`] returns [`RetrievalError::ZeroRelevantQuery`] and [`evaluate`]
    /// panics.
    Error,
}

/// The denominator of AP@R.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[non_exhaustive]
pub enum ApNormalizer {
    /// Rel_R, the relevant items within the top R: what hashing papers report (the default).
    #[default]
    RelevantInTopR,
    /// min(R, |Rel|), the information-retrieval variant.
    MinRAndRelevant,
}

/// Which evaluation to reproduce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[non_exhaustive]
pub enum Protocol {
    /// Correct: R = all ranks every database item.
    #[default]
    Exact,
    /// **Compatibility with the LTHNet authors' evaluation** (and DeepHash-pytorch's default):
    /// their `[:topk]` slice with `topk = −1` drops the last-ranked database item, so their
    /// "MAP@all" is MAP@(N−1) (R is capped at N − 1). Use only to compare with published numbers.
    AuthorsDropLast,
}

/// What to compute.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalConfig {
    /// R for MAP@R; `None` = all database items.
    pub top_r: Option<usize>,
    /// Tie order for MAP@R and P@N / R@N.
    pub ties: TieMode,
    /// Policy for queries whose AP normaliser is zero.
    pub zero_relevant: ZeroRelevant,
    /// The denominator of AP@R.
    pub normalizer: ApNormalizer,
    /// Exact, or the authors' off-by-one.
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
            normalizer: ApNormalizer::RelevantInTopR,
            protocol: Protocol::Exact,
            precision_at: vec![1, 10, 100, 1000],
            radius: 2,
        }
    }
}

/// Per-query results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueryResult {
    /// AP@R under the configured tie order and normaliser; `None` when the normaliser is zero.
    pub ap: Option<f64>,
    /// Tie-aware (expected) AP@all; `None` when the query has no relevant item at all.
    pub ap_tie_aware: Option<f64>,
    /// Relevant items in the whole database, |Rel|.
    pub num_relevant: usize,
    /// Relevant items among the top N, for each configured N (an expectation under
    /// [`TieMode::Expected`]).
    pub hits_at: Vec<f64>,
    /// Items within the radius.
    pub radius_retrieved: usize,
    /// Relevant items within the radius.
    pub radius_relevant: usize,
    /// Cumulative (retrieved, relevant) counts within radius 0..=bits.
    pub by_radius: Vec<(usize, usize)>,
}

/// Aggregated results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalReport {
    /// MAP@R (R from the config) under the configured tie order and zero-relevant policy.
    pub map: f64,
    /// Tie-aware MAP@all (exact expectation), under the same zero-relevant policy.
    pub map_tie_aware: f64,
    /// Queries whose AP normaliser is zero (no relevant item within the top R); under
    /// [`ZeroRelevant::Zero`] they count as AP 0, under [`ZeroRelevant::Skip`] they are left out.
    pub zero_relevant_queries: usize,
    /// The zero-relevant policy the means were taken with.
    pub zero_relevant: ZeroRelevant,
    /// (N, mean P@N) for every configured N.
    pub precision_at: Vec<(usize, f64)>,
    /// (N, mean R@N); a query with no relevant item has recall 0.
    pub recall_at: Vec<(usize, f64)>,
    /// The radius of [`EvalReport::precision_radius`] and [`EvalReport::recall_radius`].
    pub radius: u32,
    /// Mean precision within the radius (0 for a query that retrieves nothing).
    pub precision_radius: f64,
    /// Mean recall within the radius (0 for a query with no relevant item).
    pub recall_radius: f64,
    /// PR curve by radius: (radius, mean precision, mean recall) for radius 0..=bits.
    pub pr_curve: Vec<(u32, f64, f64)>,
    /// Per-query results, in query order.
    pub queries: Vec<QueryResult>,
}

/// Harmonic prefix sums `H[t] = Σ_{s ≤ t} 1/s`, `H[0] = 0`.
fn harmonic(n: usize) -> Vec<f64> {
    let mut h = vec![0.0; n + 1];
    for t in 1..=n {
        h[t] = h[t - 1] + 1.0 / t as f64;
    }
    h
}

/// Queries per sweep over the database (see [`Scan`]).
const BLOCK: usize = 2;

/// Per-thread scratch space: O(N) for the relevant items (and, for random ties, the
/// distances, relevance and the permutation), per query of a block.
struct Scratch {
    hist: [Vec<u32>; BLOCK],
    relhist: [Vec<u32>; BLOCK],
    relevant: [Vec<(u32, u32, u32)>; BLOCK],
    dist: Vec<u32>,
    rel: Vec<bool>,
    order: Vec<u32>,
}

/// The fused pass for `Q` queries: distance, relevance and histogram in one sweep. For a
/// relevant item it records (distance, rank inside its bucket, rank among the bucket's relevant
/// items), from which its position under ties by index follows once the histogram is complete.
struct Sweep<'a, R, const Q: usize> {
    rel: R,
    record: bool,
    hist: [&'a mut [u32]; Q],
    relhist: [&'a mut [u32]; Q],
    relevant: [&'a mut Vec<(u32, u32, u32)>; Q],
}

impl<R: Fn(usize, usize) -> bool, const Q: usize> Scan<Q> for Sweep<'_, R, Q> {
    type Output = ();
    #[inline(always)]
    fn scan<D: Fn(usize, usize) -> u32>(self, n: usize, dist: D) {
        let Sweep {
            rel,
            record,
            hist,
            relhist,
            relevant,
        } = self;
        for i in 0..n {
            for k in 0..Q {
                let d = dist(k, i) as usize;
                let h = &mut hist[k][d];
                if rel(k, i) {
                    let rh = &mut relhist[k][d];
                    if record {
                        relevant[k].push((d as u32, *h, *rh));
                    }
                    *rh += 1;
                }
                *h += 1;
            }
        }
    }
}

/// Evaluate `queries` against `db`; see [`try_evaluate`] for the details.
///
/// # Panics
/// On the misuse listed at [`try_evaluate`], and when `config.zero_relevant` is
/// [`ZeroRelevant::Error`] and a query has no relevant item within the top R.
pub fn evaluate(
    queries: &PackedCodes,
    query_labels: &Labels,
    db: &PackedCodes,
    db_labels: &Labels,
    config: &EvalConfig,
) -> EvalReport {
    try_evaluate(queries, query_labels, db, db_labels, config).unwrap_or_else(|e| panic!("{e}"))
}

/// Evaluate `queries` against `db`: MAP@R, tie-aware MAP@all, P@N / R@N, P/R within the radius
/// and the PR curve by radius, multi-threaded over queries.
///
/// # Errors
/// [`RetrievalError::ZeroRelevantQuery`] when `config.zero_relevant` is [`ZeroRelevant::Error`]
/// and some query has no relevant item within the top R.
///
/// # Panics
/// If the code lengths differ, the label counts differ from the code counts, or the query and
/// database labels are not of the same kind (class ids / multi-hot of the same width).
pub fn try_evaluate(
    queries: &PackedCodes,
    query_labels: &Labels,
    db: &PackedCodes,
    db_labels: &Labels,
    config: &EvalConfig,
) -> Result<EvalReport, RetrievalError> {
    assert_eq!(
        queries.bits(),
        db.bits(),
        "query codes have {} bits, database codes {}",
        queries.bits(),
        db.bits()
    );
    assert_eq!(
        queries.len(),
        query_labels.len(),
        "{} query codes but {} query labels",
        queries.len(),
        query_labels.len()
    );
    assert_eq!(
        db.len(),
        db_labels.len(),
        "{} database codes but {} database labels",
        db.len(),
        db_labels.len()
    );
    match (query_labels, db_labels) {
        (Labels::Single(_), Labels::Single(_)) => {}
        (Labels::Multi { num_classes: a, .. }, Labels::Multi { num_classes: b, .. }) => {
            assert_eq!(a, b, "query labels have {a} classes, database labels {b}")
        }
        _ => panic!("query and database labels must both be class ids or both multi-hot"),
    }
    let n = db.len();
    let bits = db.bits();
    let r_all = match config.protocol {
        Protocol::Exact => n,
        Protocol::AuthorsDropLast => n.saturating_sub(1),
    };
    let top_r = config.top_r.unwrap_or(r_all).min(r_all);
    let h = harmonic(n);
    let ctx = QueryCtx {
        db,
        db_labels,
        query_labels,
        config,
        top_r,
        harmonic: &h,
    };
    let blocks: Vec<Vec<QueryResult>> = (0..queries.len().div_ceil(BLOCK))
        .into_par_iter()
        .map_init(
            || Scratch {
                hist: std::array::from_fn(|_| vec![0; bits + 1]),
                relhist: std::array::from_fn(|_| vec![0; bits + 1]),
                relevant: Default::default(),
                dist: Vec::new(),
                rel: Vec::new(),
                order: Vec::new(),
            },
            |s, b| {
                let qis: Vec<usize> = (b * BLOCK..((b + 1) * BLOCK).min(queries.len())).collect();
                ctx.block(queries, &qis, s)
            },
        )
        .collect();
    let results: Vec<QueryResult> = blocks.into_iter().flatten().collect();
    if config.zero_relevant == ZeroRelevant::Error
        && let Some(q) = results.iter().position(|r| r.ap.is_none())
    {
        return Err(RetrievalError::ZeroRelevantQuery { query: q, top_r });
    }
    Ok(aggregate(results, config, bits))
}

struct QueryCtx<'a> {
    db: &'a PackedCodes,
    db_labels: &'a Labels,
    query_labels: &'a Labels,
    config: &'a EvalConfig,
    top_r: usize,
    harmonic: &'a [f64],
}

/// Bucket statistics of one query: sizes, relevant counts, and their prefix sums.
struct Buckets {
    hist: Vec<usize>,
    relhist: Vec<usize>,
    start: Vec<usize>,
    relstart: Vec<usize>,
}

impl Buckets {
    /// Tie-aware sums over the positions `t ≤ r` (closed form per bucket):
    /// (E[Σ_{t≤r} rel_t · P@t], E[relevant within the top r]).
    fn expected(&self, r: usize, harmonic: &[f64]) -> (f64, f64) {
        let (mut sum, mut hits) = (0.0, 0.0);
        for d in 0..self.hist.len() {
            let (nd, md, big_n) = (self.hist[d], self.relhist[d], self.start[d]);
            if big_n >= r {
                break;
            }
            if md == 0 {
                continue;
            }
            let end = (big_n + nd).min(r);
            let cnt = (end - big_n) as f64;
            let hd = harmonic[end] - harmonic[big_n];
            let f = if nd > 1 {
                (md - 1) as f64 / (nd - 1) as f64
            } else {
                0.0
            };
            let p = md as f64 / nd as f64;
            let inner =
                (self.relstart[d] as f64 + 1.0) * hd + f * (cnt - (big_n as f64 + 1.0) * hd);
            sum += p * inner;
            hits += p * cnt;
        }
        (sum, hits)
    }
}

impl QueryCtx<'_> {
    /// The fused sweep for the `Q` queries `qis`, into slots `0..Q` of the scratch space.
    fn sweep<const Q: usize>(
        &self,
        queries: &PackedCodes,
        qis: [usize; Q],
        record: bool,
        s: &mut Scratch,
    ) {
        let n = self.db.len();
        let codes: [&[u64]; Q] = std::array::from_fn(|k| queries.code(qis[k]));
        let mut hist = s.hist.iter_mut();
        let mut relhist = s.relhist.iter_mut();
        let mut relevant = s.relevant.iter_mut();
        let hist: [&mut [u32]; Q] = std::array::from_fn(|_| {
            let h = hist.next().expect("Q ≤ BLOCK");
            h.fill(0);
            h.as_mut_slice()
        });
        let relhist: [&mut [u32]; Q] = std::array::from_fn(|_| {
            let h = relhist.next().expect("Q ≤ BLOCK");
            h.fill(0);
            h.as_mut_slice()
        });
        let relevant: [&mut Vec<(u32, u32, u32)>; Q] = std::array::from_fn(|_| {
            let r = relevant.next().expect("Q ≤ BLOCK");
            r.clear();
            r
        });
        macro_rules! go {
            ($rel:expr) => {
                run_scan(
                    codes,
                    self.db,
                    Sweep {
                        rel: $rel,
                        record,
                        hist,
                        relhist,
                        relevant,
                    },
                )
            };
        }
        match (self.query_labels, self.db_labels) {
            (Labels::Single(ql), Labels::Single(dl)) => {
                let l: [u32; Q] = std::array::from_fn(|k| ql[qis[k]]);
                let dl = &dl[..n];
                go!(move |k: usize, i: usize| dl[i] == l[k])
            }
            (
                Labels::Multi {
                    num_classes,
                    words: wq,
                },
                Labels::Multi { words: wd, .. },
            ) => {
                let wpr = num_classes.div_ceil(64);
                if wpr == 1 {
                    let q: [u64; Q] = std::array::from_fn(|k| wq[qis[k]]);
                    let wd = &wd[..n];
                    go!(move |k: usize, i: usize| wd[i] & q[k] != 0)
                } else {
                    let q: [&[u64]; Q] =
                        std::array::from_fn(|k| &wq[qis[k] * wpr..(qis[k] + 1) * wpr]);
                    go!(move |k: usize, i: usize| {
                        q[k].iter()
                            .zip(&wd[i * wpr..(i + 1) * wpr])
                            .any(|(a, b)| a & b != 0)
                    })
                }
            }
            _ => unreachable!("label kinds are checked in try_evaluate"),
        }
    }

    /// Evaluates the queries `qis` (at most [`BLOCK`]).
    fn block(&self, queries: &PackedCodes, qis: &[usize], s: &mut Scratch) -> Vec<QueryResult> {
        match self.config.ties {
            TieMode::StableIndex | TieMode::Expected => {
                let record = self.config.ties == TieMode::StableIndex;
                match *qis {
                    [a, b] => self.sweep(queries, [a, b], record, s),
                    [a] => self.sweep(queries, [a], record, s),
                    _ => unreachable!("blocks hold 1 or 2 queries"),
                }
                qis.iter()
                    .enumerate()
                    .map(|(k, &qi)| self.finish(qi, k, s))
                    .collect()
            }
            TieMode::Random(_) => qis
                .iter()
                .map(|&qi| {
                    let n = self.db.len();
                    s.dist.resize(n, 0);
                    s.rel.resize(n, false);
                    distances_into(queries.code(qi), self.db, &mut s.dist);
                    relevance_into(self.query_labels, qi, self.db_labels, &mut s.rel);
                    s.hist[0].fill(0);
                    s.relhist[0].fill(0);
                    for (&d, &r) in s.dist.iter().zip(&s.rel) {
                        s.hist[0][d as usize] += 1;
                        s.relhist[0][d as usize] += r as u32;
                    }
                    self.finish(qi, 0, s)
                })
                .collect(),
        }
    }

    /// The metrics of query `qi` from the histograms in scratch slot `k`.
    fn finish(&self, qi: usize, k: usize, s: &mut Scratch) -> QueryResult {
        let config = self.config;
        let n = self.db.len();
        let top_r = self.top_r;
        let hist: Vec<usize> = s.hist[k].iter().map(|&c| c as usize).collect();
        let relhist: Vec<usize> = s.relhist[k].iter().map(|&c| c as usize).collect();
        let num_relevant: usize = relhist.iter().sum();
        let nb = hist.len();
        let mut start = vec![0usize; nb];
        let mut relstart = vec![0usize; nb];
        for d in 1..nb {
            start[d] = start[d - 1] + hist[d - 1];
            relstart[d] = relstart[d - 1] + relhist[d - 1];
        }
        let b = Buckets {
            hist,
            relhist,
            start,
            relstart,
        };

        let ap_tie_aware =
            (num_relevant > 0).then(|| b.expected(n, self.harmonic).0 / num_relevant as f64);

        // Σ rel_r·P@r over r ≤ R, relevant items within the top R, and hits within the top N.
        let (ap_sum, rel_in_r, hits_at): (f64, f64, Vec<f64>) = match config.ties {
            TieMode::Expected => {
                let (sum, hits) = b.expected(top_r, self.harmonic);
                let hits_at = config
                    .precision_at
                    .iter()
                    .map(|&cut| b.expected(cut.min(n), self.harmonic).1)
                    .collect();
                (sum, hits, hits_at)
            }
            TieMode::StableIndex | TieMode::Random(_) => {
                let mut ap_sum = 0.0;
                let mut rel_in_r = 0usize;
                let mut hits_at = vec![0usize; config.precision_at.len()];
                let mut count = |pos: usize, rank_rel: usize| {
                    if pos <= top_r {
                        ap_sum += rank_rel as f64 / pos as f64;
                        rel_in_r += 1;
                    }
                    for (hit, &cut) in hits_at.iter_mut().zip(&config.precision_at) {
                        if pos <= cut {
                            *hit += 1;
                        }
                    }
                };
                if let TieMode::Random(seed) = config.ties {
                    // Pass 2 in a seeded random order: positions inside each bucket follow it.
                    let mut seen = vec![0usize; nb];
                    let mut relseen = vec![0usize; nb];
                    s.order.clear();
                    s.order.extend(0..n as u32);
                    s.order.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(
                        seed ^ qi as u64,
                    ));
                    for &i in &s.order {
                        let i = i as usize;
                        let d = s.dist[i] as usize;
                        let pos = b.start[d] + seen[d] + 1;
                        seen[d] += 1;
                        if s.rel[i] {
                            count(pos, b.relstart[d] + relseen[d] + 1);
                            relseen[d] += 1;
                        }
                    }
                } else {
                    for &(d, rank, relrank) in &s.relevant[k] {
                        let d = d as usize;
                        count(
                            b.start[d] + rank as usize + 1,
                            b.relstart[d] + relrank as usize + 1,
                        );
                    }
                }
                (
                    ap_sum,
                    rel_in_r as f64,
                    hits_at.into_iter().map(|h| h as f64).collect(),
                )
            }
        };
        let norm = match config.normalizer {
            ApNormalizer::RelevantInTopR => rel_in_r,
            ApNormalizer::MinRAndRelevant => top_r.min(num_relevant) as f64,
        };
        let ap = (norm > 0.0).then(|| ap_sum / norm);

        let mut by_radius = Vec::with_capacity(nb);
        let (mut ret, mut relr) = (0usize, 0usize);
        for d in 0..nb {
            ret += b.hist[d];
            relr += b.relhist[d];
            by_radius.push((ret, relr));
        }
        let r = (config.radius as usize).min(nb - 1);
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
}

fn mean(values: impl Iterator<Item = f64>) -> f64 {
    let (s, c) = values.fold((0.0, 0usize), |(s, c), v| (s + v, c + 1));
    if c == 0 { 0.0 } else { s / c as f64 }
}

fn policy_mean(values: impl Iterator<Item = Option<f64>>, policy: ZeroRelevant) -> f64 {
    match policy {
        ZeroRelevant::Skip => mean(values.flatten()),
        _ => mean(values.map(|v| v.unwrap_or(0.0))),
    }
}

fn aggregate(queries: Vec<QueryResult>, config: &EvalConfig, bits: usize) -> EvalReport {
    let zero_relevant_queries = queries.iter().filter(|q| q.ap.is_none()).count();
    let policy = config.zero_relevant;
    let map = policy_mean(queries.iter().map(|q| q.ap), policy);
    let map_tie_aware = policy_mean(queries.iter().map(|q| q.ap_tie_aware), policy);
    let ratio = |a: f64, b: usize| if b == 0 { 0.0 } else { a / b as f64 };
    let precision_at = config
        .precision_at
        .iter()
        .enumerate()
        .map(|(k, &cut)| (cut, mean(queries.iter().map(|q| ratio(q.hits_at[k], cut)))))
        .collect();
    let recall_at = config
        .precision_at
        .iter()
        .enumerate()
        .map(|(k, &cut)| {
            (
                cut,
                mean(queries.iter().map(|q| ratio(q.hits_at[k], q.num_relevant))),
            )
        })
        .collect();
    let precision_radius = mean(
        queries
            .iter()
            .map(|q| ratio(q.radius_relevant as f64, q.radius_retrieved)),
    );
    let recall_radius = mean(
        queries
            .iter()
            .map(|q| ratio(q.radius_relevant as f64, q.num_relevant)),
    );
    let pr_curve = (0..=bits)
        .map(|d| {
            let p = mean(
                queries
                    .iter()
                    .map(|q| ratio(q.by_radius[d].1 as f64, q.by_radius[d].0)),
            );
            let r = mean(
                queries
                    .iter()
                    .map(|q| ratio(q.by_radius[d].1 as f64, q.num_relevant)),
            );
            (d as u32, p, r)
        })
        .collect();
    EvalReport {
        map,
        map_tie_aware,
        zero_relevant_queries,
        zero_relevant: policy,
        precision_at,
        recall_at,
        radius: config.radius,
        precision_radius,
        recall_radius,
        pr_curve,
        queries,
    }
}

/// Long-tail groups of classes by training-set size (the long-tail recognition convention:
/// many-shot > 100, medium-shot 20–100, few-shot < 20 training images).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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

/// The group of a class of `size` training images.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum ClassGroup {
    /// More than `many_above` training images (head).
    Many,
    /// Between the thresholds.
    Medium,
    /// Fewer than `few_below` training images (tail).
    Few,
}

impl GroupThresholds {
    /// The group of a class with `size` training images.
    pub fn group(&self, size: usize) -> ClassGroup {
        if size > self.many_above {
            ClassGroup::Many
        } else if size < self.few_below {
            ClassGroup::Few
        } else {
            ClassGroup::Medium
        }
    }
}

/// Per-class and per-group MAP.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassBreakdown {
    /// Mean AP of each class's queries (`None` for classes without queries).
    pub per_class: Vec<Option<f64>>,
    /// Queries of each class.
    pub queries_per_class: Vec<usize>,
    /// Training images of each class, as given.
    pub train_class_sizes: Vec<usize>,
    /// Mean AP over the queries of head classes (> `many_above` training images).
    pub many: Option<f64>,
    /// Mean AP over the queries of medium classes.
    pub medium: Option<f64>,
    /// Mean AP over the queries of tail classes (< `few_below` training images).
    pub few: Option<f64>,
    /// Number of classes in each group (many, medium, few).
    pub group_sizes: (usize, usize, usize),
    /// The thresholds used.
    pub thresholds: GroupThresholds,
}

/// Training-set size of every class from training labels (class ids: counts; multi-hot: the
/// images carrying the class). At least `min_classes` entries.
pub fn class_sizes(train_labels: &Labels, min_classes: usize) -> Vec<usize> {
    let c = train_labels.num_classes().max(min_classes);
    let mut sizes = vec![0usize; c];
    for i in 0..train_labels.len() {
        train_labels.for_each_class(i, |k| sizes[k] += 1);
    }
    sizes
}

/// Per-class AP and head / medium / tail MAP, given the training-set size of every class.
///
/// A query counts towards each of its classes (one for class ids, every set label for
/// multi-hot). Queries with no relevant item count as AP 0, or are left out when the report was
/// computed with [`ZeroRelevant::Skip`]. Group values are means over the queries of the group's
/// classes. Classes beyond `train_class_sizes` count as having 0 training images.
///
/// # Panics
/// If `query_labels` does not have one entry per query of `report`.
pub fn class_breakdown(
    report: &EvalReport,
    query_labels: &Labels,
    train_class_sizes: &[usize],
    thresholds: GroupThresholds,
) -> ClassBreakdown {
    assert_eq!(
        report.queries.len(),
        query_labels.len(),
        "{} query labels for a report of {} queries",
        query_labels.len(),
        report.queries.len()
    );
    let c = train_class_sizes.len().max(query_labels.num_classes());
    let mut sums = vec![0.0; c];
    let mut counts = vec![0usize; c];
    for (i, q) in report.queries.iter().enumerate() {
        let ap = match (q.ap, report.zero_relevant) {
            (Some(a), _) => a,
            (None, ZeroRelevant::Skip) => continue,
            (None, _) => 0.0,
        };
        query_labels.for_each_class(i, |k| {
            sums[k] += ap;
            counts[k] += 1;
        });
    }
    let per_class: Vec<Option<f64>> = (0..c)
        .map(|k| (counts[k] > 0).then(|| sums[k] / counts[k] as f64))
        .collect();
    let mut gs = [(0.0, 0usize); 3];
    let mut gc = [0usize; 3];
    for k in 0..c {
        let g = match thresholds.group(train_class_sizes.get(k).copied().unwrap_or(0)) {
            ClassGroup::Many => 0,
            ClassGroup::Medium => 1,
            ClassGroup::Few => 2,
        };
        gc[g] += 1;
        gs[g].0 += sums[k];
        gs[g].1 += counts[k];
    }
    let m = |(s, n): (f64, usize)| (n > 0).then(|| s / n as f64);
    let mut sizes = train_class_sizes.to_vec();
    sizes.resize(c, 0);
    ClassBreakdown {
        per_class,
        queries_per_class: counts,
        train_class_sizes: sizes,
        many: m(gs[0]),
        medium: m(gs[1]),
        few: m(gs[2]),
        group_sizes: (gc[0], gc[1], gc[2]),
        thresholds,
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

    /// AP@r of a ranking (relevance in rank order) with either normaliser.
    fn ap_of(ranked_rel: &[bool], r: usize, norm: ApNormalizer) -> Option<f64> {
        let (mut hits, mut sum) = (0usize, 0.0);
        for (pos, &x) in ranked_rel.iter().take(r).enumerate() {
            if x {
                hits += 1;
                sum += hits as f64 / (pos + 1) as f64;
            }
        }
        let total = ranked_rel.iter().filter(|&&x| x).count();
        let d = match norm {
            ApNormalizer::RelevantInTopR => hits,
            ApNormalizer::MinRAndRelevant => r.min(total),
        };
        (d > 0).then(|| sum / d as f64)
    }

    /// Reference: full sort by (distance, index), then the textbook AP@R.
    fn brute_ap(dist: &[u32], rel: &[bool], r: usize, norm: ApNormalizer) -> Option<f64> {
        let mut idx: Vec<usize> = (0..dist.len()).collect();
        idx.sort_by_key(|&i| (dist[i], i));
        let ranked: Vec<bool> = idx.iter().map(|&i| rel[i]).collect();
        ap_of(&ranked, r, norm)
    }

    /// Every ranking obtained by permuting items inside distance buckets (tiny N only).
    fn all_tie_orders(dist: &[u32]) -> Vec<Vec<usize>> {
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
        let maxd = dist.iter().copied().max().unwrap_or(0);
        let mut orders: Vec<Vec<usize>> = vec![Vec::new()];
        for d in 0..=maxd {
            let ps = perms((0..dist.len()).filter(|&i| dist[i] == d).collect());
            orders = orders
                .iter()
                .flat_map(|o| ps.iter().map(move |p| [o.clone(), p.clone()].concat()))
                .collect();
        }
        orders
    }

    fn single_case(
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

    /// A random tiny case: codes from `code_bits`, labels single or multi-hot (3 classes).
    fn tiny_case(
        bits: usize,
        n: usize,
        items: &[(u8, u8)],
        qbits: u8,
        qlab: u8,
        multi: bool,
    ) -> (PackedCodes, Labels, PackedCodes, Labels, Vec<bool>) {
        let sign = |x: u8, j: usize| if x >> j & 1 == 1 { 1 } else { -1 };
        let db: Vec<Vec<i8>> = (0..n)
            .map(|i| (0..bits).map(|j| sign(items[i].0, j)).collect())
            .collect();
        let q: Vec<i8> = (0..bits).map(|j| sign(qbits, j)).collect();
        let (ql, dl, rel) = if multi {
            let hot = |x: u8| [x & 1, x >> 1 & 1, x >> 2 & 1];
            let dense: Vec<u8> = (0..n).flat_map(|i| hot(items[i].1)).collect();
            let rel = (0..n).map(|i| items[i].1 & qlab & 7 != 0).collect();
            (
                Labels::from_multi_hot(&hot(qlab), 3),
                Labels::from_multi_hot(&dense, 3),
                rel,
            )
        } else {
            let dl: Vec<u32> = (0..n).map(|i| (items[i].1 % 3) as u32).collect();
            let rel = dl.iter().map(|&l| l == (qlab % 3) as u32).collect();
            (
                Labels::Single(vec![(qlab % 3) as u32]),
                Labels::Single(dl),
                rel,
            )
        };
        (codes_from(bits, &[q]), ql, codes_from(bits, &db), dl, rel)
    }

    proptest! {
        /// Stable ranking equals the brute-force sort; tie-aware AP@all, P@N and the exact
        /// IR-normalised AP@R equal the average over every permutation of the ties; random ties
        /// give the AP of one of those permutations; MAP lies in [0, 1].
        #[test]
        fn metrics_match_brute_force(
            bits in 1usize..6,
            n in 1usize..7,
            items in proptest::collection::vec((any::<u8>(), any::<u8>()), 7),
            qbits in any::<u8>(),
            qlab in 1u8..8,
            r in 1usize..8,
            multi in any::<bool>(),
            seed in any::<u64>(),
        ) {
            let (qc, ql, dc, dl, rel) = tiny_case(bits, n, &items, qbits, qlab, multi);
            let mut dist = vec![0; n];
            distances_into(qc.code(0), &dc, &mut dist);
            let orders = all_tie_orders(&dist);
            let ranked = |o: &Vec<usize>| -> Vec<bool> { o.iter().map(|&i| rel[i]).collect() };
            let rr = r.min(n);
            for norm in [ApNormalizer::RelevantInTopR, ApNormalizer::MinRAndRelevant] {
                let cfg = EvalConfig { top_r: Some(r), normalizer: norm, precision_at: vec![1, 3, 9], ..Default::default() };
                let rep = evaluate(&qc, &ql, &dc, &dl, &cfg);
                let want = brute_ap(&dist, &rel, rr, norm);
                prop_assert_eq!(rep.queries[0].ap.is_some(), want.is_some());
                if let (Some(a), Some(b)) = (rep.queries[0].ap, want) {
                    prop_assert!((a - b).abs() < 1e-12, "stable {} vs {}", a, b);
                }
                prop_assert!((0.0..=1.0).contains(&rep.map));
                prop_assert!((0.0..=1.0 + 1e-12).contains(&rep.map_tie_aware));
                prop_assert_eq!(rep.zero_relevant_queries, usize::from(want.is_none()));

                // Tie-aware AP@all against the average over all tie orders.
                let total = rel.iter().filter(|&&x| x).count();
                let tie_all = (total > 0).then(|| orders.iter().map(|o| ap_of(&ranked(o), n, norm).unwrap()).sum::<f64>() / orders.len() as f64);
                match (rep.queries[0].ap_tie_aware, tie_all) {
                    (Some(a), Some(b)) => prop_assert!((a - b).abs() < 1e-9, "tie {} vs {}", a, b),
                    (None, None) => {}
                    (a, b) => prop_assert!(false, "{:?} vs {:?}", a, b),
                }

                let exp = evaluate(&qc, &ql, &dc, &dl, &EvalConfig { ties: TieMode::Expected, ..cfg.clone() });
                // Expected P@N: the average number of hits in the top N.
                for (k, &cut) in cfg.precision_at.iter().enumerate() {
                    let want = orders.iter().map(|o| ranked(o).iter().take(cut).filter(|&&x| x).count() as f64).sum::<f64>() / orders.len() as f64;
                    prop_assert!((exp.queries[0].hits_at[k] - want).abs() < 1e-9);
                }
                // With min(R, |Rel|) the expected AP@R is exact for every R.
                if norm == ApNormalizer::MinRAndRelevant && total > 0 {
                    let want = orders.iter().map(|o| ap_of(&ranked(o), rr, norm).unwrap()).sum::<f64>() / orders.len() as f64;
                    prop_assert!((exp.queries[0].ap.unwrap() - want).abs() < 1e-9);
                }
                if rr == n && total > 0 {
                    prop_assert!((exp.queries[0].ap.unwrap() - tie_all.unwrap()).abs() < 1e-9);
                }

                // Random ties: the AP of one of the tie orders.
                let rnd = evaluate(&qc, &ql, &dc, &dl, &EvalConfig { ties: TieMode::Random(seed), ..cfg.clone() });
                match rnd.queries[0].ap {
                    Some(a) => prop_assert!(orders.iter().any(|o| ap_of(&ranked(o), rr, norm).is_some_and(|b| (a - b).abs() < 1e-12))),
                    None => prop_assert!(orders.iter().any(|o| ap_of(&ranked(o), rr, norm).is_none())),
                }
            }
        }
    }

    #[test]
    fn larger_random_case_matches_brute_force() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
        for bits in [16usize, 100, 200] {
            let (nq, n) = (5, 400);
            let centres: Vec<Vec<f32>> = (0..4)
                .map(|_| {
                    (0..bits)
                        .map(|_| if rng.random_bool(0.5) { 1.0 } else { -1.0 })
                        .collect()
                })
                .collect();
            let mut gen_ = |m: usize| {
                let mut v = Vec::new();
                let mut l = Vec::new();
                for _ in 0..m {
                    let c = rng.random_range(0..4);
                    l.push(c as u32);
                    v.extend(
                        centres[c]
                            .iter()
                            .map(|&x| if rng.random_bool(0.3) { -x } else { x }),
                    );
                }
                (PackedCodes::from_signs(&v, bits), Labels::Single(l))
            };
            let (qc, ql) = gen_(nq);
            let (dc, dl) = gen_(n);
            for r in [None, Some(37)] {
                let rep = evaluate(
                    &qc,
                    &ql,
                    &dc,
                    &dl,
                    &EvalConfig {
                        top_r: r,
                        ..Default::default()
                    },
                );
                for qi in 0..nq {
                    let mut dist = vec![0; n];
                    distances_into(qc.code(qi), &dc, &mut dist);
                    let rel: Vec<bool> = (0..n).map(|i| dl.single(i) == ql.single(qi)).collect();
                    let want = brute_ap(&dist, &rel, r.unwrap_or(n), ApNormalizer::RelevantInTopR);
                    let got = rep.queries[qi].ap;
                    assert!((got.unwrap_or(0.0) - want.unwrap_or(0.0)).abs() < 1e-12);
                }
            }
        }
    }

    #[test]
    fn all_ties_tie_aware_is_the_average() {
        // 4 items all at distance 0, 2 relevant: E[AP] over the 24 orders.
        let db = vec![vec![1i8, 1]; 4];
        let (qc, ql, dc, dl) = single_case(2, &db, &[1, 0, 1, 0], &[1, 1], 1);
        let rep = evaluate(&qc, &ql, &dc, &dl, &EvalConfig::default());
        let rel = [true, false, true, false];
        let orders = all_tie_orders(&[0, 0, 0, 0]);
        assert_eq!(orders.len(), 24);
        let want = orders
            .iter()
            .map(|o| {
                let r: Vec<bool> = o.iter().map(|&i| rel[i]).collect();
                ap_of(&r, 4, ApNormalizer::RelevantInTopR).unwrap()
            })
            .sum::<f64>()
            / 24.0;
        assert!((rep.map_tie_aware - want).abs() < 1e-12);
        // Stable order: relevant at positions 1 and 3 → (1 + 2/3)/2.
        assert!((rep.map - (1.0 + 2.0 / 3.0) / 2.0).abs() < 1e-12);
        // Expected P@1 = 1/2.
        let exp = evaluate(
            &qc,
            &ql,
            &dc,
            &dl,
            &EvalConfig {
                ties: TieMode::Expected,
                ..Default::default()
            },
        );
        assert!((exp.precision_at[0].1 - 0.5).abs() < 1e-12);
        assert!((exp.map - want).abs() < 1e-12);
    }

    #[test]
    fn zero_relevant_policies() {
        let db = vec![vec![1i8], vec![-1]];
        let qc = codes_from(1, &[vec![1], vec![1]]);
        let dc = codes_from(1, &db);
        // Query 0 has no relevant item, query 1 has AP 1.
        let ql = Labels::Single(vec![5, 0]);
        let dl = Labels::Single(vec![0, 0]);
        let zero = evaluate(&qc, &ql, &dc, &dl, &EvalConfig::default());
        assert_eq!(zero.zero_relevant_queries, 1);
        assert!((zero.map - 0.5).abs() < 1e-12);
        assert!((zero.map_tie_aware - 0.5).abs() < 1e-12);
        assert_eq!(zero.queries[0].radius_retrieved, 2);
        let skip_cfg = EvalConfig {
            zero_relevant: ZeroRelevant::Skip,
            ..Default::default()
        };
        let skip = evaluate(&qc, &ql, &dc, &dl, &skip_cfg);
        assert_eq!(skip.zero_relevant_queries, 1);
        assert!((skip.map - 1.0).abs() < 1e-12);
        let err_cfg = EvalConfig {
            zero_relevant: ZeroRelevant::Error,
            ..Default::default()
        };
        let err = try_evaluate(&qc, &ql, &dc, &dl, &err_cfg).unwrap_err();
        assert!(
            matches!(
                err,
                RetrievalError::ZeroRelevantQuery { query: 0, top_r: 2 }
            ),
            "{err}"
        );
        // Relevant items exist but none in the top R = 1: zero-relevant for MAP@1 only.
        let ql = Labels::Single(vec![1, 1]);
        let dl = Labels::Single(vec![0, 1]);
        let rep = evaluate(
            &qc,
            &ql,
            &dc,
            &dl,
            &EvalConfig {
                top_r: Some(1),
                ..Default::default()
            },
        );
        assert_eq!(rep.zero_relevant_queries, 2);
        assert!((rep.map_tie_aware - 0.5).abs() < 1e-12);
    }

    #[test]
    #[should_panic(expected = "no relevant item")]
    fn zero_relevant_error_panics_in_evaluate() {
        let (qc, ql, dc, dl) = single_case(1, &[vec![1i8]], &[0], &[1], 3);
        let cfg = EvalConfig {
            zero_relevant: ZeroRelevant::Error,
            ..Default::default()
        };
        evaluate(&qc, &ql, &dc, &dl, &cfg);
    }

    #[test]
    fn authors_protocol_drops_the_last_item() {
        // The only relevant item is ranked last: exact MAP@all = 1/3, the authors' = 0.
        let db = vec![vec![1i8, 1], vec![1, -1], vec![-1, -1]];
        let (qc, ql, dc, dl) = single_case(2, &db, &[0, 0, 1], &[1, 1], 1);
        let exact = evaluate(&qc, &ql, &dc, &dl, &EvalConfig::default());
        assert!((exact.map - 1.0 / 3.0).abs() < 1e-12);
        let compat = EvalConfig {
            protocol: Protocol::AuthorsDropLast,
            ..Default::default()
        };
        let rep = evaluate(&qc, &ql, &dc, &dl, &compat);
        assert_eq!(rep.map, 0.0);
        assert_eq!(rep.zero_relevant_queries, 1);
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
        assert!((rep.recall_at[1].1 - 1.0).abs() < 1e-12);
        assert_eq!(rep.pr_curve.len(), 4);
        assert_eq!(rep.pr_curve[0], (0, 0.0, 0.0));
        assert!((rep.pr_curve[3].1 - 1.0 / 3.0).abs() < 1e-12);
        // Nothing within radius 0 of this query: precision 0, not NaN.
        assert_eq!(rep.pr_curve[0].1, 0.0);
        // Wide multi-hot (> 64 classes) takes the general path.
        let mut dense = vec![0u8; 3 * 70];
        dense[69] = 1;
        dense[70 + 69] = 1;
        let mut qd = vec![0u8; 70];
        qd[69] = 1;
        let rep = evaluate(
            &qc,
            &Labels::from_multi_hot(&qd, 70),
            &dc,
            &Labels::from_multi_hot(&dense, 70),
            &EvalConfig::default(),
        );
        assert!((rep.map - 1.0).abs() < 1e-12);
    }

    #[test]
    fn random_ties_are_seeded() {
        let db = vec![vec![1i8, 1]; 40];
        let dbl: Vec<u32> = (0..40).map(|i| (i % 3 == 0) as u32).collect();
        let (qc, ql, dc, dl) = single_case(2, &db, &dbl, &[1, 1], 1);
        let cfg = |s| EvalConfig {
            ties: TieMode::Random(s),
            ..Default::default()
        };
        let a = evaluate(&qc, &ql, &dc, &dl, &cfg(3)).map;
        assert_eq!(a, evaluate(&qc, &ql, &dc, &dl, &cfg(3)).map);
        let others: Vec<f64> = (4..10)
            .map(|s| evaluate(&qc, &ql, &dc, &dl, &cfg(s)).map)
            .collect();
        assert!(
            others.iter().any(|&b| b != a),
            "seeds give different tie orders"
        );
    }

    #[test]
    fn breakdown_groups() {
        let db = vec![vec![1i8], vec![-1]];
        let qc = codes_from(1, &[vec![1], vec![-1], vec![1]]);
        let dc = codes_from(1, &db);
        let ql = Labels::Single(vec![0, 1, 2]);
        let dl = Labels::Single(vec![0, 1]);
        let rep = evaluate(&qc, &ql, &dc, &dl, &EvalConfig::default());
        let b = class_breakdown(&rep, &ql, &[500, 5, 50], GroupThresholds::default());
        assert_eq!(b.group_sizes, (1, 1, 1));
        assert_eq!(b.many, Some(1.0));
        assert_eq!(b.few, Some(1.0));
        assert_eq!(b.medium, Some(0.0));
        let tl = Labels::Single(vec![0, 0, 0, 2]);
        assert_eq!(class_sizes(&tl, 4), vec![3, 0, 1, 0]);
        let custom = GroupThresholds {
            many_above: 2,
            few_below: 1,
        };
        let b = class_breakdown(&rep, &ql, &class_sizes(&tl, 3), custom);
        assert_eq!(b.group_sizes, (1, 1, 1));
        assert_eq!(b.medium, Some(0.0), "class 2 (1 image) is medium");
    }

    #[test]
    fn multi_label_breakdown_counts_every_class() {
        let qc = codes_from(1, &[vec![1], vec![-1]]);
        let dc = codes_from(1, &[vec![1], vec![-1]]);
        let ql = Labels::from_multi_hot(&[1, 1, 0, 1], 2);
        let dl = Labels::from_multi_hot(&[1, 0, 0, 1], 2);
        let rep = evaluate(&qc, &ql, &dc, &dl, &EvalConfig::default());
        let b = class_breakdown(&rep, &ql, &[10, 200], GroupThresholds::default());
        assert_eq!(b.queries_per_class, vec![1, 2]);
        assert_eq!(b.per_class, vec![Some(1.0), Some(1.0)]);
    }

    #[test]
    fn types_are_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<EvalConfig>();
        check::<EvalReport>();
        check::<ClassBreakdown>();
        check::<PackedCodes>();
        check::<Labels>();
        check::<RetrievalError>();
    }

    #[test]
    fn empty_inputs() {
        let qc = codes_from(2, &[]);
        let dc = codes_from(2, &[vec![1, 1]]);
        let rep = evaluate(
            &qc,
            &Labels::Single(vec![]),
            &dc,
            &Labels::Single(vec![0]),
            &EvalConfig::default(),
        );
        assert_eq!(rep.map, 0.0);
        assert!(rep.queries.is_empty());
    }
}
