//! ResNet port against PyTorch/torchvision.
//!
//! Fixtures in `tests/fixtures/backbone/`, regenerated with (needs torch + torchvision):
//!
//! ```sh
//! python3 crates/lthnet-core/tests/fixtures/backbone/make_resnet_fixture.py
//! ```
//!
//! - `resnet18_w8.pth` / `resnet50_w4.safetensors`: torchvision-layout state dicts at base width
//!   8 / 4 (random weights, random BatchNorm running statistics, a 10-way `fc`), built from
//!   torchvision's own `BasicBlock` / `Bottleneck`.
//! - `resnet_io.safetensors`: input `x` `[2, 3, 64, 64]` and PyTorch's eval-mode pooled features.
//! - `resnet34_manifest.json`: key → shape of the full `torchvision.models.resnet34()` state dict.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use burn::backend::Flex;
use burn::prelude::*;
use lthnet_core::CoreError;
use lthnet_core::backbone::{Backbone, ResNet, ResNetConfig};
use safetensors::{Dtype, SafeTensors};

type TestBackend = Flex;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/backbone")
        .join(name)
}

fn f32s(st: &SafeTensors, name: &str) -> (Vec<f32>, Vec<usize>) {
    let t = st.tensor(name).unwrap();
    assert_eq!(t.dtype(), Dtype::F32);
    let v = t
        .data()
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
        .collect();
    (v, t.shape().to_vec())
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// Load `weights` into `config`, run the reference input, compare with `reference`.
fn check_parity(config: ResNetConfig, weights: &str, reference: &str) {
    let device = Default::default();
    let bytes = std::fs::read(fixture("resnet_io.safetensors")).unwrap();
    let io = SafeTensors::deserialize(&bytes).unwrap();
    let (x, x_shape) = f32s(&io, "x");
    let (want, want_shape) = f32s(&io, reference);
    let model = ResNet::<TestBackend>::load(&config, &fixture(weights), &device)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(model.d_feature(), want_shape[1]);
    let x = Tensor::<TestBackend, 4>::from_data(
        TensorData::new(x, [x_shape[0], x_shape[1], x_shape[2], x_shape[3]]),
        &device,
    );
    let got = model.forward(x.clone());
    assert_eq!(got.dims(), [want_shape[0], want_shape[1]]);
    let got = got.into_data().to_vec::<f32>().unwrap();
    let diff = max_abs_diff(&got, &want);
    let scale = want.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    eprintln!("{weights}: max |Δ| = {diff:.2e} (max |feature| {scale:.2})");
    assert!(diff < 1e-4, "{weights}: features differ by {diff}");

    // The same network behind the `Backbone` enum gives the same features.
    let backbone = Backbone::from(model);
    let again = backbone.forward(x).into_data().to_vec::<f32>().unwrap();
    assert_eq!(again, got);
}

/// PyTorch (torchvision `BasicBlock`, eval mode):
/// `torch.load("resnet18_w8.pth")` → `features(x)` (conv1 … layer4 + avgpool).
#[test]
fn resnet18_pth_matches_pytorch() {
    check_parity(
        ResNetConfig::resnet18().with_base_width(8),
        "resnet18_w8.pth",
        "resnet18_w8",
    );
}

/// PyTorch (torchvision `Bottleneck`, eval mode), weights from `.safetensors`.
#[test]
fn resnet50_safetensors_matches_pytorch() {
    check_parity(
        ResNetConfig::resnet50().with_base_width(4),
        "resnet50_w4.safetensors",
        "resnet50_w4",
    );
}

/// Shapes of every parameter path of `config`, in torchvision naming, as the module holds them.
fn manifest() -> BTreeMap<String, Vec<usize>> {
    let text = std::fs::read_to_string(fixture("resnet34_manifest.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Write `tensors` (zeros, f32) as a safetensors file.
fn write_zeros(path: &Path, tensors: &BTreeMap<String, Vec<usize>>) {
    let mut header = serde_json::Map::new();
    let mut offset = 0usize;
    for (k, shape) in tensors {
        // `num_batches_tracked` is int64 in PyTorch; keep it so.
        let (dtype, size) = if k.ends_with("num_batches_tracked") {
            ("I64", 8)
        } else {
            ("F32", 4)
        };
        let n = shape.iter().product::<usize>() * size;
        header.insert(
            k.clone(),
            serde_json::json!({"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + n]}),
        );
        offset += n;
    }
    let mut header = serde_json::to_vec(&header).unwrap();
    while !header.len().is_multiple_of(8) {
        header.push(b' ');
    }
    let mut out = Vec::with_capacity(8 + header.len() + offset);
    out.extend_from_slice(&(header.len() as u64).to_le_bytes());
    out.extend_from_slice(&header);
    out.resize(out.len() + offset, 0);
    std::fs::write(path, out).unwrap();
}

/// Every key of a full torchvision `resnet34()` state dict maps onto `ResNetConfig::resnet34()`
/// with the right shape (a zero-filled file with exactly those keys and shapes loads strictly),
/// and the module has no parameter the manifest lacks.
#[test]
fn full_resnet34_manifest_maps_onto_module() {
    let manifest = manifest();
    assert_eq!(manifest.len(), 218);
    assert_eq!(manifest["layer4.2.bn2.running_var"], vec![512]);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("resnet34_zeros.safetensors");
    write_zeros(&path, &manifest);
    let device = Default::default();
    let model = ResNet::<TestBackend>::load(&ResNetConfig::resnet34(), &path, &device)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(model.d_feature(), 512);
    // The manifest's tensors without fc and `num_batches_tracked` hold as many numbers as the
    // module (Burn's `num_params` counts BatchNorm running statistics too).
    let params: usize = manifest
        .iter()
        .filter(|(k, _)| !k.starts_with("fc.") && !k.ends_with("num_batches_tracked"))
        .map(|(_, s)| s.iter().product::<usize>())
        .sum();
    assert_eq!(model.num_params(), params);

    // The same file into the wrong depth fails and names the surplus keys.
    let err = ResNet::<TestBackend>::load(&ResNetConfig::resnet18(), &path, &device).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, CoreError::WeightImport { .. }), "{msg}");
    assert!(
        msg.contains("unexpected") && msg.contains("layer1.2.conv1.weight"),
        "{msg}"
    );
}

fn import_message(result: Result<ResNet<TestBackend>, CoreError>) -> String {
    match result {
        Err(e @ CoreError::WeightImport { .. }) => e.to_string(),
        Err(e) => panic!("expected WeightImport, got {e}"),
        Ok(_) => panic!("expected an error"),
    }
}

#[test]
fn missing_and_mismatched_keys_are_listed() {
    let device = Default::default();
    let dir = tempfile::tempdir().unwrap();
    let config = ResNetConfig::resnet34().with_base_width(2);
    // The manifest scaled to base width 2: every channel count divides by 32.
    let scaled = |shape: &Vec<usize>| -> Vec<usize> {
        let mut s = shape.clone();
        for d in s.iter_mut().take(2) {
            if *d >= 64 {
                *d /= 32;
            }
        }
        s
    };
    let mut small: BTreeMap<String, Vec<usize>> = manifest()
        .iter()
        .map(|(k, s)| (k.clone(), scaled(s)))
        .collect();
    // Sanity: the scaled manifest loads.
    let ok = dir.path().join("ok.safetensors");
    write_zeros(&ok, &small);
    ResNet::<TestBackend>::load(&config, &ok, &device).unwrap_or_else(|e| panic!("{e}"));

    small.remove("layer2.0.downsample.1.running_mean");
    small.remove("conv1.weight");
    small.insert("layer3.1.conv2.weight".into(), vec![8, 8, 1, 1]);
    let bad = dir.path().join("bad.safetensors");
    write_zeros(&bad, &small);
    let msg = import_message(ResNet::<TestBackend>::load(&config, &bad, &device));
    eprintln!("{msg}");
    assert!(msg.contains("2 missing"), "{msg}");
    assert!(msg.contains("conv1.weight"), "{msg}");
    assert!(msg.contains("layer2.0.downsample.bn.running_mean"), "{msg}");
    assert!(
        msg.contains("mismatched") && msg.contains("layer3.1.conv2.weight"),
        "{msg}"
    );
}

#[test]
fn io_and_format_errors() {
    let device = Default::default();
    let config = ResNetConfig::resnet18().with_base_width(2);
    let missing = ResNet::<TestBackend>::load(&config, Path::new("/nonexistent/r.pth"), &device);
    assert!(matches!(missing, Err(CoreError::Io { .. })));
    let dir = tempfile::tempdir().unwrap();
    let odd = dir.path().join("weights.npz");
    std::fs::write(&odd, b"not weights").unwrap();
    let msg = import_message(ResNet::<TestBackend>::load(&config, &odd, &device));
    assert!(msg.contains("unknown weight format"), "{msg}");
    let garbage = dir.path().join("weights.safetensors");
    std::fs::write(&garbage, b"not weights").unwrap();
    import_message(ResNet::<TestBackend>::load(&config, &garbage, &device));
}
