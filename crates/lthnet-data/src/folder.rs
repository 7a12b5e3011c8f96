//! Image folders (`root/<class>/*.{png,jpg,jpeg,bmp}`, the ImageFolder layout LTHNet uses), the
//! same layout inside a `.tar.gz` / `.tar` / `.zip` archive, and images named by a list file.
//!
//! - Classes are the sub-folder names **sorted by name** (label = rank in that order) unless an
//!   explicit class list is given — pass the same list for every split so that a class missing
//!   from one split keeps its label (defect 8 of the authors' code). Files are sorted by name
//!   within each class; files directly under the root and other extensions are ignored.
//! - Images are decoded in parallel (rayon) with the `image` crate, converted to RGB or grey,
//!   then resized and center-cropped as configured by [`FolderConfig`].
//!
//! ```no_run
//! use lthnet_data::folder::{FolderConfig, Resize, read_image_folder};
//! # fn main() -> Result<(), lthnet_data::DataError> {
//! // LTHNet's query / database transform: Resize(256) on the short side, CenterCrop(224).
//! let config = FolderConfig::default()
//!     .with_resize(Resize::ShortSide(256))
//!     .with_crop(Some(224));
//! let query = read_image_folder("data/cifar-100-IF100/images/query".as_ref(), &config)?;
//! # Ok(()) }
//! ```

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use image::imageops::FilterType;
use image::{DynamicImage, GenericImageView};
use rayon::prelude::*;

use crate::dataset::ImageDataset;
use crate::error::{DataError, io_err};
use crate::split::{ListEntry, read_list_file};

/// How images are resized before the optional center crop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resize {
    /// Keep the decoded size; every image must then have the same size.
    Keep,
    /// Resize to exactly `height × width` (torchvision `Resize((h, w))`).
    Exact {
        /// Target height.
        height: u32,
        /// Target width.
        width: u32,
    },
    /// Scale so that the shorter side has this length, keeping the aspect ratio (torchvision
    /// `Resize(s)`).
    ShortSide(u32),
}

/// Output colour channels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColorMode {
    /// 3 channels.
    Rgb,
    /// 1 channel (luma).
    Grey,
}

/// How an image folder (or list of images) is decoded.
#[derive(Debug, Clone, PartialEq)]
pub struct FolderConfig {
    /// Resize step.
    pub resize: Resize,
    /// Center crop to `crop × crop` after resizing (`None`: no crop).
    pub crop: Option<u32>,
    /// Colour mode.
    pub color: ColorMode,
    /// The class list (label = index). `None`: the sorted sub-folder names.
    pub classes: Option<Vec<String>>,
}

impl Default for FolderConfig {
    /// Keep the size, no crop, RGB, classes from the folder names.
    fn default() -> Self {
        Self {
            resize: Resize::Keep,
            crop: None,
            color: ColorMode::Rgb,
            classes: None,
        }
    }
}

impl FolderConfig {
    /// Set the resize step.
    pub fn with_resize(mut self, resize: Resize) -> Self {
        self.resize = resize;
        self
    }

    /// Set the center crop.
    pub fn with_crop(mut self, crop: Option<u32>) -> Self {
        self.crop = crop;
        self
    }

    /// Set the colour mode.
    pub fn with_color(mut self, color: ColorMode) -> Self {
        self.color = color;
        self
    }

    /// Fix the class list (use the same one for every split).
    pub fn with_classes(mut self, classes: Option<Vec<String>>) -> Self {
        self.classes = classes;
        self
    }
}

/// The files of an image folder, without decoding them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FolderListing {
    /// Paths relative to the folder root, `/`-separated: `<class>/<file>`.
    pub paths: Vec<String>,
    /// Label of each path.
    pub labels: Vec<u32>,
    /// Class names (label = index).
    pub class_names: Vec<String>,
}

/// Whether a file name has an image extension (png, jpg, jpeg, bmp; any case).
pub fn is_image_file(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    [".png", ".jpg", ".jpeg", ".bmp"]
        .iter()
        .any(|e| lower.ends_with(e))
}

