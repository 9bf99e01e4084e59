//! A short list that keeps its first item inline: most lists in the facts and the simulation
//! (reasons of an interval, edges of a pair, members with one address) hold one item, and a
//! heap allocation each would dominate both time and memory at scale.

/// Zero, one (inline) or more (on the heap) items, in insertion order.
#[derive(Clone, Debug, Default)]
pub(crate) enum ShortList<T> {
    /// No item.
    #[default]
    Zero,
    /// One item.
    One(T),
    /// Two or more items (or fewer, after removals).
    Many(Vec<T>),
}

impl<T> ShortList<T> {
    /// The items.
    pub(crate) fn as_slice(&self) -> &[T] {
        match self {
            ShortList::Zero => &[],
            ShortList::One(x) => std::slice::from_ref(x),
            ShortList::Many(v) => v,
        }
    }

    /// The items, mutably.
    pub(crate) fn as_mut_slice(&mut self) -> &mut [T] {
        match self {
            ShortList::Zero => &mut [],
            ShortList::One(x) => std::slice::from_mut(x),
            ShortList::Many(v) => v,
        }
    }

    /// Appends an item.
    pub(crate) fn push(&mut self, x: T) {
        match self {
            ShortList::Zero => *self = ShortList::One(x),
            ShortList::One(_) => {
                let ShortList::One(a) = std::mem::take(self) else {
                    unreachable!()
                };
                *self = ShortList::Many(vec![a, x]);
            }
            ShortList::Many(v) => v.push(x),
        }
    }

    /// Removes and returns the last item.
    pub(crate) fn pop(&mut self) -> Option<T> {
        match self {
            ShortList::Zero => None,
            ShortList::One(_) => match std::mem::take(self) {
                ShortList::One(a) => Some(a),
                _ => unreachable!(),
            },
            ShortList::Many(v) => v.pop(),
        }
    }

    /// The last item, mutably.
    pub(crate) fn last_mut(&mut self) -> Option<&mut T> {
        self.as_mut_slice().last_mut()
    }

    /// Removes every item (keeping a heap buffer for reuse).
    pub(crate) fn clear(&mut self) {
        match self {
            ShortList::Many(v) => v.clear(),
            _ => *self = ShortList::Zero,
        }
    }

    /// Keeps the items for which `f` holds, in order.
    pub(crate) fn retain(&mut self, mut f: impl FnMut(&T) -> bool) {
        match self {
            ShortList::Zero => {}
            ShortList::One(x) => {
                if !f(x) {
                    *self = ShortList::Zero;
                }
            }
            ShortList::Many(v) => v.retain(f),
        }
    }
}

impl<T> std::ops::Deref for ShortList<T> {
    type Target = [T];

    fn deref(&self) -> &[T] {
        self.as_slice()
    }
}

impl<'a, T> IntoIterator for &'a ShortList<T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;

    fn into_iter(self) -> Self::IntoIter {
        self.as_slice().iter()
    }
}

impl<T: PartialEq> ShortList<T> {
    /// Whether `x` is one of the items.
    pub(crate) fn contains(&self, x: &T) -> bool {
        self.as_slice().contains(x)
    }
}

impl<T: Copy> ShortList<T> {
    /// Appends every item of `xs`.
    pub(crate) fn extend_from_slice(&mut self, xs: &[T]) {
        match (&mut *self, xs) {
            (_, []) => {}
            (ShortList::Zero, [x]) => *self = ShortList::One(*x),
            (ShortList::Many(v), xs) => v.extend_from_slice(xs),
            (_, xs) => {
                let mut v = Vec::with_capacity(self.as_slice().len() + xs.len());
                v.extend_from_slice(self.as_slice());
                v.extend_from_slice(xs);
                *self = ShortList::Many(v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_stay_in_order_through_every_operation() {
        let mut f = ShortList::default();
        assert_eq!(f.as_slice(), &[] as &[u32]);
        f.push(1);
        assert_eq!(f.as_slice(), &[1]);
        f.push(2);
        f.extend_from_slice(&[3, 4]);
        assert_eq!(f.as_slice(), &[1, 2, 3, 4]);
        f.retain(|&x| x % 2 == 0);
        assert_eq!(f.as_slice(), &[2, 4]);
        assert_eq!(f.pop(), Some(4));
        *f.last_mut().unwrap() = 7;
        assert!(f.contains(&7) && !f.contains(&2));
        f.clear();
        assert_eq!(f.as_slice(), &[] as &[u32]);
        f.extend_from_slice(&[5]);
        assert_eq!(f.as_slice(), &[5]);
        assert_eq!(f.pop(), Some(5));
        assert_eq!(f.pop(), None);
    }
}
