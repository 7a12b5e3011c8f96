//! # lthnet-memory
//!
//! LTHNet's memory: class centroids of `v_direct` plus `k` prototypes per class chosen by fast
//! greedy MAP inference for a determinantal point process (Chen, Zhang, Zhou, NeurIPS 2018).
//!
//! - [`dpp`]: Algorithm 1 ([`greedy_map`], [`greedy_map_features`]) and Algorithm 2
//!   ([`greedy_map_window`], Givens rotations) as plain `f64` functions over a kernel given row
//!   by row, no tensor backend needed; a [`Selection`] says why it stopped ([`StopReason`]).
//! - [`CentroidAccumulator`]: streaming, exact class means (paper Eq. 3).
//! - [`MemoryConfig::build_memory`]: the (k+1)·C × d memory (paper Eq. 4) in class-major slot
//!   order, classes in parallel; [`Memory::to_tensor`] hands it to the model.
//!
//! ```
//! use lthnet_memory::MemoryConfig;
//! // Four 2-d samples of two classes; k = 1 prototype per class.
//! let features = [1.0, 0.0,  0.8, 0.2,  0.0, 1.0,  0.1, 0.9f32];
//! let labels = [0, 0, 1, 1];
//! let memory = MemoryConfig::new().with_num_prototypes(1).build_memory(&features, 2, &labels, 2)?;
//! assert_eq!(memory.num_slots, 4); // (k+1)·C
//! assert_eq!(&memory.rows[0..2], &[0.9, 0.1]); // slot 0: centroid of class 0
//! # Ok::<(), lthnet_memory::MemoryError>(())
//! ```

pub mod bank;
pub mod centroid;
pub mod dpp;
pub mod error;

pub use bank::{ClassReport, Memory, MemoryConfig};
pub use centroid::CentroidAccumulator;
pub use dpp::{
    Selection, StopReason, greedy_map, greedy_map_eager, greedy_map_features, greedy_map_window,
};
pub use error::MemoryError;
