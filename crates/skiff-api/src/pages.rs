//! A web front end served beside the API (the dashboard): its files at their paths, and the
//! token every request must carry once pages are served (the service then listens where a
//! browser reaches it): `?token=` on the first page, then the cookie that page sets, or an
//! `Authorization: Bearer` header.
use hyper::body::Incoming;
use hyper::header::{HOST, HeaderValue, ORIGIN};
use hyper::{Method, Request, Response, StatusCode};
use serde_json::json;

use crate::body::{self, Body};

/// One file of the front end.
#[derive(Debug, Clone)]
pub struct Page {
    pub path: &'static str,
    pub content_type: &'static str,
    pub body: &'static [u8],
}

#[derive(Debug, Clone)]
pub struct Pages {
    pub token: String,
    pub files: Vec<Page>,
}

const COOKIE: &str = "skiff_token";

/// Whether a browser sent this request from a page of another site, for anything that acts:
/// every method but GET and HEAD, and WebSocket handshakes (a terminal acts). Such a request
/// carries the cookie only if the browser ignored SameSite; the Origin check stands anyway.
/// Clients that are not browsers send no Origin.
fn cross_origin(request: &Request<Incoming>) -> bool {
    let acts = !matches!(*request.method(), Method::GET | Method::HEAD)
        || crate::websocket::is_handshake(request);
    let header = |name| {
        request
            .headers()
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    let (Some(origin), true) = (header(ORIGIN), acts) else {
        return false;
    };
    let host = header(HOST).unwrap_or_default();
    origin != format!("http://{host}") && origin != format!("https://{host}")
}

impl Pages {
    /// Whether the request carries the token.
    fn authorized(&self, request: &Request<Incoming>) -> bool {
        let query_token = request.uri().query().is_some_and(|query| {
            query
                .split('&')
                .any(|pair| pair.strip_prefix("token=") == Some(self.token.as_str()))
        });
        let header = |name: &str| {
            request
                .headers()
                .get_all(name)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .map(str::to_string)
                .collect::<Vec<_>>()
        };
        let cookie = header("cookie").iter().any(|cookies| {
            cookies
                .split(';')
                .any(|c| c.trim().strip_prefix(&format!("{COOKIE}=")) == Some(self.token.as_str()))
        });
        let bearer = header("authorization")
            .iter()
            .any(|v| v.strip_prefix("Bearer ") == Some(self.token.as_str()));
        query_token || cookie || bearer
    }

    /// The answer to a request for one of the pages, or to one without the token; None when
    /// the API is to answer it.
    pub fn answer(&self, request: &Request<Incoming>) -> Option<Response<Body>> {
        let path = request.uri().path();
        let page = self.files.iter().find(|p| p.path == path);
        if !self.authorized(request) {
            let message = "missing or wrong token: open the address `skiff dashboard` printed";
            return Some(match page {
                Some(_) => body::with_type(
                    StatusCode::UNAUTHORIZED,
                    body::full(message),
                    "text/plain; charset=utf-8",
                ),
                None => body::json(StatusCode::UNAUTHORIZED, &json!({ "message": message })),
            });
        }
        if cross_origin(request) {
            return Some(body::json(
                StatusCode::FORBIDDEN,
                &json!({ "message": "refused: a request from another site's page" }),
            ));
        }
        let page = page?;
        let mut response =
            body::with_type(StatusCode::OK, body::full(page.body), page.content_type);
        let cookie = format!("{COOKIE}={}; HttpOnly; SameSite=Strict; Path=/", self.token);
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response.headers_mut().insert("Set-Cookie", value);
        }
        response
            .headers_mut()
            .insert("Cache-Control", HeaderValue::from_static("no-store"));
        Some(response)
    }
}
