//! The paper's reported MAP@all (Chen et al., SIGIR 2021, Tables 3 and 4) for the methods this
//! library implements, so examples can print them beside measured numbers.

/// A dataset of the paper's result tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaperDataset {
    /// CIFAR-100 (Table 3).
    Cifar100,
    /// ImageNet100 (Table 4).
    ImageNet100,
}

/// Columns: IF 1 / 50 / 100 × 32 / 64 / 96 bits.
type Row = [f64; 9];

const CIFAR100: [(&str, Row); 8] = [
    (
        "LSH",
        [
            0.0333, 0.0458, 0.0608, 0.0333, 0.0467, 0.0615, 0.0307, 0.0480, 0.0585,
        ],
    ),
    (
        "PCAH",
        [
            0.0569, 0.0612, 0.0605, 0.0532, 0.0617, 0.0627, 0.0519, 0.0608, 0.0625,
        ],
    ),
    (
        "ITQ",
        [
            0.0806, 0.0976, 0.1026, 0.0709, 0.0858, 0.0903, 0.0677, 0.0824, 0.0896,
        ],
    ),
    (
        "CSQ",
        [
            0.7711, 0.7984, 0.7821, 0.2221, 0.2745, 0.2669, 0.1716, 0.1992, 0.1658,
        ],
    ),
    (
        "LTHNet_sq (k=0)",
        [
            0.8191, 0.8321, 0.8362, 0.2220, 0.2144, 0.2330, 0.1624, 0.1546, 0.1508,
        ],
    ),
    (
        "LTHNet_sq (k=3)",
        [
            0.8232, 0.8360, 0.8390, 0.2432, 0.2794, 0.3116, 0.1750, 0.2079, 0.2264,
        ],
    ),
    (
        "LTHNet (k=0)",
        [
            0.8195, 0.8336, 0.8400, 0.2427, 0.3028, 0.3309, 0.1752, 0.2240, 0.2415,
        ],
    ),
    (
        "LTHNet (k=3)",
        [
            0.8268, 0.8416, 0.8490, 0.2687, 0.3354, 0.3484, 0.1819, 0.2376, 0.2620,
        ],
    ),
];

const IMAGENET100: [(&str, Row); 8] = [
    (
        "LSH",
        [
            0.0613, 0.1066, 0.1557, 0.0606, 0.1121, 0.1475, 0.0556, 0.1097, 0.1510,
        ],
    ),
    (
        "PCAH",
        [
            0.1478, 0.2004, 0.2042, 0.1306, 0.1817, 0.1919, 0.1280, 0.1788, 0.1947,
        ],
    ),
    (
        "ITQ",
        [
            0.1965, 0.2687, 0.2907, 0.1803, 0.2458, 0.2731, 0.1719, 0.2371, 0.2667,
        ],
    ),
    (
        "CSQ",
        [
            0.8507, 0.8733, 0.8657, 0.6629, 0.7022, 0.6823, 0.5989, 0.5620, 0.5495,
        ],
    ),
    (
        "LTHNet_sq (k=0)",
        [
            0.7338, 0.7713, 0.8130, 0.5523, 0.5154, 0.5530, 0.3924, 0.3490, 0.4132,
        ],
    ),
    (
        "LTHNet_sq (k=3)",
        [
            0.7896, 0.8259, 0.8465, 0.7133, 0.7491, 0.7753, 0.6333, 0.6587, 0.6958,
        ],
    ),
    (
        "LTHNet (k=0)",
        [
            0.7924, 0.8267, 0.8382, 0.7369, 0.7804, 0.7920, 0.6771, 0.7350, 0.7528,
        ],
    ),
    (
        "LTHNet (k=3)",
        [
            0.8142, 0.8453, 0.8592, 0.7612, 0.8007, 0.8157, 0.7146, 0.7665, 0.7828,
        ],
    ),
];

/// The paper's MAP@all for `method` (the display names of
/// [`named_method`](crate::experiment::named_method): `"LTHNet (k=3)"`, `"CSQ"`, `"ITQ"`, …) at
/// imbalance factor 1, 50 or 100 and 32, 64 or 96 bits; `None` where the paper has no number.
///
/// ```
/// use lthnet::paper::{PaperDataset, paper_map};
/// assert_eq!(paper_map(PaperDataset::Cifar100, "LTHNet (k=3)", 100, 64), Some(0.2376));
/// assert_eq!(paper_map(PaperDataset::ImageNet100, "CSQ", 50, 32), Some(0.6629));
/// assert_eq!(paper_map(PaperDataset::Cifar100, "DCWH", 100, 64), None);
/// ```
pub fn paper_map(dataset: PaperDataset, method: &str, imbalance: u32, bits: usize) -> Option<f64> {
    let col = match (imbalance, bits) {
        (1, 32) => 0,
        (1, 64) => 1,
        (1, 96) => 2,
        (50, 32) => 3,
        (50, 64) => 4,
        (50, 96) => 5,
        (100, 32) => 6,
        (100, 64) => 7,
        (100, 96) => 8,
        _ => return None,
    };
    let table: &[(&str, Row)] = match dataset {
        PaperDataset::Cifar100 => &CIFAR100,
        PaperDataset::ImageNet100 => &IMAGENET100,
    };
    table
        .iter()
        .find(|(name, _)| *name == method)
        .map(|(_, row)| row[col])
}
