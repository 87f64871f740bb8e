//! A pool pod `J_P(cluster, db, tg, shard, "pool", pool, cell)-{index}` (spec-controllers.md
//! §7.4): the multipooler sidecar, postgres under pgctld, and the postgres exporter, on the pod's
//! own data PVC.
//!
//! Everything that feeds the spec hash (§7.5) — images, commands, args, env, resources, mounts,
//! security contexts, volumes, placement, the service account — is the Go operator's byte for
//! byte, or a takeover would drain and recreate every pool pod. The `multigres.com/spec-hash`
//! annotation is computed here, from the finished pod, by [`super::spec_hash`]. One addition is
//! deliberate (spec/README.md fix 10): the Shard's `Always`/`Never` pull policy on each
//! container and its pull secrets on the pod; neither is hashed, and with the default
//! `IfNotPresent` and no secrets the pod is Go's.
//!
//! Place: created with a plain Create when missing and never updated in place (drain, delete and
//! recreate roll it, §7.6). Must not: read the clock or the cluster; the postgres configuration
//! hash arrives in [`ShardBuildInputs`].

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    ConfigMapVolumeSource, Container, EmptyDirVolumeSource, EnvVar, EnvVarSource, KeyToPath,
    PersistentVolumeClaimVolumeSource, Pod, PodSecurityContext, PodSpec, PodStatus,
    ProjectedVolumeSource, SecretKeySelector, SecretProjection, SecurityContext, Volume,
    VolumeMount, VolumeProjection,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use multigres_api::defaults::{
    MULTIPOOLER_GRPC_PORT, MULTIPOOLER_HTTP_PORT, MULTIPOOLER_IMAGE, PGBACKREST_PORT,
    PGCTLD_GRPC_PORT, PGCTLD_HTTP_PORT, POSTGRES_EXPORTER_IMAGE, POSTGRES_EXPORTER_PORT,
    POSTGRES_IMAGE, POSTGRES_PORT, POSTGRES_SUPERUSER,
};
use multigres_api::labels::{
    ANNOTATION_POSTGRES_CONFIG_HASH, ANNOTATION_PROJECT_REF, ANNOTATION_PROMETHEUS_PATH,
    ANNOTATION_PROMETHEUS_PORT, ANNOTATION_PROMETHEUS_SCRAPE, ANNOTATION_SPEC_HASH, Labels,
    PROMETHEUS_PATH, PROMETHEUS_PORT, PROMETHEUS_SCRAPE, pool_labels,
};
use multigres_api::naming::{
    multipooler_service_id, pg_hba_config_map_name, pgbackrest_ca_secret_name,
    pgbackrest_tls_secret_name, pool_data_pvc_name, pool_headless_service_name, pool_pod_name,
    shared_backup_pvc_name,
};
use multigres_api::v1alpha1::{BackupConfig, BackupType, PoolSpec};

use super::postgres_password_secret::{PASSWORD_KEY, password_secret_name};
use super::spec_hash::spec_hash;
use super::{BuildError, ShardBuildInputs, ShardContext};
use crate::controllers::container_image::image_or_default;
use crate::controllers::container_probes::HttpProbes;
use crate::controllers::image_pull::{container_pull_policy, pod_pull_secrets};
use crate::controllers::log_level::log_level_flag;
use crate::controllers::otel_env::{SamplingVolume, otel_env_vars, otel_sampling_volume};
use crate::controllers::ports::container_port;

/// Go `DefaultTerminationGracePeriodSeconds` of pool pods.
pub const TERMINATION_GRACE_PERIOD_SECONDS: i64 = 30;

const MULTIPOOLER: &str = "multipooler";
const POSTGRES: &str = "postgres";
const POSTGRES_EXPORTER: &str = "postgres-exporter";

const PGDATA_VOLUME: &str = "pgdata";
const BACKUP_VOLUME: &str = "backup-data";
const SOCKET_VOLUME: &str = "socket-dir";
const PG_HBA_VOLUME: &str = "pg-hba-template";
const POSTGRES_CONFIG_VOLUME: &str = "postgres-config-template";
const PGBACKREST_CERTS_VOLUME: &str = "pgbackrest-certs";

