//! `/_ref` routes, each documented for OpenAPI where it is defined. [`api`] assembles them;
//! the OpenAPI document is generated from the same router, so it cannot miss a route.

mod attention;
mod connections;
mod connectors;
mod read_model;
mod records;
mod runs;

use crate::http::error::{ApiError, ErrorEnvelope};
use crate::http::state::AppState;
use axum::body::Bytes;
use axum::http::{header, StatusCode};
use axum::routing::{any, get};
use axum::Router;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Owner console reference API",
        description = "Connector summaries, connection detail and diagnostics, and the writes \
                       that feed them. Every route needs the owner: a session cookie from \
                       /login or `Authorization: Bearer <owner token>`."
    ),
    modifiers(&OwnerAuth),
    components(schemas(
        ErrorEnvelope,
        console_domain::model::LifecycleAction,
        console_domain::model::ConnectionStatus,
        console_domain::synthesis::HealthState,
        connectors::ListOrderParam,
    )),
    security(("owner_token" = []), ("owner_session" = []))
)]
struct ApiDoc;

struct OwnerAuth;

impl Modify for OwnerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "owner_token",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "owner_session",
            SecurityScheme::ApiKey(utoipa::openapi::security::ApiKey::Cookie(
                utoipa::openapi::security::ApiKeyValue::new("id"),
            )),
        );
    }
}

/// Every `/_ref` route, with the OpenAPI document served at `/_ref/openapi.json`.
pub fn api() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let (router, mut doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(connectors::list_connectors))
        .routes(routes!(
            connectors::list_manifests,
            connectors::register_manifest
        ))
        .routes(routes!(connections::create_connection))
        .routes(routes!(
            connections::get_connection,
            connections::rename_connection,
            connections::delete_connection
        ))
        .routes(routes!(connections::change_lifecycle))
        .routes(routes!(connections::diagnostics))
        .routes(routes!(connections::put_schedule))
        .routes(routes!(runs::start_run))
        .routes(routes!(runs::get_run))
        .routes(routes!(runs::heartbeat_run))
        .routes(routes!(runs::finish_run))
        .routes(routes!(runs::append_events))
        .routes(routes!(runs::recover_gaps))
        .routes(routes!(records::ingest_records))
        .routes(routes!(records::delete_records))
        .routes(routes!(attention::open_attention))
        .routes(routes!(attention::resolve_attention))
        .routes(routes!(read_model::status))
        .routes(routes!(read_model::rebuild))
        .routes(routes!(read_model::runtime_heartbeat))
        .split_for_parts();
    add_openapi_route(&mut doc);
    add_edge_responses(&mut doc);
    // Serialized once; the handler holds the bytes behind a reference count, so a request
    // neither clones nor serializes the document.
    let served = Bytes::from(serde_json::to_vec(&doc).expect("an OpenAPI document serializes"));
    let router = router
        .route(
            "/_ref/openapi.json",
            get(move || {
                let body = served.clone();
                async move { ([(header::CONTENT_TYPE, "application/json")], body) }
            }),
        )
        // Unknown `/_ref` paths and methods answer in the envelope too, not with the
        // console's HTML 404 page or an empty body.
        .route("/_ref/{*rest}", any(unknown_route))
        .method_not_allowed_fallback(method_not_allowed);
    (router, doc)
}

async fn unknown_route() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found_error",
        "unknown_route",
        "No such /_ref route; see /_ref/openapi.json.",
    )
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "invalid_request_error",
        "method_not_allowed",
        "This /_ref route does not take this method; see /_ref/openapi.json.",
    )
}

/// Refusals the HTTP edge can give on any operation, before the handler runs: 400 for a
/// malformed path or query parameter or a NUL anywhere in the URI; for operations with a
/// body also 413 (too large), 415 (not JSON) and 422 (JSON of the wrong shape).
fn add_edge_responses(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
    let envelope = |description: &str| {
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ErrorEnvelope")))
                    .build(),
            )
            .build()
    };
    for item in doc.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ];
        for operation in operations.into_iter().flatten() {
            let mut edge = vec![(
                "400",
                "Malformed path or query parameter, or a NUL character",
            )];
            if operation.request_body.is_some() {
                edge.extend([
                    ("413", "Body larger than the server accepts"),
                    ("415", "Body is not `application/json`"),
                    ("422", "Body is JSON of the wrong shape"),
                ]);
            }
            for (status, description) in edge {
                operation
                    .responses
                    .responses
                    .entry(status.to_owned())
                    .or_insert_with(|| envelope(description).into());
            }
        }
    }
}

/// The document describes its own route too, so a client can discover it.
fn add_openapi_route(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::path::{HttpMethod, OperationBuilder, PathItem};
    use utoipa::openapi::ResponseBuilder;
    let operation = OperationBuilder::new()
        .operation_id(Some("openapi"))
        .summary(Some("This OpenAPI document"))
        .response(
            "200",
            ResponseBuilder::new().description("OpenAPI 3.1 JSON"),
        )
        .response(
            "401",
            ResponseBuilder::new().description("No owner credentials"),
        )
        .build();
    doc.paths.paths.insert(
        "/_ref/openapi.json".into(),
        PathItem::new(HttpMethod::Get, operation),
    );
}
