//! Dedup stage: one article at a time (the index is sequential by nature), deciding
//! whether it was seen before, which story it belongs to, and the record to publish.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use chrono::{DateTime, Utc};
use newsriver_dedup::{
    DedupConfig, Deduper, Fingerprint, ShingleSource, StoryConfig, StoryIndex, StoryLead,
    StoryScorer,
};
use newsriver_model::{
    article_id, Article, DedupInfo, DedupStatus, DuplicateReason, SCHEMA_VERSION,
};
use newsriver_publisher::Encoded;
use newsriver_store::{Expired, Remembered};
use tokio::sync::mpsc;

use super::{next, send};
use crate::config::{DedupSettings, DuplicatePolicy, PipelineConfig};
use crate::kill_switch::KillSwitch;
use crate::messages::{Done, Job, Published, Ready, Stripped, ToPublish};
use crate::shared::{lock, SharedStore};
use crate::stats::{RecentArticle, Stats};

/// How often the daemon drops state older than the retention window (wall clock).
const EXPIRY_INTERVAL: Duration = Duration::from_secs(3600);
/// A backfill drops state each time its clock has moved this share of the window: often
/// enough that it holds little more than a window, rarely enough that a year read in a
/// minute does not spend its time expiring.
const BACKFILL_EXPIRY_STEPS: i32 = 16;

/// What the retention window is measured on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetentionClock {
    /// The daemon: the river's time is the wall clock. An article is remembered for a
    /// window from when it arrived, whatever date it carries, so a feed that lists an
    /// old item next to new ones still catches the old item's copies.
    Wall,
    /// A backfill reads the past: its time is the newest publication time it has read.
    /// An article is remembered for a window from then, so a backfill spanning years
    /// holds one window of articles, and a copy published near its original (as copies
    /// are) is still caught. Articles without a publication time (or with one in the
    /// future) are placed at the clock's time, or at their fetch time before it has one.
    Publication,
}

/// What dedup decided about one page.
pub enum Decision {
    /// Not published: the same article again (same URL), or a copy under the drop policy.
    /// (The job boxed: a feed's hints made it several times the other variant's box.)
    Duplicate {
        job: Box<Job>,
        article_canonical: String,
    },
    /// On to the sink: a new article, or a copy marked as one under the flag policy.
    Publish(Box<ToPublish>),
}

pub struct DedupStage {
    policy: DuplicatePolicy,
    window: chrono::Duration,
    deduper: Deduper,
    stories: StoryIndex,
    store: SharedStore,
    stats: Arc<Stats>,
    clock: RetentionClock,
    /// Newest publication time read, for [`RetentionClock::Publication`].
    newest_published: Option<DateTime<Utc>>,
    last_expiry: Instant,
    /// The river time of the last expiry, for [`RetentionClock::Publication`].
    last_expiry_at: Option<DateTime<Utc>>,
}

impl DedupStage {
    /// Builds the in-memory index from what the store remembers within the retention
    /// window (forgetting what is older first). A backfill's window is not known before
    /// it reads its first dated article, so it loads all the store remembers: that is
    /// bounded too, as every run trims the store to its own window.
    pub fn new(
        settings: &DedupSettings,
        pipeline: &PipelineConfig,
        store: SharedStore,
        stats: Arc<Stats>,
        clock: RetentionClock,
    ) -> Result<DedupStage> {
        let window = chrono::Duration::days(i64::from(settings.window_days));
        let mut deduper = Deduper::new(DedupConfig {
            near_threshold: settings.near_threshold,
            // Articles between dedup and the store (channels, the batches in flight at
            // the sink, their completion) are verified from memory: keep more than can
            // be in flight.
            recent_shingles: (pipeline.channel_capacity * 8
                + pipeline.batch_size * (pipeline.publish_in_flight + 1))
                .max(4096),
        });
        let mut stories = StoryIndex::new(StoryConfig {
            scorer: settings
                .story_threshold
                .map_or_else(StoryScorer::shipped, StoryScorer::cosine),
            window_secs: i64::from(settings.story_window_hours) * 3600,
        });
        let cutoff = match clock {
            RetentionClock::Wall => Utc::now() - window,
            RetentionClock::Publication => DateTime::<Utc>::MIN_UTC,
        };
        let expired = {
            let mut store = lock(&store);
            let expired = match clock {
                RetentionClock::Wall => store.expire(cutoff)?,
                RetentionClock::Publication => Expired::default(),
            };
            for r in store.memory().remembered_since(cutoff)? {
                deduper.insert_at(&r.id, &r.story_id, &r.fingerprint, r.stored_at);
                stories.restore(&r.story_id, &r.story_terms, r.story_at, r.stored_at);
            }
            expired
        };
        tracing::info!(
            remembered = deduper.len(),
            expired_articles = expired.articles,
            expired_urls = expired.seen_urls,
            "dedup memory loaded"
        );
        Ok(DedupStage {
            policy: settings.policy,
            window,
            deduper,
            stories,
            store,
            stats,
            clock,
            newest_published: None,
            last_expiry: Instant::now(),
            last_expiry_at: None,
        })
    }

