//! Text normalization for duplicate detection: two copies of an article that differ only
//! in Unicode form, Arabic orthographic variants, case, punctuation or spacing normalize
//! to the same string.

use unicode_normalization::UnicodeNormalization;

fn fold_char(c: char) -> Option<char> {
    Some(match c {
        // Arabic diacritics (harakat, tanween, shadda, sukun), superscript alef, tatweel.
        '\u{064B}'..='\u{0652}' | '\u{0670}' | '\u{0640}' => return None,
        // Alef variants (madda, hamza above/below, wasla) to bare alef.
        'آ' | 'أ' | 'إ' | 'ٱ' => 'ا',
        'ى' => 'ي',
        'ة' => 'ه',
        // Arabic-Indic and Eastern Arabic-Indic digits.
        '\u{0660}'..='\u{0669}' => char::from(b'0' + (c as u32 - 0x0660) as u8),
        '\u{06F0}'..='\u{06F9}' => char::from(b'0' + (c as u32 - 0x06F0) as u8),
        c => c,
    })
}

/// Normalized words of `text`: NFKC, Arabic folding, lower case; punctuation and symbols
/// separate words and are dropped.
pub fn normalized_words(text: &str) -> impl Iterator<Item = String> + '_ {
    let mut chars = text
        .nfkc()
        .filter_map(fold_char)
        .flat_map(char::to_lowercase)
        .peekable();
    std::iter::from_fn(move || {
        let mut word = String::new();
        loop {
            match chars.next() {
                Some(c) if c.is_alphanumeric() || is_joiner(c) => word.push(c),
                Some(_) if word.is_empty() => continue,
                Some(_) => return Some(word),
                None if word.is_empty() => return None,
                None => return Some(word),
            }
        }
    })
}

/// Combining marks kept inside words (Indic vowel signs, etc.) after Arabic folding.
fn is_joiner(c: char) -> bool {
    matches!(c, '\u{0300}'..='\u{036F}' | '\u{0900}'..='\u{0DFF}' | '\u{200C}' | '\u{200D}')
}

/// What [`for_each_token`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Token<'a> {
    /// A normalized word, as [`normalized_words`] yields it.
    Word(&'a str),
    /// A line break, and the end of the text.
    ParagraphEnd,
}

/// Calls `f` with each normalized word of `text` and each paragraph end, without
/// allocating per word: this is the fingerprinting hot path.
///
/// The text is cut at ASCII whitespace (NFKC never composes across it), and each piece
/// takes the cheapest path that gives the same result as normalizing the whole text:
/// plain ASCII, already-NFKC Unicode, or NFKC proper.
pub fn for_each_token(text: &str, mut f: impl FnMut(Token<'_>)) {
    for_each_token_in_pieces(text, |t, _| f(t));
}

/// [`for_each_token`], with each word's piece of the raw text (the run between ASCII
/// whitespace it came from, empty for paragraph ends), for callers that look at what
/// normalization drops: case and punctuation.
pub fn for_each_token_in_pieces(text: &str, mut f: impl FnMut(Token<'_>, &str)) {
    let table = char_table();
    let mut buf = String::with_capacity(32);
    for (i, piece) in text.split('\n').enumerate() {
        if i > 0 {
            f(Token::ParagraphEnd, "");
        }
        for chunk in piece.split_ascii_whitespace() {
            let mut f = |t: Token<'_>| f(t, chunk);
            if chunk.is_ascii() {
                ascii_words(chunk, &mut buf, &mut f);
            } else if chunk.chars().all(|c| table.is_simple(c)) {
                for c in chunk.chars() {
                    table.push(c, &mut buf, &mut f);
                }
            } else {
                for c in chunk.nfkc() {
                    push_char(c, &mut buf, &mut f);
                }
            }
            flush(&mut buf, &mut f);
        }
    }
    f(Token::ParagraphEnd, "");
}

/// What normalization does to each character of the Basic Multilingual Plane, computed
/// once from the same functions the slow path calls: the per-character Unicode lookups
/// (NFKC quick check, combining class, case mapping, alphabetic property) were most of
/// the fingerprinting time for non-Latin text.
struct CharTable(Vec<u32>);

/// The character can take the fast path: NFKC leaves it alone wherever it stands (quick
/// check Yes, and either a starter or a mark that folding deletes, so reordering marks
/// cannot change the result).
const SIMPLE: u32 = 1 << 24;
/// Folding deletes it (Arabic diacritics, tatweel).
const SKIP: u32 = 1 << 25;
/// It is part of a word; the low 21 bits are its folded lower-case form.
const WORD: u32 = 1 << 26;
/// Its lower-case form is more than one character: ask `char::to_lowercase`.
const MULTI_LOWER: u32 = 1 << 27;
const CHAR_BITS: u32 = (1 << 21) - 1;

fn char_table() -> &'static CharTable {
    static TABLE: std::sync::OnceLock<CharTable> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| CharTable((0..=0xFFFF).map(classify).collect()))
}

/// The rule behind [`SIMPLE`], for any character.
fn takes_fast_path(c: char) -> bool {
    unicode_normalization::is_nfkc_quick(std::iter::once(c))
        == unicode_normalization::IsNormalized::Yes
        && (unicode_normalization::char::canonical_combining_class(c) == 0
            || fold_char(c).is_none())
}

