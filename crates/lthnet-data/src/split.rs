//! Train / query / database splits as values, saved and loaded as list files.
//!
//! List-file format (HashNet, DeepHash-pytorch, CSQ): one line per item,
//! `relative/path l_1 … l_C` with 0/1 labels (one-hot or multi-hot), optionally gzip'd. Datasets
//! without file names use stable pseudo-paths such as `cifar100/train/00042`.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use crate::error::{DataError, io_err};

/// One entry of a list file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListEntry {
    /// Path relative to the dataset root (or a pseudo-path).
    pub path: String,
    /// Label vector (0/1), one entry per class.
    pub labels: Vec<u8>,
}

impl ListEntry {
    /// The single class of a one-hot entry, `None` if it is not one-hot.
    pub fn class(&self) -> Option<u32> {
        let mut ones = self.labels.iter().enumerate().filter(|(_, v)| **v != 0);
        match (ones.next(), ones.next()) {
            (Some((c, _)), None) => Some(c as u32),
            _ => None,
        }
    }
}

/// Read a list file (plain or `.gz`).
pub fn read_list_file(path: &Path) -> Result<Vec<ListEntry>, DataError> {
    let file = std::fs::File::open(path).map_err(io_err(path))?;
    let reader: Box<dyn Read> = if path.extension().is_some_and(|e| e == "gz") {
        Box::new(flate2::read::GzDecoder::new(file))
    } else {
        Box::new(file)
    };
    let mut out = Vec::new();
    let mut width = None;
    for (i, line) in BufReader::new(reader).lines().enumerate() {
        let line = line.map_err(io_err(path))?;
        let err = |m: String| DataError::Parse {
            path: path.to_path_buf(),
            line: i + 1,
            message: m,
        };
        let mut fields = line.split_whitespace();
        let Some(p) = fields.next() else { continue };
        let labels: Vec<u8> = fields
            .map(|f| match f {
                "0" => Ok(0),
                "1" => Ok(1),
                other => Err(err(format!("label value {other:?} is not 0 or 1"))),
            })
            .collect::<Result<_, _>>()?;
        if labels.is_empty() {
            return Err(err("no labels after the path".into()));
        }
        match width {
            None => width = Some(labels.len()),
            Some(w) if w != labels.len() => {
                return Err(err(format!(
                    "{} labels, previous lines have {w}",
                    labels.len()
                )));
            }
            _ => {}
        }
        out.push(ListEntry {
            path: p.to_string(),
            labels,
        });
    }
    Ok(out)
}

/// Write a list file.
pub fn write_list_file(path: &Path, entries: &[ListEntry]) -> Result<(), DataError> {
    let tmp = path.with_extension("tmp");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&tmp).map_err(io_err(&tmp))?);
    for e in entries {
        let labels: Vec<&str> = e
            .labels
            .iter()
            .map(|&v| if v != 0 { "1" } else { "0" })
            .collect();
        writeln!(f, "{} {}", e.path, labels.join(" ")).map_err(io_err(&tmp))?;
    }
    f.flush().map_err(io_err(&tmp))?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(io_err(path))
}

/// A split of one dataset: indices of its items (into the dataset's own order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    /// Training items.
    pub train: Vec<usize>,
    /// Query items.
    pub query: Vec<usize>,
    /// Database items.
    pub database: Vec<usize>,
}