    /// The river's time when an article published at `published` (known, and not after
    /// `now`) arrives at `now`; moves the backfill clock.
    fn river_time(
        &mut self,
        published: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> DateTime<Utc> {
        match self.clock {
            RetentionClock::Wall => now,
            RetentionClock::Publication => {
                if let Some(p) = published {
                    self.newest_published = self.newest_published.max(Some(p));
                }
                self.newest_published.unwrap_or(now)
            }
        }
    }

    /// Expires what the window has passed, when it is time to: hourly for the daemon,
    /// every sixteenth of a window of the clock's movement for a backfill.
    fn expire_when_due(&mut self) {
        match self.clock {
            RetentionClock::Wall => {
                if self.last_expiry.elapsed() >= EXPIRY_INTERVAL {
                    self.last_expiry = Instant::now();
                    self.expire(Utc::now());
                }
            }
            RetentionClock::Publication => {
                let Some(now) = self.newest_published else {
                    return;
                };
                let step = self.window / BACKFILL_EXPIRY_STEPS;
                if self.last_expiry_at.is_none_or(|last| now - last >= step) {
                    self.last_expiry_at = Some(now);
                    self.expire(now);
                }
            }
        }
    }

    /// How many articles the index remembers.
    pub fn remembered(&self) -> usize {
        self.deduper.len()
    }

    /// Decides about one page as of `now`, remembering it when it is new.
    pub fn decide(&mut self, page: Stripped, now: DateTime<Utc>) -> Decision {
        let canonical = article_canonical(
            &page.job,
            &page.final_url,
            page.extracted.canonical_url.as_deref(),
        );
        let id = article_id(&canonical);
        let (fp, lead) = Fingerprint::with_story_lead(&canonical, &page.extracted.text);
        let found = self.deduper.find(&fp, &mut StoredShingles(&self.store));
        if let Some(m) = &found {
            metrics::counter!("newsriver_duplicates_total", "reason" => reason_label(m.reason))
                .increment(1);
        }
        // A URL match is the same article again (same id): never worth a second record.
        let same_article = found
            .as_ref()
            .is_some_and(|m| m.reason == DuplicateReason::Url);
        if same_article || (found.is_some() && self.policy == DuplicatePolicy::Drop) {
            Stats::add(&self.stats.duplicates);
            if let Some(m) = &found {
                let title = page.extracted.title.as_ref();
                let title = title.or(page.job.page.hints.title.as_ref());
                let language = page.extracted.language.as_ref();
                let recent = recent(&page.job, title, language, Some(m.reason), &m.story_id, now);
                self.stats.decided(recent);
            }
            return Decision::Duplicate {
                job: Box::new(page.job),
                article_canonical: canonical,
            };
        }
        let (dedup, remembered) = match found {
            Some(m) => {
                Stats::add(&self.stats.duplicates);
                let info = DedupInfo {
                    status: DedupStatus::Duplicate,
                    duplicate_of: Some(m.id),
                    reason: Some(m.reason),
                    story_id: m.story_id,
                };
                (info, None)
            }
            None => {
                let remembered = self.remember(&page, &id, fp, &lead, now);
                let info = DedupInfo {
                    status: DedupStatus::Unique,
                    duplicate_of: None,
                    reason: None,
                    story_id: remembered.story_id.clone(),
                };
                (info, Some(remembered))
            }
        };
        Stats::set(&self.stats.remembered, self.deduper.len() as u64);
        let (job, article) = article(page, id, canonical, dedup);
        let a = &article;
        let recent = recent(
            &job,
            a.title.as_ref(),
            a.language.as_ref(),
            a.dedup.reason,
            &a.dedup.story_id,
            now,
        );
        self.stats.decided(recent);
        Decision::Publish(Box::new(ToPublish {
            job,
            article,
            remembered,
        }))
    }

    /// Places a new article in its story and in the index, remembered from the river's
    /// time; returns what the store will remember of it once the sink acknowledged it.
    fn remember(
        &mut self,
        page: &Stripped,
        id: &str,
        fingerprint: Fingerprint,
        lead: &StoryLead,
        now: DateTime<Utc>,
    ) -> Remembered {
        let hints = &page.job.page.hints;
        let title = page.extracted.title.as_deref().or(hints.title.as_deref());
        // When it was published, if the page or the feed says and the date is not ahead.
        let published = page
            .extracted
            .published_at
            .or(hints.published_at)
            .filter(|t| *t <= now);
        let retained_from = self.river_time(published, now);
        // Events are placed in time by publication, so a backfilled report from months
        // ago does not join today's story on the same topic.
        let when = published.unwrap_or(now);
        let assigned =
            self.stories
                .assign_lead(id, title.unwrap_or_default(), lead, when.timestamp());
        self.deduper.insert_at(
            id,
            &assigned.story_id,
            &fingerprint,
            retained_from.timestamp(),
        );
        Remembered {
            id: id.to_string(),
            story_id: assigned.story_id,
            fingerprint,
            stored_at: retained_from.timestamp(),
            story_terms: assigned.terms,
            story_at: when.timestamp(),
        }
    }

    /// Forgets articles (in memory and in the store) whose retention started more than a
    /// window before `now` (the river's time).
    pub fn expire(&mut self, now: DateTime<Utc>) {
        let cutoff = now - self.window;
        let forgotten = self.deduper.expire_before(cutoff.timestamp());
        let mut store = lock(&self.store);
        // Read before the rows go: the story index forgets their term frequencies.
        let leaving = store
            .memory()
            .story_terms_before(cutoff)
            .unwrap_or_else(|e| {
                tracing::warn!(error = %e, "reading expiring story terms failed");
                Vec::new()
            });
        let freed = self
            .stories
            .expire_before(cutoff.timestamp(), leaving.iter().map(Vec::as_slice));
        Stats::set(&self.stats.remembered, self.deduper.len() as u64);
        match store.expire(cutoff) {
            Ok(expired) => tracing::info!(
                forgotten,
                freed,
                articles = expired.articles,
                seen_urls = expired.seen_urls,
                "expired dedup and story state older than the window"
            ),
            Err(e) => tracing::warn!(error = %e, "expiring old state failed"),
        }
    }

    pub async fn run(
        mut self,
        mut input: mpsc::Receiver<Stripped>,
        out: mpsc::Sender<Ready>,
        done: mpsc::Sender<Done>,
        kill: KillSwitch,
    ) -> Result<()> {
        while let Some(page) = next(&kill, input.recv()).await {
            // A daemon runs for months and a backfill reads years: keep memory and
            // state to the retention window.
            self.expire_when_due();
            match self.decide(page, Utc::now()) {
                Decision::Duplicate {
                    job,
                    article_canonical,
                } => {
                    let duplicate = Done::Duplicate {
                        job: *job,
                        article_canonical,
                    };
                    send(&done, duplicate, "completion").await?
                }
                Decision::Publish(p) => match Encoded::new(&p.article) {
                    Ok(encoded) => {
                        let published = Published::from(*p);
                        send(&out, Ready { encoded, published }, "publish").await?
                    }
                    // Not an outage: this one article cannot be written.
                    Err(e) => {
                        let failed = Done::Failed {
                            job: p.job,
                            error: e.to_string(),
                            transient: false,
                        };
                        send(&done, failed, "completion").await?
                    }
                },
            }
        }
        Ok(())
    }
}

/// What the status page shows of one decision: a unique article (no `reason`) or a copy.
fn recent(
    job: &Job,
    title: Option<&String>,
    language: Option<&String>,
    reason: Option<DuplicateReason>,
    story_id: &str,
    at: DateTime<Utc>,
) -> RecentArticle {
    RecentArticle {
        title: title.cloned().unwrap_or_default(),
        url: job.page.url.clone(),
        source: job.page.source.clone(),
        language: language.cloned(),
        status: match reason {
            None => "unique".to_string(),
            Some(r) => format!("duplicate ({})", reason_label(r)),
        },
        story_id: story_id.to_string(),
        at,
    }
}

/// A duplicate's reason as metrics and the status page name it.
fn reason_label(reason: DuplicateReason) -> &'static str {
    match reason {
        DuplicateReason::Url => "url",
        DuplicateReason::Text => "text",
        DuplicateReason::NearText => "near_text",
    }
}

