//! Loss values and gradients against PyTorch (float64) references.
//!
//! Regenerate the fixture: `python3 crates/lthnet-loss/tests/fixtures/make_fixtures.py`
//! (the script sits next to `loss_fixtures.json`; each case there names the PyTorch expression).
//! Values are compared at 1e-5 relative, gradients (Burn `Autodiff<Flex>`, f32) at 1e-4.

use burn::backend::{Autodiff, Flex};
use burn::module::Param;
use burn::prelude::*;
use lthnet_loss::*;
use serde_json::Value;

type AB = Autodiff<Flex>;

fn fixture() -> Value {
    serde_json::from_str(include_str!("fixtures/loss_fixtures.json")).unwrap()
}

fn floats(f: &Value, key: &str) -> Vec<f32> {
    f[key]
        .as_array()
        .unwrap_or_else(|| panic!("fixture key {key}"))
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect()
}

fn usize_of(f: &Value, key: &str) -> usize {
    f[key].as_u64().unwrap() as usize
}

fn t2(v: Vec<f32>, rows: usize) -> Tensor<AB, 2> {
    let cols = v.len() / rows;
    Tensor::from_data(TensorData::new(v, [rows, cols]), &Default::default())
}

fn ints(f: &Value, key: &str) -> Tensor<AB, 1, Int> {
    let t: Vec<i64> = f[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_i64().unwrap())
        .collect();
    let n = t.len();
    Tensor::from_data(TensorData::new(t, [n]), &Default::default())
}

fn counts(f: &Value) -> Vec<usize> {
    f["counts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as usize)
        .collect()
}

fn close(got: f32, f: &Value, key: &str) {
    let want = f[key].as_f64().unwrap();
    assert!(
        ((got as f64) - want).abs() <= 1e-5 * (1.0 + want.abs()),
        "{key}: {got} vs {want}"
    );
}

fn close_grad(got: Tensor<Flex, 2>, f: &Value, key: &str) {
    let got = got.into_data().to_vec::<f32>().unwrap();
    let want = floats(f, key);
    assert_eq!(got.len(), want.len(), "{key}");
    let scale = want.iter().fold(0f32, |m, v| m.max(v.abs()));
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert!(
            (g - w).abs() <= 1e-4 * (1.0 + scale),
            "{key}[{i}]: {g} vs {w}"
        );
    }
}

/// Value and gradient of a loss of one `[rows, cols]` input.
fn check(
    f: &Value,
    input: &str,
    rows: usize,
    case: &str,
    grad: &str,
    loss: impl Fn(Tensor<AB, 2>) -> Tensor<AB, 1>,
) {
    let x = t2(floats(f, input), rows).require_grad();
    let v = loss(x.clone());
    close(v.clone().into_scalar(), f, case);
    let g = x.grad(&v.backward()).unwrap();
    close_grad(g, f, &format!("{case}_grad_{grad}"));
}

#[test]
fn cross_entropy_and_class_balanced() {
    let f = fixture();
    let b = usize_of(&f, "B");
    let d = Default::default();
    let beta = f["cb_beta"].as_f64().unwrap();
    let plain = ClassBalancedCrossEntropyLossConfig::new(counts(&f)).init::<AB>(&d);
    check(&f, "logits", b, "ce", "logits", |x| {
        plain.forward(x, ints(&f, "targets"))
    });
    let cb = ClassBalancedCrossEntropyLossConfig::new(counts(&f))
        .with_beta(beta)
        .init::<AB>(&d);
    check(&f, "logits", b, "cb_sum_to_c", "logits", |x| {
        cb.forward(x, ints(&f, "targets"))
    });
    let cbw = ClassBalancedCrossEntropyLossConfig::new(counts(&f))
        .with_beta(beta)
        .with_divisor(BatchDivisor::WeightSum)
        .init::<AB>(&d);
    check(&f, "logits", b, "cb_weight_sum", "logits", |x| {
        cbw.forward(x, ints(&f, "targets"))
    });
    let cbm = ClassBalancedCrossEntropyLossConfig::new(counts(&f))
        .with_beta(beta)
        .with_norm(WeightNorm::Max)
        .init::<AB>(&d);
    check(&f, "logits", b, "cb_max", "logits", |x| {
        cbm.forward(x, ints(&f, "targets"))
    });
    // Logits of ±1e4.
    let v = plain
        .forward(t2(floats(&f, "big_logits"), 2), ints(&f, "big_targets"))
        .into_scalar();
    close(v, &f, "ce_big");
}

#[test]
fn square_loss() {
    let f = fixture();
    let b = usize_of(&f, "B");
    let d = Default::default();
    let plain = SquareLossConfig::new(counts(&f)).init::<AB>(&d);
    check(&f, "logits", b, "square", "scores", |x| {
        plain.forward(x, ints(&f, "targets"))
    });
    let cb = SquareLossConfig::new(counts(&f))
        .with_beta(f["cb_beta"].as_f64().unwrap())
        .init::<AB>(&d);
    check(&f, "logits", b, "square_cb", "scores", |x| {
        cb.forward(x, ints(&f, "targets"))
    });
}

#[test]
fn dcwh() {
    let f = fixture();
    let (b, c) = (usize_of(&f, "B"), usize_of(&f, "C"));
    let loss = DcwhLossConfig::new()
        .with_inv_sigma_sq(f["inv_sigma_sq"].as_f64().unwrap())
        .init();
    check(&f, "h", b, "dcwh", "h", |h| {
        loss.forward(h, ints(&f, "targets"), t2(floats(&f, "mu"), c))
    });
}

#[test]
fn idcwh() {
    let f = fixture();
    let (b, c, k) = (usize_of(&f, "B"), usize_of(&f, "C"), usize_of(&f, "K"));
    let mut loss = IdcwhLossConfig::new(
        c,
        k,
        f["idcwh_gamma"].as_f64().unwrap(),
        f["idcwh_beta"].as_f64().unwrap(),
        f["inv_sigma_sq"].as_f64().unwrap(),
    )
    .init::<AB>(&Default::default());
    loss.centres = Param::from_tensor(t2(floats(&f, "mu"), c).require_grad());
    let h = t2(floats(&f, "h"), b).require_grad();
    let csl = loss.centre_similarity(h.clone(), ints(&f, "targets"));
    close(csl.into_scalar(), &f, "idcwh_csl");
    let v = loss.forward(h.clone(), ints(&f, "targets"));
    close(v.clone().into_scalar(), &f, "idcwh");
    let grads = v.backward();
    close_grad(h.grad(&grads).unwrap(), &f, "idcwh_grad_h");
    close_grad(
        loss.centres.val().grad(&grads).unwrap(),
        &f,
        "idcwh_grad_centres",
    );
}

#[test]
fn csq() {
    let f = fixture();
    let (b, c) = (usize_of(&f, "B"), usize_of(&f, "C"));
    let loss = CsqLossConfig::new()
        .with_lambda(f["csq_lambda"].as_f64().unwrap())
        .init();
    check(&f, "z", b, "csq", "z", |z| {
        loss.forward(z, ints(&f, "targets"), t2(floats(&f, "centres"), c))
    });
}
