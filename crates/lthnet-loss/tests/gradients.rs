//! Gradients by central finite differences (Burn `Autodiff<Flex>`, f32: step 1e-2, relative
//! tolerance 1e-2), and finiteness on extreme inputs, for every loss.

use burn::backend::{Autodiff, Flex};
use burn::prelude::*;
use lthnet_loss::*;

type AB = Autodiff<Flex>;

fn t2(v: &[f32], rows: usize) -> Tensor<AB, 2> {
    Tensor::from_data(
        TensorData::new(v.to_vec(), [rows, v.len() / rows]),
        &Default::default(),
    )
}

fn ti(v: &[i64]) -> Tensor<AB, 1, Int> {
    Tensor::from_data(TensorData::new(v.to_vec(), [v.len()]), &Default::default())
}

/// Compare autodiff with central differences of `loss` at `x0` (`rows` rows). Coordinates
/// where the loss has a kink inside the step (sgn, |·|, relu) are the caller's to avoid.
fn fd_check(x0: &[f32], rows: usize, loss: impl Fn(Tensor<AB, 2>) -> Tensor<AB, 1>) {
    let x = t2(x0, rows).require_grad();
    let g = x
        .grad(&loss(x.clone()).backward())
        .unwrap()
        .into_data()
        .to_vec::<f32>()
        .unwrap();
    let eval = |v: &[f32]| loss(t2(v, rows)).into_scalar().elem::<f64>();
    let step = 1e-2f32;
    for i in 0..x0.len() {
        let (mut p, mut m) = (x0.to_vec(), x0.to_vec());
        p[i] += step;
        m[i] -= step;
        let fd = (eval(&p) - eval(&m)) / (2.0 * step as f64);
        assert!(
            (fd - g[i] as f64).abs() <= 1e-2 * (fd.abs().max(1e-1)),
            "coordinate {i}: finite difference {fd} vs autodiff {}",
            g[i]
        );
    }
}

const X: [f32; 12] = [
    0.3, -0.2, 0.7, -0.9, 0.15, 0.4, -0.5, 0.8, 0.25, -0.35, 0.6, -0.45,
];

#[test]
fn cross_entropy_gradients() {
    let d = Default::default();
    for divisor in [BatchDivisor::BatchSize, BatchDivisor::WeightSum] {
        let loss = ClassBalancedCrossEntropyLossConfig::new(vec![100, 10, 3])
            .with_beta(0.99)
            .with_divisor(divisor)
            .init::<AB>(&d);
        fd_check(&X, 4, |x| loss.forward(x, ti(&[0, 2, 1, 2])));
    }
}

#[test]
fn square_gradients() {
    let loss = SquareLossConfig::new(vec![5, 1, 2])
        .with_beta(0.9)
        .init::<AB>(&Default::default());
    fd_check(&X, 4, |x| loss.forward(x, ti(&[0, 2, 1, 2])));
}

#[test]
fn dcwh_gradients() {
    // |h| < 1.1 away from 0: the cubic term is flat and sgn constant within the step.
    let loss = DcwhLossConfig::new().with_inv_sigma_sq(0.5).init();
    let centres = t2(&[1., -1., 1., -1., 1., 1., -1., 1., -1.], 3);
    fd_check(&X, 4, |h| {
        loss.forward(h, ti(&[0, 2, 1, 2]), centres.clone())
    });
    // Beyond 1.1 the cubic term is active.
    let big: Vec<f32> = X.iter().map(|v| v * 2.0).collect();
    fd_check(&big, 4, |h| {
        loss.forward(h, ti(&[0, 2, 1, 2]), centres.clone())
    });
}

#[test]
fn idcwh_gradients() {
    let loss = IdcwhLossConfig::new(3, 3, 0.5, 0.1, 1.0)
        .with_seed(5)
        .init::<AB>(&Default::default());
    fd_check(&X, 4, |h| loss.forward(h, ti(&[0, 2, 1, 2])));
}

#[test]
fn csq_gradients() {
    let loss = CsqLossConfig::new().with_lambda(0.05).init();
    let centres = hash_centres(3, 4, 0).to_tensor::<AB>(&Default::default());
    fd_check(&X, 3, |z| loss.forward(z, ti(&[0, 2, 1]), centres.clone()));
}

