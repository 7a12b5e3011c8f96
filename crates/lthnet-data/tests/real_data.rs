//! The other real datasets under `$LTHNET_DATA_DIR` (default `../shared/data` next to the
//! workspace): the LTHNet demo zip, CIFAR-10 JPEGs in a tar.gz, the ImageNet-100 HashNet lists.
//! Each test skips with a message when its data is absent.
//!
//! ```sh
//! cargo test -p lthnet-data --test real_data
//! ```

use std::path::PathBuf;

use lthnet_data::folder::{FolderConfig, list_archive_folder, read_archive_folder};
use lthnet_data::longtail::{LongTailProfile, Preset, class_sizes, mu_for};
use lthnet_data::split::{list_protocol, read_list_file};

fn data(rel: &str) -> Option<PathBuf> {
    let p = lthnet_data::default_data_dir().join(rel);
    if p.exists() {
        Some(p)
    } else {
        eprintln!("skipping: {} not found (set LTHNET_DATA_DIR)", p.display());
        None
    }
}

#[test]
fn lthnet_demo_zip_image_folders() {
    let Some(zip) = data("lthnet-demo/demo-dataset.zip") else {
        return;
    };
    let root = "demo-dataset/cifar-100-IF1/images";
    let train =
        read_archive_folder(&zip, &format!("{root}/train"), &FolderConfig::default()).unwrap();
    assert_eq!(train.class_names, vec!["apple"]);
    assert_eq!(
        (train.len(), train.height, train.width, train.channels),
        (500, 32, 32, 3)
    );
    let db = list_archive_folder(&zip, &format!("{root}/database"), None).unwrap();
    let q = list_archive_folder(&zip, &format!("{root}/query"), None).unwrap();
    assert_eq!((db.paths.len(), q.paths.len()), (500, 100));
    // The authors' IF=1 train and database folders hold the same files; the loose
    // `*-snapshot.jpg` files directly under each split folder are not images of a class.
    let tl = list_archive_folder(&zip, &format!("{root}/train"), None).unwrap();
    assert_eq!(tl.paths, db.paths);
    assert!(tl.paths.windows(2).all(|w| w[0] < w[1]));
}

#[test]
fn cifar10_jpeg_tar_gz() {
    let Some(tgz) = data("cifar10-jpeg/CIFAR-10-images.tar.gz") else {
        return;
    };
    let train = list_archive_folder(&tgz, "cifar10-jpeg/train", None).unwrap();
    assert_eq!(train.paths.len(), 50_000);
    assert_eq!(train.class_names[0], "airplane");
    assert_eq!(train.paths[0], "airplane/0000.jpg");
    let test = read_archive_folder(&tgz, "cifar10-jpeg/test", &FolderConfig::default()).unwrap();
    assert_eq!(
        (test.len(), test.height, test.width, test.channels),
        (10_000, 32, 32, 3)
    );
    assert!(test.class_counts().iter().all(|&c| c == 1000));
    assert_eq!(test.class_names, lthnet_data::cifar::CIFAR10_CLASSES);
}

#[test]
fn imagenet100_hashnet_lists() {
    let Some(dir) = data("imagenet100-lists") else {
        return;
    };
    let train = read_list_file(&dir.join("train.txt.gz")).unwrap();
    let test = read_list_file(&dir.join("test.txt.gz")).unwrap();
    assert_eq!((train.len(), test.len()), (13_000, 5_000));
    assert!(train.iter().chain(&test).all(|e| e.labels.len() == 100));
    assert!(train.iter().chain(&test).all(|e| e.class().is_some()));
    // Stand-in for the absent database.txt: the 130/class train list as the database, and the
    // Zipf profile scaled to n_max 130.
    let mu = mu_for(Some(Preset::ImageNet100), 100.0, 100);
    let sizes = class_sizes(&LongTailProfile::Zipf { mu }, 130, 100);
    let (split, entries) = list_protocol(train, test, &sizes, 0).unwrap();
    assert_eq!(split.database.len(), 13_000);
    assert_eq!(split.query.len(), 5_000);
    assert_eq!(split.train.len(), sizes.iter().sum::<usize>());
    assert!(
        split
            .train
            .iter()
            .all(|&i| entries[i].path.starts_with("image/"))
    );
}