/// Build a listing from `(class, file name)` pairs.
fn listing_from(
    files: BTreeMap<String, Vec<String>>,
    classes: Option<&[String]>,
    root: &Path,
) -> Result<FolderListing, DataError> {
    let class_names: Vec<String> = match classes {
        Some(c) => c.to_vec(),
        None => files.keys().cloned().collect(),
    };
    let index: std::collections::HashMap<&str, u32> = class_names
        .iter()
        .enumerate()
        .map(|(i, c)| (c.as_str(), i as u32))
        .collect();
    let (mut paths, mut labels) = (Vec::new(), Vec::new());
    for (class, mut names) in files {
        let Some(&label) = index.get(class.as_str()) else {
            return Err(DataError::BadFormat {
                path: root.join(&class),
                message: format!(
                    "class folder {class:?} is not in the given class list ({} classes)",
                    class_names.len()
                ),
            });
        };
        names.sort();
        for n in names {
            paths.push(format!("{class}/{n}"));
            labels.push(label);
        }
    }
    // BTreeMap order is name order; with an explicit list, order by label then path.
    let mut order: Vec<usize> = (0..paths.len()).collect();
    order.sort_by(|&a, &b| (labels[a], &paths[a]).cmp(&(labels[b], &paths[b])));
    Ok(FolderListing {
        paths: order.iter().map(|&i| paths[i].clone()).collect(),
        labels: order.iter().map(|&i| labels[i]).collect(),
        class_names,
    })
}

/// List `root/<class>/*` image files, sorted by class then file name.
///
/// # Errors
/// [`DataError::Io`] if `root` cannot be read; [`DataError::BadFormat`] for a class folder not
/// in `classes`.
pub fn list_image_folder(
    root: &Path,
    classes: Option<&[String]>,
) -> Result<FolderListing, DataError> {
    let mut files: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for entry in std::fs::read_dir(root).map_err(io_err(root))? {
        let entry = entry.map_err(io_err(root))?;
        let dir = entry.path();
        if !dir.is_dir() {
            continue;
        }
        let class = entry.file_name().to_string_lossy().into_owned();
        let names = files.entry(class).or_default();
        for f in std::fs::read_dir(&dir).map_err(io_err(&dir))? {
            let f = f.map_err(io_err(&dir))?;
            let name = f.file_name().to_string_lossy().into_owned();
            if is_image_file(&name) && f.path().is_file() {
                names.push(name);
            }
        }
    }
    listing_from(files, classes, root)
}

/// Decode one image and apply the configured transform.
fn decode_one(bytes: &[u8], path: &Path, config: &FolderConfig) -> Result<DynamicImage, DataError> {
    let img_err = |message: String| DataError::Image {
        path: path.to_path_buf(),
        message,
    };
    let img = image::load_from_memory(bytes).map_err(|e| img_err(format!("cannot decode: {e}")))?;
    let img = match config.color {
        ColorMode::Rgb => DynamicImage::ImageRgb8(img.to_rgb8()),
        ColorMode::Grey => DynamicImage::ImageLuma8(img.to_luma8()),
    };
    let img = match config.resize {
        Resize::Keep => img,
        Resize::Exact { height, width } => {
            if height == 0 || width == 0 {
                return Err(img_err(format!("cannot resize to {height}×{width}")));
            }
            img.resize_exact(width, height, FilterType::Triangle)
        }
        Resize::ShortSide(s) => {
            let (w, h) = img.dimensions();
            let short = w.min(h);
            if s == 0 || short == 0 {
                return Err(img_err(format!("cannot resize {w}×{h} to short side {s}")));
            }
            // torchvision: the long side is int(s * long / short).
            let long = |l: u32| ((s as u64 * l as u64) / short as u64).max(1) as u32;
            let (nw, nh) = if w <= h { (s, long(h)) } else { (long(w), s) };
            img.resize_exact(nw, nh, FilterType::Triangle)
        }
    };
    match config.crop {
        None => Ok(img),
        Some(c) => {
            let (w, h) = img.dimensions();
            if c == 0 || c > w || c > h {
                return Err(img_err(format!(
                    "center crop {c}×{c} does not fit the {h}×{w} (h×w) image"
                )));
            }
            // torchvision: top = round((h - c) / 2).
            let top = ((h - c) as f64 / 2.0).round() as u32;
            let left = ((w - c) as f64 / 2.0).round() as u32;
            Ok(img.crop_imm(left, top, c, c))
        }
    }
}

