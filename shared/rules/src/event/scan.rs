//! The fast line scanner: reads the common shape of an event line (and splits a file into
//! lines) without serde's general machinery, into the same wire structs serde reads. Whatever it
//! does not recognise it leaves to serde (`None`), so the two always agree; see
//! [`super::parse`], which tries it first.

use super::wire::{RawBlock, RawCancel, RawEntitlement, RawEvent, RawHolder, RawMember, RawTeam};

/// A reader for the common shape of an event line: objects, arrays, strings without escapes,
/// booleans and `null`. It reads exactly what serde reads into the raw structs, and gives up
/// (`None`) on anything else — an escape, a number, an unknown or repeated field, a missing
/// required one, bad JSON — so that serde decides such a line, with its error message.
struct Scan<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Scan<'a> {
    fn skip_ws(&mut self) {
        let b = self.text.as_bytes();
        // Lines written by a program have no whitespace between tokens: one test then.
        while let Some(&c) = b.get(self.at)
            && c <= b' '
            && matches!(c, b' ' | b'\t' | b'\n' | b'\r')
        {
            self.at += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip_ws();
        self.text.as_bytes().get(self.at).copied()
    }

    fn eat(&mut self, c: u8) -> Option<()> {
        (self.peek()? == c).then(|| self.at += 1)
    }

    fn word(&mut self, w: &str) -> bool {
        self.skip_ws();
        let hit = self.text.as_bytes()[self.at..].starts_with(w.as_bytes());
        if hit {
            self.at += w.len();
        }
        hit
    }

    fn str(&mut self) -> Option<&'a str> {
        self.eat(b'"')?;
        let b = self.text.as_bytes();
        let start = self.at;
        // Eight bytes at a time up to the first quote, backslash or control character, then
        // byte by byte.
        while let Some(chunk) = b.get(self.at..self.at + 8) {
            let mut word = [0; 8];
            word.copy_from_slice(chunk);
            let hits = string_stops(u64::from_le_bytes(word));
            if hits != 0 {
                self.at += (hits.trailing_zeros() / 8) as usize;
                break;
            }
            self.at += 8;
        }
        loop {
            match *b.get(self.at)? {
                b'"' => break,
                b'\\' => return None,
                c if c < 0x20 => return None,
                _ => self.at += 1,
            }
        }
        let s = &self.text[start..self.at];
        self.at += 1;
        Some(s)
    }

    fn bool(&mut self) -> Option<bool> {
        if self.word("true") {
            Some(true)
        } else if self.word("false") {
            Some(false)
        } else {
            None
        }
    }

    /// `null` as `None`, anything else through `f`.
    fn opt<T>(&mut self, f: impl FnOnce(&mut Self) -> Option<T>) -> Option<Option<T>> {
        if self.peek() == Some(b'n') && self.word("null") {
            Some(None)
        } else {
            f(self).map(Some)
        }
    }

    fn array<T>(&mut self, mut item: impl FnMut(&mut Self) -> Option<T>) -> Option<Vec<T>> {
        self.eat(b'[')?;
        let mut out = Vec::new();
        if self.peek()? == b']' {
            self.at += 1;
            return Some(out);
        }
        loop {
            out.push(item(self)?);
            match self.peek()? {
                b',' => self.at += 1,
                b']' => {
                    self.at += 1;
                    return Some(out);
                }
                _ => return None,
            }
        }
    }

    fn strs(&mut self) -> Option<Vec<&'a str>> {
        self.array(Self::str)
    }

    /// An object whose fields `field` reads (it answers `None` for an unknown or repeated one).
    fn object(&mut self, mut field: impl FnMut(&mut Self, &'a str) -> Option<()>) -> Option<()> {
        self.eat(b'{')?;
        if self.peek()? == b'}' {
            self.at += 1;
            return Some(());
        }
        loop {
            let key = self.str()?;
            self.eat(b':')?;
            field(self, key)?;
            match self.peek()? {
                b',' => self.at += 1,
                b'}' => {
                    self.at += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }
}

/// The bytes of `w` (eight, little-endian) that end a plain JSON string — `"`, `\\` or a control
/// character — as the high bit of each such byte. Bytes above the lowest one flagged may be
/// flagged wrongly (a borrow carries), so only the lowest one is to be read.
fn string_stops(w: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let zero_in = |v: u64| v.wrapping_sub(ONES) & !v & HIGH;
    zero_in(w ^ (ONES * u64::from(b'"')))
        | zero_in(w ^ (ONES * u64::from(b'\\')))
        | (w.wrapping_sub(ONES * 0x20) & !w & HIGH)
}

/// Stores a field's value, refusing a repeated field.
fn once<T>(slot: &mut Option<T>, v: T) -> Option<()> {
    slot.is_none().then(|| *slot = Some(v))
}

/// The raw event of a line of the common shape; `None` leaves the line to serde.
pub(crate) fn scan_event(line: &str) -> Option<RawEvent<&str>> {
    let mut s = Scan { text: line, at: 0 };
    let (mut id, mut at, mut member, mut team, mut entitlement, mut cancel) =
        (None, None, None, None, None, None);
    s.object(|s, key| match key {
        "id" => once(&mut id, s.str()?),
        "at" => once(&mut at, s.str()?),
        "member" => once(&mut member, s.opt(scan_member)?),
        "team" => once(&mut team, s.opt(scan_team)?),
        "entitlement" => once(&mut entitlement, s.opt(scan_entitlement)?),
        "cancel" => once(&mut cancel, s.opt(scan_cancel)?),
        _ => None,
    })?;
    s.skip_ws();
    if s.at != line.len() {
        return None;
    }
    Some(RawEvent {
        id: id?,
        at: at?,
        member: member.flatten(),
        team: team.flatten(),
        entitlement: entitlement.flatten(),
        cancel: cancel.flatten(),
    })
}

fn scan_member<'a>(s: &mut Scan<'a>) -> Option<RawMember<&'a str>> {
    let (mut id, mut email, mut name, mut removed) = (None, None, None, None);
    s.object(|s, key| match key {
        "id" => once(&mut id, s.str()?),
        "email" => once(&mut email, s.opt(Scan::str)?),
        "name" => once(&mut name, s.opt(Scan::str)?),
        "removed" => once(&mut removed, s.opt(Scan::bool)?),
        _ => None,
    })?;
    Some(RawMember {
        id: id?,
        email: email.flatten(),
        name: name.flatten(),
        removed: removed.flatten(),
    })
}

fn scan_team<'a>(s: &mut Scan<'a>) -> Option<RawTeam<&'a str>> {
    let (mut id, mut members) = (None, None);
    s.object(|s, key| match key {
        "id" => once(&mut id, s.str()?),
        "members" => once(&mut members, s.strs()?),
        _ => None,
    })?;
    Some(RawTeam {
        id: id?,
        members: members?,
    })
}

