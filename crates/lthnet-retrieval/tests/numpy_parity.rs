//! Metrics against a numpy reference (stable argsort ranking) on a small random case with a
//! zero-relevant query. Regenerate: `python3 crates/lthnet-retrieval/tests/fixtures/make_fixtures.py`.

use std::path::Path;

use lthnet_retrieval::io::{read_codes_npy, read_labels_npy};
use lthnet_retrieval::{EvalConfig, evaluate};

fn fixture(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

#[test]
fn matches_numpy() {
    let q = read_codes_npy(&fixture("q_codes.npy")).unwrap();
    let db = read_codes_npy(&fixture("db_codes.npy")).unwrap();
    let ql = read_labels_npy(&fixture("q_labels.npy")).unwrap();
    let dl = read_labels_npy(&fixture("db_labels.npy")).unwrap();
    let want: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("expected.json")).unwrap()).unwrap();
    let close = |got: f64, key: &str| {
        let w = want[key].as_f64().unwrap();
        assert!((got - w).abs() < 1e-9, "{key}: {got} vs numpy {w}");
    };
    let all = evaluate(&q, &ql, &db, &dl, &EvalConfig::default());
    close(all.map, "map_all");
    close(all.precision_at[1].1, "p10");
    close(all.precision_radius, "p_radius2");
    close(all.recall_radius, "r_radius2");
    assert_eq!(all.zero_relevant_queries, 1);
    let at100 = evaluate(
        &q,
        &ql,
        &db,
        &dl,
        &EvalConfig {
            top_r: Some(100),
            ..Default::default()
        },
    );
    close(at100.map, "map_100");
}