/// Decode images given as `(path for messages, bytes)` into one HWC buffer; all must end up the
/// same size.
fn decode_all(
    items: Vec<(PathBuf, Vec<u8>)>,
    config: &FolderConfig,
) -> Result<(Vec<u8>, usize, usize, usize), DataError> {
    let decoded: Vec<DynamicImage> = items
        .par_iter()
        .map(|(p, b)| decode_one(b, p, config))
        .collect::<Result<_, _>>()?;
    let channels = match config.color {
        ColorMode::Rgb => 3,
        ColorMode::Grey => 1,
    };
    let Some(first) = decoded.first() else {
        return Ok((Vec::new(), 0, 0, channels));
    };
    let (w, h) = first.dimensions();
    let mut images = Vec::with_capacity(decoded.len() * (w * h) as usize * channels);
    for (img, (path, _)) in decoded.iter().zip(&items) {
        if img.dimensions() != (w, h) {
            let (w2, h2) = img.dimensions();
            return Err(DataError::Image {
                path: path.clone(),
                message: format!(
                    "is {h2}×{w2} (h×w) after the transform but {} is {h}×{w}; configure a \
                     Resize or crop to make the sizes equal",
                    items[0].0.display()
                ),
            });
        }
        images.extend_from_slice(img.as_bytes());
    }
    Ok((images, h as usize, w as usize, channels))
}

fn read_files(root: &Path, paths: &[String]) -> Result<Vec<(PathBuf, Vec<u8>)>, DataError> {
    paths
        .par_iter()
        .map(|p| {
            let full = root.join(p);
            let bytes = std::fs::read(&full).map_err(io_err(&full))?;
            Ok((full, bytes))
        })
        .collect()
}

/// Read and decode the images `root/<path>` for each of `paths` (in parallel), transformed by
/// `config` (its class list is not used). Returns `(bytes, height, width, channels)`, the
/// images HWC one after another: the building block for streaming a list too large to hold in
/// memory in chunks.
///
/// # Errors
/// [`DataError::Io`] for missing files, [`DataError::Image`] for images that do not decode or
/// end up with different sizes.
pub fn read_images(
    root: &Path,
    paths: &[String],
    config: &FolderConfig,
) -> Result<(Vec<u8>, usize, usize, usize), DataError> {
    decode_all(read_files(root, paths)?, config)
}

/// Read an image folder `root/<class>/*` (e.g. `images/train`), decoding every image.
///
/// # Errors
/// [`DataError::Io`] for unreadable folders or files, [`DataError::Image`] for images that do
/// not decode or end up with different sizes, [`DataError::BadFormat`] for class folders not in
/// the configured class list.
pub fn read_image_folder(root: &Path, config: &FolderConfig) -> Result<ImageDataset, DataError> {
    let listing = list_image_folder(root, config.classes.as_deref())?;
    let items = read_files(root, &listing.paths)?;
    let (images, height, width, channels) = decode_all(items, config)?;
    Ok(ImageDataset {
        images,
        height,
        width,
        channels,
        labels: listing.labels,
        class_names: listing.class_names,
        multi_hot: None,
    })
}

