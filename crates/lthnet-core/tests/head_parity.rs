//! Parity of the LTHNet head with a PyTorch re-implementation of the authors' model head:
//! forward outputs and one RMSprop step (PyTorch defaults: α 0.99, ε 1e-8, no momentum;
//! weight decay 5e-4).
//!
//! Fixture: `tests/fixtures/head/head_fixture.safetensors`, made by
//! `python3 crates/lthnet-core/tests/fixtures/head/make_head_fixture.py`.

use burn::backend::{Autodiff, Flex};
use burn::module::AutodiffModule;
use burn::optim::decay::WeightDecayConfig;
use burn::optim::{GradientsParams, Optimizer, RmsPropConfig};
use burn::prelude::*;
use burn::store::{ModuleSnapshot, PyTorchToBurnAdapter, SafetensorsStore};
use burn::tensor::activation::log_softmax;
use lthnet_core::{LthNetHead, LthNetHeadConfig};

type B = Autodiff<Flex>;

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/head/head_fixture.safetensors"
);

fn reference(name: &str) -> (Vec<f32>, Vec<usize>) {
    let bytes = std::fs::read(FIXTURE).expect("fixture present");
    let st = safetensors::SafeTensors::deserialize(&bytes).expect("valid safetensors");
    let t = st.tensor(name).unwrap_or_else(|_| panic!("tensor {name}"));
    let shape = t.shape().to_vec();
    let values = match t.dtype() {
        safetensors::Dtype::F32 => t
            .data()
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
            .collect(),
        safetensors::Dtype::I64 => t
            .data()
            .chunks_exact(8)
            .map(|c| i64::from_le_bytes(c.try_into().unwrap()) as f32)
            .collect(),
        other => panic!("unexpected dtype {other:?}"),
    };
    (values, shape)
}

fn tensor2(name: &str, device: &Device<B>) -> Tensor<B, 2> {
    let (v, s) = reference(name);
    Tensor::from_data(TensorData::new(v, [s[0], s[1]]), device)
}

fn assert_close(got: Tensor<impl Backend, 2>, name: &str, tol: f32) {
    let (want, _) = reference(name);
    let got = got.into_data().to_vec::<f32>().unwrap();
    assert_eq!(got.len(), want.len(), "{name}: length");
    let max = got
        .iter()
        .zip(&want)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(max <= tol, "{name}: max abs diff {max} > {tol}");
}

fn load_head(device: &Device<B>) -> LthNetHead<B> {
    let mut head = LthNetHeadConfig::new(16, 5, 8)
        .with_d_feature(32)
        .with_num_prototypes(1)
        .init::<B>(device);
    let mut store = SafetensorsStore::from_file(FIXTURE)
        .with_from_adapter(PyTorchToBurnAdapter)
        .with_key_remapping(r"^param\.(.*)$", "$1")
        .allow_partial(true);
    let result = head.load_from(&mut store).expect("weights load");
    assert!(
        result.missing.is_empty(),
        "missing keys: {:?}",
        result.missing
    );
    head
}

#[test]
fn forward_matches_pytorch() {
    let device = Default::default();
    let head = load_head(&device);
    let out = head.forward(tensor2("x", &device), Some(tensor2("memory", &device)));
    assert_close(out.v_direct, "v_direct", 1e-5);
    assert_close(out.h, "h", 1e-5);
    assert_close(out.logits, "logits", 1e-5);
}

#[test]
fn one_rmsprop_step_matches_pytorch() {
    let device = Default::default();
    let mut head = load_head(&device);
    let x = tensor2("x", &device);
    let memory = tensor2("memory", &device);
    let (t, _) = reference("targets");
    let targets: Vec<i64> = t.iter().map(|&v| v as i64).collect();
    let targets = Tensor::<B, 1, Int>::from_data(TensorData::new(targets, [4]), &device);

    let out = head.forward(x.clone(), Some(memory.clone()));
    let logp = log_softmax(out.logits, 1);
    let loss = logp.gather(1, targets.reshape([4, 1])).mean().neg();
    let (want_loss, _) = reference("loss");
    let got_loss = loss.clone().into_scalar().elem::<f32>();
    assert!(
        (got_loss - want_loss[0]).abs() < 1e-5,
        "loss {got_loss} vs {}",
        want_loss[0]
    );

    let mut optim = RmsPropConfig::new()
        .with_alpha(0.99)
        .with_momentum(0.0)
        .with_epsilon(1e-8)
        .with_weight_decay(Some(WeightDecayConfig::new(5e-4)))
        .init::<B, LthNetHead<B>>();
    let grads = GradientsParams::from_grads(loss.backward(), &head);
    head = optim.step(1e-2, head, grads);
    let out = head.valid().forward(x.inner(), Some(memory.inner()));
    // One RMSprop step moves each weight by ~lr = 1e-2 (|g|/sqrt(0.01 g²) = 10 → 0.1·lr·10);
    // the tolerance allows for f32 round-off in that normalisation.
    assert_close(out.h, "h_after_step", 2e-4);
    assert_close(out.logits, "logits_after_step", 2e-4);
}
