//! The Shard controller's builders against the Go operator's real outputs (shared/spec/golden/
//! objects/ and templates/, their READMEs): for every case the stored Shard goes in, and every
//! object the Shard controller writes comes out equal, as parsed JSON, to its golden file, pool
//! pods with the same `multigres.com/spec-hash`; no object is missing and none is extra
//! (objects.tsv `controller_owner`). The pgBackRest Secrets hold fresh keys, so their `data`
//! values are checked as certificates instead of compared.
//!
//! The goldens live outside the repository: `MULTIGRES_SHARED_DIR`, else `<workspace>/../shared`.
//! Without them each test prints that it skips.

mod golden_objects;

use anyhow::{Context, bail, ensure};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use golden_objects::{Case, SHARD_UID, cases, differences, golden_dir, read_json, stored};
use k8s_openapi::jiff::Timestamp;
use multigres_api::v1alpha1::Shard;
use multigres_operator::controllers::otel_env::OperatorOtelEnv;
use multigres_operator::controllers::shard::build::pgbackrest_certs::generate_pgbackrest_material;
use multigres_operator::controllers::shard::build::pool_pod::postgres_config_hash;
use multigres_operator::controllers::shard::build::{
    Desired, PgBackRestTls, ShardBuildInputs, build_shard_objects,
};
use multigres_operator::controllers::shard::cert_entropy::SystemCertEntropy;
use pretty_assertions::assert_eq;
use serde_json::Value;
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::{FromDer, X509Certificate};

/// The postgres configuration of case 2 (golden/README.md), whose SHA-256 the Go operator puts
/// on the Shard in memory and on every pool pod.
const CASE2_POSTGRES_CONFIG: &str = "max_connections = 200\nshared_buffers = 256MB\n";

/// The clock of the certificate checks: 2026-03-01T12:00:00Z.
const NOW_SECONDS: i64 = 1_772_366_400;

/// One built object: kind, name and JSON as the controller sends it.
struct Built {
    kind: &'static str,
    name: String,
    value: Value,
}

/// Every object of `desired`, in the order the controller writes them.
fn objects(desired: &Desired) -> anyhow::Result<Vec<Built>> {
    let Desired {
        pg_hba_config_map,
        postgres_password_secret,
        pgbackrest_tls,
        multiorch_deployments,
        multiorch_services,
        backup_pvcs,
        pool_data_pvcs,
        pool_pods,
        pool_pdbs,
        pool_services,
    } = desired;
    let mut list = vec![
        ("ConfigMap", serde_json::to_value(pg_hba_config_map)?),
        ("Secret", serde_json::to_value(postgres_password_secret)?),
    ];
    match pgbackrest_tls {
        PgBackRestTls::Generated {
            ca_secret,
            tls_secret,
        } => {
            list.push(("Secret", serde_json::to_value(ca_secret)?));
            list.push(("Secret", serde_json::to_value(tls_secret)?));
        }
        PgBackRestTls::None | PgBackRestTls::UserSecret { .. } => {}
    }
    for deployment in multiorch_deployments {
        list.push(("Deployment", serde_json::to_value(deployment)?));
    }
    for service in multiorch_services {
        list.push(("Service", serde_json::to_value(service)?));
    }
    for pvc in backup_pvcs.iter().chain(pool_data_pvcs) {
        list.push(("PersistentVolumeClaim", serde_json::to_value(pvc)?));
    }
    for pod in pool_pods {
        list.push(("Pod", serde_json::to_value(pod)?));
    }
    for pdb in pool_pdbs {
        list.push(("PodDisruptionBudget", serde_json::to_value(pdb)?));
    }
    for service in pool_services {
        list.push(("Service", serde_json::to_value(service)?));
    }
    list.into_iter()
        .map(|(kind, value)| {
            let name = value["metadata"]["name"]
                .as_str()
                .context("every built object has a name")?
                .to_owned();
            Ok(Built { kind, name, value })
        })
        .collect()
}

/// The stored Shard of a case: `../<case>.shard.json` for the four object cases (with its uid),
/// the Shard CR file plus the fixed uid for the template cases.
fn stored_shard(golden: &std::path::Path, case: &Case) -> anyhow::Result<(String, Shard)> {
    let names = case.names_of("Shard");
    ensure!(names.len() == 1, "{}: one Shard, got {names:?}", case.name);
    let name = names[0].clone();
    let value = if case.dir.ends_with("objects") {
        read_json(&golden.join(format!("{}.shard.json", case.name)))?
    } else {
        stored(case.object("Shard", &name)?, SHARD_UID)
    };
    let shard = serde_json::from_value(value)
        .with_context(|| format!("{}: the stored Shard", case.name))?;
    Ok((name, shard))
}