const POOLER_DIR: &str = "/var/lib/pooler";
const PGDATA_DIR: &str = "/var/lib/pooler/pg_data";
const BACKUP_DIR: &str = "/backups";
const SOCKET_DIR: &str = "/var/run/postgresql";
const PG_HBA_DIR: &str = "/etc/pgctld";
const POSTGRES_CONFIG_DIR: &str = "/etc/pgctld/postgres";
/// The file name the postgres config ConfigMap key is projected to.
const POSTGRES_CONFIG_FILE: &str = "postgresql.conf.tmpl";
const PGBACKREST_CERTS_DIR: &str = "/certs/pgbackrest";
/// `0440` on the projected pgBackRest certificates: readable by owner and group only.
const PGBACKREST_CERTS_MODE: i32 = 0o440;

/// multipooler's and pgctld's liveness endpoint, used by all three of their probes.
const LIVE_PATH: &str = "/live";

/// The pgBackRest TLS files as the pods see them (spec-controllers.md §9.3).
const CA_FILE: &str = "ca.crt";
const CERT_FILE: &str = "pgbackrest.crt";
const KEY_FILE: &str = "pgbackrest.key";

/// The keys of the pgBackRest Secrets (generated ones and user-provided ones alike).
pub const CA_CERT_KEY: &str = "ca.crt";
pub const TLS_CERT_KEY: &str = "tls.crt";
pub const TLS_KEY_KEY: &str = "tls.key";

/// The `multigres.com/postgres-config-hash` value of a postgres configuration: SHA-256 of the
/// ConfigMap value, lower-case hex (spec-controllers.md §7.2 step 14). Part of the spec hash, so
/// editing the configuration rolls the pools.
pub fn postgres_config_hash(content: &str) -> String {
    ring::digest::digest(&ring::digest::SHA256, content.as_bytes())
        .as_ref()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// Go `BuildPoolPod`: pod `index` of `pool` in `cell`, with its spec-hash annotation.
pub fn build_pool_pod(
    shard: &ShardContext<'_>,
    inputs: &ShardBuildInputs,
    pool_name: &str,
    pool: &PoolSpec,
    cell: &str,
    index: u32,
) -> Result<Pod, BuildError> {
    let spec = shard.spec;
    let parts = shard.pool_parts(pool_name, cell);
    let name = pool_pod_name(&parts, index).into_string();
    let pieces = PodPieces::new(shard, pool, cell, &name)?;

    let mut annotations = Labels::from([
        (ANNOTATION_PROJECT_REF.to_owned(), shard.project_ref.clone()),
        (
            ANNOTATION_PROMETHEUS_SCRAPE.to_owned(),
            PROMETHEUS_SCRAPE.to_owned(),
        ),
        (
            ANNOTATION_PROMETHEUS_PORT.to_owned(),
            PROMETHEUS_PORT.to_owned(),
        ),
        (
            ANNOTATION_PROMETHEUS_PATH.to_owned(),
            PROMETHEUS_PATH.to_owned(),
        ),
    ]);
    if let Some(reference) = &spec.postgres_config_ref {
        let hash = inputs.postgres_config_hash.clone().ok_or_else(|| {
            BuildError::MissingPostgresConfigHash {
                shard: shard.display_name(),
                config_map: reference.name.clone(),
                key: reference.key.clone(),
            }
        })?;
        annotations.insert(ANNOTATION_POSTGRES_CONFIG_HASH.to_owned(), hash);
    }

    let security_context = pool.fs_group.map(|group| PodSecurityContext {
        fs_group: Some(group),
        ..PodSecurityContext::default()
    });
    let service_account_name = spec
        .backup
        .as_ref()
        .and_then(|backup| backup.s3.as_ref())
        .map(|s3| s3.service_account_name.clone())
        .filter(|account| !account.is_empty());
    let mut pod = Pod {
        metadata: ObjectMeta {
            name: Some(name.clone()),
            namespace: Some(shard.namespace.to_owned()),
            labels: Some(pool_labels(&parts, &shard.labels)),
            annotations: Some(annotations),
            owner_references: Some(vec![shard.owner.clone()]),
            ..ObjectMeta::default()
        },
        spec: Some(PodSpec {
            hostname: Some(name),
            subdomain: Some(pool_headless_service_name(&parts).into_string()),
            security_context,
            termination_grace_period_seconds: Some(TERMINATION_GRACE_PERIOD_SECONDS),
            service_account_name,
            affinity: pool.affinity.clone(),
            tolerations: (!pool.tolerations.is_empty()).then(|| pool.tolerations.clone()),
            node_selector: spec
                .cell_topology_labels
                .get(cell)
                .filter(|selector| !selector.is_empty())
                .cloned(),
            image_pull_secrets: pod_pull_secrets(&spec.images.image_pull_secrets),
            init_containers: Some(vec![multipooler_container(shard, inputs, &pieces)]),
            containers: vec![
                postgres_container(shard, inputs, &pieces),
                exporter_container(shard, &pieces),
            ],
            volumes: Some(pod_volumes(shard, pool_name, cell, index, &pieces)?),
            ..PodSpec::default()
        }),
        // Go's zero `status` struct, as in the object passed to Create.
        status: Some(PodStatus::default()),
    };
    let hash = spec_hash(&pod);
    pod.metadata
        .annotations
        .get_or_insert_with(BTreeMap::new)
        .insert(ANNOTATION_SPEC_HASH.to_owned(), hash);
    Ok(pod)
}

/// What several containers and the volumes share, computed once per pod.
struct PodPieces<'a> {
    cell: &'a str,
    service_id: String,
    backup: Option<&'a BackupConfig>,
    password_secret: String,
    superuser: &'a str,
    pool: &'a PoolSpec,
    sampling: Option<SamplingVolume>,
}

