//! The admin listener's status page: one server-rendered HTML page, no script, readable
//! on a phone, with what needs attention first (failing feeds, failed items).

use std::fmt::Write as _;
use std::time::Duration;

use chrono::{DateTime, Utc};
use html_escape::{encode_double_quoted_attribute as attr, encode_text as text};
use newsriver_store::{FeedState, Retrying};

use crate::stats::RecentArticle;

/// Everything the page shows, read at one moment.
pub struct Snapshot {
    pub uptime: Duration,
    pub not_ready: Option<String>,
    pub fetched: u64,
    pub published: u64,
    pub duplicates: u64,
    pub failed: u64,
    pub remembered: u64,
    /// (name, depth, capacity) of each channel.
    pub queues: Vec<(&'static str, usize, usize)>,
    pub feeds: Vec<FeedState>,
    pub recent: Vec<RecentArticle>,
    /// Items that failed at least once.
    pub retrying: Vec<Retrying>,
    pub now: DateTime<Utc>,
}

const STYLE: &str = "body{font:15px/1.4 system-ui,sans-serif;margin:0 auto;max-width:70em;padding:0 .75em}\
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.5em}\
table{border-collapse:collapse;width:100%}th,td{text-align:start;padding:.3em .4em;border-bottom:1px solid #ddd;vertical-align:top}\
.url a,.url{overflow-wrap:anywhere;font-size:.9em}\
.bad{color:#a40000;font-weight:600}.warn{color:#8a5a00}.ok{color:#1a6b1a}\
dl{display:flex;flex-wrap:wrap;gap:.25em 1.5em}dt{color:#555}dd{margin:0;font-weight:600}\
@media (max-width:40em){table.cards,table.cards tr,table.cards td{display:block}\
table.cards tr:first-child{display:none}table.cards tr{border-bottom:1px solid #ddd;padding:.4em 0}\
table.cards td{border:0;padding:.1em 0}table.cards td[data-label]::before{content:attr(data-label) \": \";color:#555}}";

/// How a feed stands, from what needs attention to what does not.
fn feed_rank(f: &FeedState) -> (u8, std::cmp::Reverse<u32>) {
    let rank = if f.error_count > 0 && !f.retired {
        0
    } else if f.retired {
        1
    } else {
        2
    };
    (rank, std::cmp::Reverse(f.error_count))
}

fn ago(now: DateTime<Utc>, t: Option<DateTime<Utc>>) -> String {
    let Some(t) = t else { return "never".into() };
    let secs = (now - t).num_seconds();
    let (n, future) = (secs.unsigned_abs(), secs < 0);
    let span = match n {
        0..=59 => format!("{n} s"),
        60..=3599 => format!("{} min", n / 60),
        3600..=86_399 => format!("{} h", n / 3600),
        _ => format!("{} d", n / 86_400),
    };
    if future {
        format!("in {span}")
    } else {
        format!("{span} ago")
    }
}

pub fn render(s: &Snapshot) -> String {
    let mut h = String::with_capacity(16 * 1024);
    let up = s.uptime.as_secs().max(1);
    let per_min = |n: u64| n as f64 * 60.0 / up as f64;
    let _ = write!(
        h,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>newsriver status</title><style>{STYLE}</style></head><body><h1>newsriver</h1>"
    );
    match &s.not_ready {
        None => h.push_str("<p id=\"ready\" class=\"ok\">Ready.</p>"),
        Some(why) => {
            let _ = write!(
                h,
                "<p id=\"ready\" class=\"bad\">Not ready: {}</p>",
                text(why)
            );
        }
    }
    let _ = write!(
        h,
        "<section id=\"throughput\"><dl>\
         <dt>up</dt><dd>{}</dd><dt>fetched</dt><dd>{}</dd>\
         <dt>published</dt><dd>{} ({:.1}/min)</dd><dt>duplicates</dt><dd>{}</dd>\
         <dt>failed</dt><dd>{}</dd><dt>remembered</dt><dd>{}</dd></dl></section>",
        ago(s.now, Some(s.now - chrono::Duration::seconds(up as i64))).trim_end_matches(" ago"),
        s.fetched,
        s.published,
        per_min(s.published),
        s.duplicates,
        s.failed,
        s.remembered
    );
    h.push_str("<section id=\"queues\"><h2>Queues</h2><table><tr><th>channel</th><th>waiting</th><th>capacity</th></tr>");
    for (name, depth, capacity) in &s.queues {
        let class = if depth >= capacity {
            " class=\"warn\""
        } else {
            ""
        };
        let _ = write!(
            h,
            "<tr{class}><td>{name}</td><td>{depth}</td><td>{capacity}</td></tr>"
        );
    }
    h.push_str("</table></section>");

    let mut feeds: Vec<&FeedState> = s.feeds.iter().collect();
    feeds.sort_by(|a, b| {
        feed_rank(a)
            .cmp(&feed_rank(b))
            .then_with(|| a.url.cmp(&b.url))
    });
    let failing = feeds.iter().filter(|f| feed_rank(f).0 == 0).count();
    let _ = write!(
        h,
        "<section id=\"feeds\"><h2>Feeds ({}, {failing} failing)</h2><table class=\"cards\">\
         <tr><th>state</th><th>feed</th><th>last status</th><th>errors in a row</th>\
         <th>last success</th><th>next poll</th></tr>",
        feeds.len()
    );
    for f in feeds {
        let (state, class) = match feed_rank(f).0 {
            0 => ("failing", "bad"),
            1 => ("retired", "warn"),
            // Paused on purpose (the API or `feeds pause`): not a problem to look at.
            _ if f.paused => ("paused", "warn"),
            _ => ("ok", "ok"),
        };
        let title = f.title.as_deref().unwrap_or("");
        let status = match (&f.last_error, &f.last_status) {
            (Some(e), _) if f.error_count > 0 => e.clone(),
            (_, Some(st)) => st.to_string(),
            _ => String::new(),
        };
        let _ = write!(
            h,
            "<tr class=\"feed\"><td class=\"{class}\">{state}</td><td class=\"url\"><bdi dir=\"auto\">{}</bdi><br>\
             <a href=\"{}\">{}</a></td><td>{}</td><td data-label=\"errors in a row\">{}</td>\
             <td data-label=\"last success\">{}</td><td data-label=\"next poll\">{}</td></tr>",
            text(title),
            attr(&f.url),
            text(&f.url),
            text(&status),
            f.error_count,
            ago(s.now, f.last_success_at),
            if f.retired || f.paused {
                "never".to_string()
            } else {
                ago(s.now, f.next_poll_at)
            }
        );
    }
    h.push_str("</table></section>");

    let _ = write!(
        h,
        "<section id=\"failed\"><h2>Failed items ({})</h2>",
        s.retrying.len()
    );
    if s.retrying.is_empty() {
        h.push_str("<p>None.</p>");
    } else {
        h.push_str(
            "<table class=\"cards\"><tr><th>attempts</th><th>page</th><th>last error</th></tr>",
        );
        for Retrying {
            url,
            attempts,
            last_error: error,
        } in &s.retrying
        {
            let _ = write!(
                h,
                "<tr><td class=\"bad\" data-label=\"attempts\">{attempts}</td><td class=\"url\"><a href=\"{}\">{}</a></td><td>{}</td></tr>",
                attr(url),
                text(url),
                text(error)
            );
        }
        h.push_str("</table>");
    }
    h.push_str("</section>");

    h.push_str("<section id=\"articles\"><h2>Latest articles</h2>");
    if s.recent.is_empty() {
        h.push_str("<p>None yet.</p>");
    } else {
        h.push_str("<table class=\"cards\"><tr><th>title</th><th>language</th><th>dedup</th><th>story</th><th>source</th><th>when</th></tr>");
        for a in &s.recent {
            let lang = a.language.as_deref().unwrap_or("");
            // dir="auto": an Arabic or Hebrew title reads right to left inside the table.
            let _ = write!(
                h,
                "<tr class=\"article\"><td><a href=\"{}\" dir=\"auto\" lang=\"{}\">{}</a></td><td data-label=\"language\">{}</td>\
                 <td data-label=\"dedup\">{}</td><td data-label=\"story\"><code>{}</code></td>\
                 <td class=\"url\" data-label=\"source\">{}</td><td>{}</td></tr>",
                attr(&a.url),
                attr(lang),
                text(if a.title.is_empty() { &a.url } else { &a.title }),
                text(lang),
                text(&a.status),
                text(a.story_id.get(..12).unwrap_or(&a.story_id)),
                text(&a.source),
                ago(s.now, Some(a.at))
            );
        }
        h.push_str("</table>");
    }
    h.push_str("</section></body></html>");
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(url: &str, errors: u32, retired: bool) -> FeedState {
        FeedState {
            url: url.into(),
            retired,
            error_count: errors,
            last_error: (errors > 0).then(|| "HTTP 500 <from> server".into()),
            ..Default::default()
        }
    }

    #[test]
    fn failing_feeds_come_first_and_text_is_escaped() {
        let snapshot = Snapshot {
            uptime: Duration::from_secs(120),
            not_ready: None,
            fetched: 3,
            published: 2,
            duplicates: 1,
            failed: 0,
            remembered: 2,
            queues: vec![("jobs", 1, 64)],
            feeds: vec![
                feed("https://a.test/ok.xml", 0, false),
                feed("https://a.test/gone.xml", 0, true),
                feed("https://a.test/bad.xml", 3, false),
            ],
            recent: vec![RecentArticle {
                title: "انتهاء مهمة التحالف <b>".into(),
                url: "https://a.test/1?a=1&b=2".into(),
                source: "https://a.test/ok.xml".into(),
                language: Some("ar".into()),
                status: "unique".into(),
                story_id: "0123456789abcdef".into(),
                at: Utc::now(),
            }],
            retrying: vec![],
            now: Utc::now(),
        };
        let page = render(&snapshot);
        let at = |needle: &str| {
            page.find(needle)
                .unwrap_or_else(|| panic!("{needle} missing"))
        };
        assert!(at("bad.xml") < at("gone.xml") && at("gone.xml") < at("ok.xml\">"));
        assert!(page.contains("HTTP 500 &lt;from&gt; server"));
        assert!(page.contains("انتهاء مهمة التحالف &lt;b&gt;"));
        assert!(page.contains("href=\"https://a.test/1?a=1&amp;b=2\""));
        assert!(page.contains("dir=\"auto\" lang=\"ar\""));
        assert!(!page.contains("<script"));
    }
}
