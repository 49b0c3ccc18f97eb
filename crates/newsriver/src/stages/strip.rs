//! Strip stage: a pool of `strip.workers` blocking threads over the stripper crate.

use std::sync::Arc;

use anyhow::Result;
use newsriver_model::ItemHints;
use newsriver_stripper::{Extracted, Options, StripError};
use tokio::sync::mpsc;

use super::{forward, next};
use crate::config::{FilterConfig, StripSettings};
use crate::kill_switch::KillSwitch;
use crate::messages::{Done, Fetched, Stripped};
use crate::shared::FeedLanguages;
use crate::stats::Stats;

/// Why a page without article text fails (and what `backfill` reports).
pub const NO_ARTICLE: &str = "no article text found on page";

pub struct StripStage {
    options: Options,
    workers: usize,
    /// Languages to keep (compared without case); empty: all.
    languages: Vec<String>,
    /// Each feed's own languages to keep, beside `languages`.
    feed_languages: FeedLanguages,
    stats: Arc<Stats>,
}

/// The page's own language first, then the one its feed item or news sitemap entry
/// declares for it, then the one detected from the text: a publisher's declaration for
/// this article beats a guess from a few sentences (short texts, and languages close to
/// each other, fool detection).
fn with_declared_language(extracted: &mut Extracted, hints: &ItemHints) {
    if extracted.language.is_some() && !extracted.language_detected {
        return;
    }
    if let Some(language) = &hints.language {
        extracted.language = Some(language.clone());
        extracted.language_detected = false;
    }
}

/// Whether an article in `language` (`en-GB`, `ar`) is kept by the list `keep`.
fn language_kept(keep: &[String], language: &str) -> bool {
    let primary = language.split(['-', '_']).next().unwrap_or(language);
    keep.is_empty()
        || keep.iter().any(|l| {
            let l = l.trim();
            l.eq_ignore_ascii_case(primary) || l.eq_ignore_ascii_case(language)
        })
}

impl StripStage {
    pub fn new(settings: &StripSettings, filter: &FilterConfig, stats: Arc<Stats>) -> StripStage {
        StripStage {
            options: settings.options(),
            workers: settings.worker_count(),
            languages: filter
                .languages
                .iter()
                .map(|l| l.trim().to_string())
                .collect(),
            feed_languages: FeedLanguages::default(),
            stats,
        }
    }

    /// Also applies each feed's own language list, as the poller keeps it.
    pub fn feed_languages(mut self, lists: FeedLanguages) -> StripStage {
        self.feed_languages = lists;
        self
    }

    /// Why an article is left out by `filter.languages`, if it is. Its language is read
    /// from the page; one the page does not tell is kept (nothing to judge it by).
    fn filtered_out(&self, extracted: &Extracted, source: &str) -> Option<String> {
        let language = extracted.language.as_deref()?;
        if !language_kept(&self.languages, language) {
            return Some(format!("language {language} is not in filter.languages"));
        }
        let feed_kept = self
            .feed_languages
            .with(source, |keep| language_kept(keep, language))
            .unwrap_or(true);
        (!feed_kept).then(|| format!("language {language} is not in the feed's languages"))
    }

    /// Where an extraction's result goes: an article on to dedup, or a failure (no
    /// article on the page, or a page the stripper refused) to completion.
    // Both sides are messages handed on at once, not errors propagated up a stack.
    #[allow(clippy::result_large_err)]
    pub fn outcome(
        &self,
        fetched: Fetched,
        result: Result<Extracted, StripError>,
    ) -> Result<Stripped, Done> {
        let failed = |fetched: Fetched, error: String| Done::Failed {
            job: fetched.job,
            error,
            transient: false,
        };
        match result {
            Ok(mut extracted) if !extracted.text.trim().is_empty() => {
                Stats::add(&self.stats.extracted);
                with_declared_language(&mut extracted, &fetched.job.page.hints);
                if let Some(reason) = self.filtered_out(&extracted, &fetched.job.page.source) {
                    Stats::add(&self.stats.filtered);
                    metrics::counter!("newsriver_articles_filtered_total", "reason" => "language")
                        .increment(1);
                    tracing::debug!(url = %fetched.job.page.url, %reason, "filtered out");
                    return Err(Done::Filtered {
                        job: fetched.job,
                        reason,
                    });
                }
                Ok(Stripped {
                    job: fetched.job,
                    final_url: fetched.page.final_url,
                    extracted,
                    fetched_at: fetched.fetched_at,
                })
            }
            Ok(_) => {
                Stats::add(&self.stats.no_article);
                tracing::warn!(url = %fetched.job.page.url, "{NO_ARTICLE}");
                Err(failed(fetched, NO_ARTICLE.into()))
            }
            Err(e) => {
                tracing::warn!(url = %fetched.job.page.url, error = %e, "extraction failed");
                Err(failed(fetched, e.to_string()))
            }
        }
    }

