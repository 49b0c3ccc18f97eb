//! The feeds API of the admin listener, under `/api/feeds` (README, "Operating
//! newsriver", has the table). Reading is open like the rest of the listener; every
//! request that changes something needs `Authorization: Bearer <admin.token>`, and is
//! refused outright while no token is configured. Changes go to the state store (what
//! [`crate::feed_admin`] does, the same as the offline CLI) and wake the poller, so they
//! take effect at once without touching work in flight.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use newsriver_fetcher::Fetcher;
use serde::Serialize;

use crate::config::Secret;
use crate::feed_admin::{self, FeedError, FeedKey, NewFeed};
use crate::shared::{lock, SharedStore};
use crate::sources::FeedList;

/// Largest request body: a feed and its settings are a few hundred bytes.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// What the handlers share.
pub struct FeedsApi {
    store: SharedStore,
    feeds: FeedList,
    token: Secret,
    fetcher: Arc<Fetcher>,
}

impl FeedsApi {
    pub fn new(
        store: SharedStore,
        feeds: FeedList,
        token: Secret,
        fetcher: Arc<Fetcher>,
    ) -> FeedsApi {
        FeedsApi {
            store,
            feeds,
            token,
            fetcher,
        }
    }
}

/// The `/api/feeds` routes.
pub fn routes(api: Arc<FeedsApi>) -> Router {
    Router::new()
        .route("/api/feeds", get(list).post(add))
        .route("/api/feeds/{key}", get(show).delete(remove))
        .route("/api/feeds/{key}/pause", post(pause))
        .route("/api/feeds/{key}/resume", post(resume))
        .route("/api/feeds/{key}/poll", post(poll))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(api)
}

/// An error answer: `{"error": "..."}` with its status.
struct ApiError(StatusCode, String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        #[derive(Serialize)]
        struct Body {
            error: String,
        }
        json(self.0, &Body { error: self.1 })
    }
}

impl From<FeedError> for ApiError {
    fn from(e: FeedError) -> ApiError {
        let status = match &e {
            FeedError::InvalidUrl(_) | FeedError::InvalidSettings(_) => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            FeedError::Duplicate { .. }
            | FeedError::FromConfig(_)
            | FeedError::NotPolled { .. } => StatusCode::CONFLICT,
            FeedError::NotFound(_) => StatusCode::NOT_FOUND,
            FeedError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(error = %e, "feeds API");
        }
        ApiError(status, e.to_string())
    }
}

fn json(status: StatusCode, body: &impl Serialize) -> Response {
    match serde_json::to_vec(body) {
        Ok(mut bytes) => {
            bytes.push(b'\n');
            (status, [(header::CONTENT_TYPE, "application/json")], bytes).into_response()
        }
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

/// Refuses a state-changing request without the configured token.
fn authorize(api: &FeedsApi, headers: &HeaderMap) -> Result<(), ApiError> {
    if api.token.is_empty() {
        return Err(ApiError(
            StatusCode::FORBIDDEN,
            "changing feeds needs a token: set admin.token (or NEWSRIVER_ADMIN__TOKEN) and \
             send it as Authorization: Bearer <token>"
                .into(),
        ));
    }
    match bearer_token(headers) {
        Some(t) if same_secret(t.as_bytes(), api.token.expose().as_bytes()) => Ok(()),
        Some(_) => Err(ApiError(StatusCode::UNAUTHORIZED, "wrong token".into())),
        None => Err(ApiError(
            StatusCode::UNAUTHORIZED,
            "missing token: send Authorization: Bearer <admin.token>".into(),
        )),
    }
}

/// The token of an `Authorization: Bearer <token>` header. The scheme's name is
/// case-insensitive (RFC 9110), the token is not.
fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
}

/// Compares without stopping at the first difference, so the answer's timing does not
/// tell how much of a guessed token was right.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Runs `f` on the store and the configured feeds off the async workers (SQLite blocks).
async fn with_queue<T: Send + 'static>(
    api: &Arc<FeedsApi>,
    f: impl FnOnce(
            &newsriver_store::WorkQueue<'_>,
            &std::collections::HashSet<String>,
        ) -> Result<T, FeedError>
        + Send
        + 'static,
) -> Result<T, ApiError> {
    let api = api.clone();
    tokio::task::spawn_blocking(move || {
        let configured = api.feeds.configured();
        let mut store = lock(&api.store);
        let queue = store.queue();
        f(&queue, &configured)
    })
    .await
    .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
    .map_err(ApiError::from)
}

