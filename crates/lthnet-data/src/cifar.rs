//! CIFAR-10 and CIFAR-100 as downloaded from <https://www.cs.toronto.edu/~kriz/cifar.html>, in
//! either official format, each file optionally `.xz` or `.gz` compressed.
//!
//! - **Binary version.** CIFAR-10: `data_batch_1.bin … data_batch_5.bin`, `test_batch.bin`;
//!   records of 3,073 bytes `[label][1024 R][1024 G][1024 B]`. CIFAR-100: `train.bin`,
//!   `test.bin`; records of 3,074 bytes `[coarse][fine][1024 R][1024 G][1024 B]`.
//! - **Python version.** CIFAR-10: `data_batch_1 … data_batch_5`, `test_batch`, `batches.meta`;
//!   CIFAR-100: `train`, `test`, `meta`. Protocol-2 pickles decoded by the safe interpreter in
//!   [`crate::pickle`] (nothing is executed).
//!
//! [`read_cifar10`] and [`read_cifar100`] look in the given directory and in the folder the
//! official archive extracts to (`cifar-10-batches-bin`, `cifar-10-batches-py`,
//! `cifar-100-binary`, `cifar-100-python`), binary first. Images are returned HWC (32×32×3);
//! CIFAR-100 labels are the 100 fine classes.

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::dataset::ImageDataset;
use crate::error::{DataError, io_err};
use crate::pickle::{self, Value};

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

/// Which official split of CIFAR (50,000 train / 10,000 test images).
pub use crate::dataset::OfficialSplit as CifarSplit;

/// The two official distribution formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CifarFormat {
    /// The "binary version" (`*.bin` records).
    Binary,
    /// The "python version" (pickled dicts with numpy arrays).
    Python,
}

/// CIFAR-10 or CIFAR-100.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CifarKind {
    /// 10 classes.
    Cifar10,
    /// 100 fine classes (and 20 coarse ones).
    Cifar100,
}

impl CifarKind {
    fn num_classes(self) -> usize {
        match self {
            CifarKind::Cifar10 => 10,
            CifarKind::Cifar100 => 100,
        }
    }

    fn file_names(self, format: CifarFormat, split: CifarSplit) -> Vec<String> {
        let ext = match format {
            CifarFormat::Binary => ".bin",
            CifarFormat::Python => "",
        };
        match (self, split) {
            (CifarKind::Cifar10, CifarSplit::Train) => {
                (1..=5).map(|i| format!("data_batch_{i}{ext}")).collect()
            }
            (CifarKind::Cifar10, CifarSplit::Test) => vec![format!("test_batch{ext}")],
            (CifarKind::Cifar100, CifarSplit::Train) => vec![format!("train{ext}")],
            (CifarKind::Cifar100, CifarSplit::Test) => vec![format!("test{ext}")],
        }
    }

    fn subdir(self, format: CifarFormat) -> &'static str {
        match (self, format) {
            (CifarKind::Cifar10, CifarFormat::Binary) => "cifar-10-batches-bin",
            (CifarKind::Cifar10, CifarFormat::Python) => "cifar-10-batches-py",
            (CifarKind::Cifar100, CifarFormat::Binary) => "cifar-100-binary",
            (CifarKind::Cifar100, CifarFormat::Python) => "cifar-100-python",
        }
    }

    fn default_names(self) -> Vec<String> {
        match self {
            CifarKind::Cifar10 => CIFAR10_CLASSES.iter().map(|s| s.to_string()).collect(),
            CifarKind::Cifar100 => CIFAR100_FINE.iter().map(|s| s.to_string()).collect(),
        }
    }
}

/// Read a whole file, transparently decompressing `.xz` and `.gz`.
///
/// # Errors
/// [`DataError::Io`] if the file cannot be read, [`DataError::BadFormat`] if it does not
/// decompress.
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
        .find(|p| p.is_file())
}