/// Draw, for every class `c`, `sizes[c]` items without replacement from `pool` (items of class
/// `labels[i]`), seeded; the result is sorted by index within each class, classes in order.
///
/// # Errors
/// If a class has fewer items in the pool than requested.
pub fn sample_per_class(
    pool: &[usize],
    labels: &[u32],
    sizes: &[usize],
    seed: u64,
) -> Result<Vec<usize>, DataError> {
    let mut per_class: Vec<Vec<usize>> = vec![Vec::new(); sizes.len()];
    for &i in pool {
        let c = labels[i] as usize;
        if c < sizes.len() {
            per_class[c].push(i);
        }
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut out = Vec::with_capacity(sizes.iter().sum());
    for (c, items) in per_class.iter_mut().enumerate() {
        if items.len() < sizes[c] {
            return Err(DataError::Invalid(format!(
                "class {c} has {} items but the profile asks for {}",
                items.len(),
                sizes[c]
            )));
        }
        items.shuffle(&mut rng);
        let mut pick = items[..sizes[c]].to_vec();
        pick.sort_unstable();
        out.extend(pick);
    }
    Ok(out)
}

/// Carve a per-class validation set out of `train`: a fraction `fraction` of each class (at least
/// one item when the class has two or more), seeded. Returns `(train, validation)`.
pub fn validation_split(
    train: &[usize],
    labels: &[u32],
    fraction: f64,
    seed: u64,
) -> (Vec<usize>, Vec<usize>) {
    let c = train
        .iter()
        .map(|&i| labels[i] as usize + 1)
        .max()
        .unwrap_or(0);
    let mut per: Vec<Vec<usize>> = vec![Vec::new(); c];
    for &i in train {
        per[labels[i] as usize].push(i);
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (mut tr, mut va) = (Vec::new(), Vec::new());
    for items in &mut per {
        items.shuffle(&mut rng);
        let k = if items.len() >= 2 {
            ((items.len() as f64 * fraction).round() as usize).clamp(1, items.len() - 1)
        } else {
            0
        };
        va.extend_from_slice(&items[..k]);
        tr.extend_from_slice(&items[k..]);
    }
    tr.sort_unstable();
    va.sort_unstable();
    (tr, va)
}

/// The LTHNet CIFAR protocol on a train/test pair concatenated as `[train…, test…]`
/// (`n_train` training items first): query = the test items, database = the training items,
/// train = a long-tail subset of the database with `sizes[c]` items of class `c`, seeded.
pub fn cifar_protocol(
    labels: &[u32],
    n_train: usize,
    sizes: &[usize],
    seed: u64,
) -> Result<Split, DataError> {
    let database: Vec<usize> = (0..n_train).collect();
    let query: Vec<usize> = (n_train..labels.len()).collect();
    let train = sample_per_class(&database, labels, sizes, seed)?;
    Ok(Split {
        train,
        query,
        database,
    })
}

/// Stable pseudo-paths `"{prefix}/train/00042"` and `"{prefix}/test/00007"` for a
/// `[train…, test…]` concatenation.
pub fn pseudo_paths(prefix: &str, n_train: usize, n_test: usize) -> Vec<String> {
    (0..n_train)
        .map(|i| format!("{prefix}/train/{i:05}"))
        .chain((0..n_test).map(|i| format!("{prefix}/test/{i:05}")))
        .collect()
}

impl Split {
    /// Save as `train.txt`, `query.txt`, `database.txt` in `dir`, with one-hot labels and the
    /// given per-item paths.
    pub fn save(
        &self,
        dir: &Path,
        paths: &[String],
        labels: &[u32],
        num_classes: usize,
    ) -> Result<(), DataError> {
        std::fs::create_dir_all(dir).map_err(io_err(dir))?;
        for (name, items) in [
            ("train.txt", &self.train),
            ("query.txt", &self.query),
            ("database.txt", &self.database),
        ] {
            let entries: Vec<ListEntry> = items
                .iter()
                .map(|&i| {
                    let mut l = vec![0u8; num_classes];
                    l[labels[i] as usize] = 1;
                    ListEntry {
                        path: paths[i].clone(),
                        labels: l,
                    }
                })
                .collect();
            write_list_file(&dir.join(name), &entries)?;
        }
        Ok(())
    }

    /// Load a split saved by [`Split::save`], mapping paths back to item indices with `paths`.
    pub fn load(dir: &Path, paths: &[String]) -> Result<Self, DataError> {
        let index: std::collections::HashMap<&str, usize> = paths
            .iter()
            .enumerate()
            .map(|(i, p)| (p.as_str(), i))
            .collect();
        let read = |name: &str| -> Result<Vec<usize>, DataError> {
            let path: PathBuf = dir.join(name);
            read_list_file(&path)?
                .into_iter()
                .enumerate()
                .map(|(line, e)| {
                    index
                        .get(e.path.as_str())
                        .copied()
                        .ok_or_else(|| DataError::Parse {
                            path: path.clone(),
                            line: line + 1,
                            message: format!("{} is not an item of this dataset", e.path),
                        })
                })
                .collect()
        };
        Ok(Split {
            train: read("train.txt")?,
            query: read("query.txt")?,
            database: read("database.txt")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sampling_is_seeded_and_per_class() {
        let labels: Vec<u32> = (0..100).map(|i| (i % 4) as u32).collect();
        let pool: Vec<usize> = (0..100).collect();
        let a = sample_per_class(&pool, &labels, &[10, 5, 2, 1], 7).unwrap();
        let b = sample_per_class(&pool, &labels, &[10, 5, 2, 1], 7).unwrap();
        let c = sample_per_class(&pool, &labels, &[10, 5, 2, 1], 8).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(a.len(), 18);
        assert_eq!(a.iter().filter(|&&i| labels[i] == 1).count(), 5);
        assert!(sample_per_class(&pool, &labels, &[26, 0, 0, 0], 1).is_err());
    }

    #[test]
    fn list_files_round_trip_and_errors() {
        let dir = tempfile::tempdir().unwrap();
        let paths: Vec<String> = (0..6).map(|i| format!("x/{i:05}")).collect();
        let labels = vec![0, 1, 2, 0, 1, 2];
        let split = Split {
            train: vec![0, 4],
            query: vec![1],
            database: vec![0, 2, 3, 4, 5],
        };
        split.save(dir.path(), &paths, &labels, 3).unwrap();
        assert_eq!(Split::load(dir.path(), &paths).unwrap(), split);
        let text = std::fs::read_to_string(dir.path().join("query.txt")).unwrap();
        assert_eq!(text, "x/00001 0 1 0\n");
        std::fs::write(dir.path().join("query.txt"), "a 0 1\nb 0 2\n").unwrap();
        let e = read_list_file(&dir.path().join("query.txt"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("query.txt:2") && e.contains("\"2\""), "{e}");
        std::fs::write(dir.path().join("query.txt"), "a 0 1\nb 0 1 0\n").unwrap();
        assert!(read_list_file(&dir.path().join("query.txt")).is_err());
    }

    #[test]
    fn validation_split_is_disjoint() {
        let labels: Vec<u32> = (0..40).map(|i| (i % 4) as u32).collect();
        let train: Vec<usize> = (0..40).collect();
        let (tr, va) = validation_split(&train, &labels, 0.2, 1);
        assert_eq!(tr.len() + va.len(), 40);
        assert_eq!(va.len(), 8);
        assert!(va.iter().all(|v| !tr.contains(v)));
    }
}
