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
    let mut buf = String::with_capacity(32);
    for (i, piece) in text.split('\n').enumerate() {
        if i > 0 {
            flush(&mut buf, &mut f);
            f(Token::ParagraphEnd);
        }
        for chunk in piece.split_ascii_whitespace() {
            if chunk.is_ascii() {
                ascii_words(chunk, &mut buf, &mut f);
            } else if unicode_normalization::is_nfkc_quick(chunk.chars())
                == unicode_normalization::IsNormalized::Yes
            {
                for c in chunk.chars() {
                    push_char(c, &mut buf, &mut f);
                }
            } else {
                for c in chunk.nfkc() {
                    push_char(c, &mut buf, &mut f);
                }
            }
            flush(&mut buf, &mut f);
        }
    }
    flush(&mut buf, &mut f);
    f(Token::ParagraphEnd);
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
    fn folds_case_punctuation_and_width() {
        assert_eq!(normalize_text("Hello,   WORLD!!"), "hello world");
        assert_eq!(normalize_text("ＡＢＣ１２３"), "abc123");
        assert_eq!(normalize_text("“Quoted” — text…"), "quoted text");
    }
}
