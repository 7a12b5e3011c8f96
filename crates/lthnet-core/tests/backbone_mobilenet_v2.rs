//! The MobileNetV2 port against the reference outputs in
//! `$LTHNET_DATA_DIR/mobilenetv2-imagenet/reference_io.safetensors` (10 real images → 1280-d
//! features and 1001 logits, computed by an independent numpy forward pass over the same
//! weights). Skips with a message when the data is absent.

use burn::backend::Flex;
use lthnet_core::backbone::MobileNetV2;
use lthnet_core::{ImageSource, PixelNorm, Source};

fn data_dir() -> std::path::PathBuf {
    match std::env::var_os("LTHNET_DATA_DIR") {
        Some(d) => d.into(),
        None => std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"),
    }
}

fn f32s(t: &safetensors::tensor::TensorView) -> Vec<f32> {
    t.data()
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
        .collect()
}

#[test]
fn matches_reference_features_and_classifies() {
    let dir = data_dir().join("mobilenetv2-imagenet");
    if !dir.exists() {
        eprintln!(
            "skipping: {} not found (set LTHNET_DATA_DIR)",
            dir.display()
        );
        return;
    }
    let device = Default::default();
    let model = MobileNetV2::<Flex>::load(
        &dir.join("mobilenet_v2_1.0_224_imagenet_f32.safetensors"),
        &device,
    )
    .unwrap();
    let bytes = std::fs::read(dir.join("reference_io.safetensors")).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let images = st.tensor("images_uint8_nhwc").unwrap().data().to_vec();
    let want_feat = f32s(&st.tensor("pooled").unwrap());
    let want_logits = f32s(&st.tensor("logits").unwrap());
    let src = ImageSource::new(
        images,
        [224, 224, 3],
        vec![0; 10],
        224,
        PixelNorm::MOBILENET_TF,
    );
    let x = src.batch::<Flex>(&(0..10).collect::<Vec<_>>(), &device);
    let logits = model
        .forward_logits(x.clone())
        .into_data()
        .to_vec::<f32>()
        .unwrap();
    let feat = model
        .forward_features(x)
        .into_data()
        .to_vec::<f32>()
        .unwrap();
    let max_diff = |a: &[f32], b: &[f32]| {
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0f32, f32::max)
    };
    let df = max_diff(&feat, &want_feat);
    let dl = max_diff(&logits, &want_logits);
    eprintln!("max |Δ| features {df:.2e}, logits {dl:.2e}");
    assert!(df < 1e-4, "features differ by {df}");
    assert!(dl < 1e-3, "logits differ by {dl}");
    // Same top-1 class as the reference for every image.
    for i in 0..10 {
        let row = |v: &[f32]| {
            let r = &v[i * 1001..(i + 1) * 1001];
            (0..1001).max_by(|&a, &b| r[a].total_cmp(&r[b])).unwrap()
        };
        assert_eq!(row(&logits), row(&want_logits), "image {i}");
    }
}
