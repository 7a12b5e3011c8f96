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

// ---------------------------------------------------------------------------------------------
// `forward_no_reduction` against per-sample references in f64 (which reproduce the PyTorch
// values above when reduced), and `forward` against the documented reduction of it.

fn usizes(f: &Value, key: &str) -> Vec<usize> {
    f[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as usize)
        .collect()
}

fn values(t: Tensor<AB, 1>) -> Vec<f64> {
    t.into_data()
        .to_vec::<f32>()
        .unwrap()
        .into_iter()
        .map(f64::from)
        .collect()
}

fn assert_close(got: f64, want: f64, what: &str) {
    assert!(
        (got - want).abs() <= 1e-5 * (1.0 + want.abs()),
        "{what}: {got} vs {want}"
    );
}

fn assert_all_close(got: &[f64], want: &[f64], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert_close(*g, *w, &format!("{what}[{i}]"));
    }
}

fn fixture_value(f: &Value, key: &str) -> f64 {
    f[key].as_f64().unwrap()
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

/// For `Reduction::Mean` and `Reduction::Sum`: `run(reduction)` returns the loss's
/// `(forward_no_reduction, forward)`; the per-sample values must be `want` and the reduced value
/// their mean or sum.
fn assert_mean_and_sum(
    want: &[f64],
    what: &str,
    mut run: impl FnMut(Reduction) -> (Vec<f64>, f64),
) {
    for (reduction, reduced) in [
        (Reduction::Mean, mean(want)),
        (Reduction::Sum, want.iter().sum()),
    ] {
        let (per, total) = run(reduction.clone());
        assert_all_close(&per, want, &format!("{what} per sample"));
        assert_close(total, reduced, &format!("{what} {reduction:?}"));
    }
}

/// `−log softmax(row)_y` per row, in f64.
fn ce_ref(x: &[f32], cols: usize, targets: &[usize]) -> Vec<f64> {
    x.chunks(cols)
        .zip(targets)
        .map(|(row, &y)| {
            let m = row.iter().fold(f64::MIN, |m, &v| m.max(v as f64));
            let lse = m + row.iter().map(|&v| (v as f64 - m).exp()).sum::<f64>().ln();
            lse - row[y] as f64
        })
        .collect()
}

fn sgn(v: f64) -> f64 {
    if v >= 0.0 { 1.0 } else { -1.0 }
}

/// The DCWH class-wise CE per sample, in f64.
fn classwise_ref(h: &[f32], mu: &[f32], k: usize, targets: &[usize], inv: f64) -> Vec<f64> {
    let logits: Vec<f32> = h
        .chunks(k)
        .flat_map(|hb| {
            mu.chunks(k).map(move |m| {
                let d: f64 = hb
                    .iter()
                    .zip(m)
                    .map(|(&a, &b)| (a as f64 - b as f64).powi(2))
                    .sum();
                (-0.5 * inv * d) as f32
            })
        })
        .collect();
    // Logits rounded to f32 cost ~1e-7 relative, well inside the tolerance.
    ce_ref(&logits, mu.len() / k, targets)
}

/// `Σ_k (sgn(h) − h)²` per row.
fn vertex_ref(h: &[f32], k: usize) -> Vec<f64> {
    h.chunks(k)
        .map(|r| r.iter().map(|&v| (sgn(v as f64) - v as f64).powi(2)).sum())
        .collect()
}

#[test]
fn cross_entropy_per_sample_and_reductions() {
    let f = fixture();
    let (b, c) = (usize_of(&f, "B"), usize_of(&f, "C"));
    let (x, y) = (floats(&f, "logits"), usizes(&f, "targets"));
    let beta = fixture_value(&f, "cb_beta");
    let ce = ce_ref(&x, c, &y);
    assert_close(mean(&ce), fixture_value(&f, "ce"), "reference CE");
    let plain = values(cross_entropy_no_reduction(
        t2(x.clone(), b),
        ints(&f, "targets"),
    ));
    assert_all_close(&plain, &ce, "cross_entropy_no_reduction");
    for (beta, norm, divisor, key) in [
        (0.0, WeightNorm::SumToC, BatchDivisor::BatchSize, Some("ce")),
        (0.0, WeightNorm::SumToC, BatchDivisor::WeightSum, Some("ce")),
        (
            beta,
            WeightNorm::SumToC,
            BatchDivisor::BatchSize,
            Some("cb_sum_to_c"),
        ),
        (
            beta,
            WeightNorm::SumToC,
            BatchDivisor::WeightSum,
            Some("cb_weight_sum"),
        ),
        (
            beta,
            WeightNorm::Max,
            BatchDivisor::BatchSize,
            Some("cb_max"),
        ),
        (beta, WeightNorm::None, BatchDivisor::WeightSum, None),
    ] {
        let what = format!("β {beta}, {norm:?}, {divisor:?}");
        let w = class_balanced_weights(&counts(&f), beta, norm);
        let want: Vec<f64> = ce.iter().zip(&y).map(|(l, &t)| w[t] as f64 * l).collect();
        let loss = ClassBalancedCrossEntropyLossConfig::new(counts(&f))
            .with_beta(beta)
            .with_norm(norm)
            .with_divisor(divisor)
            .init::<AB>(&Default::default());
        let per = values(loss.forward_no_reduction(t2(x.clone(), b), ints(&f, "targets")));
        assert_all_close(&per, &want, &what);
        let divided_by = match divisor {
            BatchDivisor::BatchSize => b as f64,
            BatchDivisor::WeightSum => y.iter().map(|&t| w[t] as f64).sum(),
        };
        let reduced = per.iter().sum::<f64>() / divided_by;
        let total = loss.forward(t2(x.clone(), b), ints(&f, "targets"));
        assert_close(total.into_scalar() as f64, reduced, &what);
        if let Some(key) = key {
            assert_close(reduced, fixture_value(&f, key), &what);
        }
    }
}

#[test]
fn square_per_sample_and_reductions() {
    let f = fixture();
    let (b, c) = (usize_of(&f, "B"), usize_of(&f, "C"));
    let (x, y) = (floats(&f, "logits"), usizes(&f, "targets"));
    let sq: Vec<f64> = x
        .chunks(c)
        .zip(&y)
        .map(|(row, &t)| {
            row.iter()
                .enumerate()
                .map(|(j, &v)| (v as f64 - f64::from(u8::from(j == t))).powi(2))
                .sum()
        })
        .collect();
    for (beta, key) in [(0.0, "square"), (fixture_value(&f, "cb_beta"), "square_cb")] {
        let w = class_balanced_weights(&counts(&f), beta, WeightNorm::SumToC);
        let want: Vec<f64> = sq.iter().zip(&y).map(|(l, &t)| w[t] as f64 * l).collect();
        assert_close(mean(&want), fixture_value(&f, key), key);
        assert_mean_and_sum(&want, key, |reduction| {
            let loss = SquareLossConfig::new(counts(&f))
                .with_beta(beta)
                .with_reduction(reduction)
                .init::<AB>(&Default::default());
            let per = values(loss.forward_no_reduction(t2(x.clone(), b), ints(&f, "targets")));
            let total = loss.forward(t2(x.clone(), b), ints(&f, "targets"));
            (per, total.into_scalar() as f64)
        });
    }
}

#[test]
fn dcwh_per_sample_and_reductions() {
    let f = fixture();
    let (b, c, k) = (usize_of(&f, "B"), usize_of(&f, "C"), usize_of(&f, "K"));
    let (h, mu, y) = (floats(&f, "h"), floats(&f, "mu"), usizes(&f, "targets"));
    let inv = fixture_value(&f, "inv_sigma_sq");
    let clw = classwise_ref(&h, &mu, k, &y, inv);
    let vertex = vertex_ref(&h, k);
    let want: Vec<f64> = h
        .chunks(k)
        .zip(clw.iter().zip(&vertex))
        .map(|(r, (l, v))| {
            let cubic: f64 = r.iter().map(|&x| (x.abs() as f64 - 1.1).max(0.0)).sum();
            l + 10.0 * cubic + 0.01 * v
        })
        .collect();
    assert_close(mean(&want), fixture_value(&f, "dcwh"), "reference DCWH");
    assert_mean_and_sum(&want, "DCWH", |reduction| {
        let loss = DcwhLossConfig::new()
            .with_inv_sigma_sq(inv)
            .with_reduction(reduction)
            .init();
        let centres = || t2(mu.clone(), c);
        let per =
            values(loss.forward_no_reduction(t2(h.clone(), b), ints(&f, "targets"), centres()));
        let total = loss.forward(t2(h.clone(), b), ints(&f, "targets"), centres());
        (per, total.into_scalar() as f64)
    });
}

#[test]
fn idcwh_per_sample_and_reduction() {
    let f = fixture();
    let (b, c, k) = (usize_of(&f, "B"), usize_of(&f, "C"), usize_of(&f, "K"));
    let (h, mu, y) = (floats(&f, "h"), floats(&f, "mu"), usizes(&f, "targets"));
    let (inv, gamma, beta) = (
        fixture_value(&f, "inv_sigma_sq"),
        fixture_value(&f, "idcwh_gamma"),
        fixture_value(&f, "idcwh_beta"),
    );
    let want: Vec<f64> = classwise_ref(&h, &mu, k, &y, inv)
        .iter()
        .zip(vertex_ref(&h, k))
        .map(|(l, q)| l + beta * q)
        .collect();
    let mut loss = IdcwhLossConfig::new(c, k, gamma, beta, inv).init::<AB>(&Default::default());
    loss.centres = Param::from_tensor(t2(mu.clone(), c));
    let per = values(loss.forward_no_reduction(t2(h.clone(), b), ints(&f, "targets")));
    assert_all_close(&per, &want, "IDCWH per sample");
    // forward = batch mean of the per-sample terms + γ·L_csl.
    let csl = loss
        .centre_similarity(t2(h.clone(), b), ints(&f, "targets"))
        .into_scalar() as f64;
    let reduced = mean(&per) + gamma * csl;
    let total = loss.forward(t2(h.clone(), b), ints(&f, "targets"));
    assert_close(total.into_scalar() as f64, reduced, "IDCWH forward");
    assert_close(reduced, fixture_value(&f, "idcwh"), "IDCWH vs PyTorch");
}

#[test]
fn csq_per_sample_and_reductions() {
    let f = fixture();
    let (b, c, k) = (usize_of(&f, "B"), usize_of(&f, "C"), usize_of(&f, "K"));
    let (z, centres, y) = (
        floats(&f, "z"),
        floats(&f, "centres"),
        usizes(&f, "targets"),
    );
    let lambda = fixture_value(&f, "csq_lambda");
    let softplus = |x: f64| x.max(0.0) + (-x.abs()).exp().ln_1p();
    let want: Vec<f64> = z
        .chunks(k)
        .zip(&y)
        .map(|(row, &t)| {
            let target = &centres[t * k..(t + 1) * k];
            let (bce, quant) = row
                .iter()
                .zip(target)
                .fold((0.0, 0.0), |(s, q), (&v, &cv)| {
                    let (v, tt) = (v as f64, (cv as f64 + 1.0) / 2.0);
                    (
                        s + softplus(2.0 * v) - 2.0 * v * tt,
                        q + (v.tanh().abs() - 1.0).powi(2),
                    )
                });
            (bce + lambda * quant) / k as f64
        })
        .collect();
    assert_close(mean(&want), fixture_value(&f, "csq"), "reference CSQ");
    let per_sample_centres: Vec<f32> = y
        .iter()
        .flat_map(|&t| centres[t * k..(t + 1) * k].to_vec())
        .collect();
    assert_mean_and_sum(&want, "CSQ", |reduction| {
        let loss = CsqLossConfig::new()
            .with_lambda(lambda)
            .with_reduction(reduction)
            .init();
        let per =
            values(loss.forward_no_reduction(t2(z.clone(), b), t2(per_sample_centres.clone(), b)));
        let total = loss.forward(
            t2(z.clone(), b),
            ints(&f, "targets"),
            t2(centres.clone(), c),
        );
        (per, total.into_scalar() as f64)
    });
}
