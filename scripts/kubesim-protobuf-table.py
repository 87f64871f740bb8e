#!/usr/bin/env python3
"""Writes crates/kubesim/src/protobuf/messages.rs: the field table (tag, field name, wire kind)
of the k8s-pb messages kubesim converts between protobuf and JSON.

The table is read from the k8s-pb crate's generated messages (its `#[prost(...)]` attributes),
so field numbers and kinds are the crate's, never typed by hand. Run after upgrading k8s-pb:

    python3 scripts/kubesim-protobuf-table.py [path/to/k8s-pb-x.y.z]

Without an argument the k8s-pb version locked in Cargo.lock is looked up in ~/.cargo/registry/src.
"""
import glob
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "crates/kubesim/src/protobuf/messages.rs")

# The packages kubesim serves kinds from (or decodes options of).
PACKAGES = [
    "apimachinery/pkg/apis/meta/v1",
    "apimachinery/pkg/runtime",
    "apimachinery/pkg/api/resource",
    "apimachinery/pkg/util/intstr",
    "apiextensions_apiserver/pkg/apis/apiextensions/v1",
    "kube_aggregator/pkg/apis/apiregistration/v1",
    "api/admissionregistration/v1",
    "api/apps/v1",
    "api/authentication/v1",
    "api/authorization/v1",
    "api/autoscaling/v1",
    "api/batch/v1",
    "api/certificates/v1",
    "api/coordination/v1",
    "api/core/v1",
    "api/events/v1",
    "api/policy/v1",
    "api/rbac/v1",
    "api/storage/v1",
]

ATTR = re.compile(r'#\[prost\((?P<body>.*)\)\]\s*$')
FIELD = re.compile(r'pub (?:r#)?(?P<name>[a-z_0-9]+):\s*(?P<ty>.*)$')


def locked_version():
    with open(os.path.join(ROOT, "Cargo.lock")) as f:
        text = f.read()
    m = re.search(r'name = "k8s-pb"\nversion = "([^"]+)"', text)
    if not m:
        sys.exit("k8s-pb is not in Cargo.lock")
    return m.group(1)


def crate_dir():
    if len(sys.argv) > 1:
        return sys.argv[1], os.path.basename(sys.argv[1].rstrip("/"))
    version = locked_version()
    home = os.environ.get("CARGO_HOME", os.path.expanduser("~/.cargo"))
    found = glob.glob(os.path.join(home, "registry/src/*/k8s-pb-" + version))
    if not found:
        sys.exit(f"k8s-pb {version} not found under {home}/registry/src (run cargo fetch)")
    return found[0], "k8s-pb-" + version


def resolve(package, ty):
    """The absolute dotted name of the message type `ty` used in module `package`."""
    ty = "".join(ty.split()).rstrip(",")
    for wrapper in ("::core::option::Option<", "::prost::alloc::vec::Vec<", "::prost::alloc::boxed::Box<"):
        if ty.startswith(wrapper):
            ty = ty[len(wrapper):-1].rstrip(",")
    if ty.startswith("::prost::alloc::collections::BTreeMap<"):
        ty = ty[len("::prost::alloc::collections::BTreeMap<"):-1]
        ty = ty.split(",", 1)[1].strip().rstrip(",").strip()
    parts = package.split("/")
    segments = ty.split("::")
    while segments and segments[0] == "super":
        parts = parts[:-1]
        segments = segments[1:]
    return ".".join(parts + segments)


def parse(path, package):
    messages = []
    with open(path) as f:
        lines = [l.rstrip("\n") for l in f]
    i = 0
    current = None
    while i < len(lines):
        line = lines[i].strip()
        m = re.match(r"pub struct (\w+) \{", line)
        if m:
            current = (m.group(1), [])
            messages.append(current)
        elif line == "}" and current is not None:
            current = None
        elif current is not None:
            a = ATTR.match(line)
            if a:
                body = a.group("body")
                j = i + 1
                while lines[j].strip().startswith("///") or lines[j].strip().startswith("#["):
                    j += 1
                decl = lines[j].strip()
                while not decl.endswith(",") or decl.count("<") != decl.count(">"):
                    j += 1
                    decl += lines[j].strip()
                fm = FIELD.match(decl)
                if not fm:
                    sys.exit(f"{path}:{j + 1}: cannot read field {decl!r}")
                tag = int(re.search(r'tag = "(\d+)"', body).group(1))
                repeated = ", repeated" in body
                if body.startswith("btree_map"):
                    key, value = re.search(r'btree_map = "(\w+), (\w+)"', body).groups()
                    if key != "string":
                        sys.exit(f"{path}: map key {key} not handled")
                    if value == "message":
                        kind = f'Kind::Map(&Kind::Message("{resolve(package, fm.group("ty"))}"))'
                    else:
                        kind = f"Kind::Map(&Kind::{value.capitalize()})"
                    repeated = False
                else:
                    scalar = re.match(r"(\w+)", body).group(1)
                    if scalar == "message":
                        kind = f'Kind::Message("{resolve(package, fm.group("ty"))}")'
                    elif scalar in ("string", "bool", "int32", "int64", "bytes", "double"):
                        kind = f"Kind::{scalar.capitalize()}"
                    else:
                        sys.exit(f"{path}: prost kind {scalar} not handled")
                current[1].append((tag, fm.group("name"), kind, repeated))
                i = j
        i += 1
    return messages


def main():
    directory, crate = crate_dir()
    out = [
        f"//! GENERATED by scripts/kubesim-protobuf-table.py from {crate}; do not edit.",
        "//!",
        "//! The field table of the k8s-pb messages kubesim converts: message name (the k8s-pb",
        "//! module path, dotted) → fields (tag, prost field name, kind, repeated).",
        "",
        "use super::schema::{Field, Kind, Message};",
        "",
        "pub(super) static MESSAGES: &[Message] = &[",
    ]
    for package in PACKAGES:
        path = os.path.join(directory, "src", package, "mod.rs")
        for name, fields in parse(path, package):
            full = package.replace("/", ".") + "." + name
            out.append(f'    Message {{ name: "{full}", fields: &[')
            for tag, field, kind, repeated in fields:
                out.append(
                    f'        Field {{ tag: {tag}, name: "{field}", kind: {kind}, repeated: {"true" if repeated else "false"} }},'
                )
            out.append("    ] },")
    out.append("];")
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        f.write("\n".join(out) + "\n")
    print(f"wrote {OUT}")


main()
