//! Lenient feed timestamps: RFC 3339 and RFC 2822 first, then the forms feeds use in the
//! wild (ISO without a zone, asctime, RFC 850 two-digit years, JavaScript `Date` strings,
//! date-only values, `GMT+0000`, named zones). A date without a zone is read as UTC.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, TimeZone, Utc};

/// Named zones seen in feeds, with their offset in minutes. Ambiguous US abbreviations
/// without a daylight marker (`ET`, `PT`...) are read as standard time.
const ZONES: &[(&str, i32)] = &[
    ("UT", 0),
    ("UTC", 0),
    ("GMT", 0),
    ("Z", 0),
    ("WET", 0),
    ("BST", 60),
    ("WEST", 60),
    ("CET", 60),
    ("MET", 60),
    ("MEZ", 60),
    ("CEST", 120),
    ("MEST", 120),
    ("MESZ", 120),
    ("EET", 120),
    ("EEST", 180),
    ("MSK", 180),
    ("IST", 330),
    ("SGT", 480),
    ("HKT", 480),
    ("AWST", 480),
    ("JST", 540),
    ("KST", 540),
    ("ACST", 570),
    ("AEST", 600),
    ("AEDT", 660),
    ("NZST", 720),
    ("NZDT", 780),
    ("EST", -300),
    ("EDT", -240),
    ("ET", -300),
    ("CST", -360),
    ("CDT", -300),
    ("CT", -360),
    ("MST", -420),
    ("MDT", -360),
    ("MT", -420),
    ("PST", -480),
    ("PDT", -420),
    ("PT", -480),
    ("AKST", -540),
    ("AKDT", -480),
    ("HST", -600),
];

/// Zone-less layouts, tried in order after the zone token is removed.
const DATETIME_FORMATS: &[&str] = &[
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M",
    "%Y%m%dT%H%M%S",
    "%Y/%m/%d %H:%M:%S",
    "%a, %d %b %Y %H:%M:%S",
    "%a, %d %b %Y %H:%M",
    "%d %b %Y %H:%M:%S",
    "%d %b %Y %H:%M",
    "%a, %d %b %y %H:%M:%S",
    "%d %b %y %H:%M:%S",
    "%a %b %d %Y %H:%M:%S",
    "%a %b %d %H:%M:%S %Y",
    "%A, %d-%b-%y %H:%M:%S",
    "%A, %d-%b-%Y %H:%M:%S",
    "%d-%b-%Y %H:%M:%S",
    "%B %d, %Y %H:%M:%S",
    "%b %d, %Y %H:%M:%S",
];
const DATE_FORMATS: &[&str] = &[
    "%Y-%m-%d",
    "%a, %d %b %Y",
    "%d %b %Y",
    "%Y%m%d",
    "%B %d, %Y",
    "%b %d, %Y",
    "%Y/%m/%d",
];

/// Parses a feed timestamp; `None` when no known form matches.
pub fn parse_feed_date(raw: &str) -> Option<DateTime<Utc>> {
    let s = raw.trim();
    if s.is_empty() {
        return None;
    }
    if let Ok(d) = DateTime::parse_from_rfc3339(s) {
        return Some(d.to_utc());
    }
    if let Ok(d) = DateTime::parse_from_rfc2822(s) {
        return Some(d.to_utc());
    }
    // Whitespace collapsed (asctime pads days with a space); a trailing "(CEST)" comment,
    // as JavaScript prints, dropped since a numeric offset precedes it.
    let mut s = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if let Some(open) = s.rfind(" (").filter(|_| s.ends_with(')')) {
        s.truncate(open);
    }
    let (body, offset_min) = split_zone(&s);
    let offset = FixedOffset::east_opt(offset_min.unwrap_or(0) * 60)?;
    let naive = DATETIME_FORMATS
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(&body, f).ok())
        .or_else(|| {
            DATE_FORMATS
                .iter()
                .find_map(|f| NaiveDate::parse_from_str(&body, f).ok())
                .and_then(|d| d.and_hms_opt(0, 0, 0))
        })?;
    offset
        .from_local_datetime(&naive)
        .single()
        .map(|d| d.to_utc())
}

/// Removes the zone (a token such as `CET`, `+0200`, `GMT+0000`, or an offset or `Z` glued
/// to the time) and returns it in minutes east of UTC.
fn split_zone(s: &str) -> (String, Option<i32>) {
    let tokens: Vec<&str> = s.split(' ').collect();
    // Any token may be the zone: asctime-like forms put it before the year. Some feeds
    // write it twice ("+0000 GMT", "GMT -0500"): every zone token goes, and a numeric
    // offset, being explicit, wins over a name.
    let zones: Vec<(usize, i32)> = tokens
        .iter()
        .enumerate()
        .skip(1)
        .filter_map(|(i, tok)| zone_token(tok).map(|off| (i, off)))
        .collect();
    if let Some(&(_, first)) = zones.first() {
        let offset = zones
            .iter()
            .find(|(i, _)| tokens[*i].starts_with(['+', '-']))
            .map_or(first, |(_, off)| *off);
        let rest: Vec<&str> = tokens
            .iter()
            .enumerate()
            .filter(|(j, _)| !zones.iter().any(|(i, _)| i == j))
            .map(|(_, t)| *t)
            .collect();
        return (rest.join(" "), Some(offset));
    }
    // ISO-like: offset or Z glued to the time.
    if let Some(stripped) = s.strip_suffix(['Z', 'z']) {
        return (stripped.to_string(), Some(0));
    }
    if let Some(t) = s.rfind('T').or_else(|| s.rfind(' ')) {
        if let Some(pos) = s[t..].rfind(['+', '-']).map(|p| p + t) {
            if let Some(off) = numeric_offset(&s[pos..]) {
                return (s[..pos].to_string(), Some(off));
            }
        }
    }
    (s.to_string(), None)
}

