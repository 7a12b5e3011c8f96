//! # lthnet-data
//!
//! Dataset readers and long-tail splits for lthnet.
//!
//! ```
//! use lthnet_data::longtail::{LongTailProfile, class_sizes};
//! // The paper's CIFAR-100 IF=100 training split: 2,598 images, 5 in the rarest class.
//! let sizes = class_sizes(&LongTailProfile::Zipf { mu: 0.99 }, 500, 100);
//! assert_eq!(sizes.iter().sum::<usize>(), 2598);
//! assert_eq!(sizes[99], 5);
//! ```
//!
//! Readers:
//! - [`cifar`]: CIFAR-10 / CIFAR-100 in the official binary **and** python (pickle) formats, as
//!   downloaded or extracted, each file optionally `.xz` / `.gz`.
//! - [`folder`]: ImageFolder layouts `root/<class>/*.{png,jpg,jpeg,bmp}` on disk or inside a
//!   `.tar.gz` / `.zip`, and images named by a list file; resize + center crop.
//! - [`idx`]: MNIST / Fashion-MNIST IDX files (raw or gzip).
//! - [`digits`]: the UCI 8×8 digits CSV (scikit-learn's `digits.csv.gz`).
//! - [`pickle`]: the safe pickle-subset interpreter behind the CIFAR python reader.
//! - [`download`]: the official CIFAR archives, checksum-verified, resumable.
//!
//! Splits:
//! - [`longtail`]: Zipf (LTHNet, reproduces the paper's Table 2) and exponential (CIFAR-LT)
//!   class-size profiles, and the paper's μ presets.
//! - [`split`]: train / query / database splits as values, saved and loaded as list files
//!   (`relative/path l_1 … l_C`), the CIFAR / HashNet-list / hold-out protocols and a
//!   validation carve-out.
//!
//! Every reader returns an [`ImageDataset`] (HWC `u8` images + labels) or a [`DataError`] naming
//! the file and the problem; malformed input never panics.

pub mod cifar;
pub mod dataset;
pub mod digits;
pub mod download;
pub mod error;
pub mod folder;
pub mod idx;
pub mod longtail;
pub mod pickle;
pub mod split;

pub use dataset::{ImageDataset, OfficialSplit};
pub use error::DataError;
pub use split::{ListEntry, Split};

/// Where the shared real datasets live: `$LTHNET_DATA_DIR` whenever it is set; otherwise the
/// first `shared/data` found in the current directory or one of its ancestors (a run from inside
/// a clone next to `shared/`); otherwise `../shared/data` next to the workspace this crate was
/// compiled in (returned even when it does not exist, so error messages name a path).
/// Tests skip with a message when it does not exist.
pub fn default_data_dir() -> std::path::PathBuf {
    if let Some(d) = std::env::var_os("LTHNET_DATA_DIR") {
        return d.into();
    }
    let compiled = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data");
    let from_cwd = std::env::current_dir().ok().and_then(|cwd| {
        cwd.ancestors()
            .map(|a| a.join("shared/data"))
            .find(|p| p.is_dir())
    });
    from_cwd.unwrap_or(compiled)
}
