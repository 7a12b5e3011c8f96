//! The UCI 8×8 handwritten digits as shipped by scikit-learn (`digits.csv.gz`): one row per
//! image, 64 pixel values in 0..=16, then the label 0..=9.

use std::io::Read;
use std::path::Path;

use crate::error::{DataError, io_err};

/// The digits: pixels (`n × 64`, values 0..=16) and labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digits {
    /// `n × 64` pixel values in 0..=16, row-major 8×8.
    pub pixels: Vec<u8>,
    /// Labels 0..=9.
    pub labels: Vec<u32>,
}

impl Digits {
    /// As an [`crate::ImageDataset`] of 8×8 greyscale images scaled to 0..=255.
    pub fn to_dataset(&self) -> crate::ImageDataset {
        crate::ImageDataset {
            images: self
                .pixels
                .iter()
                .map(|&p| ((p as u32 * 255) / 16) as u8)
                .collect(),
            height: 8,
            width: 8,
            channels: 1,
            labels: self.labels.clone(),
            class_names: (0..10).map(|d| d.to_string()).collect(),
            multi_hot: None,
        }
    }
}

/// Parse the gzip'd CSV from memory (`name` is used in error messages).
///
/// # Errors
/// [`DataError::Io`] if the bytes are not gzip, [`DataError::Parse`] (file and line) for a row
/// without 65 values, a pixel outside 0..=16 or a label outside 0..=9.
pub fn read_digits_csv_gz_named(bytes: &[u8], name: &Path) -> Result<Digits, DataError> {
    let mut text = String::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_string(&mut text)
        .map_err(io_err(name))?;
    let mut pixels = Vec::new();
    let mut labels = Vec::new();
    for (lineno, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let err = |m: String| DataError::Parse {
            path: name.to_path_buf(),
            line: lineno + 1,
            message: m,
        };
        let fields: Vec<&str> = line.split(',').collect();
        if fields.len() != 65 {
            return Err(err(format!(
                "expected 65 comma-separated values, found {}",
                fields.len()
            )));
        }
        for f in &fields[..64] {
            let v: f64 = f
                .trim()
                .parse()
                .map_err(|_| err(format!("bad pixel value {f:?}")))?;
            if !(0.0..=16.0).contains(&v) {
                return Err(err(format!("pixel value {v} outside 0..=16")));
            }
            pixels.push(v as u8);
        }
        let l: f64 = fields[64]
            .trim()
            .parse()
            .map_err(|_| err(format!("bad label {:?}", fields[64])))?;
        if !(0.0..=9.0).contains(&l) || l.fract() != 0.0 {
            return Err(err(format!("label {l} outside 0..=9")));
        }
        labels.push(l as u32);
    }
    Ok(Digits { pixels, labels })
}

/// Parse the gzip'd CSV from memory.
///
/// # Errors
/// As [`read_digits_csv_gz_named`].
pub fn read_digits_csv_gz(bytes: &[u8]) -> Result<Digits, DataError> {
    read_digits_csv_gz_named(bytes, Path::new("digits.csv.gz"))
}

/// Read `digits.csv.gz` from a file as an 8×8 greyscale [`crate::ImageDataset`] (values 0..=16
/// scaled to 0..=255).
///
/// # Errors
/// As [`read_digits_file`].
pub fn read_digits(path: &Path) -> Result<crate::ImageDataset, DataError> {
    Ok(read_digits_file(path)?.to_dataset())
}

/// Read `digits.csv.gz` from a file.
///
/// # Errors
/// [`DataError::Io`] if the file cannot be read, else as [`read_digits_csv_gz_named`].
pub fn read_digits_file(path: &Path) -> Result<Digits, DataError> {
    let bytes = std::fs::read(path).map_err(io_err(path))?;
    read_digits_csv_gz_named(&bytes, path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gz(s: &str) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(s.as_bytes()).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn parses_and_rejects() {
        let row = format!("{},3", vec!["16.0"; 64].join(","));
        let d = read_digits_csv_gz(&gz(&format!("{row}\n{row}\n"))).unwrap();
        assert_eq!(d.labels, vec![3, 3]);
        assert_eq!(d.pixels.len(), 128);
        assert_eq!(d.to_dataset().images[0], 255);
        let bad = format!("{},12", vec!["1"; 64].join(","));
        let e = read_digits_csv_gz(&gz(&bad)).unwrap_err().to_string();
        assert!(e.contains(":1:") && e.contains("label"), "{e}");
        let short = read_digits_csv_gz(&gz("1,2,3")).unwrap_err().to_string();
        assert!(short.contains("65"), "{short}");
        assert!(read_digits_csv_gz(b"not gzip").is_err());
    }

    #[test]
    fn real_digits_if_present() {
        let path = crate::default_data_dir().join("sklearn-digits/digits.csv.gz");
        if !path.exists() {
            eprintln!(
                "skipping: {} not found (set LTHNET_DATA_DIR)",
                path.display()
            );
            return;
        }
        let d = read_digits(&path).unwrap();
        assert_eq!((d.len(), d.height, d.width, d.channels), (1797, 8, 8, 1));
        assert_eq!(
            d.class_counts(),
            vec![178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
        );
    }
}
