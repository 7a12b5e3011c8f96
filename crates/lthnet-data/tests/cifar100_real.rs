//! The real CIFAR-100 (binary, xz-compressed) from `$LTHNET_DATA_DIR/cifar100-binary` and the
//! paper's IF=100 split. Skips with a message when the data is absent.

use lthnet_data::Split;
use lthnet_data::cifar::{CifarSplit, read_cifar100};
use lthnet_data::longtail::{LongTailProfile, Preset, class_sizes, mu_for};
use lthnet_data::split::{cifar_protocol, pseudo_paths, read_list_file};

#[test]
fn real_cifar100_and_the_if100_split() {
    let dir = lthnet_data::default_data_dir().join("cifar100-binary");
    if !dir.exists() {
        eprintln!(
            "skipping: {} not found (set LTHNET_DATA_DIR)",
            dir.display()
        );
        return;
    }
    let train = read_cifar100(&dir, CifarSplit::Train).unwrap();
    let test = read_cifar100(&dir, CifarSplit::Test).unwrap();
    assert_eq!((train.len(), test.len()), (50_000, 10_000));
    assert!(train.class_counts().iter().all(|&c| c == 500));
    assert!(test.class_counts().iter().all(|&c| c == 100));
    // Published pixel checks (PROVENANCE.md): R(0,0) of the first test images.
    let r00: Vec<u8> = (0..10).map(|i| test.image(i)[0]).collect();
    assert_eq!(r00, vec![199, 113, 61, 93, 80, 168, 37, 175, 233, 182]);
    let names = std::fs::read_to_string(dir.join("fine_label_names.txt")).unwrap();
    let names: Vec<&str> = names.split_whitespace().collect();
    assert_eq!(names, train.class_names);

    let labels: Vec<u32> = train.labels.iter().chain(&test.labels).copied().collect();
    let mu = mu_for(Some(Preset::Cifar100), 100.0, 100);
    let sizes = class_sizes(&LongTailProfile::Zipf { mu }, 500, 100);
    let split = cifar_protocol(&labels, 50_000, &sizes, 0).unwrap();
    assert_eq!(
        (split.train.len(), split.query.len(), split.database.len()),
        (2598, 10_000, 50_000)
    );
    assert!(split.train.iter().all(|&i| i < 50_000));
    let mut counts = vec![0; 100];
    for &i in &split.train {
        counts[labels[i] as usize] += 1;
    }
    assert_eq!(counts, sizes);

    // Saved as list files and read back: train ⊂ database, labels equal the dataset's.
    let out = tempfile::tempdir().unwrap();
    let paths = pseudo_paths("cifar100", 50_000, 10_000);
    split.save(out.path(), &paths, &labels, 100).unwrap();
    assert_eq!(Split::load(out.path(), &paths).unwrap(), split);
    let train_list = read_list_file(&out.path().join("train.txt")).unwrap();
    let db: std::collections::HashSet<String> = read_list_file(&out.path().join("database.txt"))
        .unwrap()
        .into_iter()
        .map(|e| e.path)
        .collect();
    assert_eq!(train_list.len(), 2598);
    for (e, &i) in train_list.iter().zip(&split.train) {
        assert!(db.contains(&e.path), "{} not in the database", e.path);
        assert_eq!(e.class(), Some(train.labels[i]));
        assert_eq!(e.path, format!("cifar100/train/{i:05}"));
    }
}
