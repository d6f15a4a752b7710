//! Where each cell of a set of cells (one resolution) sits in the input, by cell.
//!
//! Why not a hash map of all cells: Gi* and cell clustering look up every cell's k-ring
//! neighbours, and with 100,000 cells a hash map is larger than the cache; each lookup
//! was a miss, and the misses most of Gi*'s time. Cells that share an ancestor three
//! resolutions up share all but their last three digits, so here the ancestors are
//! hashed (a few hundred of them for a city's cells: they stay in cache) and each
//! holds a block of 512 slots indexed by those three digits, in which the neighbours
//! of one cell mostly lie close together. Where the cells are scattered (few per
//! ancestor) the blocks would waste memory; then it is an ordinary hash map.

use ahash::AHashMap;
use h3o::CellIndex;

/// Digits of a cell that index its block's slots.
const DIGITS: u32 = 3;
/// Slots of a block (three 3-bit digits; digit 7 is never used, so 343 are).
const BLOCK: usize = 1 << (3 * DIGITS);

/// An empty slot (positions never reach it: that many cells are refused long before).
const NONE: u32 = u32::MAX;

/// A cell's ancestor key (its index without the unused digits and the slot digits)
/// and its slot in that ancestor's block.
#[inline]
fn place(cell: CellIndex, shift: u32) -> (u64, usize) {
    let raw = u64::from(cell) >> shift;
    (raw >> (3 * DIGITS), raw as usize & (BLOCK - 1))
}

/// The input position of each cell of a set.
pub(crate) enum Positions {
    Blocks {
        /// Bits below the slot digits: the unused digits of the resolution.
        shift: u32,
        /// Block number by ancestor (the index with its last three digits dropped).
        blocks: AHashMap<u64, u32>,
        /// BLOCK slots a block.
        slots: Vec<u32>,
    },
    Map(AHashMap<CellIndex, u32>),
}

impl Positions {
    /// An empty table for `n` cells of resolution `res`, expecting them clustered.
    pub(crate) fn new(n: usize, res: u8) -> Positions {
        if u32::from(res) < DIGITS {
            return Positions::Map(AHashMap::with_capacity(n));
        }
        Positions::Blocks {
            shift: 3 * (15 - u32::from(res)),
            blocks: AHashMap::new(),
            slots: Vec::new(),
        }
    }

    /// Records that `cell`, one of `n` cells, is at `position`; false if the cell was
    /// already there.
    pub(crate) fn insert(&mut self, cell: CellIndex, position: u32, n: usize) -> bool {
        match self {
            Positions::Map(map) => map.insert(cell, position).is_none(),
            Positions::Blocks {
                shift,
                blocks,
                slots,
            } => {
                let (ancestor, slot) = place(cell, *shift);
                let block = match blocks.get(&ancestor) {
                    Some(&b) => b,
                    None => {
                        // Scattered cells: fewer than 16 a block on average (over 128
                        // bytes a cell, several times a map's) buys no locality worth
                        // the memory. Switch once, for good.
                        if blocks.len() >= 16 + n / 16 {
                            *self = Positions::Map(self.to_map());
                            return self.insert(cell, position, n);
                        }
                        let b = blocks.len() as u32;
                        blocks.insert(ancestor, b);
                        slots.resize(slots.len() + BLOCK, NONE);
                        b
                    }
                };
                let slot = &mut slots[block as usize * BLOCK + slot];
                let free = *slot == NONE;
                if free {
                    *slot = position;
                }
                free
            }
        }
    }

    /// Every (cell, position) as a hash map.
    fn to_map(&self) -> AHashMap<CellIndex, u32> {
        match self {
            Positions::Map(map) => map.clone(),
            Positions::Blocks {
                shift,
                blocks,
                slots,
            } => {
                let mut map = AHashMap::with_capacity(blocks.len() * 16);
                for (&ancestor, &block) in blocks {
                    let start = block as usize * BLOCK;
                    for (s, &v) in slots[start..start + BLOCK].iter().enumerate() {
                        if v != NONE {
                            // The dropped digits of a cell are all 7s (unused).
                            let raw = (ancestor << (3 * DIGITS) | s as u64) << *shift;
                            let cell = CellIndex::try_from(raw | ((1u64 << *shift) - 1))
                                .expect("a recorded cell");
                            map.insert(cell, v);
                        }
                    }
                }
                map
            }
        }
    }

    /// The input position of `cell`, if it is in the set.
    #[inline]
    pub(crate) fn get(&self, cell: CellIndex) -> Option<u32> {
        match self {
            Positions::Map(map) => map.get(&cell).copied(),
            Positions::Blocks {
                shift,
                blocks,
                slots,
            } => {
                let (ancestor, slot) = place(cell, *shift);
                let v = slots[*blocks.get(&ancestor)? as usize * BLOCK + slot];
                (v != NONE).then_some(v)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geo::{cell, h3};

    fn table_of(cells: &[u64]) -> Positions {
        let res = CellIndex::try_from(cells[0]).unwrap().resolution();
        let mut t = Positions::new(cells.len(), u8::from(res));
        for (i, &c) in cells.iter().enumerate() {
            assert!(t.insert(CellIndex::try_from(c).unwrap(), i as u32, cells.len()));
        }
        t
    }

    fn check(cells: &[u64], absent: &[u64], want_blocks: bool) {
        let t = table_of(cells);
        assert_eq!(matches!(t, Positions::Blocks { .. }), want_blocks);
        for (i, &c) in cells.iter().enumerate() {
            let c = CellIndex::try_from(c).unwrap();
            assert_eq!(t.get(c), Some(i as u32));
        }
        for &c in absent {
            let c = CellIndex::try_from(c).unwrap();
            assert_eq!(t.get(c), None);
        }
    }

    #[test]
    fn clustered_cells_use_blocks_and_scattered_ones_a_map() {
        let centre = cell(48.85, 2.35, 9).unwrap();
        check(
            &h3::grid_disk(centre, 40).unwrap(),
            &h3::grid_ring(centre, 41).unwrap(),
            true,
        );
        // One cell in each of many far-apart places: the switch to a map mid-way keeps
        // every position recorded before it.
        let scattered: Vec<u64> = (0..2000)
            .map(|i| cell(-80.0 + 0.08 * f64::from(i), -170.0 + 0.17 * f64::from(i), 9).unwrap())
            .collect();
        check(&scattered, &[cell(1.0, 1.0, 9).unwrap()], false);
        // Coarse resolutions (fewer digits than a block takes) are a map from the start.
        let coarse = h3::grid_disk(cell(10.0, 10.0, 1).unwrap(), 2).unwrap();
        check(&coarse, &[], false);
    }

    #[test]
    fn a_second_insert_of_a_cell_is_refused() {
        let c = CellIndex::try_from(cell(1.0, 2.0, 10).unwrap()).unwrap();
        let mut t = Positions::new(2, 10);
        assert!(t.insert(c, 0u32, 2));
        assert!(!t.insert(c, 1, 2));
        assert_eq!(t.get(c), Some(0));
    }
}
