//! # lthnet-data
//!
//! Dataset readers and long-tail splits for lthnet.
//!
//! - [`cifar`]: CIFAR-10 / CIFAR-100 official binary formats (also `.xz` / `.gz`).
//! - [`idx`]: MNIST / Fashion-MNIST IDX files.
//! - [`digits`]: the UCI 8×8 digits CSV (scikit-learn's `digits.csv.gz`).
//! - [`longtail`]: Zipf and exponential class-size profiles and the paper's presets.
//! - [`split`]: train / query / database splits, saved and loaded as list files.
//!
//! Every reader returns an [`ImageDataset`] (HWC `u8` images + labels) or a [`DataError`] naming
//! the file and the problem; malformed input never panics.
//!
//! ```
//! use lthnet_data::longtail::{LongTailProfile, class_sizes};
//! // The paper's CIFAR-100 IF=100 training split: 2,598 images, 5 in the rarest class.
//! let sizes = class_sizes(&LongTailProfile::Zipf { mu: 0.99 }, 500, 100);
//! assert_eq!(sizes.iter().sum::<usize>(), 2598);
//! assert_eq!(sizes[99], 5);
//! ```

pub mod cifar;
pub mod dataset;
pub mod digits;
pub mod error;
pub mod idx;
pub mod longtail;
pub mod split;

pub use dataset::ImageDataset;
pub use error::DataError;
pub use split::{ListEntry, Split};

/// Where the shared real datasets live: `$LTHNET_DATA_DIR`, else `../shared/data` next to the
/// workspace (the project's machines). Tests skip with a message when it does not exist.
pub fn default_data_dir() -> std::path::PathBuf {
    match std::env::var_os("LTHNET_DATA_DIR") {
        Some(d) => d.into(),
        None => std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"),
    }
}
