//! # lthnet-retrieval
//!
//! Binary codes, fast Hamming search and exact ranking metrics for hashing-based retrieval.
//!
//! - [`PackedCodes`]: ±1 codes of any length packed into `u64` words (sgn(0) = +1), from
//!   relaxed values, ±1 / 0/1 matrices, Burn tensors (feature `burn`), `.npy` files (±1 `int8` /
//!   `float32`, or faiss-packed `uint8`) and a checksummed native format ([`io`]).
//! - [`search_topk`] / [`search_radius`]: exhaustive multi-threaded Hamming search with the
//!   hardware popcount (selected at run time), top-k ordered by (distance, index).
//! - [`evaluate`]: MAP@all / MAP@R with ties by database index (default), seeded random, or the
//!   exact tie-aware expectation ([`TieMode`]); P@N, R@N, P/R within a Hamming radius and PR
//!   curves; [`class_breakdown`] for per-class and head / medium / tail MAP; the LTHNet authors'
//!   MAP@(N−1) behind [`Protocol::AuthorsDropLast`].
//! - [`plot`]: PR curves and MAP-by-class-size charts (SVG and PNG).
//!
//! Every query is ranked with a counting sort over the K + 1 distance values: O(N + K) per
//! query and O(N) memory per thread, never a queries × database matrix.
//!
//! ```
//! use lthnet_retrieval::{EvalConfig, Labels, PackedCodes, TieMode, evaluate};
//! let db = PackedCodes::from_signs(&[1.0, 1.0, 1.0, -1.0, -1.0, -1.0], 2);
//! let q = PackedCodes::from_signs(&[1.0, 1.0], 2);
//! let (ql, dl) = (Labels::Single(vec![0]), Labels::Single(vec![0, 1, 0]));
//! let report = evaluate(&q, &ql, &db, &dl, &EvalConfig::default());
//! // Ranking: item 0 (d=0, relevant), item 1 (d=1), item 2 (d=2, relevant): AP = (1 + 2/3)/2.
//! assert!((report.map - 5.0 / 6.0).abs() < 1e-12);
//! // No ties here, so the tie-aware value agrees.
//! let cfg = EvalConfig { ties: TieMode::Expected, ..Default::default() };
//! assert!((evaluate(&q, &ql, &db, &dl, &cfg).map - 5.0 / 6.0).abs() < 1e-12);
//! ```
//!
//! ## Feature flags
//!
//! - `burn`: `PackedCodes::from_tensor`, packing a Burn tensor of relaxed codes.

pub mod codes;
pub mod error;
pub mod hamming;
pub mod io;
pub mod labels;
pub mod metrics;
pub mod plot;

pub use codes::PackedCodes;
pub use error::RetrievalError;
pub use hamming::{
    Neighbors, distances_into, hardware_popcount, search_radius, search_topk, search_topk_neighbors,
};
pub use labels::Labels;
pub use metrics::{
    ApNormalizer, ClassBreakdown, ClassGroup, EvalConfig, EvalReport, GroupThresholds, Protocol,
    QueryResult, TieMode, ZeroRelevant, class_breakdown, class_sizes, evaluate, try_evaluate,
};
