//! Content negotiation of `Accept` (rust-ecosystem.md §3.4 "Content negotiation"): JSON, the
//! `meta.k8s.io/v1` PartialObjectMetadata forms kube's metadata API asks for, or the
//! `meta.k8s.io/v1` Table kubectl asks for (`http/table`), each in JSON or, for resource
//! requests, protobuf (`crate::protobuf`).
//!
//! Pure header parsing.

/// The response form a request accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Representation {
    Json,
    /// `as=PartialObjectMetadata` (items and watch events) / `PartialObjectMetadataList`.
    Metadata,
    MetadataList,
    /// `as=Table;v=v1;g=meta.k8s.io` (reads and watches; writes answer JSON).
    Table,
}

/// How a response body is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    Json,
    /// `application/vnd.kubernetes.protobuf` (built-in kinds; custom resources stay JSON).
    Protobuf,
}

/// The first supported JSON media range of an `Accept` header, or `None` (406). For the
/// documents that exist only as JSON (OpenAPI, discovery).
pub fn negotiate(accept: Option<&str>) -> Option<Representation> {
    negotiate_ranges(accept, false).map(|(representation, _)| representation)
}

/// The first supported media range of an `Accept` header for a resource request, protobuf
/// included (client-go asks `application/vnd.kubernetes.protobuf, application/json` for
/// built-in kinds), or `None` (406). Tables are JSON only, as kubectl asks for them.
pub fn negotiate_resource(accept: Option<&str>) -> Option<(Representation, Encoding)> {
    negotiate_ranges(accept, true)
}

fn negotiate_ranges(
    accept: Option<&str>,
    protobuf_allowed: bool,
) -> Option<(Representation, Encoding)> {
    let Some(accept) = accept.map(str::trim).filter(|a| !a.is_empty()) else {
        return Some((Representation::Json, Encoding::Json));
    };
    for range in accept.split(',') {
        let mut parts = range.split(';').map(str::trim);
        let media = parts.next().unwrap_or_default().to_ascii_lowercase();
        let mut as_kind = None;
        let mut group = None;
        let mut version = None;
        for param in parts {
            if let Some((k, v)) = param.split_once('=') {
                match k.trim() {
                    "as" => as_kind = Some(v.trim().to_string()),
                    "g" => group = Some(v.trim().to_string()),
                    "v" => version = Some(v.trim().to_string()),
                    _ => {}
                }
            }
        }
        let json_like = matches!(
            media.as_str(),
            "application/json" | "*/*" | "application/*" | "application/yaml"
        );
        let encoding = if json_like {
            Encoding::Json
        } else if protobuf_allowed && media == crate::protobuf::MEDIA_TYPE {
            Encoding::Protobuf
        } else {
            continue;
        };
        match (as_kind.as_deref(), group.as_deref()) {
            (None, _) => return Some((Representation::Json, encoding)),
            (Some("PartialObjectMetadata"), Some("meta.k8s.io") | None) => {
                return Some((Representation::Metadata, encoding));
            }
            (Some("PartialObjectMetadataList"), Some("meta.k8s.io") | None) => {
                return Some((Representation::MetadataList, encoding));
            }
            // Only the v1 Table is served; kubectl offers v1 first.
            (Some("Table"), Some("meta.k8s.io"))
                if version.as_deref() == Some("v1") && encoding == Encoding::Json =>
            {
                return Some((Representation::Table, encoding));
            }
            _ => continue,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_headers_of_kube_and_kubectl_are_understood() {
        let cases = [
            (None, Some(Representation::Json)),
            (Some("application/json"), Some(Representation::Json)),
            (Some("application/json, */*"), Some(Representation::Json)),
            (
                Some(
                    "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json",
                ),
                Some(Representation::Table),
            ),
            (
                Some("application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"),
                Some(Representation::Json),
            ),
            (
                Some("application/vnd.kubernetes.protobuf,application/json"),
                Some(Representation::Json),
            ),
            (
                Some("application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1"),
                Some(Representation::Metadata),
            ),
            (
                Some("application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"),
                Some(Representation::MetadataList),
            ),
            (Some("application/vnd.kubernetes.protobuf"), None),
            (
                Some("application/json;as=Table;v=v1beta1;g=meta.k8s.io"),
                None,
            ),
        ];
        for (accept, expected) in cases {
            assert_eq!(negotiate(accept), expected, "{accept:?}");
        }
    }

    #[test]
    fn resource_requests_may_negotiate_protobuf() {
        let cases = [
            (None, Some((Representation::Json, Encoding::Json))),
            (
                Some("application/vnd.kubernetes.protobuf, application/json"),
                Some((Representation::Json, Encoding::Protobuf)),
            ),
            (
                Some("application/vnd.kubernetes.protobuf"),
                Some((Representation::Json, Encoding::Protobuf)),
            ),
            (
                Some("application/json, application/vnd.kubernetes.protobuf"),
                Some((Representation::Json, Encoding::Json)),
            ),
            (
                Some(
                    "application/vnd.kubernetes.protobuf;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json",
                ),
                Some((Representation::MetadataList, Encoding::Protobuf)),
            ),
            (
                Some(
                    "application/vnd.kubernetes.protobuf;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1;g=meta.k8s.io",
                ),
                Some((Representation::Table, Encoding::Json)),
            ),
        ];
        for (accept, expected) in cases {
            assert_eq!(negotiate_resource(accept), expected, "{accept:?}");
        }
    }
}