/// Visit the regular-file entries of a `.tar.gz` / `.tgz` / `.tar` / `.zip` archive whose path
/// is `<prefix>/<class>/<image file>`, as `(class, file name, entry path, bytes)`; `bytes` is
/// only read when `with_bytes`.
fn scan_archive(
    archive: &Path,
    prefix: &str,
    with_bytes: bool,
    mut visit: impl FnMut(String, String, String, Vec<u8>),
) -> Result<(), DataError> {
    let prefix = prefix.trim_matches('/');
    let split = |name: &str| -> Option<(String, String)> {
        let rest = if prefix.is_empty() {
            name
        } else {
            name.strip_prefix(prefix)?.strip_prefix('/')?
        };
        let (class, file) = rest.split_once('/')?;
        (!class.is_empty() && !file.contains('/') && is_image_file(file))
            .then(|| (class.to_string(), file.to_string()))
    };
    let name = archive.to_string_lossy().to_ascii_lowercase();
    let bad = |m: String| DataError::BadFormat {
        path: archive.to_path_buf(),
        message: m,
    };
    let file = std::fs::File::open(archive).map_err(io_err(archive))?;
    if name.ends_with(".zip") {
        let mut zip = zip::ZipArchive::new(std::io::BufReader::new(file))
            .map_err(|e| bad(format!("not a readable zip: {e}")))?;
        for i in 0..zip.len() {
            let mut entry = zip
                .by_index(i)
                .map_err(|e| bad(format!("zip entry {i}: {e}")))?;
            if !entry.is_file() {
                continue;
            }
            let path = entry.name().to_string();
            if let Some((class, f)) = split(&path) {
                let mut bytes = Vec::new();
                if with_bytes {
                    entry
                        .read_to_end(&mut bytes)
                        .map_err(|e| bad(format!("zip entry {path}: {e}")))?;
                }
                visit(class, f, path, bytes);
            }
        }
        return Ok(());
    }
    let reader: Box<dyn Read> = if name.ends_with(".tar.gz") || name.ends_with(".tgz") {
        Box::new(flate2::read::GzDecoder::new(std::io::BufReader::new(file)))
    } else if name.ends_with(".tar") {
        Box::new(std::io::BufReader::new(file))
    } else {
        return Err(bad(
            "unknown archive type (expected .tar.gz, .tgz, .tar or .zip)".into(),
        ));
    };
    let mut tar = tar::Archive::new(reader);
    let entries = tar
        .entries()
        .map_err(|e| bad(format!("not a readable tar: {e}")))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| bad(format!("corrupt tar entry: {e}")))?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let path = entry
            .path()
            .map_err(|e| bad(format!("bad tar entry name: {e}")))?
            .to_string_lossy()
            .into_owned();
        let path = path.trim_start_matches("./").to_string();
        if let Some((class, f)) = split(&path) {
            let mut bytes = Vec::new();
            if with_bytes {
                entry
                    .read_to_end(&mut bytes)
                    .map_err(|e| bad(format!("tar entry {path}: {e}")))?;
            }
            visit(class, f, path, bytes);
        }
    }
    Ok(())
}

/// List the images under `prefix/<class>/` inside an archive (`.tar.gz`, `.tgz`, `.tar`,
/// `.zip`), sorted by class then file name. Paths are relative to `prefix`.
///
/// # Errors
/// [`DataError::Io`] / [`DataError::BadFormat`] for unreadable or corrupt archives and class
/// folders not in `classes`.
pub fn list_archive_folder(
    archive: &Path,
    prefix: &str,
    classes: Option<&[String]>,
) -> Result<FolderListing, DataError> {
    let mut files: BTreeMap<String, Vec<String>> = BTreeMap::new();
    scan_archive(archive, prefix, false, |class, f, _, _| {
        files.entry(class).or_default().push(f);
    })?;
    listing_from(files, classes, &archive.join(prefix))
}

/// Read the image folder under `prefix` inside an archive, e.g.
/// `read_archive_folder("CIFAR-10-images.tar.gz", "cifar10-jpeg/test", &config)` or the LTHNet
/// demo zip with prefix `demo-dataset/cifar-100-IF1/images/query`.
///
/// # Errors
/// As [`list_archive_folder`], plus [`DataError::Image`] for images that do not decode.
pub fn read_archive_folder(
    archive: &Path,
    prefix: &str,
    config: &FolderConfig,
) -> Result<ImageDataset, DataError> {
    let mut files: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut bytes: std::collections::HashMap<String, Vec<u8>> = Default::default();
    scan_archive(archive, prefix, true, |class, f, _, b| {
        bytes.insert(format!("{class}/{f}"), b);
        files.entry(class).or_default().push(f);
    })?;
    let listing = listing_from(files, config.classes.as_deref(), &archive.join(prefix))?;
    let items: Vec<(PathBuf, Vec<u8>)> = listing
        .paths
        .iter()
        .map(|p| {
            let b = bytes.remove(p).unwrap_or_default();
            (archive.join(prefix).join(p), b)
        })
        .collect();
    let (images, height, width, channels) = decode_all(items, config)?;
    Ok(ImageDataset {
        images,
        height,
        width,
        channels,
        labels: listing.labels,
        class_names: listing.class_names,
        multi_hot: None,
    })
}

