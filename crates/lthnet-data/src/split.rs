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

/// Read a list file (plain or `.gz`): `relative/path l_1 … l_C` per line, 0/1 labels; blank
/// lines are skipped.
///
/// # Errors
/// [`DataError::Io`] if the file cannot be read; [`DataError::Parse`] naming the file and line
/// for a label that is not 0/1, a line without labels, or a label count that differs from the
/// first line's.
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

/// Write a list file (gzip'd if the name ends in `.gz`), atomically: a `.tmp` file renamed into
/// place.
///
/// # Errors
/// [`DataError::Io`] if the file cannot be written.
pub fn write_list_file(path: &Path, entries: &[ListEntry]) -> Result<(), DataError> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let mut text = Vec::with_capacity(entries.len() * 32);
    for e in entries {
        text.extend_from_slice(e.path.as_bytes());
        for &v in &e.labels {
            text.extend_from_slice(if v != 0 { b" 1" } else { b" 0" });
        }
        text.push(b'\n');
    }
    let mut file = std::fs::File::create(&tmp).map_err(io_err(&tmp))?;
    if path.extension().is_some_and(|e| e == "gz") {
        let mut gz = flate2::write::GzEncoder::new(&mut file, flate2::Compression::default());
        gz.write_all(&text).map_err(io_err(&tmp))?;
        gz.finish().map_err(io_err(&tmp))?;
    } else {
        file.write_all(&text).map_err(io_err(&tmp))?;
    }
    file.sync_all().map_err(io_err(&tmp))?;
    drop(file);
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
/// Reproducibility: one `rand_chacha::ChaCha8Rng::seed_from_u64(seed)` stream shuffles each
/// class's pool items (in pool order) in turn, class 0 first, and the first `sizes[c]` are kept.
/// The same pool, labels, sizes and seed give the same split on every platform.
///
/// # Errors
/// [`DataError::Invalid`] if a class has fewer items in the pool than requested.
///
/// # Panics
/// If an index in `pool` is out of range of `labels`.
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

