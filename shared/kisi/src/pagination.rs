//! Reading Kisi's `X-Collection-Range` and proving a paged listing complete.
//!
//! Kisi lists are bare JSON arrays; the header `start-end/total` (or `*/total` for an empty
//! page) is the only statement of how many records exist. `end` is `offset + limit - 1` even
//! past the total (the spec's own example: 15 items, offset 10, limit 10 → `10-19/15`), so a
//! page holds `min(end + 1, total) - start` items. A listing that does not add up is an error:
//! reading it as "fewer members" would revoke real people's access.

use crate::KisiError;

/// A parsed `X-Collection-Range`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CollectionRange {
    /// `(start, end)`, or `None` for the empty form `*/total`.
    pub span: Option<(u64, u64)>,
    /// Items in the whole collection.
    pub total: u64,
}

impl CollectionRange {
    /// Parses `start-end/total` or `*/total`.
    pub fn parse(s: &str) -> Option<Self> {
        let (span, total) = s.trim().split_once('/')?;
        let total = total.parse().ok()?;
        if span == "*" {
            return Some(Self { span: None, total });
        }
        let (start, end) = span.split_once('-')?;
        let (start, end) = (start.parse().ok()?, end.parse().ok()?);
        (end >= start).then_some(Self {
            span: Some((start, end)),
            total,
        })
    }
}

/// Consistency checks across the pages of one listing.
#[derive(Debug)]
pub(crate) struct PageCheck<'a> {
    what: &'a str,
    total: Option<u64>,
}

impl<'a> PageCheck<'a> {
    pub(crate) fn new(what: &'a str) -> Self {
        Self { what, total: None }
    }

    pub(crate) fn fail(&self, reason: &str) -> KisiError {
        KisiError::IncompleteRead {
            what: self.what.to_owned(),
            reason: reason.to_owned(),
        }
    }

    /// Checks one page read at `offset` with `count` items; `Ok(true)` when the listing is
    /// complete.
    pub(crate) fn page(
        &mut self,
        offset: u64,
        count: u64,
        range: CollectionRange,
    ) -> Result<bool, KisiError> {
        if let Some(t) = self.total
            && t != range.total
        {
            return Err(self.fail(&format!(
                "the total changed from {t} to {} while paging",
                range.total
            )));
        }
        self.total = Some(range.total);
        match range.span {
            None => {
                if count != 0 {
                    return Err(self.fail(&format!(
                        "an empty range (*/{}) came with {count} items",
                        range.total
                    )));
                }
                if offset < range.total {
                    return Err(self.fail(&format!(
                        "an empty page at offset {offset} before the total of {}",
                        range.total
                    )));
                }
                Ok(true)
            }
            Some((start, end)) => {
                if start != offset {
                    return Err(self.fail(&format!(
                        "asked for offset {offset}, got a page starting at {start}"
                    )));
                }
                let expected = (end + 1).min(range.total).saturating_sub(start);
                if count != expected {
                    return Err(self.fail(&format!(
                        "short page: {count} items where the range {start}-{end}/{} announces {expected}",
                        range.total
                    )));
                }
                if count == 0 {
                    return Err(self.fail(&format!(
                        "an empty page at offset {offset} before the total of {}",
                        range.total
                    )));
                }
                Ok(offset + count >= range.total)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_forms_and_refuses_garbage() {
        assert_eq!(
            CollectionRange::parse("10-19/15"),
            Some(CollectionRange {
                span: Some((10, 19)),
                total: 15
            })
        );
        assert_eq!(
            CollectionRange::parse("*/0"),
            Some(CollectionRange {
                span: None,
                total: 0
            })
        );
        assert_eq!(CollectionRange::parse("9-3/15"), None);
        assert_eq!(CollectionRange::parse("0-9"), None);
        assert_eq!(CollectionRange::parse("a-b/c"), None);
    }

    #[test]
    fn the_spec_example_last_page_is_complete_with_five_items() {
        let mut c = PageCheck::new("t");
        assert!(
            !c.page(0, 10, CollectionRange::parse("0-9/15").unwrap())
                .unwrap()
        );
        assert!(
            c.page(10, 5, CollectionRange::parse("10-19/15").unwrap())
                .unwrap()
        );
    }

    #[test]
    fn a_short_page_before_the_total_is_an_error_not_the_end() {
        let mut c = PageCheck::new("t");
        let err = c
            .page(0, 9, CollectionRange::parse("0-9/15").unwrap())
            .unwrap_err();
        assert!(matches!(err, KisiError::IncompleteRead { .. }), "{err}");
    }

    #[test]
    fn an_empty_page_before_the_total_is_an_error() {
        let mut c = PageCheck::new("t");
        assert!(
            c.page(0, 0, CollectionRange::parse("*/3").unwrap())
                .is_err()
        );
        let mut c = PageCheck::new("t");
        assert!(
            c.page(0, 0, CollectionRange::parse("*/0").unwrap())
                .unwrap()
        );
    }

    #[test]
    fn a_changing_total_or_wrong_start_is_an_error() {
        let mut c = PageCheck::new("t");
        c.page(0, 2, CollectionRange::parse("0-1/5").unwrap())
            .unwrap();
        assert!(
            c.page(2, 2, CollectionRange::parse("2-3/6").unwrap())
                .is_err()
        );
        let mut c = PageCheck::new("t");
        assert!(
            c.page(2, 2, CollectionRange::parse("0-1/5").unwrap())
                .is_err()
        );
    }
}
