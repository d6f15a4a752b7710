//! Character positions of byte offsets: what SQL's `substr` and `position` count.

/// 1-based character positions of byte offsets in `text`, for offsets on character
/// boundaries.
pub struct CharPositions<'a> {
    text: &'a str,
    ascii: bool,
    /// Sorted byte offsets and their character counts, filled on demand.
    marks: Vec<(usize, usize)>,
}

impl<'a> CharPositions<'a> {
    /// Positions in `text` of the byte `offsets` that will be asked for (others are
    /// counted when asked).
    pub fn new(text: &'a str, offsets: impl Iterator<Item = usize>) -> Self {
        let ascii = text.is_ascii();
        let mut marks = Vec::new();
        if !ascii {
            let mut offs: Vec<usize> = offsets.collect();
            offs.sort_unstable();
            offs.dedup();
            let (mut at, mut chars) = (0, 0);
            for o in offs {
                chars += text[at..o].chars().count();
                at = o;
                marks.push((o, chars));
            }
        }
        CharPositions { text, ascii, marks }
    }

    /// The 1-based character position of byte offset `byte`.
    pub fn of(&self, byte: usize) -> i32 {
        let chars = if self.ascii {
            byte
        } else {
            match self.marks.binary_search_by_key(&byte, |&(o, _)| o) {
                Ok(i) => self.marks[i].1,
                Err(_) => self.text[..byte].chars().count(),
            }
        };
        i32::try_from(chars + 1).unwrap_or(i32::MAX)
    }
}
