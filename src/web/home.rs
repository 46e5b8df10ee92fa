use actix_web::HttpResponse;

use crate::web::see_other;

pub async fn index() -> HttpResponse {
    see_other("/settings/integrations")
}

/// For load balancers: the process is up and serving.
pub async fn health() -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain").body("ok")
}
