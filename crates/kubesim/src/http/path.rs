//! Parses request paths into what they address: `/api/v1/...` and `/apis/{g}/{v}/...` resource
//! paths (namespaced, cluster-wide, items, subresources), discovery, version, health and the
//! kubesim control endpoints (rust-ecosystem.md §3.4 endpoint table).
//!
//! Pure string work; whether a resource exists is the registry's question.

/// A resource path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResourcePath {
    pub group: String,
    pub version: String,
    pub namespace: Option<String>,
    pub plural: String,
    pub name: Option<String>,
    pub subresource: Option<String>,
}

/// What a request path addresses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    Version,
    Health,
    /// `GET /api`
    CoreVersions,
    /// `GET /apis`
    Groups,
    /// `GET /apis/{group}`
    Group {
        group: String,
    },
    /// `GET /api/v1`, `GET /apis/{g}/{v}`
    ResourceList {
        group: String,
        version: String,
    },
    Resource(ResourcePath),
    /// `/kubesim/v1/faults`
    Faults,
    /// `/kubesim/v1/faults/drop-watches`
    DropWatches,
    /// `/kubesim/v1/requests`
    Requests,
    /// `GET /openapi/v3`
    OpenApiIndex,
    /// `GET /openapi/v3/api/v1`, `GET /openapi/v3/apis/{g}/{v}`
    OpenApi {
        group: String,
        version: String,
    },
    /// `/kubesim/v1/resolve?name=...` (crate::dns)
    Resolve,
    Unknown,
}

/// Parses a request path (without query).
pub fn parse(path: &str) -> Route {
    let segments: Vec<&str> = path
        .trim_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    match segments.as_slice() {
        ["version"] => Route::Version,
        ["healthz"] | ["livez"] | ["readyz"] => Route::Health,
        ["healthz" | "livez" | "readyz", _] => Route::Health,
        ["kubesim", "v1", "faults"] => Route::Faults,
        ["kubesim", "v1", "faults", "drop-watches"] => Route::DropWatches,
        ["kubesim", "v1", "requests"] => Route::Requests,
        ["openapi", "v3"] => Route::OpenApiIndex,
        ["openapi", "v3", "api", version] => Route::OpenApi {
            group: String::new(),
            version: (*version).to_string(),
        },
        ["openapi", "v3", "apis", group, version] => Route::OpenApi {
            group: (*group).to_string(),
            version: (*version).to_string(),
        },
        ["kubesim", "v1", "resolve"] => Route::Resolve,
        ["api"] => Route::CoreVersions,
        ["apis"] => Route::Groups,
        ["apis", group] => Route::Group {
            group: (*group).to_string(),
        },
        ["api", version, rest @ ..] => resource_route("", version, rest),
        ["apis", group, version, rest @ ..] => resource_route(group, version, rest),
        _ => Route::Unknown,
    }
}

fn resource_route(group: &str, version: &str, rest: &[&str]) -> Route {
    let make = |namespace: Option<&str>, plural: &str, name: Option<&str>, sub: Option<&str>| {
        Route::Resource(ResourcePath {
            group: group.to_string(),
            version: version.to_string(),
            namespace: namespace.map(str::to_string),
            plural: plural.to_string(),
            name: name.map(str::to_string),
            subresource: sub.map(str::to_string),
        })
    };
    let is_namespace_subresource = |s: &str| s == "status" || s == "finalize";
    match rest {
        [] => Route::ResourceList {
            group: group.to_string(),
            version: version.to_string(),
        },
        [plural] => make(None, plural, None, None),
        ["namespaces", name, sub] if group.is_empty() && is_namespace_subresource(sub) => {
            make(None, "namespaces", Some(name), Some(sub))
        }
        ["namespaces", ns, plural] => make(Some(ns), plural, None, None),
        ["namespaces", ns, plural, name] => make(Some(ns), plural, Some(name), None),
        ["namespaces", ns, plural, name, sub] => make(Some(ns), plural, Some(name), Some(sub)),
        [plural, name] => make(None, plural, Some(name), None),
        [plural, name, sub] => make(None, plural, Some(name), Some(sub)),
        _ => Route::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn res(g: &str, ns: Option<&str>, p: &str, n: Option<&str>, s: Option<&str>) -> Route {
        Route::Resource(ResourcePath {
            group: g.into(),
            version: "v1".into(),
            namespace: ns.map(Into::into),
            plural: p.into(),
            name: n.map(Into::into),
            subresource: s.map(Into::into),
        })
    }

    #[test]
    fn resource_paths_are_split_into_their_parts() {
        let cases = [
            ("/api/v1/pods", res("", None, "pods", None, None)),
            (
                "/api/v1/namespaces",
                res("", None, "namespaces", None, None),
            ),
            (
                "/api/v1/namespaces/default",
                res("", None, "namespaces", Some("default"), None),
            ),
            (
                "/api/v1/namespaces/a/status",
                res("", None, "namespaces", Some("a"), Some("status")),
            ),
            (
                "/api/v1/namespaces/a/configmaps",
                res("", Some("a"), "configmaps", None, None),
            ),
            (
                "/api/v1/namespaces/a/configmaps/c",
                res("", Some("a"), "configmaps", Some("c"), None),
            ),
            (
                "/apis/apps/v1/namespaces/a/deployments/d/scale",
                res("apps", Some("a"), "deployments", Some("d"), Some("scale")),
            ),
            (
                "/api/v1/nodes/n1/status",
                res("", None, "nodes", Some("n1"), Some("status")),
            ),
            (
                "/apis/apps/v1/deployments",
                res("apps", None, "deployments", None, None),
            ),
        ];
        for (path, expected) in cases {
            assert_eq!(parse(path), expected, "{path}");
        }
    }

    #[test]
    fn discovery_and_control_paths_are_recognised() {
        assert_eq!(parse("/api"), Route::CoreVersions);
        assert_eq!(parse("/apis"), Route::Groups);
        assert_eq!(
            parse("/apis/apps/v1"),
            Route::ResourceList {
                group: "apps".into(),
                version: "v1".into()
            }
        );
        assert_eq!(
            parse("/api/v1"),
            Route::ResourceList {
                group: "".into(),
                version: "v1".into()
            }
        );
        assert_eq!(parse("/version"), Route::Version);
        assert_eq!(parse("/readyz"), Route::Health);
        assert_eq!(parse("/kubesim/v1/faults"), Route::Faults);
        assert_eq!(parse("/openapi/v3"), Route::OpenApiIndex);
        assert_eq!(
            parse("/openapi/v3/api/v1"),
            Route::OpenApi {
                group: "".into(),
                version: "v1".into()
            }
        );
        assert_eq!(
            parse("/openapi/v3/apis/apps/v1"),
            Route::OpenApi {
                group: "apps".into(),
                version: "v1".into()
            }
        );
        assert_eq!(parse("/kubesim/v1/resolve"), Route::Resolve);
        assert_eq!(parse("/nope"), Route::Unknown);
    }
}