async fn list(State(api): State<Arc<FeedsApi>>) -> Result<Response, ApiError> {
    let feeds = with_queue(&api, feed_admin::list).await?;
    Ok(json(StatusCode::OK, &feeds))
}

async fn show(
    State(api): State<Arc<FeedsApi>>,
    Path(key): Path<String>,
) -> Result<Response, ApiError> {
    let key = FeedKey::parse(&key);
    let feed = with_queue(&api, move |q, c| {
        feed_admin::find(q, c, &key).map(|f| feed_admin::FeedView::of(&f))
    })
    .await?;
    Ok(json(StatusCode::OK, &feed))
}

async fn add(
    State(api): State<Arc<FeedsApi>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    authorize(&api, &headers)?;
    // 413 for a body over the limit, as the extractor says.
    let body = body.map_err(|e| ApiError(e.status(), e.body_text()))?;
    let mut feed: NewFeed = serde_json::from_slice(&body).map_err(|e| {
        ApiError(
            StatusCode::BAD_REQUEST,
            format!("invalid request body: {e}"),
        )
    })?;
    if feed.discover {
        feed_admin::check_url(&feed.url)?;
        let found = crate::discover::discover(&api.fetcher, &feed.url)
            .await
            .map_err(|e| ApiError(StatusCode::UNPROCESSABLE_ENTITY, format!("{e:#}")))?;
        let Some(first) = found.into_iter().next() else {
            return Err(ApiError(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("no feed found at {}", feed.url),
            ));
        };
        feed.url = first.url;
    }
    let added = with_queue(&api, move |q, c| feed_admin::add(q, c, &feed)).await?;
    api.feeds.wake();
    Ok(json(StatusCode::CREATED, &added))
}

async fn remove(
    State(api): State<Arc<FeedsApi>>,
    headers: HeaderMap,
    Path(key): Path<String>,
) -> Result<Response, ApiError> {
    authorize(&api, &headers)?;
    let key = FeedKey::parse(&key);
    let removed = with_queue(&api, move |q, c| feed_admin::remove(q, c, &key)).await?;
    Ok(json(StatusCode::OK, &removed))
}

async fn pause(
    State(api): State<Arc<FeedsApi>>,
    headers: HeaderMap,
    Path(key): Path<String>,
) -> Result<Response, ApiError> {
    set_paused(api, headers, key, true).await
}

async fn resume(
    State(api): State<Arc<FeedsApi>>,
    headers: HeaderMap,
    Path(key): Path<String>,
) -> Result<Response, ApiError> {
    set_paused(api, headers, key, false).await
}

async fn set_paused(
    api: Arc<FeedsApi>,
    headers: HeaderMap,
    key: String,
    paused: bool,
) -> Result<Response, ApiError> {
    authorize(&api, &headers)?;
    let key = FeedKey::parse(&key);
    let feed = with_queue(&api, move |q, c| feed_admin::set_paused(q, c, &key, paused)).await?;
    api.feeds.wake();
    Ok(json(StatusCode::OK, &feed))
}

async fn poll(
    State(api): State<Arc<FeedsApi>>,
    headers: HeaderMap,
    Path(key): Path<String>,
) -> Result<Response, ApiError> {
    authorize(&api, &headers)?;
    let key = FeedKey::parse(&key);
    let feed = with_queue(&api, move |q, c| feed_admin::poll_now(q, c, &key)).await?;
    api.feeds.wake();
    Ok(json(StatusCode::ACCEPTED, &feed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_compare_whole() {
        assert!(same_secret(b"abc", b"abc"));
        assert!(!same_secret(b"abc", b"abd"));
        assert!(!same_secret(b"abc", b"abcd"));
        assert!(!same_secret(b"", b"a"));
    }

    #[test]
    fn the_bearer_scheme_is_read_in_any_case() {
        let with = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::AUTHORIZATION, v.parse().unwrap());
            bearer_token(&h).map(str::to_string)
        };
        assert_eq!(with("Bearer abc").as_deref(), Some("abc"));
        assert_eq!(with("bearer  abc ").as_deref(), Some("abc"));
        assert_eq!(with("Basic abc"), None);
        assert_eq!(with("Bearer"), None);
        assert_eq!(bearer_token(&HeaderMap::new()), None);
    }
}