fn scan_cancel<'a>(s: &mut Scan<'a>) -> Option<RawCancel<&'a str>> {
    let mut entitlement = None;
    s.object(|s, key| match key {
        "entitlement" => once(&mut entitlement, s.str()?),
        _ => None,
    })?;
    Some(RawCancel {
        entitlement: entitlement?,
    })
}

fn scan_entitlement<'a>(s: &mut Scan<'a>) -> Option<RawEntitlement<&'a str>> {
    let (mut id, mut kind, mut refs, mut holder, mut guests) = (None, None, None, None, None);
    let (mut start, mut end, mut blocks, mut tz, mut status) = (None, None, None, None, None);
    s.object(|s, key| match key {
        "id" => once(&mut id, s.str()?),
        "kind" => once(&mut kind, s.str()?),
        "refs" => once(&mut refs, s.strs()?),
        "holder" => once(&mut holder, scan_holder(s)?),
        "guests" => once(&mut guests, s.opt(Scan::strs)?),
        "start" => once(&mut start, s.opt(Scan::str)?),
        "end" => once(&mut end, s.opt(Scan::str)?),
        "blocks" => once(&mut blocks, s.opt(|s| s.array(scan_block))?),
        "tz" => once(&mut tz, s.opt(Scan::str)?),
        "status" => once(&mut status, s.opt(Scan::str)?),
        _ => None,
    })?;
    Some(RawEntitlement {
        id: id?,
        kind: kind?,
        refs: refs?,
        holder: holder?,
        guests: guests.flatten(),
        start: start.flatten(),
        end: end.flatten(),
        blocks: blocks.flatten(),
        tz: tz.flatten(),
        status: status.flatten(),
    })
}