/// Where the files of `kind` / `split` are: the directory, their format and their paths.
///
/// Looks in `dir` and in the folder the official archives extract to, binary before python.
///
/// # Errors
/// [`DataError::NotFound`] saying which files were looked for and where to get them.
pub fn locate_cifar(
    dir: &Path,
    kind: CifarKind,
    split: CifarSplit,
) -> Result<(CifarFormat, Vec<PathBuf>), DataError> {
    for format in [CifarFormat::Binary, CifarFormat::Python] {
        for d in [dir.to_path_buf(), dir.join(kind.subdir(format))] {
            let found: Option<Vec<PathBuf>> = kind
                .file_names(format, split)
                .iter()
                .map(|n| find(&d, n))
                .collect();
            if let Some(paths) = found {
                return Ok((format, paths));
            }
        }
    }
    let (name, archives) = match kind {
        CifarKind::Cifar10 => (
            "CIFAR-10",
            "cifar-10-binary.tar.gz or cifar-10-python.tar.gz",
        ),
        CifarKind::Cifar100 => (
            "CIFAR-100",
            "cifar-100-binary.tar.gz or cifar-100-python.tar.gz",
        ),
    };
    Err(DataError::NotFound {
        message: format!(
            "{name} {} not found in {} or its {}/{} folders (also tried .xz and .gz). Download \
             {archives} from https://www.cs.toronto.edu/~kriz/cifar.html and extract it there, or \
             use lthnet_data::download::download_cifar",
            kind.file_names(CifarFormat::Binary, split).join(", "),
            dir.display(),
            kind.subdir(CifarFormat::Binary),
            kind.subdir(CifarFormat::Python),
        ),
    })
}

/// Append planar `[1024 R][1024 G][1024 B]` pixels as HWC.
fn push_hwc(px: &[u8], images: &mut Vec<u8>) {
    for p in 0..1024 {
        images.extend_from_slice(&[px[p], px[1024 + p], px[2048 + p]]);
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
        push_hwc(&r[label_bytes..], images);
    }
    Ok(())
}

fn bad(path: &Path, message: String) -> DataError {
    DataError::BadFormat {
        path: path.to_path_buf(),
        message,
    }
}

fn decode_pickle(path: &Path) -> Result<Value, DataError> {
    let bytes = read_maybe_compressed(path)?;
    pickle::parse(&bytes).map_err(|e| bad(path, format!("not a readable CIFAR pickle: {e}")))
}

/// Integer labels from a list of ints or an integer numpy array.
fn int_list(v: &Value, path: &Path, key: &str) -> Result<Vec<i64>, DataError> {
    match v {
        Value::Array(a) => a
            .to_i64()
            .ok_or_else(|| bad(path, format!("{key:?} has unsupported dtype {}", a.dtype))),
        other => other
            .as_seq()
            .ok_or_else(|| bad(path, format!("{key:?} is a {}, not a list", other.kind())))?
            .iter()
            .map(|x| match x {
                Value::Int(i) => Ok(*i),
                other => Err(bad(
                    path,
                    format!("{key:?} holds a {}, not an int", other.kind()),
                )),
            })
            .collect(),
    }
}

/// One python-format batch: append its images (HWC) and labels of `label_key`.
fn parse_python_batch(
    path: &Path,
    label_key: &str,
    num_classes: usize,
    images: &mut Vec<u8>,
    labels: &mut Vec<u32>,
) -> Result<(), DataError> {
    let v = decode_pickle(path)?;
    if !matches!(v, Value::Dict(_)) {
        return Err(bad(
            path,
            format!("top level is a {}, not a dict", v.kind()),
        ));
    }
    let data = v
        .get("data")
        .ok_or_else(|| bad(path, "no \"data\" entry".into()))?;
    let Value::Array(arr) = data else {
        return Err(bad(
            path,
            format!("\"data\" is a {}, not a numpy array", data.kind()),
        ));
    };
    if arr.item_size() != Some(1) || arr.shape.len() != 2 || arr.shape[1] != 3072 || arr.fortran {
        return Err(DataError::Image {
            path: path.to_path_buf(),
            message: format!(
                "\"data\" has shape {:?}, dtype {}{}; expected (N, 3072) uint8 in C order",
                arr.shape,
                arr.dtype,
                if arr.fortran { ", Fortran order" } else { "" }
            ),
        });
    }
    let raw = v
        .get(label_key)
        .ok_or_else(|| bad(path, format!("no {label_key:?} entry")))?;
    let raw = int_list(raw, path, label_key)?;
    let n = arr.shape[0];
    if raw.len() != n {
        return Err(bad(path, format!("{} labels for {n} images", raw.len())));
    }
    images.reserve(n * 3072);
    for (k, (&l, px)) in raw.iter().zip(arr.data.chunks_exact(3072)).enumerate() {
        if l < 0 || l as usize >= num_classes {
            return Err(DataError::LabelOutOfRange {
                path: path.to_path_buf(),
                index: k,
                label: l as u64,
                num_classes,
            });
        }
        labels.push(l as u32);
        push_hwc(px, images);
    }
    Ok(())
}