/// Labels of list entries: single labels plus, when some line is not one-hot, the multi-hot
/// rows. `labels[i]` is the first positive class of line `i` (0 if none).
pub fn list_labels(entries: &[ListEntry]) -> (Vec<u32>, Option<Vec<u8>>) {
    let labels = entries
        .iter()
        .map(|e| e.labels.iter().position(|&v| v != 0).unwrap_or(0) as u32)
        .collect();
    let one_hot = entries.iter().all(|e| e.class().is_some());
    let multi = (!one_hot).then(|| entries.iter().flat_map(|e| e.labels.clone()).collect());
    (labels, multi)
}

/// Read the images named by a list file (`relative/path l_1 … l_C`, plain or `.gz`), relative to
/// `root`. Class names are `config.classes` if given (it must have C entries), else `"0"…"C-1"`.
///
/// # Errors
/// [`DataError::Parse`] (file and line) for malformed lines, [`DataError::Io`] for missing
/// images, [`DataError::Image`] for undecodable ones.
pub fn read_list_images(
    list: &Path,
    root: &Path,
    config: &FolderConfig,
) -> Result<ImageDataset, DataError> {
    let entries = read_list_file(list)?;
    let num_classes = entries.first().map_or(0, |e| e.labels.len());
    let class_names = match &config.classes {
        Some(c) if c.len() != num_classes && !entries.is_empty() => {
            return Err(DataError::BadFormat {
                path: list.to_path_buf(),
                message: format!(
                    "{num_classes} label columns but {} class names were given",
                    c.len()
                ),
            });
        }
        Some(c) => c.clone(),
        None => (0..num_classes).map(|c| c.to_string()).collect(),
    };
    let paths: Vec<String> = entries.iter().map(|e| e.path.clone()).collect();
    let items = read_files(root, &paths)?;
    let (images, height, width, channels) = decode_all(items, config)?;
    let (labels, multi_hot) = list_labels(&entries);
    Ok(ImageDataset {
        images,
        height,
        width,
        channels,
        labels,
        class_names,
        multi_hot,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(w: u32, h: u32, v: u8) -> Vec<u8> {
        let img = image::RgbImage::from_fn(w, h, |x, y| image::Rgb([v, x as u8, y as u8]));
        let mut out = std::io::Cursor::new(Vec::new());
        img.write_to(&mut out, image::ImageFormat::Png).unwrap();
        out.into_inner()
    }

    fn make_tree(root: &Path) {
        for (class, files) in [("zebra", vec!["b.png", "a.png"]), ("apple", vec!["x.png"])] {
            std::fs::create_dir_all(root.join(class)).unwrap();
            for (k, f) in files.iter().enumerate() {
                std::fs::write(root.join(class).join(f), png(4, 6, k as u8 * 10)).unwrap();
            }
        }
        std::fs::write(root.join("zebra/notes.txt"), "skip me").unwrap();
        std::fs::write(root.join("snapshot.jpg"), "not a class").unwrap();
    }

    #[test]
    fn folder_sorted_by_class_and_file() {
        let dir = tempfile::tempdir().unwrap();
        make_tree(dir.path());
        let d = read_image_folder(dir.path(), &FolderConfig::default()).unwrap();
        assert_eq!(d.class_names, vec!["apple", "zebra"]);
        assert_eq!(d.labels, vec![0, 1, 1]);
        assert_eq!((d.height, d.width, d.channels), (6, 4, 3));
        // zebra/a.png was written with v = 10, b.png with v = 0.
        assert_eq!(d.image(1)[0], 10);
        assert_eq!(d.image(2)[0], 0);
        let l = list_image_folder(dir.path(), None).unwrap();
        assert_eq!(l.paths, vec!["apple/x.png", "zebra/a.png", "zebra/b.png"]);
        // An explicit class list keeps labels stable and may contain absent classes.
        let classes: Vec<String> = ["zebra", "mango", "apple"].map(String::from).to_vec();
        let l = list_image_folder(dir.path(), Some(&classes)).unwrap();
        assert_eq!(l.labels, vec![0, 0, 2]);
        assert_eq!(l.paths[2], "apple/x.png");
        let e = list_image_folder(dir.path(), Some(&classes[..1])).unwrap_err();
        assert!(e.to_string().contains("apple"), "{e}");
    }

    #[test]
    fn resize_crop_and_grey() {
        let dir = tempfile::tempdir().unwrap();
        make_tree(dir.path());
        let c = FolderConfig::default()
            .with_resize(Resize::ShortSide(8))
            .with_crop(Some(8))
            .with_color(ColorMode::Grey);
        let d = read_image_folder(dir.path(), &c).unwrap();
        assert_eq!((d.height, d.width, d.channels), (8, 8, 1));
        assert_eq!(d.images.len(), 3 * 64);
        let c = FolderConfig::default().with_resize(Resize::Exact {
            height: 5,
            width: 7,
        });
        let d = read_image_folder(dir.path(), &c).unwrap();
        assert_eq!((d.height, d.width), (5, 7));
        let e =
            read_image_folder(dir.path(), &FolderConfig::default().with_crop(Some(5))).unwrap_err();
        assert!(e.to_string().contains("crop"), "{e}");
    }

    #[test]
    fn bad_images_are_errors_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        make_tree(dir.path());
        std::fs::write(dir.path().join("apple/y.png"), png(5, 5, 0)).unwrap();
        let e = read_image_folder(dir.path(), &FolderConfig::default()).unwrap_err();
        assert!(
            e.to_string().contains("y.png") && e.to_string().contains("5×5"),
            "{e}"
        );
        std::fs::write(dir.path().join("apple/y.png"), b"not a png").unwrap();
        let e = read_image_folder(dir.path(), &FolderConfig::default()).unwrap_err();
        assert!(matches!(e, DataError::Image { .. }), "{e}");
        assert!(
            e.to_string().contains("y.png") && e.to_string().contains("decode"),
            "{e}"
        );
        assert!(read_image_folder(&dir.path().join("nope"), &FolderConfig::default()).is_err());
    }

    #[test]
    fn tar_gz_archive() {
        let dir = tempfile::tempdir().unwrap();
        let tree = dir.path().join("tree");
        make_tree(&tree.join("ds/train"));
        let archive = dir.path().join("ds.tar.gz");
        {
            let f = std::fs::File::create(&archive).unwrap();
            let gz = flate2::write::GzEncoder::new(f, flate2::Compression::fast());
            let mut tar = tar::Builder::new(gz);
            tar.append_dir_all("ds", tree.join("ds")).unwrap();
            tar.into_inner().unwrap().finish().unwrap();
        }
        let a = read_archive_folder(&archive, "ds/train", &FolderConfig::default()).unwrap();
        let b = read_image_folder(&tree.join("ds/train"), &FolderConfig::default()).unwrap();
        assert_eq!(a, b);
        let l = list_archive_folder(&archive, "ds/train/", None).unwrap();
        assert_eq!(l.paths.len(), 3);
        std::fs::write(&archive, b"\x1f\x8bgarbage").unwrap();
        assert!(read_archive_folder(&archive, "ds/train", &FolderConfig::default()).is_err());
    }

    #[test]
    fn list_file_images_one_hot_and_multi_hot() {
        let dir = tempfile::tempdir().unwrap();
        make_tree(dir.path());
        let list = dir.path().join("train.txt");
        std::fs::write(&list, "zebra/a.png 0 1 0\napple/x.png 1 0 1\n").unwrap();
        let d = read_list_images(&list, dir.path(), &FolderConfig::default()).unwrap();
        assert_eq!(d.labels, vec![1, 0]);
        assert_eq!(d.multi_hot, Some(vec![0, 1, 0, 1, 0, 1]));
        assert_eq!(d.class_names, vec!["0", "1", "2"]);
        std::fs::write(&list, "zebra/a.png 0 1 0\napple/missing.png 1 0 0\n").unwrap();
        let e = read_list_images(&list, dir.path(), &FolderConfig::default()).unwrap_err();
        assert!(e.to_string().contains("missing.png"), "{e}");
    }
}