/// Carve a per-class validation set out of `train` for model selection: a fraction `fraction` of
/// each class (rounded, at least one item when the class has two or more, never its last item),
/// seeded like [`sample_per_class`]. Returns `(train, validation)`, both sorted.
///
/// # Panics
/// If `fraction` is not in `[0, 1]` or an index is out of range of `labels`.
pub fn validation_split(
    train: &[usize],
    labels: &[u32],
    fraction: f64,
    seed: u64,
) -> (Vec<usize>, Vec<usize>) {
    assert!(
        (0.0..=1.0).contains(&fraction),
        "validation fraction must be in [0, 1], got {fraction}"
    );
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
        let k = if items.len() >= 2 && fraction > 0.0 {
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
/// train = a long-tail subset of the database with `sizes[c]` items of class `c`, seeded
/// (see [`sample_per_class`]). Also used for CIFAR-10, Fashion-MNIST (query = t10k) and image
/// folders with a train/test (or database/query) pair.
///
/// # Errors
/// [`DataError::Invalid`] if a class has fewer database items than `sizes` asks for.
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

/// A protocol for data without an official test split (the digits): per class, a seeded
/// `query_per_class` items are the query set, the rest is the database, and train is a
/// long-tail subset of the database with `sizes[c]` items of class `c`.
///
/// # Errors
/// [`DataError::Invalid`] if a class has too few items.
pub fn holdout_protocol(
    labels: &[u32],
    num_classes: usize,
    query_per_class: usize,
    sizes: &[usize],
    seed: u64,
) -> Result<Split, DataError> {
    let all: Vec<usize> = (0..labels.len()).collect();
    let query = sample_per_class(&all, labels, &vec![query_per_class; num_classes], seed)?;
    let mut is_query = vec![false; labels.len()];
    for &q in &query {
        is_query[q] = true;
    }
    let database: Vec<usize> = all.into_iter().filter(|&i| !is_query[i]).collect();
    let train = sample_per_class(&database, labels, sizes, seed.wrapping_add(1))?;
    Ok(Split {
        train,
        query,
        database,
    })
}

/// The HashNet-list protocol (ImageNet100): `database` and `query` list files (the
/// `database.txt` and `test.txt` of HashNet / DeepHash-pytorch), one-hot; items are numbered
/// `[database…, query…]`, and train is a long-tail subset of the database with `sizes[c]` items
/// of class `c`. Returns the split and the concatenated entries (for [`Split::save_entries`]).
///
/// # Errors
/// [`DataError::Invalid`] if an entry is not one-hot, the two lists have different label
/// widths, or a class has too few database items.
pub fn list_protocol(
    database: Vec<ListEntry>,
    query: Vec<ListEntry>,
    sizes: &[usize],
    seed: u64,
) -> Result<(Split, Vec<ListEntry>), DataError> {
    let n_db = database.len();
    let entries: Vec<ListEntry> = database.into_iter().chain(query).collect();
    let width = entries.first().map_or(0, |e| e.labels.len());
    let labels: Vec<u32> = entries
        .iter()
        .map(|e| {
            if e.labels.len() != width {
                return Err(DataError::Invalid(format!(
                    "{}: {} labels, expected {width}",
                    e.path,
                    e.labels.len()
                )));
            }
            e.class().ok_or_else(|| {
                DataError::Invalid(format!(
                    "{} is not one-hot; long-tail sampling needs single labels",
                    e.path
                ))
            })
        })
        .collect::<Result<_, _>>()?;
    let split = cifar_protocol(&labels, n_db, sizes, seed)?;
    Ok((split, entries))
}

/// Per-class sizes of a split: `[train, query, database]` counts for each class.
///
/// # Panics
/// If an index is out of range of `labels` or a label is `>= num_classes`.
pub fn class_table(split: &Split, labels: &[u32], num_classes: usize) -> Vec<[usize; 3]> {
    let mut t = vec![[0usize; 3]; num_classes];
    for (k, items) in [&split.train, &split.query, &split.database]
        .into_iter()
        .enumerate()
    {
        for &i in items {
            t[labels[i] as usize][k] += 1;
        }
    }
    t
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
    /// Save as `train.txt`, `query.txt`, `database.txt` in `dir`, writing `entries[i]` for each
    /// item `i` (paths and multi-hot labels as given).
    ///
    /// # Errors
    /// [`DataError::Io`] if `dir` or a file cannot be written; [`DataError::Invalid`] if an
    /// index is out of range of `entries`.
    pub fn save_entries(&self, dir: &Path, entries: &[ListEntry]) -> Result<(), DataError> {
        std::fs::create_dir_all(dir).map_err(io_err(dir))?;
        for (name, items) in [
            ("train.txt", &self.train),
            ("query.txt", &self.query),
            ("database.txt", &self.database),
        ] {
            let rows: Vec<ListEntry> = items
                .iter()
                .map(|&i| {
                    entries.get(i).cloned().ok_or_else(|| {
                        DataError::Invalid(format!(
                            "item {i} of {name} is out of range ({} entries)",
                            entries.len()
                        ))
                    })
                })
                .collect::<Result<_, _>>()?;
            write_list_file(&dir.join(name), &rows)?;
        }
        Ok(())
    }

    /// Save as `train.txt`, `query.txt`, `database.txt` in `dir`, with one-hot labels and the
    /// given per-item paths.
    ///
    /// # Errors
    /// [`DataError::Io`] if `dir` or a file cannot be written; [`DataError::Invalid`] for a
    /// label `>= num_classes`.
    ///
    /// # Panics
    /// If an index is out of range of `paths` or `labels`.
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
                    *l.get_mut(labels[i] as usize).ok_or_else(|| {
                        DataError::Invalid(format!(
                            "label {} of {} is outside 0..{num_classes}",
                            labels[i], paths[i]
                        ))
                    })? = 1;
                    Ok(ListEntry {
                        path: paths[i].clone(),
                        labels: l,
                    })
                })
                .collect::<Result<_, DataError>>()?;
            write_list_file(&dir.join(name), &entries)?;
        }
        Ok(())
    }

    /// Load a split saved by [`Split::save`], mapping paths back to item indices with `paths`.
    ///
    /// # Errors
    /// As [`read_list_file`], and [`DataError::Parse`] (file and line) for a path that is not
    /// in `paths`.
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
        let gz = dir.path().join("list.txt.gz");
        let entries = vec![ListEntry {
            path: "p/q.jpg".into(),
            labels: vec![0, 1, 1],
        }];
        write_list_file(&gz, &entries).unwrap();
        assert_eq!(&std::fs::read(&gz).unwrap()[..2], &[0x1f, 0x8b]);
        assert_eq!(read_list_file(&gz).unwrap(), entries);
    }

    #[test]
    fn holdout_and_list_protocols() {
        let labels: Vec<u32> = (0..60).map(|i| (i % 3) as u32).collect();
        let s = holdout_protocol(&labels, 3, 5, &[10, 6, 2], 3).unwrap();
        assert_eq!(s.query.len(), 15);
        assert_eq!(s.database.len(), 45);
        assert!(s.train.iter().all(|t| s.database.binary_search(t).is_ok()));
        assert!(s.query.iter().all(|q| s.database.binary_search(q).is_err()));
        assert_eq!(
            class_table(&s, &labels, 3),
            vec![[10, 5, 15], [6, 5, 15], [2, 5, 15]]
        );
        let entry = |p: &str, c: usize| ListEntry {
            path: p.into(),
            labels: (0..2).map(|k| (k == c) as u8).collect(),
        };
        let db = vec![entry("a", 0), entry("b", 1), entry("c", 0)];
        let q = vec![entry("d", 1)];
        let (s, entries) = list_protocol(db, q, &[1, 1], 0).unwrap();
        assert_eq!(s.query, vec![3]);
        assert_eq!(s.database, vec![0, 1, 2]);
        assert_eq!(s.train.len(), 2);
        let dir = tempfile::tempdir().unwrap();
        s.save_entries(dir.path(), &entries).unwrap();
        let text = std::fs::read_to_string(dir.path().join("query.txt")).unwrap();
        assert_eq!(text, "d 0 1\n");
        let multi = vec![ListEntry {
            path: "m".into(),
            labels: vec![1, 1],
        }];
        assert!(list_protocol(multi, vec![], &[0, 0], 0).is_err());
    }

    proptest::proptest! {
        #[test]
        fn sampling_is_deterministic_per_seed(
            seed in proptest::prelude::any::<u64>(),
            n in 20usize..200,
            c in 1usize..6,
        ) {
            let labels: Vec<u32> = (0..n).map(|i| (i % c) as u32).collect();
            let pool: Vec<usize> = (0..n).collect();
            let sizes: Vec<usize> = (0..c).map(|k| (n / c) >> k.min(3)).collect();
            let a = sample_per_class(&pool, &labels, &sizes, seed).unwrap();
            let b = sample_per_class(&pool, &labels, &sizes, seed).unwrap();
            proptest::prop_assert_eq!(&a, &b);
            proptest::prop_assert_eq!(a.len(), sizes.iter().sum::<usize>());
            let mut dedup = a.clone();
            dedup.sort_unstable();
            dedup.dedup();
            proptest::prop_assert_eq!(dedup.len(), a.len());
            for (k, &want) in sizes.iter().enumerate() {
                proptest::prop_assert_eq!(a.iter().filter(|&&i| labels[i] as usize == k).count(), want);
            }
        }
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
