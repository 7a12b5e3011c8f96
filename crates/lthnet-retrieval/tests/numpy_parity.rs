//! Metrics against a numpy reference written by `tests/fixtures/make_fixtures.py` (stable argsort
//! ranking, the obvious per-query loops): a single-label case with a zero-relevant query and
//! training labels for the head / medium / tail breakdown, and a multi-label case whose codes
//! come as float32 relaxed values (queries) and faiss-packed uint8 (database).
//!
//! Regenerate: `python3 crates/lthnet-retrieval/tests/fixtures/make_fixtures.py`.

use std::path::{Path, PathBuf};

use lthnet_retrieval::io::{read_codes_npy, read_labels_npy};
use lthnet_retrieval::{
    EvalConfig, GroupThresholds, Protocol, TieMode, class_breakdown, class_sizes, evaluate,
};
use serde_json::Value;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn expected() -> Value {
    serde_json::from_str(&std::fs::read_to_string(fixture("expected.json")).unwrap()).unwrap()
}

fn close(got: f64, want: &Value, what: &str) {
    let w = want.as_f64().unwrap_or_else(|| panic!("{what} missing"));
    assert!((got - w).abs() < 1e-9, "{what}: {got} vs numpy {w}");
}

fn check_case(prefix: &str, want: &Value, bits: usize) {
    let q = read_codes_npy(&fixture(&format!("{prefix}q_codes.npy"))).unwrap();
    let db = read_codes_npy(&fixture(&format!("{prefix}db_codes.npy"))).unwrap();
    assert_eq!((q.bits(), db.bits()), (bits, bits));
    let ql = read_labels_npy(&fixture(&format!("{prefix}q_labels.npy"))).unwrap();
    let dl = read_labels_npy(&fixture(&format!("{prefix}db_labels.npy"))).unwrap();
    let cfg = EvalConfig {
        precision_at: vec![1, 10, 100],
        ..Default::default()
    };
    let all = evaluate(&q, &ql, &db, &dl, &cfg);
    close(all.map, &want["map_all"], "MAP@all");
    close(all.map_tie_aware, &want["map_tie"], "tie-aware MAP@all");
    close(all.precision_at[0].1, &want["p1"], "P@1");
    close(all.precision_at[1].1, &want["p10"], "P@10");
    close(all.precision_at[2].1, &want["p100"], "P@100");
    close(all.recall_at[1].1, &want["r10"], "R@10");
    close(all.precision_radius, &want["p_radius2"], "P@H<=2");
    close(all.recall_radius, &want["r_radius2"], "R@H<=2");
    let pr = want["pr_curve"].as_array().unwrap();
    assert_eq!(all.pr_curve.len(), pr.len());
    for (&(r, p, rec), w) in all.pr_curve.iter().zip(pr) {
        close(p, &w[0], &format!("PR precision at radius {r}"));
        close(rec, &w[1], &format!("PR recall at radius {r}"));
    }
    for (r, key) in [(100, "map_100"), (50, "map_50")] {
        let rep = evaluate(
            &q,
            &ql,
            &db,
            &dl,
            &EvalConfig {
                top_r: Some(r),
                ..Default::default()
            },
        );
        close(rep.map, &want[key], key);
    }
    let authors = EvalConfig {
        protocol: Protocol::AuthorsDropLast,
        ..Default::default()
    };
    close(
        evaluate(&q, &ql, &db, &dl, &authors).map,
        &want["map_authors"],
        "authors' MAP@(N-1)",
    );
    let expected = EvalConfig {
        ties: TieMode::Expected,
        ..Default::default()
    };
    close(
        evaluate(&q, &ql, &db, &dl, &expected).map,
        &want["map_tie"],
        "TieMode::Expected MAP@all",
    );
}

#[test]
fn single_label_matches_numpy() {
    let want = expected();
    check_case("", &want, 16);
    // One query's class is absent from the database.
    let q = read_codes_npy(&fixture("q_codes.npy")).unwrap();
    let db = read_codes_npy(&fixture("db_codes.npy")).unwrap();
    let ql = read_labels_npy(&fixture("q_labels.npy")).unwrap();
    let dl = read_labels_npy(&fixture("db_labels.npy")).unwrap();
    let rep = evaluate(&q, &ql, &db, &dl, &EvalConfig::default());
    assert_eq!(rep.zero_relevant_queries, 1);
    // Head / medium / tail from the training labels.
    let tl = read_labels_npy(&fixture("train_labels.npy")).unwrap();
    let sizes = class_sizes(&tl, ql.num_classes());
    let b = class_breakdown(&rep, &ql, &sizes, GroupThresholds::default());
    close(b.many.unwrap(), &want["many"], "many");
    close(b.medium.unwrap(), &want["medium"], "medium");
    close(b.few.unwrap(), &want["few"], "few");
    for (c, (got, w)) in b
        .per_class
        .iter()
        .zip(want["per_class"].as_array().unwrap())
        .enumerate()
    {
        match (got, w.as_f64()) {
            (Some(g), Some(w)) => assert!((g - w).abs() < 1e-9, "class {c}: {g} vs {w}"),
            (None, None) => {}
            other => panic!("class {c}: {other:?}"),
        }
    }
}

#[test]
fn multi_label_matches_numpy() {
    check_case("ml_", &expected()["multi"], 24);
}