/// The record to publish: the page's own metadata first, the feed's hints where it has
/// none. Takes the page apart so its text moves into the record instead of being copied.
fn article(page: Stripped, id: String, canonical_url: String, dedup: DedupInfo) -> (Job, Article) {
    let Stripped {
        job,
        extracted: e,
        fetched_at,
        ..
    } = page;
    let hints = &job.page.hints;
    let article = Article {
        schema_version: SCHEMA_VERSION.to_string(),
        id,
        url: job.page.url.clone(),
        canonical_url,
        title: e.title.or_else(|| hints.title.clone()),
        text: e.text,
        published_at: e.published_at.or(hints.published_at),
        modified_at: e.modified_at,
        authors: if e.authors.is_empty() {
            hints.authors.clone()
        } else {
            e.authors
        },
        language: e.language,
        image: e.image,
        keywords: hints.keywords.clone(),
        source: job.page.source.clone(),
        fetched_at,
        dedup,
        paywalled: e.paywalled,
    };
    (job, article)
}

/// The page's own canonical URL is trusted only on the same site: a page must not be able
/// to claim another site's article (and so suppress it as a duplicate).
fn article_canonical(job: &Job, final_url: &str, declared: Option<&str>) -> String {
    let site = |u: &str| {
        newsriver_dedup::canonicalize_url(u).ok().and_then(|u| {
            u.host_str().map(|h| {
                h.trim_start_matches("www.")
                    .trim_start_matches("amp.")
                    .to_string()
            })
        })
    };
    let listed_site = site(&job.canonical_url);
    for candidate in [declared, Some(final_url)].into_iter().flatten() {
        if let Ok(c) = newsriver_dedup::canonicalize_url(candidate) {
            if site(c.as_str()) == listed_site {
                return c.to_string();
            }
        }
    }
    job.canonical_url.clone()
}