/// The inputs the controller would gather for `shard`: the config hash, fresh certificates and
/// the operator's environment of the goldens (no `OTEL_*` variable).
fn inputs_for(case: &Case, shard: &Shard) -> anyhow::Result<ShardBuildInputs> {
    let postgres_config_hash = match &shard.spec.postgres_config_ref {
        None => None,
        Some(_) => {
            ensure!(
                case.name == "case2-pool-options",
                "{}: only case 2 names a postgres config",
                case.name
            );
            let hash = postgres_config_hash(CASE2_POSTGRES_CONFIG);
            let annotated = shard
                .metadata
                .annotations
                .as_ref()
                .and_then(|annotations| annotations.get("multigres.com/postgres-config-hash"));
            assert_eq!(
                annotated,
                Some(&hash),
                "{}: the Go operator's hash",
                case.name
            );
            Some(hash)
        }
    };
    let namespace = shard.metadata.namespace.as_deref().unwrap_or_default();
    let material = generate_pgbackrest_material(namespace, now(), &mut SystemCertEntropy::new())?;
    Ok(ShardBuildInputs {
        postgres_config_hash,
        pgbackrest_material: Some(material),
        operator_otel_env: OperatorOtelEnv::default(),
    })
}

fn now() -> Timestamp {
    Timestamp::from_second(NOW_SECONDS).expect("a valid timestamp")
}

fn write_style(case: &Case, kind: &str, name: &str) -> anyhow::Result<String> {
    case.rows
        .iter()
        .find(|row| row["kind"] == kind && row["name"] == name)
        .map(|row| row["write"].clone())
        .with_context(|| format!("{}: no objects.tsv row for {kind} {name}", case.name))
}

#[test]
fn shard_objects_equal_the_go_operators() -> anyhow::Result<()> {
    let Some(golden) = golden_dir("shard_objects_equal_the_go_operators") else {
        return Ok(());
    };
    for case in cases(&golden)? {
        let (shard_name, shard) = stored_shard(&golden, &case)?;
        let inputs = inputs_for(&case, &shard)?;
        let desired = build_shard_objects(&shard, &inputs)
            .with_context(|| format!("{}: building", case.name))?;
        let built = objects(&desired)?;

        let mut expected_set = case.owned_by(&format!("Shard/{shard_name}"));
        expected_set.sort();
        let mut got_set: Vec<(String, String)> = built
            .iter()
            .map(|object| (object.kind.to_owned(), object.name.clone()))
            .collect();
        got_set.sort();
        assert_eq!(
            got_set, expected_set,
            "{}: the objects of the Shard",
            case.name
        );

        for object in &built {
            // Only `apply` bodies carry `kind`/`apiVersion` (objects/README.md "What the bytes
            // are"); apart from the generated Secret data below, the golden file is untouched.
            let mut ours = object.value.clone();
            if write_style(&case, object.kind, &object.name)? == "create" {
                let fields = ours.as_object_mut().context("objects are JSON objects")?;
                fields.remove("kind");
                fields.remove("apiVersion");
            }
            let golden = case.object(object.kind, &object.name)?;
            if golden["data"]
                .as_object()
                .is_some_and(|data| data.values().all(|value| value == "RANDOM"))
            {
                let data = ours["data"]
                    .as_object_mut()
                    .context("generated Secrets have data")?;
                for value in data.values_mut() {
                    ensure!(value.is_string(), "{}: data values are strings", case.name);
                    *value = Value::String("RANDOM".to_owned());
                }
            }
            assert_eq!(
                differences(&ours, &golden),
                Vec::<String>::new(),
                "{}: {} {}",
                case.name,
                object.kind,
                object.name
            );
        }
    }
    Ok(())
}

/// The PEM text of a Secret data value as the API server receives it (base64 in JSON).
fn pem_of(secret: &Value, key: &str) -> anyhow::Result<String> {
    let encoded = secret["data"][key]
        .as_str()
        .with_context(|| format!("the Secret has no data.{key}"))?;
    Ok(String::from_utf8(STANDARD.decode(encoded)?)?)
}

fn certificate_der(pem: &str) -> anyhow::Result<Vec<u8>> {
    let (_, block) = x509_parser::pem::parse_x509_pem(pem.as_bytes())?;
    ensure!(block.label == "CERTIFICATE", "label {}", block.label);
    Ok(block.contents)
}

/// Checks a PEM private key is SEC1 P-256 and belongs to `certificate`.
fn check_key(pem: &str, certificate: &X509Certificate<'_>) -> anyhow::Result<()> {
    let (_, block) = x509_parser::pem::parse_x509_pem(pem.as_bytes())?;
    ensure!(block.label == "EC PRIVATE KEY", "label {}", block.label);
    let key = rcgen::KeyPair::from_pem(&sec1_to_pkcs8_pem(&block.contents))?;
    ensure!(
        key.public_key_raw() == certificate.public_key().subject_public_key.data.as_ref(),
        "the key does not match the certificate"
    );
    Ok(())
}

