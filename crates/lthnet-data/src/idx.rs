//! IDX files (MNIST, Fashion-MNIST), raw or gzip'd.

use std::path::Path;

use crate::cifar::read_maybe_compressed;
use crate::dataset::{ImageDataset, OfficialSplit};
use crate::error::DataError;

fn bad(path: &Path, m: String) -> DataError {
    DataError::BadFormat {
        path: path.to_path_buf(),
        message: m,
    }
}

fn header(bytes: &[u8], path: &Path, magic: u32, dims: usize) -> Result<Vec<usize>, DataError> {
    if bytes.len() < 4 + 4 * dims {
        return Err(DataError::Truncated {
            path: path.to_path_buf(),
            message: format!("{} bytes cannot hold an IDX header", bytes.len()),
        });
    }
    let m = u32::from_be_bytes(bytes[0..4].try_into().expect("4 bytes"));
    if m != magic {
        return Err(bad(
            path,
            format!("magic number {m:#x}, expected {magic:#x}"),
        ));
    }
    Ok((0..dims)
        .map(|k| {
            u32::from_be_bytes(bytes[4 + 4 * k..8 + 4 * k].try_into().expect("4 bytes")) as usize
        })
        .collect())
}

/// Read an IDX image file (magic 0x803) and its label file (0x801), raw or `.gz`/`.xz`, into a
/// greyscale dataset with the given class names (labels must be below their count).
///
/// # Errors
/// [`DataError::BadFormat`] for a wrong magic number or mismatched counts,
/// [`DataError::Truncated`] for short files, [`DataError::LabelOutOfRange`] for bad labels.
pub fn read_idx(
    images: &Path,
    labels: &Path,
    class_names: Vec<String>,
) -> Result<ImageDataset, DataError> {
    let ib = read_maybe_compressed(images)?;
    let lb = read_maybe_compressed(labels)?;
    let dims = header(&ib, images, 0x803, 3)?;
    let (n, h, w) = (dims[0], dims[1], dims[2]);
    let ldims = header(&lb, labels, 0x801, 1)?;
    if ldims[0] != n {
        return Err(bad(
            labels,
            format!("{} labels for {n} images in {}", ldims[0], images.display()),
        ));
    }
    let need = 16 + n * h * w;
    if ib.len() != need {
        return Err(DataError::Truncated {
            path: images.to_path_buf(),
            message: format!(
                "{} bytes, expected {need} for {n} images of {h}×{w}",
                ib.len()
            ),
        });
    }
    if lb.len() != 8 + n {
        return Err(DataError::Truncated {
            path: labels.to_path_buf(),
            message: format!("{} bytes, expected {}", lb.len(), 8 + n),
        });
    }
    let nc = class_names.len();
    let mut out_labels = Vec::with_capacity(n);
    for (k, &l) in lb[8..].iter().enumerate() {
        if l as usize >= nc {
            return Err(DataError::LabelOutOfRange {
                path: labels.to_path_buf(),
                index: k,
                label: l as u64,
                num_classes: nc,
            });
        }
        out_labels.push(l as u32);
    }
    Ok(ImageDataset {
        images: ib[16..].to_vec(),
        height: h,
        width: w,
        channels: 1,
        labels: out_labels,
        class_names,
        multi_hot: None,
    })
}

/// Read an MNIST-style directory: `train-images-idx3-ubyte` + `train-labels-idx1-ubyte` (or
/// `t10k-…` for the test split), each raw or `.gz`.
///
/// # Errors
/// [`DataError::NotFound`] if the files are missing, else as [`read_idx`].
pub fn read_idx_dir(
    dir: &Path,
    split: OfficialSplit,
    class_names: Vec<String>,
) -> Result<ImageDataset, DataError> {
    let stem = match split {
        OfficialSplit::Train => "train",
        OfficialSplit::Test => "t10k",
    };
    let find = |kind: &str| -> Result<std::path::PathBuf, DataError> {
        let name = format!("{stem}-{kind}");
        [name.clone(), format!("{name}.gz")]
            .into_iter()
            .map(|n| dir.join(n))
            .find(|p| p.is_file())
            .ok_or_else(|| DataError::NotFound {
                message: format!(
                    "{name}(.gz) not found in {}; for Fashion-MNIST get the four IDX files from \
                     https://github.com/zalandoresearch/fashion-mnist (or `apt-get install \
                     dataset-fashion-mnist`, which puts them in /usr/share/datasets/fashion-mnist)",
                    dir.display()
                ),
            })
    };
    read_idx(
        &find("images-idx3-ubyte")?,
        &find("labels-idx1-ubyte")?,
        class_names,
    )
}

/// Read Fashion-MNIST from `dir` (see [`read_idx_dir`]) with its class names.
///
/// # Errors
/// As [`read_idx_dir`].
pub fn read_fashion_mnist(dir: &Path, split: OfficialSplit) -> Result<ImageDataset, DataError> {
    read_idx_dir(
        dir,
        split,
        FASHION_MNIST_CLASSES
            .iter()
            .map(|s| s.to_string())
            .collect(),
    )
}

/// Fashion-MNIST's class names.
pub const FASHION_MNIST_CLASSES: [&str; 10] = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_fashion_mnist_if_present() {
        let dir = crate::default_data_dir().join("fashion-mnist");
        if !dir.exists() {
            eprintln!(
                "skipping: {} not found (set LTHNET_DATA_DIR)",
                dir.display()
            );
            return;
        }
        let test = read_fashion_mnist(&dir, OfficialSplit::Test).unwrap();
        assert_eq!((test.len(), test.height, test.width), (10_000, 28, 28));
        assert!(test.class_counts().iter().all(|&c| c == 1000));
        let e = read_fashion_mnist(&dir.join("nope"), OfficialSplit::Train).unwrap_err();
        assert!(e.to_string().contains("train-images-idx3-ubyte"), "{e}");
    }

    #[test]
    fn round_trip_and_errors() {
        let dir = tempfile::tempdir().unwrap();
        let mut img = vec![0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 2];
        img.extend([1, 2, 3, 4, 5, 6, 7, 8]);
        let lab = vec![0, 0, 8, 1, 0, 0, 0, 2, 3, 1];
        std::fs::write(dir.path().join("i"), &img).unwrap();
        std::fs::write(dir.path().join("l"), &lab).unwrap();
        let names: Vec<String> = (0..10).map(|c| c.to_string()).collect();
        let d = read_idx(&dir.path().join("i"), &dir.path().join("l"), names.clone()).unwrap();
        assert_eq!((d.len(), d.height, d.width), (2, 2, 2));
        assert_eq!(d.labels, vec![3, 1]);
        std::fs::write(dir.path().join("i"), &img[..20]).unwrap();
        let e = read_idx(&dir.path().join("i"), &dir.path().join("l"), names.clone()).unwrap_err();
        assert!(e.to_string().contains("truncated"), "{e}");
        std::fs::write(dir.path().join("i"), [0u8, 0, 8, 1]).unwrap();
        let e = read_idx(&dir.path().join("i"), &dir.path().join("l"), names).unwrap_err();
        assert!(
            e.to_string().contains("IDX header") || e.to_string().contains("magic"),
            "{e}"
        );
    }
}