/// Class names from a python `meta` / `batches.meta` file, if present and well formed.
fn python_class_names(dir: &Path, kind: CifarKind) -> Result<Option<Vec<String>>, DataError> {
    let (file, key) = match kind {
        CifarKind::Cifar10 => ("batches.meta", "label_names"),
        CifarKind::Cifar100 => ("meta", "fine_label_names"),
    };
    let Some(path) = find(dir, file) else {
        return Ok(None);
    };
    let v = decode_pickle(&path)?;
    let names = v
        .get(key)
        .and_then(Value::as_seq)
        .ok_or_else(|| bad(&path, format!("no {key:?} list")))?;
    let names: Vec<String> = names
        .iter()
        .map(|n| {
            n.as_bytes()
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .ok_or_else(|| bad(&path, format!("{key:?} holds a {}", n.kind())))
        })
        .collect::<Result<_, _>>()?;
    if names.len() != kind.num_classes() {
        return Err(bad(
            &path,
            format!(
                "{} class names, expected {}",
                names.len(),
                kind.num_classes()
            ),
        ));
    }
    Ok(Some(names))
}

/// Read CIFAR-10 or CIFAR-100 from `dir` in whichever official format is there (see the module
/// docs for the places looked at).
///
/// # Errors
/// [`DataError::NotFound`] if no files are found; otherwise an error naming the file for
/// truncated records, out-of-range labels, malformed pickles or wrong image sizes.
pub fn read_cifar(
    dir: &Path,
    kind: CifarKind,
    split: CifarSplit,
) -> Result<ImageDataset, DataError> {
    let (format, paths) = locate_cifar(dir, kind, split)?;
    let nc = kind.num_classes();
    let (mut images, mut labels) = (Vec::new(), Vec::new());
    let mut class_names = kind.default_names();
    for path in &paths {
        match format {
            CifarFormat::Binary => {
                let bytes = read_maybe_compressed(path)?;
                let label_bytes = if kind == CifarKind::Cifar100 { 2 } else { 1 };
                parse_records(&bytes, path, label_bytes, nc, &mut images, &mut labels)?;
            }
            CifarFormat::Python => {
                let key = match kind {
                    CifarKind::Cifar10 => "labels",
                    CifarKind::Cifar100 => "fine_labels",
                };
                parse_python_batch(path, key, nc, &mut images, &mut labels)?;
            }
        }
    }
    if format == CifarFormat::Python {
        let parent = paths[0].parent().unwrap_or(dir);
        if let Some(names) = python_class_names(parent, kind)? {
            class_names = names;
        }
    }
    Ok(ImageDataset {
        images,
        height: 32,
        width: 32,
        channels: 3,
        labels,
        class_names,
        multi_hot: None,
    })
}

/// Read CIFAR-100 from `dir` (binary `train.bin` / `test.bin` or python `train` / `test`, each
/// optionally `.xz` / `.gz`). Labels are the 100 fine classes.
///
/// # Errors
/// As [`read_cifar`].
pub fn read_cifar100(dir: &Path, split: CifarSplit) -> Result<ImageDataset, DataError> {
    read_cifar(dir, CifarKind::Cifar100, split)
}