fn zone_token(tok: &str) -> Option<i32> {
    let upper = tok.to_ascii_uppercase();
    if let Some((_, off)) = ZONES.iter().find(|(name, _)| *name == upper) {
        return Some(*off);
    }
    for prefix in ["GMT", "UTC", "UT"] {
        if let Some(rest) = upper.strip_prefix(prefix) {
            if let Some(off) = numeric_offset(rest) {
                return Some(off);
            }
        }
    }
    if tok.starts_with(['+', '-']) {
        return numeric_offset(tok);
    }
    None
}

/// `+0200`, `-05:00`, `+02`, `-5`.
fn numeric_offset(s: &str) -> Option<i32> {
    let sign = match s.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let digits: String = s[1..].chars().filter(|c| *c != ':').collect();
    if digits.is_empty() || digits.len() > 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (h, m) = if digits.len() <= 2 {
        (digits.parse::<i32>().ok()?, 0)
    } else {
        let (h, m) = digits.split_at(digits.len() - 2);
        (h.parse::<i32>().ok()?, m.parse::<i32>().ok()?)
    };
    (h <= 14 && m < 60).then_some(sign * (h * 60 + m))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    #[test]
    fn wild_forms() {
        for (raw, want) in [
            ("2004-07-08 23:56:58", "2004-07-08T23:56:58Z"),
            ("2004-07-08T23:56:58", "2004-07-08T23:56:58Z"),
            ("2004-07-08T23:56:58-0500", "2004-07-09T04:56:58Z"),
            ("2004-07-08t23:56:58z", "2004-07-08T23:56:58Z"),
            ("Thu, 01 Jan 2004", "2004-01-01T00:00:00Z"),
            ("Thu Aug 30 2012 17:26:16 +0200", "2012-08-30T15:26:16Z"),
            (
                "Thu Aug 30 2012 17:26:16 GMT+0200 (CEST)",
                "2012-08-30T15:26:16Z",
            ),
            ("Sun Jan  4 16:29:06 2004", "2004-01-04T16:29:06Z"),
            ("Sun Jan  4 16:29:06 PST 2004", "2004-01-05T00:29:06Z"),
            ("Thursday, 01-Jan-04 19:48:21 GMT", "2004-01-01T19:48:21Z"),
            ("Thu, 01 Jan 2004 19:48:21 GMT+0000", "2004-01-01T19:48:21Z"),
            (
                "Thu, 01 Jan 2004 19:48:21 +0000 GMT",
                "2004-01-01T19:48:21Z",
            ),
            (
                "Thu, 01 Jan 2004 19:48:21 GMT -0500",
                "2004-01-02T00:48:21Z",
            ),
            (
                "Thu, 01 Jan 2004 19:48:21 +0200 CEST",
                "2004-01-01T17:48:21Z",
            ),
            ("Thu, 01 Jan 2004 19:48:21 CET", "2004-01-01T18:48:21Z"),
            ("Thu, 01 Jan 2004 19:48:21 MEST", "2004-01-01T17:48:21Z"),
            ("Thu, 01 Jan 2004 19:48:21 ET", "2004-01-02T00:48:21Z"),
            ("Thu, 01 Jan 2004 19:48:21 PDT", "2004-01-02T02:48:21Z"),
            ("Thu, 01 Jan 04 19:48:21 GMT", "2004-01-01T19:48:21Z"),
            ("2004-07-08", "2004-07-08T00:00:00Z"),
            ("2004-07-08T23:56Z", "2004-07-08T23:56:00Z"),
            ("20040708T235658Z", "2004-07-08T23:56:58Z"),
            (
                "Sun, 04 Jan 2004 16:29:06 -0800 (PST)",
                "2004-01-05T00:29:06Z",
            ),
            (
                "Thu, 01 Jan 2004 19:48:21 UTC+01:00",
                "2004-01-01T18:48:21Z",
            ),
            ("January 5, 2004 10:00:00", "2004-01-05T10:00:00Z"),
            ("2004-07-08 23:56:58.123 +02:00", "2004-07-08T21:56:58.123Z"),
        ] {
            assert_eq!(parse_feed_date(raw), Some(utc(want)), "{raw}");
        }
        assert_eq!(parse_feed_date("soon"), None);
        assert_eq!(parse_feed_date(""), None);
    }
}