fn classify(code: u32) -> u32 {
    let Some(c) = char::from_u32(code) else {
        return 0; // surrogates never occur in a str
    };
    let mut flags = if takes_fast_path(c) { SIMPLE } else { 0 };
    let Some(folded) = fold_char(c) else {
        return flags | SKIP;
    };
    if folded.is_alphanumeric() || is_joiner(folded) {
        flags |= WORD;
        let mut lower = folded.to_lowercase();
        match (lower.next(), lower.next()) {
            (Some(l), None) => flags |= l as u32,
            _ => flags |= MULTI_LOWER,
        }
    }
    flags
}

impl CharTable {
    fn is_simple(&self, c: char) -> bool {
        match self.0.get(c as usize) {
            Some(entry) => entry & SIMPLE != 0,
            // Outside the BMP: CJK extensions, historic scripts, emoji. Rare enough for
            // the generic checks.
            None => takes_fast_path(c),
        }
    }

    /// Same effect as [`push_char`] for a character that [`Self::is_simple`] accepted.
    fn push(&self, c: char, buf: &mut String, f: &mut impl FnMut(Token<'_>)) {
        let Some(&entry) = self.0.get(c as usize) else {
            return push_char(c, buf, f);
        };
        if entry & SKIP != 0 {
            return;
        }
        if entry & WORD == 0 {
            return flush(buf, f);
        }
        if entry & MULTI_LOWER != 0 {
            let folded = fold_char(c).unwrap_or(c);
            buf.extend(folded.to_lowercase());
        } else if let Some(lower) = char::from_u32(entry & CHAR_BITS) {
            buf.push(lower);
        }
    }
}

/// Words of an ASCII chunk: runs of letters and digits, lower-cased; handed out without
/// copying when they are lower case already.
fn ascii_words(chunk: &str, buf: &mut String, f: &mut impl FnMut(Token<'_>)) {
    let bytes = chunk.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_alphanumeric() {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_alphanumeric() {
            i += 1;
        }
        let word = &chunk[start..i];
        if word.bytes().any(|b| b.is_ascii_uppercase()) {
            buf.clear();
            buf.push_str(word);
            buf.make_ascii_lowercase();
            f(Token::Word(buf));
            buf.clear();
        } else {
            f(Token::Word(word));
        }
    }
}

fn flush(buf: &mut String, f: &mut impl FnMut(Token<'_>)) {
    if !buf.is_empty() {
        f(Token::Word(buf));
        buf.clear();
    }
}

fn push_char(c: char, buf: &mut String, f: &mut impl FnMut(Token<'_>)) {
    if c.is_ascii() {
        if c.is_ascii_alphanumeric() {
            buf.push(c.to_ascii_lowercase());
        } else {
            flush(buf, f);
        }
        return;
    }
    let Some(c) = fold_char(c) else { return };
    if c.is_alphanumeric() || is_joiner(c) {
        buf.extend(c.to_lowercase());
    } else {
        flush(buf, f);
    }
}

/// The normalized text as one string of single-space-separated words.
pub fn normalize_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for w in normalized_words(text) {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&w);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_arabic_variants() {
        assert_eq!(normalize_text("إنَّ الأمـــر"), normalize_text("ان الامر"));
        assert_eq!(normalize_text("مدرسة على"), normalize_text("مدرسه علي"));
        assert_eq!(normalize_text("عام ٢٠٢٥"), "عام 2025");
    }

    #[test]
    fn word_callback_matches_iterator() {
        for text in [
            "Hello,   WORLD!!\nإنَّ الأمـــر ٢٠٢٥",
            "ＡＢＣ１２３ “Quoted” — text…",
        ] {
            let mut words = Vec::new();
            let mut paragraphs = 0;
            for_each_token(text, |t| match t {
                Token::Word(w) => words.push(w.to_string()),
                Token::ParagraphEnd => paragraphs += 1,
            });
            assert_eq!(words, normalized_words(text).collect::<Vec<_>>());
            assert_eq!(paragraphs, text.lines().count());
        }
    }

    #[test]
    fn fast_path_matches_full_normalization_for_every_bmp_character() {
        // Alone, after a letter, and between marks that NFKC would reorder or compose.
        for code in 0x80..=0xFFFFu32 {
            let Some(c) = char::from_u32(code) else {
                continue;
            };
            for text in [
                format!("{c}"),
                format!("a{c}b"),
                format!("\u{0628}\u{0651}{c}\u{064E}x"),
                format!("e{c}\u{0301}"),
                format!("\u{0627}{c}\u{0654}"),
                // Marks that NFKC keeps but reorders by combining class.
                format!("x\u{0305}{c}"),
                format!("x{c}\u{0316}"),
            ] {
                let mut words = Vec::new();
                for_each_token(&text, |t| {
                    if let Token::Word(w) = t {
                        words.push(w.to_string())
                    }
                });
                assert_eq!(
                    words,
                    normalized_words(&text).collect::<Vec<_>>(),
                    "U+{code:04X} in {text:?}"
                );
            }
        }
    }

    #[test]
    fn folds_case_punctuation_and_width() {
        assert_eq!(normalize_text("Hello,   WORLD!!"), "hello world");
        assert_eq!(normalize_text("ＡＢＣ１２３"), "abc123");
        assert_eq!(normalize_text("“Quoted” — text…"), "quoted text");
    }
}