/// Read CIFAR-10 from `dir` (binary `data_batch_{1..5}.bin` / `test_batch.bin` or python
/// `data_batch_{1..5}` / `test_batch`).
///
/// # Errors
/// As [`read_cifar`].
pub fn read_cifar10(dir: &Path, split: CifarSplit) -> Result<ImageDataset, DataError> {
    read_cifar(dir, CifarKind::Cifar10, split)
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

    fn fixtures() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
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
    fn reads_gz_and_the_archive_subfolder() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("cifar-10-batches-bin");
        std::fs::create_dir(&sub).unwrap();
        let mut rec = vec![3u8];
        rec.extend((0..3072).map(|i| (i % 251) as u8));
        for i in 1..=5 {
            std::fs::write(sub.join(format!("data_batch_{i}.bin")), &rec).unwrap();
        }
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(&rec).unwrap();
        std::fs::write(sub.join("test_batch.bin.gz"), e.finish().unwrap()).unwrap();
        let tr = read_cifar10(dir.path(), CifarSplit::Train).unwrap();
        let te = read_cifar10(dir.path(), CifarSplit::Test).unwrap();
        assert_eq!((tr.len(), te.len()), (5, 1));
        assert_eq!(te.labels, vec![3]);
        assert_eq!(
            &te.image(0)[..3],
            &[0, (1024 % 251) as u8, (2048 % 251) as u8]
        );
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
        std::fs::write(dir.path().join("test.bin"), record100(20, 1, 0)).unwrap();
        let e = read_cifar100(dir.path(), CifarSplit::Test)
            .unwrap_err()
            .to_string();
        assert!(e.contains("label 20") && e.contains("0..20"), "{e}");
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
        assert!(
            e.contains("decompress") && e.contains("train.bin.xz"),
            "{e}"
        );
    }

    #[test]
    fn python_version_cifar100() {
        let dir = fixtures();
        let tr = read_cifar100(&dir, CifarSplit::Train).unwrap();
        let te = read_cifar100(&dir, CifarSplit::Test).unwrap();
        assert_eq!(tr.labels, vec![0, 3, 6, 9, 12]);
        assert_eq!(te.labels, vec![0, 3, 6]);
        // Pixel (k, c, p) = (7k + 3c + p) % 256 with k offset by 100 in the test split; HWC.
        let px = |k: usize, c: usize, p: usize| ((7 * k + 3 * c + p) % 256) as u8;
        assert_eq!(tr.image(2)[3 * 40 + 1], px(2, 1, 40));
        assert_eq!(te.image(1)[3 * 1023 + 2], px(101, 2, 1023));
        assert_eq!(
            tr.class_names[7], "class07",
            "names come from the meta file"
        );
    }

    #[test]
    fn python_version_cifar10_batches() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("cifar-10-batches-py");
        std::fs::create_dir(&sub).unwrap();
        let p2 = fixtures().join("py3/data_batch_protocol2");
        let p4 = fixtures().join("py3/data_batch_protocol4");
        for i in 1..=5 {
            std::fs::copy(&p2, sub.join(format!("data_batch_{i}"))).unwrap();
        }
        std::fs::copy(&p4, sub.join("test_batch")).unwrap();
        let tr = read_cifar10(dir.path(), CifarSplit::Train).unwrap();
        let te = read_cifar10(dir.path(), CifarSplit::Test).unwrap();
        assert_eq!(tr.len(), 15);
        assert_eq!(te.labels, vec![9, 0, 4]);
        assert_eq!(te.class_names[9], "truck");
        assert_eq!(tr.image(5), te.image(2));
        // A truncated batch names the file.
        let bytes = std::fs::read(&p2).unwrap();
        std::fs::write(sub.join("test_batch"), &bytes[..bytes.len() / 2]).unwrap();
        let e = read_cifar10(dir.path(), CifarSplit::Test)
            .unwrap_err()
            .to_string();
        assert!(e.contains("test_batch") && e.contains("pickle"), "{e}");
    }
}
