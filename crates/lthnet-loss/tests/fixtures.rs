//! Loss values against numpy (float64) references.
//! Regenerate the fixture: `python3 crates/lthnet-loss/tests/fixtures/make_fixtures.py`.

use burn::backend::Flex;
use burn::prelude::*;
use lthnet_loss::*;
use serde_json::Value;

type TB = Flex;

fn fixture() -> Value {
    let s = include_str!("fixtures/loss_fixtures.json");
    serde_json::from_str(s).unwrap()
}

fn floats(v: &Value, key: &str) -> Vec<f32> {
    v[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect()
}

fn t2(v: Vec<f32>, rows: usize) -> Tensor<TB, 2> {
    let cols = v.len() / rows;
    Tensor::from_data(TensorData::new(v, [rows, cols]), &Default::default())
}

fn targets(v: &Value) -> Tensor<TB, 1, Int> {
    let t: Vec<i64> = v["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_i64().unwrap())
        .collect();
    let n = t.len();
    Tensor::from_data(TensorData::new(t, [n]), &Default::default())
}

fn close(got: f32, want: &Value) {
    let want = want.as_f64().unwrap();
    assert!(
        ((got as f64) - want).abs() < 1e-5 * (1.0 + want.abs()),
        "{got} vs {want}"
    );
}

#[test]
fn cross_entropy_and_class_balanced() {
    let f = fixture();
    let b = f["B"].as_u64().unwrap() as usize;
    let counts: Vec<usize> = f["counts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as usize)
        .collect();
    let d = Default::default();
    let plain = ClassBalancedCrossEntropyLossConfig::new(counts.clone()).init::<TB>(&d);
    close(
        plain
            .forward(t2(floats(&f, "logits"), b), targets(&f))
            .into_scalar(),
        &f["ce"],
    );
    let beta = f["cb_beta"].as_f64().unwrap();
    let cb = ClassBalancedCrossEntropyLossConfig::new(counts.clone())
        .with_beta(beta)
        .init::<TB>(&d);
    close(
        cb.forward(t2(floats(&f, "logits"), b), targets(&f))
            .into_scalar(),
        &f["cb_sum_to_c"],
    );
    let cbw = ClassBalancedCrossEntropyLossConfig::new(counts)
        .with_beta(beta)
        .with_divisor(BatchDivisor::WeightSum)
        .init::<TB>(&d);
    close(
        cbw.forward(t2(floats(&f, "logits"), b), targets(&f))
            .into_scalar(),
        &f["cb_weight_sum"],
    );
}

#[test]
fn square_loss() {
    let f = fixture();
    let b = f["B"].as_u64().unwrap() as usize;
    let loss = SquareLossConfig::new(vec![1; 4]).init::<TB>(&Default::default());
    close(
        loss.forward(t2(floats(&f, "logits"), b), targets(&f))
            .into_scalar(),
        &f["square"],
    );
}

#[test]
fn dcwh() {
    let f = fixture();
    let b = f["B"].as_u64().unwrap() as usize;
    let c = f["C"].as_u64().unwrap() as usize;
    let loss = DcwhLossConfig::new()
        .with_inv_sigma_sq(f["inv_sigma_sq"].as_f64().unwrap())
        .init();
    let v = loss
        .forward(t2(floats(&f, "h"), b), targets(&f), t2(floats(&f, "mu"), c))
        .into_scalar();
    close(v, &f["dcwh"]);
}

#[test]
fn csq() {
    let f = fixture();
    let b = f["B"].as_u64().unwrap() as usize;
    let c = f["C"].as_u64().unwrap() as usize;
    let loss = CsqLossConfig::new()
        .with_lambda(f["csq_lambda"].as_f64().unwrap())
        .init();
    let v = loss
        .forward(
            t2(floats(&f, "z"), b),
            targets(&f),
            t2(floats(&f, "centres"), c),
        )
        .into_scalar();
    close(v, &f["csq"]);
}
