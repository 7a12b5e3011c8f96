//! `lthnet split`: build a long-tail train / query / database split and write it as list files
//! (`train.txt`, `query.txt`, `database.txt`: `relative/path l_1 … l_C`).
//!
//! Protocols (see `shared/reference/lthnet.md` §9):
//! - `cifar10`, `cifar100`, `fashion-mnist`: query = the official test split, database = the
//!   training split, train = a Zipf (or exponential) subset of the database. Datasets without
//!   file names get pseudo-paths `cifar100/train/00042`, `cifar100/test/00007`.
//! - `digits`: a seeded `--query-per-class` per class is the query set, the rest the database.
//! - `imagenet100`: the HashNet lists in `--data-dir`: `database.txt` (about 128k lines, not
//!   shipped here; bring your own) and `test.txt` (the 5,000 queries), each optionally `.gz`.
//! - `folder`: an ImageFolder root (or a `.tar.gz` / `.zip` with `--prefix`) holding
//!   `database/` + `query/` (LTHNet's layout) or `train/` + `test/`, each `<class>/<images>`.
//!
//! Ranks follow the label order (sorted class names). The draw is seeded (`--seed`, ChaCha8).

use std::path::{Path, PathBuf};

use anyhow::Context;
use lthnet_data::cifar::{CifarSplit, read_cifar10, read_cifar100};
use lthnet_data::digits::read_digits;
use lthnet_data::folder::{FolderListing, list_archive_folder, list_image_folder};
use lthnet_data::idx::read_fashion_mnist;
use lthnet_data::longtail::{LongTailProfile, Preset, class_sizes, mu_for, paper_n_max};
use lthnet_data::split::{
    cifar_protocol, class_table, holdout_protocol, list_protocol, pseudo_paths, read_list_file,
    validation_split,
};
use lthnet_data::{ListEntry, Split};

/// Datasets with a built-in protocol.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum DatasetKind {
    /// CIFAR-10 (binary or python version): query = test, database = train.
    Cifar10,
    /// CIFAR-100 (binary or python version): the LTHNet protocol.
    Cifar100,
    /// ImageNet100 from the HashNet lists (database.txt + test.txt); n_max 1300 (100 at IF 1).
    Imagenet100,
    /// Fashion-MNIST IDX: query = t10k, database = train.
    FashionMnist,
    /// The UCI 8×8 digits (digits.csv.gz): per-class query hold-out.
    Digits,
    /// An ImageFolder tree (database/ + query/ or train/ + test/).
    Folder,
}

/// Class-size profiles.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProfileKind {
    /// `n_i = ⌊n_max · i^(−μ)⌋` (LTHNet).
    Zipf,
    /// `n_i = ⌊n_max · IF^(−i/(C−1))⌋` (CIFAR-LT of the long-tail recognition literature).
    Exp,
}

/// Arguments of `lthnet split`.
#[derive(clap::Args, Debug)]
pub struct SplitArgs {
    /// Dataset.
    #[arg(long, value_enum)]
    dataset: DatasetKind,
    /// Dataset location (as downloaded; `.xz`/`.gz` files accepted). Defaults to the dataset's
    /// folder under $LTHNET_DATA_DIR for cifar100, fashion-mnist, digits and imagenet100.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// For `folder` given as a `.tar.gz`/`.zip`: the folder inside the archive holding the splits.
    #[arg(long, default_value = "")]
    prefix: String,
    /// Imbalance factor n_max / n_min.
    #[arg(long, default_value_t = 100.0)]
    imbalance: f64,
    /// Explicit Zipf exponent μ (default: the paper's preset for the dataset and IF, else ln IF / ln C).
    #[arg(long)]
    mu: Option<f64>,
    /// Class-size profile.
    #[arg(long, value_enum, default_value_t = ProfileKind::Zipf)]
    profile: ProfileKind,
    /// Size of the head class (default: the dataset's per-class database size; for folders the
    /// smallest database class).
    #[arg(long)]
    n_max: Option<usize>,
    /// Query images per class for `digits`.
    #[arg(long, default_value_t = 30)]
    query_per_class: usize,
    /// Also carve this fraction of every class of train into `val.txt` (removed from train.txt).
    #[arg(long)]
    val_fraction: Option<f64>,
    /// Seed of the per-class draws (ChaCha8).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Output directory for train.txt, query.txt, database.txt.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Print the class sizes only (no data needed, except for `folder`).
    #[arg(long)]
    stats_only: bool,
}

