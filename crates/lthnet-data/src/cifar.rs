//! CIFAR-10 and CIFAR-100 in the official **binary** formats, read as downloaded (also `.xz` or
//! `.gz` compressed).
//!
//! - CIFAR-10: `data_batch_1.bin … data_batch_5.bin`, `test_batch.bin`; records of 3,073 bytes
//!   `[label][1024 R][1024 G][1024 B]`.
//! - CIFAR-100: `train.bin`, `test.bin`; records of 3,074 bytes
//!   `[coarse][fine][1024 R][1024 G][1024 B]`.
//!
//! Images are returned HWC (32×32×3).

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::dataset::ImageDataset;
use crate::error::{DataError, io_err};

/// CIFAR-100's fine class names, in label order (alphabetical).
pub const CIFAR100_FINE: [&str; 100] = [
    "apple",
    "aquarium_fish",
    "baby",
    "bear",
    "beaver",
    "bed",
    "bee",
    "beetle",
    "bicycle",
    "bottle",
    "bowl",
    "boy",
    "bridge",
    "bus",
    "butterfly",
    "camel",
    "can",
    "castle",
    "caterpillar",
    "cattle",
    "chair",
    "chimpanzee",
    "clock",
    "cloud",
    "cockroach",
    "couch",
    "crab",
    "crocodile",
    "cup",
    "dinosaur",
    "dolphin",
    "elephant",
    "flatfish",
    "forest",
    "fox",
    "girl",
    "hamster",
    "house",
    "kangaroo",
    "keyboard",
    "lamp",
    "lawn_mower",
    "leopard",
    "lion",
    "lizard",
    "lobster",
    "man",
    "maple_tree",
    "motorcycle",
    "mountain",
    "mouse",
    "mushroom",
    "oak_tree",
    "orange",
    "orchid",
    "otter",
    "palm_tree",
    "pear",
    "pickup_truck",
    "pine_tree",
    "plain",
    "plate",
    "poppy",
    "porcupine",
    "possum",
    "rabbit",
    "raccoon",
    "ray",
    "road",
    "rocket",
    "rose",
    "sea",
    "seal",
    "shark",
    "shrew",
    "skunk",
    "skyscraper",
    "snail",
    "snake",
    "spider",
    "squirrel",
    "streetcar",
    "sunflower",
    "sweet_pepper",
    "table",
    "tank",
    "telephone",
    "television",
    "tiger",
    "tractor",
    "train",
    "trout",
    "tulip",
    "turtle",
    "wardrobe",
    "whale",
    "willow_tree",
    "wolf",
    "woman",
    "worm",
];

/// CIFAR-10's class names, in label order.
pub const CIFAR10_CLASSES: [&str; 10] = [
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
];

/// Which split of CIFAR.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CifarSplit {
    /// The 50,000 training images.
    Train,
    /// The 10,000 test images.
    Test,
}

/// Read a whole file, transparently decompressing `.xz` and `.gz`.
pub fn read_maybe_compressed(path: &Path) -> Result<Vec<u8>, DataError> {
    let file = std::fs::File::open(path).map_err(io_err(path))?;
    let mut out = Vec::new();
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    let res = match ext {
        "xz" => liblzma::read::XzDecoder::new(file).read_to_end(&mut out),
        "gz" => flate2::read::GzDecoder::new(file).read_to_end(&mut out),
        _ => std::io::BufReader::new(file).read_to_end(&mut out),
    };
    res.map_err(|e| match ext {
        "xz" | "gz" => DataError::BadFormat {
            path: path.to_path_buf(),
            message: format!("cannot decompress: {e}"),
        },
        _ => DataError::Io {
            path: path.to_path_buf(),
            source: e,
        },
    })?;
    Ok(out)
}

/// The first of `name`, `name.xz`, `name.gz` that exists in `dir`.
fn find(dir: &Path, name: &str) -> Option<PathBuf> {
    ["", ".xz", ".gz"]
        .iter()
        .map(|ext| dir.join(format!("{name}{ext}")))
        .find(|p| p.exists())
}

fn missing(dir: &Path, names: &str, dataset: &str, url: &str) -> DataError {
    DataError::NotFound {
        message: format!(
            "{names} not found in {} (also tried .xz and .gz). Download the {dataset} binary version \
             from {url} and extract it there, or use the download helper",
            dir.display()
        ),
    }
}

