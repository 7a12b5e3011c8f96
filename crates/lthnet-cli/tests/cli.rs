//! The `lthnet` binary end to end: `split --stats-only`, `eval --json` and `search` on the
//! retrieval crate's numpy fixtures, and clear errors on bad input.

use std::path::Path;
use std::process::Command;

fn lthnet(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_lthnet"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../lthnet-retrieval/tests/fixtures")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

#[test]
fn split_stats_reproduce_table_2() {
    let (ok, out, _) = lthnet(&[
        "split",
        "--dataset",
        "cifar100",
        "--imbalance",
        "100",
        "--stats-only",
    ]);
    assert!(ok);
    assert!(out.contains("total 2598 training images"), "{out}");
    let (ok, out, _) = lthnet(&[
        "split",
        "--dataset",
        "imagenet100",
        "--imbalance",
        "50",
        "--stats-only",
    ]);
    assert!(ok);
    assert!(out.contains("total 9437 training images"), "{out}");
}

#[test]
fn eval_json_and_search() {
    let (ok, out, err) = lthnet(&[
        "eval",
        "--query-codes",
        &fixture("q_codes.npy"),
        "--db-codes",
        &fixture("db_codes.npy"),
        "--query-labels",
        &fixture("q_labels.npy"),
        "--db-labels",
        &fixture("db_labels.npy"),
        "--json",
    ]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let want: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("expected.json")).unwrap()).unwrap();
    assert!((v["map"].as_f64().unwrap() - want["map_all"].as_f64().unwrap()).abs() < 1e-9);
    for key in [
        "map_tie_aware",
        "precision_at",
        "precision_radius",
        "recall_radius",
    ] {
        assert!(!v[key].is_null(), "missing {key}");
    }
    let dir = tempfile::tempdir().unwrap();
    let (ok, _, err) = lthnet(&[
        "search",
        "--db-codes",
        &fixture("db_codes.npy"),
        "--query-codes",
        &fixture("q_codes.npy"),
        "--topk",
        "5",
        "--out-dir",
        dir.path().to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    assert!(dir.path().join("neighbors.npy").exists() && dir.path().join("distances.npy").exists());
}

#[test]
fn bad_input_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.npy");
    std::fs::write(&bad, b"not numpy").unwrap();
    let (ok, _, err) = lthnet(&[
        "eval",
        "--query-codes",
        bad.to_str().unwrap(),
        "--db-codes",
        &fixture("db_codes.npy"),
        "--query-labels",
        &fixture("q_labels.npy"),
        "--db-labels",
        &fixture("db_labels.npy"),
    ]);
    assert!(!ok);
    assert!(err.contains("bad.npy") && err.contains(".npy"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn train_with_a_bad_spec_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("run.json");
    std::fs::write(
        &spec,
        r#"{"dataset": "mnist", "out_dir": "x", "train": {}}"#,
    )
    .unwrap();
    let (ok, _, err) = lthnet(&["train", "--config", spec.to_str().unwrap()]);
    assert!(!ok);
    assert!(
        err.contains("run.json") && err.contains("not a valid run specification"),
        "{err}"
    );
    let (ok, _, err) = lthnet(&["encode", "--run", dir.path().join("nope").to_str().unwrap()]);
    assert!(!ok);
    assert!(err.contains("run directory"), "{err}");
    // A training configuration missing a required head size names it.
    std::fs::write(
        &spec,
        r#"{"dataset": "cifar100", "out_dir": "x", "train": {"head": {"d_input": 1280}}}"#,
    )
    .unwrap();
    let (ok, _, err) = lthnet(&["train", "--config", spec.to_str().unwrap()]);
    assert!(!ok);
    assert!(err.contains("head.num_classes"), "{err}");
    // Encoding a run that was never trained (no checkpoint) is refused, not trained.
    let run = dir.path().join("run");
    std::fs::create_dir_all(&run).unwrap();
    std::fs::copy(&spec, run.join("run.json")).unwrap();
    let (ok, _, err) = lthnet(&["encode", "--run", run.to_str().unwrap()]);
    assert!(!ok);
    assert!(err.contains("no checkpoint"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}