impl<'a> PodPieces<'a> {
    fn new(
        shard: &'a ShardContext<'_>,
        pool: &'a PoolSpec,
        cell: &'a str,
        pod_name: &str,
    ) -> Result<Self, BuildError> {
        let superuser = if shard.spec.postgres_superuser.is_empty() {
            POSTGRES_SUPERUSER
        } else {
            shard.spec.postgres_superuser.as_str()
        };
        Ok(Self {
            cell,
            service_id: multipooler_service_id(pod_name),
            backup: shard.spec.backup.as_ref(),
            password_secret: password_secret_name(shard)?,
            superuser,
            pool,
            sampling: otel_sampling_volume(shard.spec.observability.as_ref()),
        })
    }

    /// `{runAsNonRoot: true}`, plus user and group = the pool's fsGroup when set.
    fn container_security_context(&self) -> SecurityContext {
        SecurityContext {
            run_as_non_root: Some(true),
            run_as_user: self.pool.fs_group,
            run_as_group: self.pool.fs_group,
            ..SecurityContext::default()
        }
    }

    /// PGDATA, the superuser and its password: the first env vars of both pool containers.
    fn postgres_env(&self) -> Vec<EnvVar> {
        vec![
            plain_env("PGDATA", PGDATA_DIR),
            plain_env("POSTGRES_USER", self.superuser),
            secret_env("POSTGRES_PASSWORD", &self.password_secret, PASSWORD_KEY),
        ]
    }

    /// Go `s3EnvVars`: the region and static credentials of S3 backups.
    fn s3_env(&self) -> Vec<EnvVar> {
        let Some(s3) = self
            .backup
            .filter(|backup| backup.type_ == BackupType::S3)
            .and_then(|backup| backup.s3.as_ref())
        else {
            return Vec::new();
        };
        let mut env = Vec::new();
        if !s3.region.is_empty() {
            env.push(plain_env("AWS_REGION", &s3.region));
        }
        if !s3.credentials_secret.is_empty() {
            for key in ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"] {
                env.push(secret_env(key, &s3.credentials_secret, key));
            }
        }
        env
    }

    /// pgdata, backup-data and socket-dir: the first mounts of both pool containers.
    fn data_mounts(&self) -> Vec<VolumeMount> {
        vec![
            mount(PGDATA_VOLUME, POOLER_DIR, false),
            mount(BACKUP_VOLUME, BACKUP_DIR, false),
            mount(SOCKET_VOLUME, SOCKET_DIR, false),
        ]
    }

    /// The pgBackRest certificates and the sampling config, when present: the last mounts of
    /// both pool containers.
    fn optional_mounts(&self) -> Vec<VolumeMount> {
        let mut mounts = Vec::new();
        if self.backup.is_some() {
            mounts.push(mount(PGBACKREST_CERTS_VOLUME, PGBACKREST_CERTS_DIR, true));
        }
        if let Some(sampling) = &self.sampling {
            mounts.push(sampling.mount.clone());
        }
        mounts
    }
}

