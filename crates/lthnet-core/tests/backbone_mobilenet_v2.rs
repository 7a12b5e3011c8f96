//! The MobileNetV2 port against the reference outputs in
//! `$LTHNET_DATA_DIR/mobilenetv2-imagenet/reference_io.safetensors` (10 real images → 1280-d
//! features and 1001 logits, computed by an independent numpy forward pass over the same
//! weights; see `PROVENANCE.md`). Skips with a message when the data is absent.
//!
//! `LTHNET_DATA_DIR` defaults to `<repo>/../shared/data`.
//! Run: `cargo test -p lthnet-core --test backbone_mobilenet_v2 -- --nocapture`

use std::path::PathBuf;

use burn::backend::Flex;
use lthnet_core::backbone::{MobileNetV2, MobileNetV2Config};
use lthnet_core::{ImageSource, PixelNorm, Source};

type TestBackend = Flex;

fn model_dir() -> Option<PathBuf> {
    let root: PathBuf = match std::env::var_os("LTHNET_DATA_DIR") {
        Some(d) => d.into(),
        None => concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data").into(),
    };
    let dir = root.join("mobilenetv2-imagenet");
    if dir.exists() {
        Some(dir)
    } else {
        eprintln!(
            "skipping: {} not found (set LTHNET_DATA_DIR)",
            dir.display()
        );
        None
    }
}

fn f32s(t: &safetensors::tensor::TensorView) -> Vec<f32> {
    t.data()
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
        .collect()
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0f32, f32::max)
}

/// Features and logits match the numpy reference to 1e-4 and every image gets its listed
/// ImageNet class (PROVENANCE.md, "Verified" 1).
#[test]
fn matches_reference_features_and_classifies() {
    let Some(dir) = model_dir() else { return };
    let device = Default::default();
    let model = MobileNetV2::<TestBackend>::load(
        &dir.join("mobilenet_v2_1.0_224_imagenet_f32.safetensors"),
        &device,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(model.d_feature(), 1280);
    assert_eq!(model.num_logits(), 1001);
    let bytes = std::fs::read(dir.join("reference_io.safetensors")).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let images = st.tensor("images_uint8_nhwc").unwrap();
    assert_eq!(images.shape(), [10, 224, 224, 3]);
    let images = images.data().to_vec();
    let want_feat = f32s(&st.tensor("pooled").unwrap());
    let want_logits = f32s(&st.tensor("logits").unwrap());

    let x = MobileNetV2::<TestBackend>::preprocess(&images, [10, 224, 224, 3], &device);
    assert_eq!(x.dims(), [10, 3, 224, 224]);
    // The crate's image source produces the same input.
    let src = ImageSource::new(
        images.clone(),
        [224, 224, 3],
        vec![0; 10],
        224,
        PixelNorm::MOBILENET_TF,
    );
    let x_src = src.batch::<TestBackend>(&(0..10).collect::<Vec<_>>(), &device);
    let dx = max_abs_diff(
        &x.clone().into_data().to_vec::<f32>().unwrap(),
        &x_src.into_data().to_vec::<f32>().unwrap(),
    );
    assert!(dx < 1e-6, "preprocess and ImageSource differ by {dx}");

    let start = std::time::Instant::now();
    let feat = model.forward_features(x.clone());
    let feat = feat.into_data().to_vec::<f32>().unwrap();
    eprintln!("10 images at 224×224: {:.2?}", start.elapsed());
    let logits = model.forward_logits(x).into_data().to_vec::<f32>().unwrap();
    let df = max_abs_diff(&feat, &want_feat);
    let dl = max_abs_diff(&logits, &want_logits);
    eprintln!("max |Δ| features {df:.2e}, logits {dl:.2e}");
    assert!(df < 1e-4, "features differ by {df}");
    assert!(dl < 1e-4, "logits differ by {dl}");

    let labels = std::fs::read_to_string(dir.join("imagenet_labels.txt")).unwrap();
    let labels: Vec<&str> = labels.lines().collect();
    assert_eq!(labels.len(), 1001);
    let expected = [
        "Egyptian cat",
        "chickadee",
        "military uniform",
        "macaw",
        "ruffed grouse",
        "hotdog",
        "dragonfly",
        "daisy",
        "packet",
        "seashore",
    ];
    for (i, want) in expected.iter().enumerate() {
        let row = &logits[i * 1001..(i + 1) * 1001];
        let top = (0..1001)
            .max_by(|&a, &b| row[a].total_cmp(&row[b]))
            .unwrap();
        assert!(
            labels[top].starts_with(want),
            "image {i}: top-1 is {top} ({}), expected {want}",
            labels[top]
        );
    }
}

/// The default configuration is the architecture that `arch.json` describes (strides, channel
/// counts, expansion and residual flags of the 17 blocks).
#[test]
fn default_config_matches_arch_json() {
    let Some(dir) = model_dir() else { return };
    let text =
        std::fs::read_to_string(dir.join("mobilenet_v2_1.0_224_imagenet_f32.arch.json")).unwrap();
    let arch: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
    let blocks: Vec<&serde_json::Value> = arch
        .iter()
        .filter(|b| b["name"].as_str().is_some_and(|n| n.starts_with("blocks.")))
        .collect();
    let ours = MobileNetV2Config::blocks_1_0();
    assert_eq!(blocks.len(), ours.len());
    for (i, (a, b)) in blocks.iter().zip(&ours).enumerate() {
        assert_eq!(a["name"], format!("blocks.{i}"));
        let n = |k: &str| a[k].as_u64().unwrap() as usize;
        assert_eq!(
            (n("in"), n("hidden"), n("out"), n("stride")),
            (b.input, b.hidden, b.output, b.stride),
            "block {i}"
        );
        assert_eq!(a["residual"].as_bool().unwrap(), b.residual(), "block {i}");
        assert_eq!(
            a.get("expand_act").is_some(),
            b.hidden != b.input,
            "block {i}"
        );
    }
}

/// Resizing: an image of another size goes to 224×224, and a constant image stays constant.
#[test]
fn preprocess_resizes_any_size() {
    let device = Default::default();
    let images = vec![200u8; 2 * 37 * 53 * 3];
    let x = MobileNetV2::<TestBackend>::preprocess(&images, [2, 37, 53, 3], &device);
    assert_eq!(x.dims(), [2, 3, 224, 224]);
    let want = (200.0 - 127.0) * 0.007_843_138_f32;
    let v = x.into_data().to_vec::<f32>().unwrap();
    assert!(v.iter().all(|&p| (p - want).abs() < 1e-5));
}
