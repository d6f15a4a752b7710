//! Deterministic numbers for the benchmarks, without a dependency (a module the bench
//! targets include by path: Cargo does not take a file in a folder of `benches/` for a
//! target of its own).

/// splitmix64.
pub struct Numbers(pub u64);

impl Numbers {
    /// Uniform in [0, 1).
    pub fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }
}
