//! `/images/...`: list, inspect, pull, tag, remove.
use std::sync::Arc;

use hyper::{Response, StatusCode};
use serde_json::json;
use skiff_engine::ImageFilter;
use skiff_engine::action::{Action, Report};

use crate::body::{self, Body};
use crate::docker;
use crate::error::ApiError;
use crate::routes::{Api, Query};

pub async fn list(api: &Arc<Api>, query: &Query) -> Result<Response<Body>, ApiError> {
    let all = query.flag("all", false)?;
    let filters = query.filters()?;
    let images = api
        .engine(move |engine| {
            let filter = ImageFilter::parse(&filters)?;
            let images = filter.apply(engine.list_images()?)?;
            let mut shown = Vec::new();
            for image in images {
                if all || !engine.is_intermediate(&image)? {
                    shown.push(image);
                }
            }
            Ok(shown)
        })
        .await?;
    let list: Vec<_> = images.iter().map(docker::image_summary).collect();
    Ok(body::json(StatusCode::OK, &list))
}

pub async fn inspect(api: &Arc<Api>, name: &str) -> Result<Response<Body>, ApiError> {
    let name = name.to_string();
    let image = api.engine(move |engine| engine.image(&name)).await?;
    Ok(body::json(StatusCode::OK, &docker::image_inspect(&image)))
}

/// `fromImage` with `tag` (a tag or a digest), as one reference.
fn reference(from: &str, tag: &str) -> String {
    let last = from.rsplit('/').next().unwrap_or(from);
    if tag.is_empty() || last.contains(':') || from.contains('@') {
        from.to_string()
    } else if tag.starts_with("sha256:") {
        format!("{from}@{tag}")
    } else {
        format!("{from}:{tag}")
    }
}

/// `POST /images/create?fromImage=...&tag=...`: a pull, answered with Docker's JSON
/// progress lines.
pub async fn pull(api: &Arc<Api>, query: &Query) -> Result<Response<Body>, ApiError> {
    let Some(from) = query.get("fromImage").filter(|f| !f.is_empty()) else {
        return Err(ApiError::bad_request(
            "only pulls are supported here: fromImage is required",
        ));
    };
    let name = reference(from, query.get("tag").unwrap_or_default());
    let outcome = api
        .action(Action::Pull {
            reference: name.clone(),
            platform: query
                .get("platform")
                .filter(|p| !p.is_empty())
                .map(str::to_string),
        })
        .await?;
    let Report::Pulled { id } = outcome.report else {
        return Err(ApiError::internal("pull reported no image"));
    };
    let tag = name
        .rsplit_once(':')
        .map(|(_, tag)| tag)
        .unwrap_or("latest");
    let lines = [
        json!({"status": format!("Pulling from {from}"), "id": tag}),
        json!({"status": format!("Digest: {}", docker::image_id(&id))}),
        json!({"status": format!("Status: Downloaded newer image for {name}")}),
    ];
    let text: String = lines.iter().map(|line| format!("{line}\r\n")).collect();
    Ok(body::with_type(
        StatusCode::OK,
        body::full(text),
        "application/json",
    ))
}

/// `GET /images/{name}/history`: newest first.
pub async fn history(api: &Arc<Api>, name: &str) -> Result<Response<Body>, ApiError> {
    let name = name.to_string();
    let (entries, tags) = api
        .engine(move |engine| {
            Ok((
                engine.image_history(&name)?,
                engine.image(&name)?.image.names,
            ))
        })
        .await?;
    let list: Vec<_> = entries
        .iter()
        .enumerate()
        .map(|(i, entry)| {
            json!({
                "Id": entry.id.as_deref().map(docker::image_id).unwrap_or_else(|| "<missing>".into()),
                "Created": entry.created.map(|t| t.timestamp()).unwrap_or(0),
                "CreatedBy": entry.created_by,
                "Tags": if i == 0 { tags.clone() } else { Vec::new() },
                "Size": entry.size,
                "Comment": entry.comment,
            })
        })
        .collect();
    Ok(body::json(StatusCode::OK, &list))
}

pub async fn tag(api: &Arc<Api>, name: &str, query: &Query) -> Result<Response<Body>, ApiError> {
    let Some(repo) = query.get("repo").filter(|r| !r.is_empty()) else {
        return Err(ApiError::bad_request("repo is required"));
    };
    let target = reference(repo, query.get("tag").unwrap_or("latest"));
    let source = name.to_string();
    api.engine(move |engine| engine.tag_image(&source, &target))
        .await?;
    Ok(body::status(StatusCode::CREATED))
}

pub async fn remove(api: &Arc<Api>, name: &str, query: &Query) -> Result<Response<Body>, ApiError> {
    let outcome = api
        .action(Action::RemoveImage {
            image: name.to_string(),
            force: query.flag("force", false)?,
        })
        .await?;
    let Report::ImageRemoved { untagged, deleted } = outcome.report else {
        return Err(ApiError::internal("rmi reported nothing removed"));
    };
    let mut list: Vec<_> = untagged.iter().map(|u| json!({"Untagged": u})).collect();
    list.extend(
        deleted
            .iter()
            .map(|d| json!({"Deleted": docker::image_id(d)})),
    );
    Ok(body::json(StatusCode::OK, &list))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_image_and_tag_make_one_reference() {
        assert_eq!(reference("busybox", "latest"), "busybox:latest");
        assert_eq!(reference("busybox", ""), "busybox");
        assert_eq!(reference("localhost:5000/a", "v1"), "localhost:5000/a:v1");
        assert_eq!(reference("a:v2", "latest"), "a:v2");
        assert_eq!(reference("a", "sha256:00"), "a@sha256:00");
    }
}