/// The state store as the dedup index's source of older articles' shingles, locked only
/// when a near-duplicate candidate needs verifying.
struct StoredShingles<'a>(&'a SharedStore);

impl ShingleSource for StoredShingles<'_> {
    fn shingles(&mut self, id: &str) -> Option<Vec<u32>> {
        ShingleSource::shingles(&mut *lock(self.0), id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::messages::test_job;
    use newsriver_store::Store;
    use newsriver_stripper::Extracted;

    const TEXT: &str = "The committee met on Tuesday and heard three witnesses before it \
        adjourned until the next session, when it expects to vote on the proposal that the \
        mayor put forward in the spring after months of public hearings across the city.";

    fn stage(policy: DuplicatePolicy) -> DedupStage {
        stage_with(policy, RetentionClock::Wall)
    }

    fn stage_with(policy: DuplicatePolicy, clock: RetentionClock) -> DedupStage {
        let config = Config::load(None).expect("defaults");
        let settings = DedupSettings {
            policy,
            ..config.dedup
        };
        let store = Arc::new(std::sync::Mutex::new(
            Store::open_in_memory().expect("store"),
        ));
        DedupStage::new(&settings, &config.pipeline, store, Arc::default(), clock).expect("stage")
    }

    fn page(url: &str, text: &str) -> Stripped {
        Stripped {
            job: test_job(url),
            final_url: url.to_string(),
            extracted: Extracted {
                text: text.to_string(),
                ..Default::default()
            },
            fetched_at: Utc::now(),
        }
    }

    fn published(d: Decision) -> ToPublish {
        match d {
            Decision::Publish(p) => *p,
            Decision::Duplicate { .. } => panic!("expected to publish"),
        }
    }

    #[test]
    fn a_new_article_is_published_and_the_same_url_again_is_not() {
        let mut dedup = stage(DuplicatePolicy::Flag);
        let now = Utc::now();
        let first = published(dedup.decide(page("https://a.test/1", TEXT), now));
        assert_eq!(first.article.dedup.status, DedupStatus::Unique);
        assert_eq!(first.article.dedup.story_id, first.article.id);
        let remembered = first.remembered.expect("a new article is remembered");
        assert_eq!(remembered.stored_at, now.timestamp());
        assert_eq!(dedup.remembered(), 1);
        // Even under the flag policy: the same URL is the same article, never a record.
        match dedup.decide(page("https://a.test/1", "other words entirely"), now) {
            Decision::Duplicate {
                article_canonical, ..
            } => assert_eq!(article_canonical, "https://a.test/1"),
            Decision::Publish(_) => panic!("the same URL was published twice"),
        }
    }

    #[test]
    fn a_copy_is_dropped_or_flagged_by_policy() {
        let now = Utc::now();
        let mut drop = stage(DuplicatePolicy::Drop);
        published(drop.decide(page("https://a.test/1", TEXT), now));
        assert!(matches!(
            drop.decide(page("https://b.test/copy", TEXT), now),
            Decision::Duplicate { .. }
        ));

        let mut flag = stage(DuplicatePolicy::Flag);
        let original = published(flag.decide(page("https://a.test/1", TEXT), now));
        let copy = published(flag.decide(page("https://b.test/copy", TEXT), now));
        assert_eq!(copy.article.dedup.status, DedupStatus::Duplicate);
        assert_eq!(copy.article.dedup.reason, Some(DuplicateReason::Text));
        assert_eq!(
            copy.article.dedup.duplicate_of.as_deref(),
            Some(original.article.id.as_str())
        );
        assert_eq!(copy.article.dedup.story_id, original.article.dedup.story_id);
        assert!(copy.remembered.is_none(), "a copy is not remembered");
        assert_eq!(flag.stats.get(&flag.stats.duplicates), 1);
    }

    #[test]
    fn a_page_may_not_claim_another_sites_article() {
        let mut dedup = stage(DuplicatePolicy::Drop);
        let mut p = page("https://a.test/story?utm_source=x", TEXT);
        p.job.canonical_url = "https://a.test/story".into();
        p.extracted.canonical_url = Some("https://victim.test/their-story".into());
        let out = published(dedup.decide(p, Utc::now()));
        // The fetched URL, canonicalized, instead.
        assert_eq!(out.article.canonical_url, "https://a.test/story");
        let mut same_site = page(
            "https://a.test/amp/story",
            "A different report altogether, about the harbour works and the ferries that \
             will stop running while the quay is rebuilt over the coming winter months.",
        );
        same_site.extracted.canonical_url = Some("https://www.a.test/story-full".into());
        let out = published(dedup.decide(same_site, Utc::now()));
        assert_eq!(out.article.canonical_url, "https://www.a.test/story-full");
    }

    #[test]
    fn feed_hints_fill_what_the_page_lacks_and_a_future_date_counts_as_now() {
        let mut dedup = stage(DuplicatePolicy::Drop);
        let now = Utc::now();
        let mut p = page("https://a.test/1", TEXT);
        p.job.page.hints.title = Some("From the feed".into());
        p.job.page.hints.authors = vec!["A. Writer".into()];
        p.job.page.hints.keywords = vec!["Iraq".into(), "coalition".into()];
        p.extracted.published_at = Some(now + chrono::Duration::days(3));
        let out = published(dedup.decide(p, now));
        assert_eq!(out.article.title.as_deref(), Some("From the feed"));
        assert_eq!(out.article.authors, ["A. Writer"]);
        assert_eq!(out.article.keywords, ["Iraq", "coalition"]);
        assert_eq!(
            out.remembered.expect("remembered").story_at,
            now.timestamp()
        );
    }

    /// A report of day `day`: its own words, so no two days' reports are copies.
    fn dated_page(url: &str, day: i64, start: DateTime<Utc>) -> Stripped {
        let words: Vec<String> = (0..80).map(|w| format!("d{day}w{w}")).collect();
        let mut p = page(url, &words.join(" "));
        p.extracted.published_at = Some(start + chrono::Duration::days(day));
        p
    }

    #[test]
    fn a_backfill_over_a_year_holds_one_window_and_still_catches_copies() {
        let mut dedup = stage_with(DuplicatePolicy::Drop, RetentionClock::Publication);
        let window_days = dedup.window.num_days();
        let now = Utc::now();
        let start = now - chrono::Duration::days(400);
        let mut most = 0;
        for day in 0..365 {
            let original = dedup_run(
                &mut dedup,
                dated_page(&format!("https://a.test/{day}"), day, start),
                now,
            );
            assert!(
                matches!(original, Decision::Publish(_)),
                "day {day} published"
            );
            // Another outlet's copy, read a few days of archive later, is still caught.
            if day >= 3 {
                let copy = dated_page(&format!("https://b.test/{}", day - 3), day - 3, start);
                assert!(
                    matches!(dedup_run(&mut dedup, copy, now), Decision::Duplicate { .. }),
                    "the copy of day {} read on day {day} passed as new",
                    day - 3
                );
            }
            most = most.max(dedup.remembered());
        }
        // One article a day: the window and the step of expiry, not the year.
        let bound = (window_days + window_days / 16 + 2) as usize;
        assert!(
            most <= bound,
            "held {most} articles, a window is {window_days}"
        );
        assert!(dedup.remembered() >= window_days as usize);
    }

    /// `run`'s order: expiry when due, then the decision.
    fn dedup_run(dedup: &mut DedupStage, page: Stripped, now: DateTime<Utc>) -> Decision {
        dedup.expire_when_due();
        dedup.decide(page, now)
    }

    #[test]
    fn the_daemon_remembers_an_old_item_from_its_arrival() {
        // A feed listing a five-year-old item beside today's: the old one's copy, read
        // after today's, must still be caught (its date must not expire it at once).
        for clock in [RetentionClock::Wall, RetentionClock::Publication] {
            let mut dedup = stage_with(DuplicatePolicy::Drop, clock);
            let now = Utc::now();
            let mut old = page("https://a.test/old", TEXT);
            old.extracted.published_at = Some(now - chrono::Duration::days(5 * 365));
            assert!(matches!(
                dedup_run(&mut dedup, old, now),
                Decision::Publish(_)
            ));
            let today = dated_page("https://a.test/today", 0, now);
            assert!(matches!(
                dedup_run(&mut dedup, today, now),
                Decision::Publish(_)
            ));
            if clock == RetentionClock::Wall {
                // The daemon's hourly expiry, as of now.
                dedup.expire(now);
            }
            let copy = page("https://b.test/old-copy", TEXT);
            let decided = dedup_run(&mut dedup, copy, now);
            match clock {
                RetentionClock::Wall => assert!(
                    matches!(decided, Decision::Duplicate { .. }),
                    "the old item's copy passed as new"
                ),
                // A backfill's clock moved five years on: the old item is outside its
                // window. (Backfills read archives roughly in time order.)
                RetentionClock::Publication => {
                    assert!(matches!(decided, Decision::Publish(_)))
                }
            }
        }
    }
}
