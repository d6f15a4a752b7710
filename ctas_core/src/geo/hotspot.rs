//! Getis-Ord Gi* hotspots on the H3 grid.
//!
//! For cell i with value xᵢ among n cells, and weights wᵢⱼ to the cells j of its k-ring
//! (itself included, as the "star" asks):
//!
//! `Gᵢ* = (Σⱼ wᵢⱼ xⱼ − x̄ Σⱼ wᵢⱼ) / (S · √((n Σⱼ wᵢⱼ² − (Σⱼ wᵢⱼ)²) / (n − 1)))`
//!
//! with x̄ the mean and S the population standard deviation of all n values. Only cells
//! in the input are neighbours: a cell with no value is not a zero, it is unknown (as
//! in PySAL's esda with weights built over the input and CARTO's GETIS_ORD_H3). The
//! z-score is Gᵢ* itself; the p-value is two-sided, 2 · (1 − Φ(|z|)).

use h3o::CellIndex;

use super::h3::{GeoError, WeightedCells, MAX_K};
use super::positions::Positions;

/// How a neighbour's weight falls with its grid distance d from the cell, for a
/// bandwidth of h = k + 1 rings (so the outermost ring still counts): u = d / h.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kernel {
    /// 1 for every cell of the k-ring (binary weights).
    Uniform,
    /// 1 − u.
    Triangular,
    /// 1 − u² (Epanechnikov).
    Quadratic,
    /// (1 − u²)².
    Quartic,
    /// exp(−u²/2).
    Gaussian,
}

impl Kernel {
    /// The kernel names accepted by [`Kernel::parse`].
    pub const NAMES: &'static [&'static str] =
        &["uniform", "triangular", "quadratic", "quartic", "gaussian"];

    /// The kernel with this name (case-insensitive).
    pub fn parse(name: &str) -> Result<Kernel, GeoError> {
        Ok(match name.trim().to_ascii_lowercase().as_str() {
            "uniform" => Kernel::Uniform,
            "triangular" => Kernel::Triangular,
            "quadratic" | "epanechnikov" => Kernel::Quadratic,
            "quartic" => Kernel::Quartic,
            "gaussian" => Kernel::Gaussian,
            _ => return Err(GeoError::Kernel(name.to_owned())),
        })
    }

    /// The weight at grid distance `d` within a k-ring.
    pub fn weight(self, d: u32, k: u32) -> f64 {
        let u = f64::from(d) / f64::from(k + 1);
        match self {
            Kernel::Uniform => 1.0,
            Kernel::Triangular => 1.0 - u,
            Kernel::Quadratic => 1.0 - u * u,
            Kernel::Quartic => (1.0 - u * u).powi(2),
            Kernel::Gaussian => (-0.5 * u * u).exp(),
        }
    }
}

/// One cell's hotspot statistic.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hotspot {
    /// The cell.
    pub cell: u64,
    /// Gi*, a z-score: high is a cluster of high values, low of low ones.
    pub z_score: f64,
    /// Two-sided p-value of the z-score under the normal approximation.
    pub p_value: f64,
}

/// Σ wᵢⱼxⱼ, Σ wᵢⱼ and Σ wᵢⱼ² over one cell's neighbourhood.
#[derive(Default)]
struct Sums {
    wx: f64,
    w: f64,
    w2: f64,
}

/// What a neighbour is looked up in, for the cell at input position `at`.
struct Neighbours<'a> {
    at: u32,
    index: &'a Positions,
    weights: &'a [f64],
    values: &'a [f64],
}

impl Neighbours<'_> {
    #[inline]
    fn add(&self, sums: &mut Sums, nb: CellIndex, d: u32) {
        // The cell itself (d = 0) needs no lookup: one in k-ring size fewer.
        let j = if d == 0 {
            Some(self.at)
        } else {
            self.index.get(nb)
        };
        if let Some(j) = j {
            let wij = self.weights[d as usize];
            sums.wx += wij * self.values[j as usize];
            sums.w += wij;
            sums.w2 += wij * wij;
        }
    }
}

/// Two-sided p-value of a standard normal z-score.
pub fn two_sided_p(z: f64) -> f64 {
    libm::erfc(z.abs() / std::f64::consts::SQRT_2)
}

