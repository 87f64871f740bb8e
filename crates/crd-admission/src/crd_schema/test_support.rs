//! Fixtures for the CRD engine's tests: a small CRD shaped like the multigres
//! ones (list-type map and set lists, a map of pools, transition rules, nested
//! defaults, an embedded resource, status and scale subresources).
//!
//! Names (`Shardset`, `kubesim.example.test`) are chosen so they cannot be
//! mistaken for a default.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use serde_json::{Value, json};

pub(crate) const GROUP: &str = "kubesim.example.test";
pub(crate) const VERSION: &str = "v1beta2";
pub(crate) const KIND: &str = "Shardset";

/// The fixture CRD as JSON, so tests can mutate it before typing it.
pub(crate) fn shardset_crd_json() -> Value {
    json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "shardsets.kubesim.example.test"},
        "spec": {
            "group": GROUP,
            "scope": "Namespaced",
            "names": {"plural": "shardsets", "kind": KIND, "shortNames": ["shs"], "categories": ["multigres"]},
            "versions": [{
                "name": VERSION,
                "served": true,
                "storage": true,
                "subresources": {
                    "status": {},
                    "scale": {"specReplicasPath": ".spec.replicas", "statusReplicasPath": ".status.readyReplicas"}
                },
                "additionalPrinterColumns": [
                    {"name": "Mode", "type": "string", "jsonPath": ".spec.mode"},
                    {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}
                ],
                "selectableFields": [{"jsonPath": ".spec.mode"}],
                "schema": {"openAPIV3Schema": shardset_schema()}
            }]
        }
    })
}

/// The `openAPIV3Schema` of the fixture.
pub(crate) fn shardset_schema() -> Value {
    json!({
        "type": "object",
        "x-kubernetes-validations": [
            {"rule": "self.metadata.name.size() <= 25", "message": "Shardset name must be at most 25 characters"}
        ],
        "properties": {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "metadata": {"type": "object"},
            "spec": spec_schema(),
            "status": {
                "type": "object",
                "properties": {"phase": {"type": "string"}, "readyReplicas": {"type": "integer"}}
            }
        }
    })
}

/// The schema of `.spec`, assembled from parts (one `json!` would recurse too deep).
fn spec_schema() -> Value {
    let mut properties = serde_json::Map::new();
    for part in [spec_scalars(), spec_collections(), spec_objects()] {
        if let Value::Object(map) = part {
            properties.extend(map);
        }
    }
    json!({
        "type": "object",
        "required": ["name"],
        "x-kubernetes-validations": [
            {"rule": "!(has(self.zone) && has(self.region))", "message": "cannot specify both 'zone' and 'region'"}
        ],
        "properties": properties
    })
}

fn spec_scalars() -> Value {
    json!({
                    "name": {"type": "string", "minLength": 1, "maxLength": 30, "pattern": "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"},
                    "zone": {"type": "string"},
                    "region": {"type": "string"},
                    "replicas": {
                        "type": "integer", "format": "int32", "minimum": 0, "maximum": 128, "default": 1,
                        "x-kubernetes-validations": [{"rule": "self % 2 == 1", "message": "replicas must be odd"}]
                    },
                    "mode": {"type": "string", "enum": ["primary", "replica"]},
                    "ratio": {"type": "number", "minimum": 0, "exclusiveMinimum": true, "maximum": 1, "exclusiveMaximum": true},
                    "step": {"type": "integer", "multipleOf": 5},
                    "cells": {
                        "type": "array", "x-kubernetes-list-type": "set", "maxItems": 2,
                        "items": {"type": "string"},
                        "x-kubernetes-validations": [
                            {"rule": "oldSelf.all(c, c in self)", "message": "Cells cannot be removed from a pool (Append-Only)"}
                        ]
                    }
    })
}

