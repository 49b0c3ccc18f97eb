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
    fn folds_case_punctuation_and_width() {
        assert_eq!(normalize_text("Hello,   WORLD!!"), "hello world");
        assert_eq!(normalize_text("ＡＢＣ１２３"), "abc123");
        assert_eq!(normalize_text("“Quoted” — text…"), "quoted text");
    }
}
