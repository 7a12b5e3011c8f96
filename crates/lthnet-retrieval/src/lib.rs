//! # lthnet-retrieval
//!
//! Binary codes, fast Hamming search and exact ranking metrics for hashing-based retrieval.
//!
//! - [`PackedCodes`]: ±1 codes packed into `u64` words (sgn(0) = +1).
//! - [`search_topk`] / [`search_radius`]: exhaustive multi-threaded Hamming search with the
//!   hardware popcount.
//! - [`evaluate`]: MAP@all / MAP@R (ties by database index, seeded random, or the exact tie-aware
//!   expectation), P@N, R@N, P/R within a Hamming radius and PR curves; [`class_breakdown`] for
//!   per-class and head / medium / tail MAP.
//!
//! ```
//! use lthnet_retrieval::{EvalConfig, Labels, PackedCodes, evaluate};
//! let db = PackedCodes::from_signs(&[1.0, 1.0, 1.0, -1.0, -1.0, -1.0], 2);
//! let q = PackedCodes::from_signs(&[1.0, 1.0], 2);
//! let report = evaluate(&q, &Labels::Single(vec![0]), &db, &Labels::Single(vec![0, 1, 0]),
//!                       &EvalConfig::default());
//! // Ranking: item 0 (d=0, relevant), item 1 (d=1), item 2 (d=2, relevant): AP = (1 + 2/3)/2.
//! assert!((report.map - 5.0 / 6.0).abs() < 1e-12);
//! ```

pub mod codes;
pub mod error;
pub mod hamming;
pub mod io;
pub mod labels;
pub mod metrics;

pub use codes::PackedCodes;
pub use error::RetrievalError;
pub use hamming::{distances_into, hardware_popcount, search_radius, search_topk};
pub use labels::Labels;
pub use metrics::{
    ClassBreakdown, EvalConfig, EvalReport, GroupThresholds, Protocol, QueryResult, TieMode,
    ZeroRelevant, class_breakdown, evaluate,
};