/// The multipooler native sidecar (an init container with `restartPolicy: Always`).
fn multipooler_container(
    shard: &ShardContext<'_>,
    inputs: &ShardBuildInputs,
    pieces: &PodPieces<'_>,
) -> Container {
    let spec = shard.spec;
    let topo = &spec.global_topo_server;
    let mut args = vec![
        MULTIPOOLER.to_owned(),
        format!("--http-port={MULTIPOOLER_HTTP_PORT}"),
        format!("--grpc-port={MULTIPOOLER_GRPC_PORT}"),
        format!("--pooler-dir={POOLER_DIR}"),
        format!("--socket-file={POOLER_DIR}/pg_sockets/.s.PGSQL.{POSTGRES_PORT}"),
        "--service-map=grpc-pooler".to_owned(),
        format!("--topo-global-server-addresses={}", topo.address),
        format!("--topo-global-root={}", topo.root_path),
        format!("--cell={}", pieces.cell),
        format!("--database={}", spec.database_name),
        format!("--table-group={}", spec.table_group_name),
        format!("--shard={}", spec.shard_name),
        format!("--service-id={}", pieces.service_id),
        format!("--pgctld-addr=localhost:{PGCTLD_GRPC_PORT}"),
        format!("--pg-port={POSTGRES_PORT}"),
        "--connpool-global-capacity=40".to_owned(),
        "--connpool-admin-capacity=5".to_owned(),
        format!(
            "--log-level={}",
            log_level_flag(spec.log_levels.multipooler)
        ),
    ];
    if pieces.backup.is_some() {
        args.extend([
            format!("--pgbackrest-cert-file={PGBACKREST_CERTS_DIR}/{CERT_FILE}"),
            format!("--pgbackrest-key-file={PGBACKREST_CERTS_DIR}/{KEY_FILE}"),
            format!("--pgbackrest-ca-file={PGBACKREST_CERTS_DIR}/{CA_FILE}"),
        ]);
    }
    let mut env = pieces.postgres_env();
    env.extend(pieces.s3_env());
    env.extend(otel_env_vars(
        spec.observability.as_ref(),
        &inputs.operator_otel_env,
    ));
    let mut mounts = pieces.data_mounts();
    mounts.extend(pieces.optional_mounts());
    let mut container = Container {
        name: MULTIPOOLER.to_owned(),
        image: Some(image_or_default(
            &spec.images.multipooler,
            MULTIPOOLER_IMAGE,
        )),
        image_pull_policy: container_pull_policy(spec.images.image_pull_policy),
        args: Some(args),
        ports: Some(vec![
            container_port("http", MULTIPOOLER_HTTP_PORT),
            container_port("grpc", MULTIPOOLER_GRPC_PORT),
            container_port("postgres", POSTGRES_PORT),
        ]),
        env: Some(env),
        resources: Some(pieces.pool.multipooler.resources.clone()),
        restart_policy: Some("Always".to_owned()),
        volume_mounts: Some(mounts),
        security_context: Some(pieces.container_security_context()),
        ..Container::default()
    };
    HttpProbes::new(LIVE_PATH, LIVE_PATH, MULTIPOOLER_HTTP_PORT).apply_to(&mut container);
    container
}

