//! Disjoint sets (union-find) whose representative is always the lowest member, so
//! that what clustering returns never depends on the order of the unions.

/// Disjoint sets over 0..n.
pub(crate) struct Sets(Vec<u32>);

impl Sets {
    /// n singletons.
    pub(crate) fn new(n: usize) -> Self {
        Sets((0..n as u32).collect())
    }

    /// The lowest member of i's set (halving the path on the way).
    pub(crate) fn find(&mut self, mut i: u32) -> u32 {
        while self.0[i as usize] != i {
            let parent = self.0[i as usize];
            self.0[i as usize] = self.0[parent as usize];
            i = parent;
        }
        i
    }

    /// Merge the sets of a and b.
    pub(crate) fn union(&mut self, a: u32, b: u32) {
        let (ra, rb) = (self.find(a), self.find(b));
        let (lo, hi) = if ra < rb { (ra, rb) } else { (rb, ra) };
        self.0[hi as usize] = lo;
    }
}