fn scan_holder<'a>(s: &mut Scan<'a>) -> Option<RawHolder<&'a str>> {
    let (mut member, mut team) = (None, None);
    s.object(|s, key| match key {
        "member" => once(&mut member, s.opt(Scan::str)?),
        "team" => once(&mut team, s.opt(Scan::str)?),
        _ => None,
    })?;
    Some(RawHolder {
        member: member.flatten(),
        team: team.flatten(),
    })
}

fn scan_block<'a>(s: &mut Scan<'a>) -> Option<RawBlock<&'a str>> {
    let (mut days, mut from, mut to) = (None, None, None);
    s.object(|s, key| match key {
        "days" => once(&mut days, s.strs()?),
        "from" => once(&mut from, s.str()?),
        "to" => once(&mut to, s.str()?),
        _ => None,
    })?;
    Some(RawBlock {
        days: days?,
        from: from?,
        to: to?,
    })
}

/// The number of `\n` in `text`, counted in blocks of 255 bytes with a byte-sized count, which
/// compiles to vector code.
pub(crate) fn count_lines(text: &str) -> usize {
    text.as_bytes()
        .chunks(255)
        .map(|block| usize::from(block.iter().map(|&b| u8::from(b == b'\n')).sum::<u8>()))
        .sum()
}

/// [`str::lines`], finding each `\n` eight bytes at a time (lines of events are long).
pub(crate) struct Lines<'a>(pub(crate) &'a str);

impl<'a> Iterator for Lines<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        if self.0.is_empty() {
            return None;
        }
        let b = self.0.as_bytes();
        const ONES: u64 = 0x0101_0101_0101_0101;
        const HIGH: u64 = 0x8080_8080_8080_8080;
        let mut at = 0;
        // The lowest flagged byte of the has-zero-byte test is the first newline of the word.
        while let Some(chunk) = b.get(at..at + 8) {
            let mut word = [0; 8];
            word.copy_from_slice(chunk);
            let w = u64::from_le_bytes(word) ^ (ONES * u64::from(b'\n'));
            let hits = w.wrapping_sub(ONES) & !w & HIGH;
            if hits != 0 {
                at += (hits.trailing_zeros() / 8) as usize;
                break;
            }
            at += 8;
        }
        while at < b.len() && b[at] != b'\n' {
            at += 1;
        }
        if at == b.len() {
            let line = self.0;
            self.0 = "";
            return Some(line);
        }
        let (line, rest) = (&self.0[..at], &self.0[at + 1..]);
        self.0 = rest;
        Some(line.strip_suffix('\r').unwrap_or(line))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fast_string_reader_stops_where_the_byte_loop_does() {
        // Each stop (and none) at every position of strings around the eight-byte steps, among
        // bytes that are close to the stops or not ASCII.
        for len in 0..20 {
            for at in 0..=len {
                for stop in ["\"", "\\", "\u{1}", "\u{1f}", "\n", ""] {
                    for filler in ["a", "!", "#", "[", "]", " ", "\u{7f}", "é"] {
                        let body: String = (0..len)
                            .map(|i| if i == at { stop } else { filler })
                            .collect();
                        let text = format!("\"{body}\"x");
                        let plain = body.find(['"', '\\']).map_or(body.len(), |i| i);
                        let ctrl = body.find(|c: char| c < ' ').map_or(body.len(), |i| i);
                        let escaped = body.as_bytes().get(plain) == Some(&b'\\');
                        let want = (ctrl >= plain && !escaped).then(|| &body[..plain]);
                        let mut s = Scan { text: &text, at: 0 };
                        assert_eq!(s.str(), want, "{text:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn lines_are_split_as_str_lines_splits_them() {
        for text in [
            "",
            "\n",
            "a",
            "a\n",
            "a\r\n",
            "a\r",
            "a\r\rb\r\n\r\nc",
            "\n\nabc\n",
            "first line of several words\nsecond line, still fairly long\r\nthird\n",
            "é\nü\r\n\u{2028}x\n\n",
            "0123456\n01234567\n012345678\n0123456789abcdef\n",
        ] {
            assert_eq!(
                Lines(text).collect::<Vec<_>>(),
                text.lines().collect::<Vec<_>>(),
                "{text:?}"
            );
        }
    }
}