/// postgres under pgctld.
fn postgres_container(
    shard: &ShardContext<'_>,
    inputs: &ShardBuildInputs,
    pieces: &PodPieces<'_>,
) -> Container {
    let spec = shard.spec;
    let mut args = vec![
        "server".to_owned(),
        format!("--pooler-dir={POOLER_DIR}"),
        format!("--grpc-port={PGCTLD_GRPC_PORT}"),
        format!("--pg-port={POSTGRES_PORT}"),
        "--pg-listen-addresses=*".to_owned(),
        format!("--log-level={}", log_level_flag(spec.log_levels.pgctld)),
        format!("--grpc-socket-file={POOLER_DIR}/pgctld.sock"),
        format!("--pg-hba-template={PG_HBA_DIR}/pg_hba_template.conf"),
        format!("--http-port={PGCTLD_HTTP_PORT}"),
    ];
    if spec.postgres_config_ref.is_some() {
        args.push(format!(
            "--postgres-config-template={POSTGRES_CONFIG_DIR}/{POSTGRES_CONFIG_FILE}"
        ));
    }
    if pieces.backup.is_some() {
        args.extend([
            format!("--pgbackrest-cert-dir={PGBACKREST_CERTS_DIR}"),
            format!("--pgbackrest-port={PGBACKREST_PORT}"),
        ]);
    }
    let mut env = pieces.postgres_env();
    if !spec.initdb_args.is_empty() {
        env.push(plain_env("POSTGRES_INITDB_ARGS", spec.initdb_args.as_str()));
    }
    env.extend(pieces.s3_env());
    env.extend(otel_env_vars(
        spec.observability.as_ref(),
        &inputs.operator_otel_env,
    ));
    let mut mounts = pieces.data_mounts();
    mounts.push(mount(PG_HBA_VOLUME, PG_HBA_DIR, true));
    if spec.postgres_config_ref.is_some() {
        mounts.push(mount(POSTGRES_CONFIG_VOLUME, POSTGRES_CONFIG_DIR, true));
    }
    mounts.extend(pieces.optional_mounts());
    let mut container = Container {
        name: POSTGRES.to_owned(),
        image: Some(image_or_default(&spec.images.postgres, POSTGRES_IMAGE)),
        image_pull_policy: container_pull_policy(spec.images.image_pull_policy),
        command: Some(vec!["/usr/local/bin/pgctld".to_owned()]),
        args: Some(args),
        env: Some(env),
        resources: Some(pieces.pool.postgres.resources.clone()),
        volume_mounts: Some(mounts),
        security_context: Some(pieces.container_security_context()),
        ..Container::default()
    };
    HttpProbes::new(LIVE_PATH, LIVE_PATH, PGCTLD_HTTP_PORT).apply_to(&mut container);
    container
}

/// The postgres exporter: fixed image, no probes, no mounts, empty resources.
fn exporter_container(shard: &ShardContext<'_>, pieces: &PodPieces<'_>) -> Container {
    Container {
        name: POSTGRES_EXPORTER.to_owned(),
        image: Some(POSTGRES_EXPORTER_IMAGE.to_owned()),
        image_pull_policy: container_pull_policy(shard.spec.images.image_pull_policy),
        args: Some(vec![format!(
            "--web.listen-address=:{POSTGRES_EXPORTER_PORT}"
        )]),
        ports: Some(vec![container_port("metrics", POSTGRES_EXPORTER_PORT)]),
        env: Some(vec![
            plain_env(
                "DATA_SOURCE_URI",
                &format!("localhost:{POSTGRES_PORT}/postgres?sslmode=disable"),
            ),
            plain_env("DATA_SOURCE_USER", pieces.superuser),
            secret_env("DATA_SOURCE_PASS", &pieces.password_secret, PASSWORD_KEY),
        ]),
        // Go's value struct: `"resources":{}`.
        resources: Some(Default::default()),
        security_context: Some(pieces.container_security_context()),
        ..Container::default()
    }
}

/// The pod's volumes in Go's exact order (their JSON is part of the spec hash).
fn pod_volumes(
    shard: &ShardContext<'_>,
    pool_name: &str,
    cell: &str,
    index: u32,
    pieces: &PodPieces<'_>,
) -> Result<Vec<Volume>, BuildError> {
    let spec = shard.spec;
    let parts = shard.pool_parts(pool_name, cell);
    let backup_claim = pieces
        .backup
        .filter(|backup| backup.type_ == BackupType::Filesystem)
        .map(|_| shared_backup_pvc_name(&parts.shard, cell).into_string());
    let pg_hba = pg_hba_config_map_name(shard.name).map_err(|source| BuildError::ObjectName {
        shard: shard.display_name(),
        object: "pg_hba ConfigMap",
        source,
    })?;
    let mut volumes = vec![
        claim_volume(
            PGDATA_VOLUME,
            pool_data_pvc_name(&parts, index).into_string(),
        ),
        match backup_claim {
            Some(claim) => claim_volume(BACKUP_VOLUME, claim),
            // S3, or no backup at all: an emptyDir placeholder at `/backups`.
            None => empty_dir_volume(BACKUP_VOLUME),
        },
        empty_dir_volume(SOCKET_VOLUME),
        Volume {
            name: PG_HBA_VOLUME.to_owned(),
            config_map: Some(ConfigMapVolumeSource {
                name: pg_hba.into_string(),
                ..ConfigMapVolumeSource::default()
            }),
            ..Volume::default()
        },
    ];
    if let Some(reference) = &spec.postgres_config_ref {
        volumes.push(Volume {
            name: POSTGRES_CONFIG_VOLUME.to_owned(),
            config_map: Some(ConfigMapVolumeSource {
                name: reference.name.clone(),
                items: Some(vec![key_to_path(&reference.key, POSTGRES_CONFIG_FILE)]),
                ..ConfigMapVolumeSource::default()
            }),
            ..Volume::default()
        });
    }
    if let Some(backup) = pieces.backup {
        volumes.push(pgbackrest_certs_volume(shard, backup)?);
    }
    if let Some(sampling) = &pieces.sampling {
        volumes.push(sampling.volume.clone());
    }
    Ok(volumes)
}

