//! lthnet-data (work in progress).
