//! Backbones (work in progress).