/// The projected pgBackRest certificates: from the user's Secret (one source), or from the
/// generated CA and TLS Secrets (two sources), always as `ca.crt`, `pgbackrest.crt` and
/// `pgbackrest.key`.
fn pgbackrest_certs_volume(
    shard: &ShardContext<'_>,
    backup: &BackupConfig,
) -> Result<Volume, BuildError> {
    let user_secret = backup
        .pgbackrest_tls
        .as_ref()
        .map(|tls| tls.secret_name.as_str())
        .filter(|name| !name.is_empty());
    let server_items = [
        key_to_path(TLS_CERT_KEY, CERT_FILE),
        key_to_path(TLS_KEY_KEY, KEY_FILE),
    ];
    let sources = match user_secret {
        Some(secret) => {
            let mut items = vec![key_to_path(CA_CERT_KEY, CA_FILE)];
            items.extend(server_items);
            vec![secret_projection(secret.to_owned(), items)]
        }
        None => {
            let name_error = |source| BuildError::ObjectName {
                shard: shard.display_name(),
                object: "pgBackRest Secret",
                source,
            };
            let ca = pgbackrest_ca_secret_name(shard.name).map_err(name_error)?;
            let tls = pgbackrest_tls_secret_name(shard.name).map_err(name_error)?;
            vec![
                secret_projection(ca.into_string(), vec![key_to_path(CA_CERT_KEY, CA_FILE)]),
                secret_projection(tls.into_string(), server_items.to_vec()),
            ]
        }
    };
    Ok(Volume {
        name: PGBACKREST_CERTS_VOLUME.to_owned(),
        projected: Some(ProjectedVolumeSource {
            sources: Some(sources),
            default_mode: Some(PGBACKREST_CERTS_MODE),
        }),
        ..Volume::default()
    })
}

fn secret_projection(name: String, items: Vec<KeyToPath>) -> VolumeProjection {
    VolumeProjection {
        secret: Some(SecretProjection {
            name,
            items: Some(items),
            optional: None,
        }),
        ..VolumeProjection::default()
    }
}

fn key_to_path(key: &str, path: &str) -> KeyToPath {
    KeyToPath {
        key: key.to_owned(),
        path: path.to_owned(),
        mode: None,
    }
}

fn claim_volume(name: &str, claim_name: String) -> Volume {
    Volume {
        name: name.to_owned(),
        persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
            claim_name,
            read_only: None,
        }),
        ..Volume::default()
    }
}

fn empty_dir_volume(name: &str) -> Volume {
    Volume {
        name: name.to_owned(),
        empty_dir: Some(EmptyDirVolumeSource::default()),
        ..Volume::default()
    }
}

fn mount(name: &str, path: &str, read_only: bool) -> VolumeMount {
    VolumeMount {
        name: name.to_owned(),
        mount_path: path.to_owned(),
        read_only: read_only.then_some(true),
        ..VolumeMount::default()
    }
}

fn plain_env(name: &str, value: &str) -> EnvVar {
    EnvVar {
        name: name.to_owned(),
        value: Some(value.to_owned()),
        value_from: None,
    }
}

fn secret_env(name: &str, secret: &str, key: &str) -> EnvVar {
    EnvVar {
        name: name.to_owned(),
        value: None,
        value_from: Some(EnvVarSource {
            secret_key_ref: Some(SecretKeySelector {
                name: secret.to_owned(),
                key: key.to_owned(),
                optional: None,
            }),
            ..EnvVarSource::default()
        }),
    }
}