/// Parse CIFAR binary records: `label_bytes` label bytes (the last is the class) then 3,072 pixels.
fn parse_records(
    bytes: &[u8],
    path: &Path,
    label_bytes: usize,
    num_classes: usize,
    images: &mut Vec<u8>,
    labels: &mut Vec<u32>,
) -> Result<(), DataError> {
    let rec = label_bytes + 3072;
    if bytes.is_empty() || !bytes.len().is_multiple_of(rec) {
        return Err(DataError::Truncated {
            path: path.to_path_buf(),
            message: format!(
                "{} bytes is not a whole number of {rec}-byte records ({} full records and {} extra bytes)",
                bytes.len(),
                bytes.len() / rec,
                bytes.len() % rec
            ),
        });
    }
    let start = labels.len();
    images.reserve(bytes.len() / rec * 3072);
    for (k, r) in bytes.chunks_exact(rec).enumerate() {
        let label = r[label_bytes - 1];
        if label as usize >= num_classes {
            return Err(DataError::LabelOutOfRange {
                path: path.to_path_buf(),
                index: k,
                label: label as u64,
                num_classes,
            });
        }
        if label_bytes == 2 && r[0] >= 20 {
            return Err(DataError::LabelOutOfRange {
                path: path.to_path_buf(),
                index: k,
                label: r[0] as u64,
                num_classes: 20,
            });
        }
        labels.push(label as u32);
        let px = &r[label_bytes..];
        for p in 0..1024 {
            images.extend_from_slice(&[px[p], px[1024 + p], px[2048 + p]]);
        }
    }
    debug_assert!(labels.len() > start);
    Ok(())
}

/// Read CIFAR-100 (binary version) from `dir` (`train.bin` / `test.bin`, or `.xz` / `.gz`).
/// Labels are the 100 fine classes.
pub fn read_cifar100(dir: &Path, split: CifarSplit) -> Result<ImageDataset, DataError> {
    let name = match split {
        CifarSplit::Train => "train.bin",
        CifarSplit::Test => "test.bin",
    };
    let path = find(dir, name).ok_or_else(|| {
        missing(
            dir,
            name,
            "CIFAR-100",
            "https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz",
        )
    })?;
    let bytes = read_maybe_compressed(&path)?;
    let (mut images, mut labels) = (Vec::new(), Vec::new());
    parse_records(&bytes, &path, 2, 100, &mut images, &mut labels)?;
    Ok(ImageDataset {
        images,
        height: 32,
        width: 32,
        channels: 3,
        labels,
        class_names: CIFAR100_FINE.iter().map(|s| s.to_string()).collect(),
    })
}

/// Read CIFAR-10 (binary version) from `dir` (`data_batch_{1..5}.bin` / `test_batch.bin`).
pub fn read_cifar10(dir: &Path, split: CifarSplit) -> Result<ImageDataset, DataError> {
    let names: Vec<String> = match split {
        CifarSplit::Train => (1..=5).map(|i| format!("data_batch_{i}.bin")).collect(),
        CifarSplit::Test => vec!["test_batch.bin".to_string()],
    };
    let (mut images, mut labels) = (Vec::new(), Vec::new());
    for name in &names {
        let path = find(dir, name).ok_or_else(|| {
            missing(
                dir,
                name,
                "CIFAR-10",
                "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz",
            )
        })?;
        let bytes = read_maybe_compressed(&path)?;
        parse_records(&bytes, &path, 1, 10, &mut images, &mut labels)?;
    }
    Ok(ImageDataset {
        images,
        height: 32,
        width: 32,
        channels: 3,
        labels,
        class_names: CIFAR10_CLASSES.iter().map(|s| s.to_string()).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record100(coarse: u8, fine: u8, v: u8) -> Vec<u8> {
        let mut r = vec![coarse, fine];
        r.extend(std::iter::repeat_n(v, 1024));
        r.extend(std::iter::repeat_n(v.wrapping_add(1), 1024));
        r.extend(std::iter::repeat_n(v.wrapping_add(2), 1024));
        r
    }

    #[test]
    fn reads_records_as_hwc() {
        let dir = tempfile::tempdir().unwrap();
        let bytes = [record100(1, 7, 10), record100(2, 99, 50)].concat();
        std::fs::write(dir.path().join("train.bin"), &bytes).unwrap();
        let d = read_cifar100(dir.path(), CifarSplit::Train).unwrap();
        assert_eq!(d.labels, vec![7, 99]);
        assert_eq!(&d.image(0)[..6], &[10, 11, 12, 10, 11, 12]);
        assert_eq!(d.class_names[99], "worm");
    }

    #[test]
    fn malformed_files_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let mut bytes = record100(1, 7, 10);
        bytes.pop();
        std::fs::write(dir.path().join("test.bin"), &bytes).unwrap();
        let e = read_cifar100(dir.path(), CifarSplit::Test)
            .unwrap_err()
            .to_string();
        assert!(e.contains("truncated") && e.contains("test.bin"), "{e}");
        std::fs::write(dir.path().join("test.bin"), record100(1, 100, 0)).unwrap();
        let e = read_cifar100(dir.path(), CifarSplit::Test)
            .unwrap_err()
            .to_string();
        assert!(e.contains("label 100"), "{e}");
        let e = read_cifar10(dir.path(), CifarSplit::Train)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("data_batch_1.bin") && e.contains("cifar-10-binary"),
            "{e}"
        );
        std::fs::write(dir.path().join("train.bin.xz"), b"garbage").unwrap();
        let e = read_cifar100(dir.path(), CifarSplit::Train)
            .unwrap_err()
            .to_string();
        assert!(e.contains("decompress"), "{e}");
    }
}
