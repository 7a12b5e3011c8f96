//! The `Backbone` enum: configuration round trip, feature sizes, the `FeatureExtractor`
//! contract, training mode on an autodiff backend, and auto traits.

use burn::backend::{Autodiff, Flex};
use burn::module::AutodiffModule;
use burn::prelude::*;
use lthnet_core::backbone::{
    Backbone, BackboneConfig, CifarNet, CifarNetConfig, MobileNetV2, MobileNetV2Config, ResNet,
    ResNetConfig,
};
use lthnet_core::{CoreError, FeatureExtractor};

type TestBackend = Flex;

fn configs() -> Vec<(BackboneConfig, usize, usize)> {
    // (config, input size, expected d_feature)
    vec![
        (
            BackboneConfig::ResNet(ResNetConfig::resnet34().with_base_width(4)),
            32,
            32,
        ),
        (
            BackboneConfig::ResNet(ResNetConfig::resnet50().with_base_width(2)),
            32,
            64,
        ),
        (
            BackboneConfig::MobileNetV2(MobileNetV2Config::new().with_num_logits(5)),
            32,
            1280,
        ),
        (BackboneConfig::CifarNet(CifarNetConfig::new()), 32, 512),
    ]
}

#[test]
fn every_variant_produces_its_feature_size() {
    let device = Default::default();
    for (config, size, d) in configs() {
        assert_eq!(config.d_feature(), d, "{config}");
        let backbone = config.init::<TestBackend>(&device);
        assert_eq!(backbone.d_feature(), d);
        assert_eq!(FeatureExtractor::d_output(&backbone), d);
        let x = Tensor::<TestBackend, 4>::random(
            [2, 3, size, size],
            burn::tensor::Distribution::Default,
            &device,
        );
        let y = backbone.features(x);
        assert_eq!(y.dims(), [2, d], "{config}");
    }
}

#[test]
fn config_round_trips_through_json() {
    for (config, _, _) in configs() {
        let json = config.to_string();
        let back: BackboneConfig = serde_json::from_str(&json).unwrap();
        assert_eq!(back.to_string(), json);
    }
}

#[test]
fn cifarnet_has_no_pretrained_weights() {
    let err = BackboneConfig::CifarNet(CifarNetConfig::new())
        .init_pretrained::<TestBackend>(std::path::Path::new("x.safetensors"), &Default::default())
        .unwrap_err();
    assert!(matches!(err, CoreError::Config(_)), "{err}");
}

/// On an autodiff backend BatchNorm uses batch statistics and gradients reach the first conv;
/// `valid()` gives the inference network back.
#[test]
fn trains_on_autodiff_backend() {
    type Ad = Autodiff<TestBackend>;
    let device = Default::default();
    let config = BackboneConfig::CifarNet(CifarNetConfig::new().with_channels(vec![4, 8]));
    let backbone: Backbone<Ad> = config.init(&device);
    let x = Tensor::<Ad, 4>::random([4, 3, 8, 8], burn::tensor::Distribution::Default, &device);
    let loss = backbone.forward(x.clone()).sum();
    let grads = loss.backward();
    let mut n_grads = 0;
    backbone.visit(&mut CountGrads {
        grads: &grads,
        count: &mut n_grads,
    });
    // conv + gamma + beta per layer, two layers.
    assert_eq!(n_grads, 6);
    let inner = backbone.valid();
    let y = inner.forward(x.inner());
    assert_eq!(y.dims(), [4, 8]);
}

struct CountGrads<'a> {
    grads: &'a <Autodiff<TestBackend> as burn::tensor::backend::AutodiffBackend>::Gradients,
    count: &'a mut usize,
}

impl burn::module::ModuleVisitor<Autodiff<TestBackend>> for CountGrads<'_> {
    fn visit_float<const D: usize>(
        &mut self,
        param: &burn::module::Param<Tensor<Autodiff<TestBackend>, D>>,
    ) {
        if param.val().grad(self.grads).is_some() {
            *self.count += 1;
        }
    }
}

#[test]
fn backbones_are_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Backbone<TestBackend>>();
    check::<ResNet<TestBackend>>();
    check::<MobileNetV2<TestBackend>>();
    check::<CifarNet<TestBackend>>();
    check::<BackboneConfig>();
}