    /// `strip.workers` threads of their own, each taking the next page from a queue as
    /// soon as it is done with one. (A future per page over the blocking pool, at most
    /// `workers` at once, left cores idle while each finished page went back through the
    /// async loop before the next was handed out: a WARC backfill, with nothing to wait
    /// for but the CPU, used 1.15 of 2 cores.)
    pub async fn run(
        self,
        mut pages: mpsc::Receiver<Fetched>,
        out: mpsc::Sender<Stripped>,
        done: mpsc::Sender<Done>,
        kill: KillSwitch,
    ) -> Result<()> {
        // Each worker has a page waiting for it, and room to put down what it made.
        let (queue_tx, queue_rx) = mpsc::channel::<Fetched>(self.workers * 2);
        let queue_rx = Arc::new(std::sync::Mutex::new(queue_rx));
        let (results_tx, mut results) =
            mpsc::channel::<(Fetched, Result<Extracted, StripError>)>(self.workers * 2);
        let mut threads = Vec::with_capacity(self.workers);
        for i in 0..self.workers {
            let (queue, results, options) =
                (queue_rx.clone(), results_tx.clone(), self.options.clone());
            let thread = std::thread::Builder::new()
                .name(format!("strip-{i}"))
                .spawn(move || strip_worker(&queue, &results, &options))?;
            threads.push(thread);
        }
        drop(results_tx);
        let feeder = {
            let kill = kill.clone();
            tokio::spawn(async move {
                while let Some(page) = next(&kill, pages.recv()).await {
                    if queue_tx.send(page).await.is_err() {
                        break;
                    }
                }
                // Dropping the queue's sender lets the workers finish and stop.
            })
        };
        let mut outcome = Ok(());
        while let Some((fetched, result)) = next(&kill, results.recv()).await {
            if let Err(e) = forward(self.outcome(fetched, result), &out, "dedup", &done).await {
                outcome = Err(e);
                break;
            }
        }
        // Stopped early (a failure, the kill switch): the workers see the results closed.
        drop(results);
        feeder.abort();
        let _ = feeder.await;
        tokio::task::spawn_blocking(move || {
            for t in threads {
                let _ = t.join();
            }
        })
        .await?;
        outcome
    }
}