#[test]
fn extreme_inputs_stay_finite() {
    let d = Default::default();
    let huge = [1e4f32, -1e4, 0.0, -1e4, 1e4, 3.0];
    let finite = |t: Tensor<AB, 1>| {
        let v = t.into_scalar().elem::<f32>();
        assert!(v.is_finite(), "{v}");
    };
    let ce = ClassBalancedCrossEntropyLossConfig::new(vec![2, 2, 2])
        .with_beta(0.999)
        .init::<AB>(&d);
    let x = t2(&huge, 2).require_grad();
    let v = ce.forward(x.clone(), ti(&[1, 0]));
    let g = x
        .grad(&v.clone().backward())
        .unwrap()
        .into_data()
        .to_vec::<f32>()
        .unwrap();
    assert!(g.iter().all(|v| v.is_finite()));
    finite(v);
    finite(
        SquareLossConfig::new(vec![1, 1, 1])
            .init::<AB>(&d)
            .forward(t2(&huge, 2), ti(&[1, 0])),
    );
    let centres = t2(&[1., -1., 1., -1., 1., 1., -1., 1., -1.], 3);
    finite(
        DcwhLossConfig::new()
            .init()
            .forward(t2(&huge, 2), ti(&[1, 0]), centres.clone()),
    );
    let z = t2(&huge, 2).require_grad();
    let v = CsqLossConfig::new()
        .init()
        .forward(z.clone(), ti(&[1, 0]), centres);
    let g = z
        .grad(&v.clone().backward())
        .unwrap()
        .into_data()
        .to_vec::<f32>()
        .unwrap();
    assert!(g.iter().all(|v| v.is_finite()));
    finite(v);
    // IDCWH with classes absent from the batch (only class 1 present; classes 0 and 2 empty).
    let idcwh = IdcwhLossConfig::new(3, 3, 1.0, 0.1, 1.0).init::<AB>(&d);
    let h = t2(&huge, 2).require_grad();
    let v = idcwh.forward(h.clone(), ti(&[1, 1]));
    let grads = v.clone().backward();
    finite(v);
    let gc = idcwh
        .centres
        .val()
        .grad(&grads)
        .unwrap()
        .into_data()
        .to_vec::<f32>()
        .unwrap();
    assert!(gc.iter().all(|v| v.is_finite()));
}

#[test]
fn empty_class_is_weighted_like_a_singleton_at_init() {
    // A class without training samples no longer panics: it is weighted like a count of 1, so
    // the loss (and its gradient) on the other classes is that of counts [3, 1].
    let d = Default::default();
    let x = [0.3f32, -0.2, 0.7, -0.9];
    let y = [0i64, 0];
    for beta in [0.0, 0.9, 0.999] {
        let empty = ClassBalancedCrossEntropyLossConfig::new(vec![3, 0])
            .with_beta(beta)
            .init::<AB>(&d);
        let single = ClassBalancedCrossEntropyLossConfig::new(vec![3, 1])
            .with_beta(beta)
            .init::<AB>(&d);
        let v = empty.forward(t2(&x, 2), ti(&y)).into_scalar();
        assert!(v.is_finite() && v > 0.0, "β {beta}: {v}");
        assert_eq!(
            v,
            single.forward(t2(&x, 2), ti(&y)).into_scalar(),
            "β {beta}"
        );
        fd_check(&x, 2, |x| empty.forward(x, ti(&y)));
        let sq = SquareLossConfig::new(vec![3, 0])
            .with_beta(beta)
            .init::<AB>(&d)
            .forward(t2(&x, 2), ti(&[1, 0]))
            .into_scalar();
        assert!(sq.is_finite() && sq > 0.0, "β {beta}: {sq}");
    }
}

#[test]
fn idcwh_centres_are_seeded() {
    let d = Default::default();
    let a = IdcwhLossConfig::new(4, 8, 1.0, 1.0, 1.0)
        .with_seed(3)
        .init::<Flex>(&d);
    let b = IdcwhLossConfig::new(4, 8, 1.0, 1.0, 1.0)
        .with_seed(3)
        .init::<Flex>(&d);
    let c = IdcwhLossConfig::new(4, 8, 1.0, 1.0, 1.0)
        .with_seed(4)
        .init::<Flex>(&d);
    let v = |l: &IdcwhLoss<Flex>| l.centres.val().into_data().to_vec::<f32>().unwrap();
    assert_eq!(v(&a), v(&b));
    assert_ne!(v(&a), v(&c));
    let mean = v(&a).iter().sum::<f32>() / 32.0;
    assert!(mean.abs() < 1.0);
}