/// A dataset reduced to what a split needs: item paths and labels.
struct Items {
    entries: Vec<ListEntry>,
    labels: Vec<u32>,
    class_names: Vec<String>,
}

impl Items {
    fn new(paths: Vec<String>, labels: Vec<u32>, class_names: Vec<String>) -> Self {
        let c = class_names.len();
        let entries = paths
            .into_iter()
            .zip(&labels)
            .map(|(path, &l)| ListEntry {
                path,
                labels: (0..c).map(|k| u8::from(k == l as usize)).collect(),
            })
            .collect();
        Self {
            entries,
            labels,
            class_names,
        }
    }
}

fn default_dir(kind: DatasetKind) -> Option<PathBuf> {
    let sub = match kind {
        DatasetKind::Cifar100 => "cifar100-binary",
        DatasetKind::FashionMnist => "fashion-mnist",
        DatasetKind::Digits => "sklearn-digits",
        DatasetKind::Imagenet100 => "imagenet100-lists",
        DatasetKind::Cifar10 | DatasetKind::Folder => return None,
    };
    Some(lthnet_data::default_data_dir().join(sub))
}

/// The first of `dir/name`, `dir/name.gz` that exists.
fn find_list(dir: &Path, name: &str) -> Option<PathBuf> {
    [name.to_string(), format!("{name}.gz")]
        .into_iter()
        .map(|n| dir.join(n))
        .find(|p| p.is_file())
}

/// Database and query listings of an ImageFolder tree or archive, with one shared class list.
fn folder_items(root: &Path, prefix: &str) -> anyhow::Result<(Items, usize)> {
    let lower = root.to_string_lossy().to_ascii_lowercase();
    let archive = [".tar.gz", ".tgz", ".tar", ".zip"]
        .iter()
        .any(|e| lower.ends_with(e));
    let join = |split: &str| {
        let p = prefix.trim_matches('/');
        if p.is_empty() {
            split.to_string()
        } else {
            format!("{p}/{split}")
        }
    };
    let list = |split: &str, classes: Option<&[String]>| -> anyhow::Result<FolderListing> {
        Ok(if archive {
            list_archive_folder(root, &join(split), classes)?
        } else {
            list_image_folder(&root.join(join(split)), classes)?
        })
    };
    let exists = |split: &str| -> bool {
        if archive {
            list(split, None).is_ok_and(|l| !l.paths.is_empty())
        } else {
            root.join(join(split)).is_dir()
        }
    };
    let (db, q) = if exists("database") && exists("query") {
        ("database", "query")
    } else if exists("train") && exists("test") {
        ("train", "test")
    } else {
        anyhow::bail!(
            "{} has neither database/ + query/ nor train/ + test/ folders{}",
            root.display(),
            if prefix.is_empty() {
                String::new()
            } else {
                format!(" under {prefix:?}")
            }
        );
    };
    // One class list for both splits, so that a class missing from one keeps its label.
    let mut classes = list(db, None)?.class_names;
    classes.extend(list(q, None)?.class_names);
    classes.sort();
    classes.dedup();
    let dbl = list(db, Some(&classes))?;
    let ql = list(q, Some(&classes))?;
    let n_db = dbl.paths.len();
    let paths = dbl
        .paths
        .iter()
        .map(|p| format!("{}/{p}", join(db)))
        .chain(ql.paths.iter().map(|p| format!("{}/{p}", join(q))))
        .collect();
    let labels = dbl.labels.iter().chain(&ql.labels).copied().collect();
    Ok((Items::new(paths, labels, classes), n_db))
}