/// Wraps SEC1 DER in PKCS#8 so rcgen can load it (independently of the code under test).
fn sec1_to_pkcs8_pem(sec1: &[u8]) -> String {
    let mut body = vec![0x02, 0x01, 0x00, 0x30, 0x13];
    body.extend_from_slice(&[0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01]);
    body.extend_from_slice(&[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07]);
    body.push(0x04);
    push_length(&mut body, sec1.len());
    body.extend_from_slice(sec1);
    let mut der = vec![0x30];
    push_length(&mut der, body.len());
    der.extend_from_slice(&body);
    format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        STANDARD.encode(der)
    )
}

fn push_length(out: &mut Vec<u8>, length: usize) {
    match u8::try_from(length) {
        Ok(short) if short < 0x80 => out.push(short),
        Ok(one_byte) => out.extend_from_slice(&[0x81, one_byte]),
        Err(_) => out.extend_from_slice(&[0x82, (length >> 8) as u8, length as u8]),
    }
}

#[test]
fn generated_pgbackrest_secrets_hold_the_certificates_the_go_operator_issues() -> anyhow::Result<()>
{
    let Some(golden) =
        golden_dir("generated_pgbackrest_secrets_hold_the_certificates_the_go_operator_issues")
    else {
        return Ok(());
    };
    for case in cases(&golden)? {
        let (_, shard) = stored_shard(&golden, &case)?;
        let inputs = inputs_for(&case, &shard)?;
        let desired = build_shard_objects(&shard, &inputs)?;
        let PgBackRestTls::Generated {
            ca_secret,
            tls_secret,
        } = &desired.pgbackrest_tls
        else {
            bail!(
                "{}: every golden case generates pgBackRest Secrets",
                case.name
            );
        };
        let ca_secret = serde_json::to_value(ca_secret)?;
        let tls_secret = serde_json::to_value(tls_secret)?;
        let now = NOW_SECONDS;

        let ca_der = certificate_der(&pem_of(&ca_secret, "ca.crt")?)?;
        let (_, ca) = X509Certificate::from_der(&ca_der)?;
        assert_eq!(ca.subject().to_string(), "O=Multigres, CN=Multigres CA");
        assert_eq!(ca.issuer().to_string(), "O=Multigres, CN=Multigres CA");
        assert_eq!(ca.raw_serial(), &[1]);
        assert!(ca.is_ca());
        assert_eq!(ca.validity().not_before.timestamp(), now - 3600);
        assert_eq!(ca.validity().not_after.timestamp(), now + 3650 * 86_400);
        let usage = ca.key_usage()?.context("CA key usage")?.value;
        assert_eq!(
            (
                usage.digital_signature(),
                usage.key_cert_sign(),
                usage.key_encipherment()
            ),
            (true, true, false)
        );
        let eku = ca.extended_key_usage()?.context("CA EKU")?.value;
        assert_eq!((eku.server_auth, eku.client_auth), (true, true));
        assert_eq!(
            ca.signature_algorithm.algorithm.to_id_string(),
            "1.2.840.10045.4.3.2",
            "ECDSA with SHA-256"
        );
        ca.verify_signature(None)?;
        check_key(&pem_of(&ca_secret, "ca.key")?, &ca)?;

        let tls_der = certificate_der(&pem_of(&tls_secret, "tls.crt")?)?;
        let (_, tls) = X509Certificate::from_der(&tls_der)?;
        assert_eq!(tls.subject().to_string(), "O=Multigres, CN=pgbackrest");
        assert_eq!(tls.issuer().to_string(), "O=Multigres, CN=Multigres CA");
        assert!(!tls.is_ca());
        ensure!(tls.raw_serial().len() <= 17, "a serial below 2^128");
        assert_eq!(tls.validity().not_before.timestamp(), now - 3600);
        assert_eq!(tls.validity().not_after.timestamp(), now + 365 * 86_400);
        let usage = tls.key_usage()?.context("server key usage")?.value;
        assert_eq!(
            (
                usage.digital_signature(),
                usage.key_encipherment(),
                usage.key_cert_sign()
            ),
            (true, true, false)
        );
        let eku = tls.extended_key_usage()?.context("server EKU")?.value;
        assert_eq!((eku.server_auth, eku.client_auth), (true, true));
        let names: Vec<String> = tls
            .subject_alternative_name()?
            .context("server SANs")?
            .value
            .general_names
            .iter()
            .map(|name| match name {
                GeneralName::DNSName(dns) => (*dns).to_owned(),
                other => format!("{other:?}"),
            })
            .collect();
        let namespace = shard.metadata.namespace.as_deref().unwrap_or_default();
        assert_eq!(
            names,
            [
                format!("pgbackrest.{namespace}.svc"),
                format!("pgbackrest.{namespace}.svc.cluster.local")
            ]
        );
        tls.verify_signature(Some(ca.public_key()))?;
        check_key(&pem_of(&tls_secret, "tls.key")?, &tls)?;
    }
    Ok(())
}
