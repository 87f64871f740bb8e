//! Test support: the CEL rule catalogue of spec-api.md §9 (rule text and message, byte for
//! byte; the numbering is the spec's) and access to the generated CRD schemas.
//!
//! The rules are copied from the spec, not from our types, so a typo in either shows.

use std::sync::OnceLock;

use crd_admission::crd_schema::{CompiledCrd, FieldValidation, unknown_field_text};
use serde_json::Value;

/// `RULES[n - 1]` is rule `n` of spec-api.md §9: `(rule, message)`.
pub const RULES: [(&str, &str); 31] = [
    /*  1 */
    (
        "self.metadata.name.size() <= 25",
        "MultigresCluster name must be at most 25 characters",
    ),
    /*  2 */
    (
        "oldSelf.all(c, c.name in self.map(x, x.name))",
        "Cells cannot be removed or renamed (Append-Only)",
    ),
    /*  3 */
    (
        "!(has(self.spec) && has(self.cellTemplate))",
        "cannot specify both 'spec' and 'cellTemplate'",
    ),
    /*  4 */
    (
        "!(has(self.spec) && has(self.overrides))",
        "cannot specify both 'spec' and 'overrides'",
    ),
    /*  5 */
    (
        "!(has(self.zone) && has(self.region))",
        "cannot specify both 'zone' and 'region'",
    ),
    /*  6 */
    (
        "!has(self.localTopoServer)",
        "local topology servers (localTopoServer) are not yet supported",
    ),
    /*  7 */
    (
        "has(self.etcd) || has(self.external)",
        "must specify either 'etcd' or 'external'",
    ),
    /*  8 */
    (
        "!(has(self.etcd) && has(self.external))",
        "only one of 'etcd' or 'external' can be set",
    ),
    /*  9 */
    (
        "self.all(x, x.matches('^https?://'))",
        "endpoints must be valid URLs",
    ),
    /* 10 */
    (
        "self % 2 == 1",
        "etcd replicas must be an odd number (1, 3, 5); even numbers provide no additional fault tolerance over the next lower odd number",
    ),
    /* 11 */
    (
        "[has(self.etcd), has(self.external), has(self.templateRef)].filter(x, x).size() == 1",
        "must specify exactly one of 'etcd', 'external', or 'templateRef'",
    ),
    /* 12 */ ("has(self.etcd)", "must specify 'etcd' configuration"),
    /* 13 */
    (
        "has(self.spec) || has(self.templateRef)",
        "must specify either 'spec' or 'templateRef'",
    ),
    /* 14 */
    (
        "!(has(self.spec) && has(self.templateRef))",
        "cannot specify both 'spec' and 'templateRef'",
    ),
    /* 15 */
    (
        "self.all(db, db.name == 'postgres' && db.default == true)",
        "in v1alpha1, only the single system database named 'postgres' (marked default: true) is supported",
    ),
    /* 16 */
    (
        "self.filter(x, has(x.default) && x.default).size() == 1",
        "every database must have exactly one tablegroup marked as default",
    ),
    /* 17 */
    (
        "!has(self.default) || !self.default || self.name == 'default'",
        "the default tablegroup must be named 'default'",
    ),
    /* 18 */
    (
        "!(has(self.spec) && has(self.shardTemplate))",
        "cannot specify both 'spec' and 'shardTemplate'",
    ),
    /* 19 */
    (
        "!(has(self.spec) && has(self.overrides))",
        "cannot specify both 'spec' and 'overrides'",
    ),
    /* 20 */
    (
        "self == '0-inf'",
        "shardName must be strictly equal to '0-inf' in this version",
    ),
    /* 21 */
    (
        "self.all(key, size(key) <= 25)",
        "pool names must be <= 25 chars",
    ),
    /* 22 */
    (
        "oldSelf.all(k, k in self)",
        "Pools cannot be removed or renamed in this version (Append-Only)",
    ),
    /* 23 */
    (
        "self.all(key, size(key) < 63)",
        "pool names must be < 63 chars",
    ),
    /* 24 */
    (
        "oldSelf.all(c, c in self)",
        "Cells cannot be removed from a pool (Append-Only)",
    ),
    /* 25 */
    (
        "self.all(k, size(k) < 64 && size(self[k]) < 256)",
        "annotation keys must be <64 chars and values <256 chars",
    ),
    /* 26 */
    (
        "self.all(k, size(k) < 64 && size(self[k]) < 64)",
        "label keys and values must be <64 chars",
    ),
    /* 27 */
    (
        "self.type != 's3' || has(self.s3)",
        "s3 config is required when type is 's3'",
    ),
    /* 28 */
    (
        "self.type != 'filesystem' || has(self.filesystem)",
        "filesystem config is required when type is 'filesystem'",
    ),
    /* 29 */
    (
        "!(has(self.serviceAccountName) && size(self.serviceAccountName) > 0 && has(self.credentialsSecret) && size(self.credentialsSecret) > 0)",
        "serviceAccountName and credentialsSecret are mutually exclusive",
    ),
    /* 30 */
    (
        "!(has(self.serviceAccountName) && size(self.serviceAccountName) > 0 && has(self.useEnvCredentials) && self.useEnvCredentials)",
        "serviceAccountName and useEnvCredentials are mutually exclusive — IRSA credentials are handled automatically",
    ),
    /* 31 */
    (
        "!has(self.annotations) || self.annotations.all(k, !k.startsWith('multigres.com/'))",
        "annotations must not use multigres.com/ prefix (reserved for operator)",
    ),
];