/// Runs `lthnet split`.
pub fn run(args: SplitArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.imbalance >= 1.0,
        "--imbalance must be ≥ 1, got {}",
        args.imbalance
    );
    if let Some(mu) = args.mu {
        anyhow::ensure!(mu >= 0.0, "--mu must be ≥ 0, got {mu}");
    }
    if let Some(f) = args.val_fraction {
        anyhow::ensure!(
            (0.0..1.0).contains(&f),
            "--val-fraction must be in [0, 1), got {f}"
        );
    }
    let data_dir = args.data_dir.clone().or_else(|| default_dir(args.dataset));
    let need_dir = || {
        data_dir.clone().with_context(|| {
            format!(
                "--data-dir is required for {:?} unless --stats-only",
                args.dataset
            )
        })
    };

    // (items, number of database items first in `items`) — None for --stats-only.
    let (loaded, preset, known_n_max, num_classes): (Option<(Items, usize)>, _, _, _) =
        match args.dataset {
            DatasetKind::Cifar10 | DatasetKind::Cifar100 | DatasetKind::FashionMnist => {
                let (preset, n_max, prefix) = match args.dataset {
                    DatasetKind::Cifar10 => (None, 5000, "cifar10"),
                    DatasetKind::Cifar100 => (Some(Preset::Cifar100), 500, "cifar100"),
                    _ => (None, 6000, "fashion-mnist"),
                };
                let loaded = if args.stats_only {
                    None
                } else {
                    let dir = need_dir()?;
                    let read = |s| match args.dataset {
                        DatasetKind::Cifar10 => read_cifar10(&dir, s),
                        DatasetKind::Cifar100 => read_cifar100(&dir, s),
                        _ => read_fashion_mnist(&dir, s),
                    };
                    let train = read(CifarSplit::Train)?;
                    let test = read(CifarSplit::Test)?;
                    let n = train.len();
                    let paths = pseudo_paths(prefix, n, test.len());
                    let labels = train.labels.iter().chain(&test.labels).copied().collect();
                    Some((Items::new(paths, labels, train.class_names), n))
                };
                let c = if args.dataset == DatasetKind::Cifar100 {
                    100
                } else {
                    10
                };
                (loaded, preset, Some(n_max), c)
            }
            DatasetKind::Digits => {
                let loaded = if args.stats_only {
                    None
                } else {
                    let dir = need_dir()?;
                    let path = if dir.is_file() {
                        dir
                    } else {
                        dir.join("digits.csv.gz")
                    };
                    let d = read_digits(&path)?;
                    let paths = (0..d.len()).map(|i| format!("digits/{i:05}")).collect();
                    Some((Items::new(paths, d.labels, d.class_names), 0))
                };
                // 174 images in the smallest class, minus the queries.
                let n_max = 174usize.saturating_sub(args.query_per_class);
                (loaded, None, Some(n_max), 10)
            }
            DatasetKind::Imagenet100 => {
                let loaded = if args.stats_only {
                    None
                } else {
                    let dir = need_dir()?;
                    let db = find_list(&dir, "database.txt").with_context(|| {
                    format!(
                        "{}/database.txt(.gz) not found: the HashNet ImageNet-100 database list \
                             (about 128k lines, from DeepHash-pytorch data/imagenet/database.txt) \
                             is not shipped here; put yours there, or use --stats-only",
                        dir.display()
                    )
                })?;
                    let q = find_list(&dir, "test.txt")
                        .with_context(|| format!("{}/test.txt(.gz) not found", dir.display()))?;
                    let db = read_list_file(&db)?;
                    let q = read_list_file(&q)?;
                    let n_db = db.len();
                    let c = db.first().map_or(0, |e| e.labels.len());
                    let names = (0..c).map(|k| k.to_string()).collect();
                    let entries: Vec<ListEntry> = db.into_iter().chain(q).collect();
                    let labels = entries.iter().map(|e| e.class().unwrap_or(0)).collect();
                    Some((
                        Items {
                            entries,
                            labels,
                            class_names: names,
                        },
                        n_db,
                    ))
                };
                let n_max = paper_n_max(Preset::ImageNet100, args.imbalance);
                (loaded, Some(Preset::ImageNet100), Some(n_max), 100)
            }
            DatasetKind::Folder => {
                let dir = data_dir
                    .clone()
                    .context("--data-dir (the ImageFolder root or archive) is required")?;
                let (items, n_db) = folder_items(&dir, &args.prefix)?;
                let c = items.class_names.len();
                (Some((items, n_db)), None, None, c)
            }
        };
    anyhow::ensure!(num_classes > 0, "the dataset has no classes");

    // Head-class size: explicit, the dataset's, or the smallest database class.
    let n_max = match (args.n_max, known_n_max, &loaded) {
        (Some(n), _, _) => n,
        (None, Some(n), _) => n,
        (None, None, Some((items, n_db))) => {
            let mut counts = vec![0usize; num_classes];
            for &l in &items.labels[..*n_db] {
                counts[l as usize] += 1;
            }
            counts.into_iter().min().unwrap_or(0)
        }
        (None, None, None) => anyhow::bail!("--n-max is required"),
    };
    let profile = match args.profile {
        ProfileKind::Zipf => LongTailProfile::Zipf {
            mu: args
                .mu
                .unwrap_or_else(|| mu_for(preset, args.imbalance, num_classes)),
        },
        ProfileKind::Exp => LongTailProfile::Exponential {
            imbalance: args.imbalance,
        },
    };
    let sizes = class_sizes(&profile, n_max, num_classes);
    let total: usize = sizes.iter().sum();
    println!(
        "{:?}: {profile:?}, n_max {n_max}, {num_classes} classes, seed {}",
        args.dataset, args.seed
    );

    let Some((items, n_db)) = loaded.filter(|_| !args.stats_only) else {
        println!("| rank | label | train |\n|---|---|---|");
        for (c, n) in sizes.iter().enumerate() {
            println!("| {} | {c} | {n} |", c + 1);
        }
        print_totals(&sizes, total);
        return Ok(());
    };

    let out = args
        .out
        .clone()
        .context("--out is required unless --stats-only")?;
    let split = match args.dataset {
        DatasetKind::Digits => holdout_protocol(
            &items.labels,
            num_classes,
            args.query_per_class,
            &sizes,
            args.seed,
        )?,
        DatasetKind::Imagenet100 => {
            let (db, q) = items.entries.split_at(n_db);
            list_protocol(db.to_vec(), q.to_vec(), &sizes, args.seed)?.0
        }
        _ => cifar_protocol(&items.labels, n_db, &sizes, args.seed)?,
    };
    let (split, val) = match args.val_fraction {
        Some(f) => {
            let (train, val) =
                validation_split(&split.train, &items.labels, f, args.seed.wrapping_add(7));
            (Split { train, ..split }, Some(val))
        }
        None => (split, None),
    };
    split.save_entries(&out, &items.entries)?;
    if let Some(val) = &val {
        let rows: Vec<ListEntry> = val.iter().map(|&i| items.entries[i].clone()).collect();
        lthnet_data::split::write_list_file(&out.join("val.txt"), &rows)?;
    }

    let table = class_table(&split, &items.labels, num_classes);
    println!("| rank | class | train | query | database |\n|---|---|---|---|---|");
    for (c, row) in table.iter().enumerate() {
        println!(
            "| {} | {} | {} | {} | {} |",
            c + 1,
            items.class_names[c],
            row[0],
            row[1],
            row[2]
        );
    }
    print_totals(&sizes, total);
    println!(
        "wrote {}/{{train,query,database}}.txt{}: {} train, {} query, {} database{}",
        out.display(),
        if val.is_some() { " and val.txt" } else { "" },
        split.train.len(),
        split.query.len(),
        split.database.len(),
        val.as_ref()
            .map(|v| format!(", {} validation", v.len()))
            .unwrap_or_default()
    );
    Ok(())
}

fn print_totals(sizes: &[usize], total: usize) {
    let (head, tail) = (sizes[0], sizes[sizes.len() - 1]);
    println!(
        "total {total} training images; n_max {head} / n_min {tail} (IF {:.1})",
        head as f64 / tail.max(1) as f64
    );
}