fn spec_collections() -> Value {
    json!({
                    "pools": {
                        "type": "object", "maxProperties": 2,
                        "x-kubernetes-validations": [
                            {"rule": "self.all(key, size(key) <= 25)", "message": "pool names must be <= 25 chars"},
                            {"rule": "oldSelf.all(k, k in self)", "message": "Pools cannot be removed or renamed in this version (Append-Only)"}
                        ],
                        "additionalProperties": {
                            "type": "object",
                            "properties": {
                                "replicasPerCell": {"type": "integer", "minimum": 1, "maximum": 32, "default": 3},
                                "cells": {
                                    "type": "array", "x-kubernetes-list-type": "set", "minItems": 1,
                                    "items": {"type": "string"},
                                    "x-kubernetes-validations": [
                                        {"rule": "oldSelf.all(c, c in self)", "message": "Cells cannot be removed from a pool (Append-Only)"}
                                    ]
                                }
                            }
                        }
                    },
                    "databases": {
                        "type": "array", "maxItems": 3,
                        "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"],
                        "items": {
                            "type": "object", "required": ["name"],
                            "properties": {
                                "name": {"type": "string"},
                                "owner": {"type": "string", "default": "postgres"},
                                "tables": {
                                    "type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"},
                                    "x-kubernetes-validations": [
                                        {"rule": "oldSelf.all(t, t in self)", "message": "tables are append-only"}
                                    ]
                                }
                            }
                        }
                    }
    })
}

fn spec_objects() -> Value {
    json!({
                    "backup": {
                        "type": "object", "default": {},
                        "x-kubernetes-validations": [
                            {"rule": "self.type != 's3' || has(self.s3)", "message": "s3 config is required when type is 's3'"}
                        ],
                        "properties": {
                            "type": {"type": "string", "enum": ["filesystem", "s3"], "default": "filesystem"},
                            "filesystem": {
                                "type": "object", "default": {},
                                "properties": {"path": {"type": "string", "default": "/backups"}}
                            },
                            "s3": {"type": "object", "properties": {"bucket": {"type": "string"}}}
                        }
                    },
                    "template": {
                        "type": "object", "x-kubernetes-embedded-resource": true,
                        "x-kubernetes-preserve-unknown-fields": true
                    },
                    "extra": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                    "port": {"x-kubernetes-int-or-string": true},
        "quantity": {
            "anyOf": [{"type": "integer"}, {"type": "string"}],
            "x-kubernetes-int-or-string": true,
            "pattern": "^[0-9]+(Gi|Mi)?$"
        },
                    "labels": {"type": "object", "maxProperties": 3, "additionalProperties": {"type": "string"}},
                    "schedule": {"type": "string", "format": "date-time"},
                    "payload": {"type": "string", "format": "byte"},
                    "note": {"type": "string", "nullable": true},
                    "tier": {"type": "string"},
                    "limits": {
                        "type": "object",
                        "x-kubernetes-validations": [
                            {"rule": "self.max >= self.min", "messageExpression": "'max ' + string(self.max) + ' is below min ' + string(self.min)", "fieldPath": ".max"},
                            {"rule": "!has(self.forbidden)", "message": "forbidden must not be set", "reason": "FieldValueForbidden", "fieldPath": ".forbidden"}
                        ],
                        "properties": {
                            "min": {"type": "integer"},
                            "max": {"type": "integer"},
                            "forbidden": {"type": "boolean"}
                        }
                    }
    })
}

/// Types a CRD from JSON.
pub(crate) fn typed(crd: Value) -> CustomResourceDefinition {
    serde_json::from_value(crd).expect("fixture CRDs are valid CustomResourceDefinition JSON")
}

/// A `Shardset` named `alpha` in namespace `tenant-a` with the given spec.
pub(crate) fn shardset(spec: Value) -> Value {
    json!({
        "apiVersion": format!("{GROUP}/{VERSION}"),
        "kind": KIND,
        "metadata": {"name": "alpha", "namespace": "tenant-a"},
        "spec": spec
    })
}