/// Message of rule `n` of spec-api.md §9.
pub fn message(n: usize) -> &'static str {
    RULES[n - 1].1
}

/// The `openAPIV3Schema` of the generated CRD with this plural, as JSON. Generated once per
/// test binary: schema generation is the slow part of these tests.
pub fn crd_schema(plural: &str) -> &'static Value {
    static SCHEMAS: OnceLock<Vec<(String, Value)>> = OnceLock::new();
    let schemas = SCHEMAS.get_or_init(|| {
        multigres_api::crds::crds()
            .into_iter()
            .map(|crd| {
                let schema = crd.spec.versions[0]
                    .schema
                    .as_ref()
                    .and_then(|validation| validation.open_api_v3_schema.as_ref())
                    .expect("every generated CRD has a schema");
                let schema = serde_json::to_value(schema).expect("a schema serializes to JSON");
                (crd.spec.names.plural, schema)
            })
            .collect()
    });
    schemas
        .iter()
        .find_map(|(name, schema)| (name == plural).then_some(schema))
        .expect("the tests only ask for plurals of generated CRDs")
}

/// The generated CRD with this plural, compiled by the CRD engine the API server stand-in
/// (kubesim), `render` and the webhook run (`crd-admission`), so these tests check the engine
/// that runs. Compiled once per test binary.
pub fn compiled_crd(plural: &str) -> &'static CompiledCrd {
    static CRDS: OnceLock<Vec<CompiledCrd>> = OnceLock::new();
    let crds = CRDS.get_or_init(|| {
        multigres_api::crds::crds()
            .iter()
            .map(|crd| CompiledCrd::new(crd).expect("every generated CRD is accepted"))
            .collect()
    });
    crds.iter()
        .find(|crd| crd.plural() == plural)
        .expect("the tests only ask for plurals of generated CRDs")
}

/// `object` with the schema defaults of the CRD with this plural applied, as the API server
/// stores it.
pub fn apply_defaults(plural: &str, object: &Value) -> Value {
    let crd = compiled_crd(plural);
    let mut stored = object.clone();
    crd.apply_defaults(crd.storage_version().name(), &mut stored);
    stored
}

/// What the API server does with a write of `object` (replacing `old` on an update): the stored
/// object, or every rejection as `(field path, message)`. A CEL rejection's message is the
/// rule's message; other causes keep the API server's whole body (`Unsupported value: ...`).
pub fn admit(
    plural: &str,
    object: &Value,
    old: Option<&Value>,
) -> Result<Value, Vec<(String, String)>> {
    let crd = compiled_crd(plural);
    let version = crd.storage_version().name().to_owned();
    let mut stored = object.clone();
    let unknown = match crd.prune_and_default(&version, &mut stored, FieldValidation::Strict) {
        Ok(_) => Vec::new(),
        Err(strict) => strict.unknown_fields,
    };
    let old = old.map(|old| apply_defaults(plural, old));
    let mut rejections: Vec<(String, String)> = unknown
        .into_iter()
        .map(|path| (path.clone(), unknown_field_text(&path)))
        .collect();
    if let Err(causes) = crd.validate(&version, &stored, old.as_ref()) {
        rejections.extend(
            causes
                .iter()
                .map(|cause| (cause.field.clone(), rule_message(&cause.message))),
        );
    }
    if rejections.is_empty() {
        Ok(stored)
    } else {
        Err(rejections)
    }
}

/// The rule message of a CEL cause (`Invalid value: "object": <message>`); any other cause as is.
fn rule_message(body: &str) -> String {
    body.strip_prefix("Invalid value: \"")
        .and_then(|rest| rest.split_once("\": "))
        .filter(|(kind, _)| {
            matches!(
                *kind,
                "object" | "array" | "string" | "integer" | "number" | "boolean"
            )
        })
        .map_or_else(|| body.to_owned(), |(_, message)| message.to_owned())
}