/// One strip thread: pages from `queue` until it closes (or nobody takes results).
fn strip_worker(
    queue: &std::sync::Mutex<mpsc::Receiver<Fetched>>,
    results: &mpsc::Sender<(Fetched, Result<Extracted, StripError>)>,
    options: &Options,
) {
    loop {
        // The lock is held only while waiting for the next page: one waiter at a time.
        let next = match queue.lock() {
            Ok(mut q) => q.blocking_recv(),
            Err(poisoned) => poisoned.into_inner().blocking_recv(),
        };
        let Some(f) = next else { return };
        let started = std::time::Instant::now();
        let extracted = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            newsriver_stripper::extract_with(&f.page.html, Some(&f.page.final_url), options)
        }));
        metrics::histogram!("newsriver_extraction_duration_seconds")
            .record(started.elapsed().as_secs_f64());
        match extracted {
            Ok(result) => {
                if results.blocking_send((f, result)).is_err() {
                    return;
                }
            }
            // A panic in the stripper is a bug, on one page: that job is lost from this
            // run only (it stays pending), and the other pages go on.
            Err(_) => tracing::error!(url = %f.job.page.url, "stripper panicked on this page"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::messages::test_job;

    fn fetched(html: &str) -> Fetched {
        Fetched {
            job: test_job("https://a.test/x"),
            page: newsriver_fetcher::Page {
                final_url: "https://a.test/x".into(),
                html: html.into(),
                encoding: "UTF-8",
            },
            fetched_at: chrono::Utc::now(),
        }
    }

    #[test]
    fn an_article_goes_on_and_a_page_without_one_fails_for_good() {
        let settings = crate::config::Config::load(None).expect("defaults").strip;
        let stage = StripStage::new(&settings, &FilterConfig::default(), Arc::default());
        let page = fetched(
            "<html><body><article><p>Only one paragraph of body text that is long enough \
             to be kept by the stripper.</p></article></body></html>",
        );
        let result = newsriver_stripper::extract_with(&page.page.html, None, &stage.options);
        let stripped = stage.outcome(page, result).ok().expect("an article");
        assert!(stripped.extracted.text.starts_with("Only one paragraph"));
        assert_eq!(stage.stats.get(&stage.stats.extracted), 1);

        let empty = fetched("<html><body><nav><a href=/>Home</a></nav></body></html>");
        let result = newsriver_stripper::extract_with(&empty.page.html, None, &stage.options);
        match stage.outcome(empty, result) {
            Err(Done::Failed {
                error, transient, ..
            }) => {
                assert_eq!(error, NO_ARTICLE);
                assert!(!transient);
            }
            _ => panic!("a page without an article must fail"),
        }
        assert_eq!(stage.stats.get(&stage.stats.no_article), 1);
    }

    #[test]
    fn a_feed_s_language_stands_in_for_a_detected_one_not_a_declared_one() {
        let settings = crate::config::Config::load(None).expect("defaults").strip;
        let stage = StripStage::new(&settings, &FilterConfig::default(), Arc::default());
        let body = "<body><article><p>Only one paragraph of body text that is long enough \
                    to be kept by the stripper.</p></article></body></html>";
        let language = |html: String, hint: Option<&str>| {
            let mut page = fetched(&html);
            page.job.page.hints.language = hint.map(String::from);
            let result = newsriver_stripper::extract_with(&page.page.html, None, &stage.options);
            let stripped = stage.outcome(page, result).ok().expect("an article");
            stripped.extracted.language
        };
        let undeclared = format!("<html>{body}");
        assert_eq!(language(undeclared.clone(), None).as_deref(), Some("en"));
        assert_eq!(
            language(undeclared, Some("en-GB")).as_deref(),
            Some("en-GB")
        );
        let declared = format!("<html lang=\"fr\">{body}");
        assert_eq!(language(declared, Some("en-GB")).as_deref(), Some("fr"));
    }

    #[test]
    fn articles_in_languages_outside_the_filter_are_left_out() {
        let settings = crate::config::Config::load(None).expect("defaults").strip;
        let filter = FilterConfig {
            languages: vec!["EN".into(), "fr".into()],
        };
        let stage = StripStage::new(&settings, &filter, Arc::default());
        let page = |lang: &str| {
            let attr = if lang.is_empty() {
                String::new()
            } else {
                format!(" lang=\"{lang}\"")
            };
            fetched(&format!(
                "<html{attr}><body><article><p>Only one paragraph of body text that is long \
                 enough to be kept by the stripper.</p></article></body></html>"
            ))
        };
        #[allow(clippy::result_large_err)]
        let decide = |p: Fetched| {
            let result = newsriver_stripper::extract_with(&p.page.html, None, &stage.options);
            stage.outcome(p, result)
        };
        match decide(page("ar")) {
            Err(Done::Filtered { reason, .. }) => {
                assert!(reason.contains("language ar"), "{reason}")
            }
            _ => panic!("an Arabic article must be left out"),
        }
        // A region subtag, a listed language in another case, and no language at all pass.
        assert!(decide(page("en-GB")).is_ok());
        assert!(decide(page("fr")).is_ok());
        assert!(decide(page("")).is_ok());
        assert_eq!(stage.stats.get(&stage.stats.filtered), 1);
    }

    #[test]
    fn a_feed_s_own_languages_apply_to_its_articles_only() {
        let settings = crate::config::Config::load(None).expect("defaults").strip;
        let lists = FeedLanguages::default();
        let stage = StripStage::new(&settings, &FilterConfig::default(), Arc::default())
            .feed_languages(lists.clone());
        let page = |lang: &str, source: &str| {
            let mut f = fetched(&format!(
                "<html lang=\"{lang}\"><body><article><p>Only one paragraph of body text \
                 that is long enough to be kept by the stripper.</p></article></body></html>"
            ));
            f.job.page.source = source.into();
            f
        };
        #[allow(clippy::result_large_err)]
        let decide = |p: Fetched| {
            let result = newsriver_stripper::extract_with(&p.page.html, None, &stage.options);
            stage.outcome(p, result)
        };
        lists.set([("https://feed.test/ar".to_string(), vec!["ar".to_string()])].into());
        match decide(page("en", "https://feed.test/ar")) {
            Err(Done::Filtered { reason, .. }) => {
                assert!(reason.contains("the feed's languages"), "{reason}")
            }
            _ => panic!("an English article of an Arabic-only feed must be left out"),
        }
        assert!(decide(page("ar", "https://feed.test/ar")).is_ok());
        assert!(decide(page("en", "https://feed.test/other")).is_ok());
    }
}