/// Gi* for every cell, in input order. Cells must be distinct and share a resolution;
/// with fewer than two cells, or all values equal, z-scores are NaN (undefined).
pub fn getis_ord(
    cells: &[u64],
    values: &[f64],
    k: i32,
    kernel: Kernel,
) -> Result<Vec<Hotspot>, GeoError> {
    if !(0..=MAX_K).contains(&k) {
        return Err(GeoError::K(k));
    }
    let k = k as u32;
    let WeightedCells {
        cells: parsed,
        position: index,
    } = WeightedCells::parse(cells, values, "values")?;
    let n = cells.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let s = (values.iter().map(|x| x * x).sum::<f64>() / n - mean * mean)
        .max(0.0)
        .sqrt();
    let weights: Vec<f64> = (0..=k).map(|d| kernel.weight(d, k)).collect();
    let mut out = Vec::with_capacity(cells.len());
    let mut every = crate::interrupt::Every::default();
    for (at, (&c, &cell)) in cells.iter().zip(&parsed).enumerate() {
        every.tick();
        let neighbours = Neighbours {
            at: at as u32,
            index: &index,
            weights: &weights,
            values,
        };
        // The fast walk fails only near a pentagon; then the exact one starts over.
        let mut sums = Sums::default();
        let mut fast_ok = !cell.is_pentagon();
        if fast_ok {
            for step in cell.grid_disk_distances_fast(k) {
                match step {
                    Some((nb, d)) => neighbours.add(&mut sums, nb, d),
                    None => {
                        fast_ok = false;
                        break;
                    }
                }
            }
        }
        if !fast_ok {
            sums = Sums::default();
            for (nb, d) in cell.grid_disk_distances_safe(k) {
                neighbours.add(&mut sums, nb, d);
            }
        }
        let Sums { wx, w, w2 } = sums;
        let z = (wx - mean * w) / (s * ((n * w2 - w * w) / (n - 1.0)).sqrt());
        out.push(Hotspot {
            cell: c,
            z_score: z,
            p_value: two_sided_p(z),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geo::cell;

    #[test]
    fn cartos_documented_example() {
        // Three cells far apart, each alone in its 1-ring: CARTO's GETIS_ORD_H3 example.
        let cells = [
            cell(40.0, -3.0, 7).unwrap(),
            cell(-33.0, 151.0, 7).unwrap(),
            cell(35.0, 139.0, 7).unwrap(),
        ];
        let got = getis_ord(&cells, &[51.0, 28.0, 19.0], 1, Kernel::Uniform).unwrap();
        let want = [
            1.3606194139870578,
            -0.34633948719670504,
            -1.0142799267903513,
        ];
        for (g, w) in got.iter().zip(want) {
            assert!((g.z_score - w).abs() < 1e-12, "{} vs {w}", g.z_score);
        }
    }

    #[test]
    fn a_hot_neighbourhood_is_hot_and_the_p_value_is_two_sided() {
        let centre = cell(48.85, 2.35, 8).unwrap();
        let disk = crate::geo::h3::grid_disk(centre, 4).unwrap();
        let values: Vec<f64> = (0..disk.len())
            .map(|i| if i < 7 { 50.0 } else { 1.0 })
            .collect();
        let got = getis_ord(&disk, &values, 1, Kernel::Uniform).unwrap();
        assert!(got[0].z_score > 3.0, "{:?}", got[0]);
        assert!(got[0].p_value < 0.01);
        assert!((two_sided_p(1.959963984540054) - 0.05).abs() < 1e-12);
        assert_eq!(two_sided_p(0.0), 1.0);
    }

    #[test]
    fn kernels_fall_with_distance_and_bad_input_is_named() {
        for name in Kernel::NAMES {
            let kern = Kernel::parse(name).unwrap();
            assert_eq!(kern.weight(0, 2), 1.0, "{name}");
            assert!(kern.weight(2, 2) > 0.0 && kern.weight(2, 2) <= kern.weight(1, 2));
        }
        assert!(Kernel::parse("cosine")
            .unwrap_err()
            .to_string()
            .starts_with("kernel must be one of"));
        let c = cell(0.0, 0.0, 5).unwrap();
        assert!(matches!(
            getis_ord(&[c], &[1.0, 2.0], 1, Kernel::Uniform),
            Err(GeoError::Lengths { .. })
        ));
        assert!(matches!(
            getis_ord(&[c, c], &[1.0, 2.0], 1, Kernel::Uniform),
            Err(GeoError::DuplicateCells)
        ));
        assert!(matches!(
            getis_ord(&[c], &[f64::NAN], 1, Kernel::Uniform),
            Err(GeoError::Value { .. })
        ));
    }
}
