//! The etcd side of the topology: a [`TopoStore`] opened per reconcile on the global topology
//! server, the topology primitives with etcd's exact semantics (spec-wire.md §1.7, §1.8), and the
//! record-level operations the controllers use.
//!
//! Connection (spec-controllers.md §6.1): one blocking dial with a 1 s timeout. A failed dial
//! does not fail [`TopoStore::open`]; every call then fails with [`TopoError::Unavailable`], as
//! Go's store answers `no connection available`. Only a malformed address fails `open`.
//! Cells are read through their own Cell record (`server_addresses`, `root`), so a cell on
//! another server or root (the multigres CLI layout) is honoured (spec-wire.md §1.2).
//!
//! This module only moves bytes; what to write is decided in `registration.rs` from the pure
//! records of `records.rs`. It never retries except the CAS loop on BadVersion, and puts no
//! deadline on calls: the caller bounds a pass (`registration.rs` uses 20 s).

use std::collections::HashMap;
use std::error::Error as StdError;
use std::sync::Arc;
use std::time::Duration;

use etcd_client::{Compare, CompareOp, GetOptions, KvClient, SortOrder, SortTarget, Txn, TxnOp};
use tokio::sync::Mutex;

use super::address::{AddressError, AddressResolver, split_address};
use super::records::{
    CELLS_DIR, Cell, DATABASES_DIR, Database, DecodeError, Id, MultiPooler, StoredDatabase,
    cell_key, database_key, decode_cell, decode_pooler, dir_entries, dir_prefix, pooler_key,
    poolers_prefix, prefix_end,
};

/// Go `clientv3.Config.DialTimeout` as multigres sets it.
pub const DIAL_TIMEOUT: Duration = Duration::from_secs(1);

/// A topology error (spec-wire.md §1.11), named after multigres' codes where one applies.
#[derive(Debug, thiserror::Error)]
pub enum TopoError {
    /// No connection to the topology server: the dial failed or timed out, the name did not
    /// resolve, the transport broke, or etcd answered UNAVAILABLE. The controllers wait for
    /// this one (the cluster's 2-minute grace, the shard's 5 s requeue).
    #[error("topology server {address} unavailable: no connection available")]
    Unavailable {
        address: String,
        #[source]
        source: Arc<dyn StdError + Send + Sync>,
    },
    /// The configured address cannot be dialled at all.
    #[error("invalid topology server address")]
    InvalidAddress {
        #[source]
        source: AddressError,
    },
    /// Code 0: a create found the key.
    #[error("node already exists: {key}")]
    NodeExists { key: String },
    /// Code 1: the key is absent (or a listing is empty).
    #[error("node doesn't exist: {key}")]
    NoNode { key: String },
    /// Code 2: a cell is still referenced by a database (Go `DeleteCell(force=false)`).
    #[error("node not empty: {key}: cell {cell} is referenced by database {database}")]
    NodeNotEmpty {
        key: String,
        cell: String,
        database: String,
    },
    /// Code 5: a compare-and-swap lost against another writer.
    #[error("bad node version: {key} is no longer at mod revision {version}")]
    BadVersion { key: String, version: i64 },
    /// Code 3: the pass's deadline passed.
    #[error("deadline exceeded: {operation} took longer than {limit:?}")]
    Timeout {
        operation: &'static str,
        limit: Duration,
    },
    /// A stored value is not the record its key promises.
    #[error("cannot decode the record at {key}")]
    Decode {
        key: String,
        #[source]
        source: DecodeError,
    },
    /// Any other etcd failure.
    #[error("etcd {operation} of {key} failed")]
    Etcd {
        operation: &'static str,
        key: String,
        #[source]
        source: Box<etcd_client::Error>,
    },
}

impl TopoError {
    /// The typed form of Go's `IsTopoUnavailable` (spec-wire.md §1.11).
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Unavailable { .. })
    }

    /// Whether this is code 1, NoNode.
    pub fn is_no_node(&self) -> bool {
        matches!(self, Self::NoNode { .. })
    }
}

/// The outcome of a create-or-compare-and-swap write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Write {
    /// The key was absent and is now written, at this revision.
    Created { revision: i64 },
    /// The key was replaced, at this revision.
    Updated { revision: i64 },
    /// The mutator wanted no change; nothing was written.
    Unchanged,
}

/// One connection (the global one, or a cell's on another server).
#[derive(Clone)]
struct Conn {
    /// The address as configured, for messages.
    address: String,
    kv: Result<KvClient, Arc<dyn StdError + Send + Sync>>,
}

impl Conn {
    /// A blocking dial bounded by [`DIAL_TIMEOUT`]; failure gives an unavailable connection.
    async fn dial(address: &str, resolver: &dyn AddressResolver) -> Result<Self, TopoError> {
        split_address(address).map_err(|source| TopoError::InvalidAddress { source })?;
        let kv = match resolver.resolve(address).await {
            Err(source @ AddressError::Malformed { .. }) => {
                return Err(TopoError::InvalidAddress { source });
            }
            Err(other) => Err(Arc::new(other) as Arc<dyn StdError + Send + Sync>),
            Ok(dialable) => connect(&dialable).await,
        };
        Ok(Self {
            address: address.to_owned(),
            kv,
        })
    }

    fn kv(&self) -> Result<KvClient, TopoError> {
        self.kv.clone().map_err(|source| TopoError::Unavailable {
            address: self.address.clone(),
            source,
        })
    }

    fn etcd_error(
        &self,
        operation: &'static str,
        key: &str,
        error: etcd_client::Error,
    ) -> TopoError {
        if transport_failed(&error) {
            TopoError::Unavailable {
                address: self.address.clone(),
                source: Arc::new(error),
            }
        } else {
            TopoError::Etcd {
                operation,
                key: key.to_owned(),
                source: Box::new(error),
            }
        }
    }

    /// `Create`: put iff the key's version is 0 (absent). Returns the new revision.
    async fn create(&self, key: &str, value: Vec<u8>) -> Result<i64, TopoError> {
        let txn = Txn::new()
            .when([Compare::version(key, CompareOp::Equal, 0)])
            .and_then([TxnOp::put(key, value, None)]);
        let response = self
            .kv()?
            .txn(txn)
            .await
            .map_err(|e| self.etcd_error("create", key, e))?;
        if !response.succeeded() {
            return Err(TopoError::NodeExists {
                key: key.to_owned(),
            });
        }
        Ok(response.header().map_or(0, |h| h.revision()))
    }

    /// `Update` with a version: put iff the key's mod revision is `version`.
    async fn update(&self, key: &str, value: Vec<u8>, version: i64) -> Result<i64, TopoError> {
        let txn = Txn::new()
            .when([Compare::mod_revision(key, CompareOp::Equal, version)])
            .and_then([TxnOp::put(key, value, None)]);
        let response = self
            .kv()?
            .txn(txn)
            .await
            .map_err(|e| self.etcd_error("update", key, e))?;
        if !response.succeeded() {
            return Err(TopoError::BadVersion {
                key: key.to_owned(),
                version,
            });
        }
        Ok(response.header().map_or(0, |h| h.revision()))
    }

    /// `Get`: the value and its mod revision; NoNode unless exactly one key answers.
    async fn get(&self, key: &str) -> Result<(Vec<u8>, i64), TopoError> {
        let response = self
            .kv()?
            .get(key, None)
            .await
            .map_err(|e| self.etcd_error("get", key, e))?;
        match response.kvs() {
            [kv] => Ok((kv.value().to_vec(), kv.mod_revision())),
            _ => Err(TopoError::NoNode {
                key: key.to_owned(),
            }),
        }
    }

    /// `Delete` without a version: NoNode unless exactly one key went.
    async fn delete(&self, key: &str) -> Result<(), TopoError> {
        let response = self
            .kv()?
            .delete(key, None)
            .await
            .map_err(|e| self.etcd_error("delete", key, e))?;
        if response.deleted() != 1 {
            return Err(TopoError::NoNode {
                key: key.to_owned(),
            });
        }
        Ok(())
    }

    /// `ListDir`: keys only, ascending; the distinct first segments after `prefix`. NoNode when
    /// nothing is under it.
    async fn list_dir(&self, prefix: &str) -> Result<Vec<String>, TopoError> {
        let options = GetOptions::new()
            .with_range(prefix_end(prefix.as_bytes()))
            .with_keys_only()
            .with_sort(SortTarget::Key, SortOrder::Ascend);
        let response = self
            .kv()?
            .get(prefix, Some(options))
            .await
            .map_err(|e| self.etcd_error("list", prefix, e))?;
        if response.kvs().is_empty() {
            return Err(TopoError::NoNode {
                key: prefix.to_owned(),
            });
        }
        Ok(dir_entries(
            prefix,
            response.kvs().iter().map(|kv| kv.key()),
        ))
    }

    /// `List`: every key and value under `prefix` (no sort, no limit). NoNode when empty.
    async fn list(&self, prefix: &str) -> Result<Vec<(String, Vec<u8>)>, TopoError> {
        let options = GetOptions::new().with_range(prefix_end(prefix.as_bytes()));
        let response = self
            .kv()?
            .get(prefix, Some(options))
            .await
            .map_err(|e| self.etcd_error("list", prefix, e))?;
        if response.kvs().is_empty() {
            return Err(TopoError::NoNode {
                key: prefix.to_owned(),
            });
        }
        Ok(response
            .kvs()
            .iter()
            .map(|kv| {
                (
                    String::from_utf8_lossy(kv.key()).into_owned(),
                    kv.value().to_vec(),
                )
            })
            .collect())
    }
}

/// Dials `dialable` (`host:port`, or with an `http://` scheme) once, within [`DIAL_TIMEOUT`].
async fn connect(dialable: &str) -> Result<KvClient, Arc<dyn StdError + Send + Sync>> {
    let url = if dialable.contains("://") {
        dialable.to_owned()
    } else {
        format!("http://{dialable}")
    };
    let endpoint = tonic::transport::Endpoint::from_shared(url)
        .map_err(|e| Arc::new(e) as Arc<dyn StdError + Send + Sync>)?
        .connect_timeout(DIAL_TIMEOUT);
    // Our own channel, not etcd-client's balanced one: a balanced channel dials lazily and
    // queues calls while no endpoint is up, where Go fails them at once (spec-wire.md §1.1).
    let channel = tokio::time::timeout(DIAL_TIMEOUT, endpoint.connect())
        .await
        .map_err(|elapsed| Arc::new(elapsed) as Arc<dyn StdError + Send + Sync>)?
        .map_err(|e| Arc::new(e) as Arc<dyn StdError + Send + Sync>)?;
    let client = etcd_client::Client::from_channel(etcd_client::Channel::Tonic(channel), None)
        .await
        .map_err(|e| Arc::new(e) as Arc<dyn StdError + Send + Sync>)?;
    Ok(client.kv_client())
}

/// Whether an etcd call failed for want of a connection (spec-wire.md §1.11, typed): a
/// transport or I/O error, or a gRPC status that is UNAVAILABLE or caused by one (tonic reports a
/// connection broken mid-call as Unknown "transport error" with the transport error as source).
fn transport_failed(error: &etcd_client::Error) -> bool {
    match error {
        etcd_client::Error::TransportError(_) | etcd_client::Error::IoError(_) => true,
        etcd_client::Error::GRpcStatus(status) => {
            if status.code() == tonic::Code::Unavailable {
                return true;
            }
            let mut cause = StdError::source(status);
            while let Some(error) = cause {
                if error.is::<tonic::transport::Error>() || error.is::<std::io::Error>() {
                    return true;
                }
                cause = error.source();
            }
            false
        }
        _ => false,
    }
}

/// A topology store on the global server, opened for one reconcile (spec-controllers.md §6.1).
pub struct TopoStore {
    root: String,
    global: Conn,
    resolver: Arc<dyn AddressResolver>,
    /// Connections to cells on other servers, by their `server_addresses`.
    cells: Mutex<HashMap<Vec<String>, Conn>>,
}

impl TopoStore {
    /// Dials `address` (as in `GlobalTopoServerRef.address`) through `resolver`, at `root`.
    /// Fails only when the address is malformed; a server that cannot be reached gives a store
    /// whose calls fail with [`TopoError::Unavailable`].
    pub async fn open(
        address: &str,
        root: &str,
        resolver: Arc<dyn AddressResolver>,
    ) -> Result<Self, TopoError> {
        let global = Conn::dial(address, resolver.as_ref()).await?;
        Ok(Self {
            root: root.to_owned(),
            global,
            resolver,
            cells: Mutex::new(HashMap::new()),
        })
    }

    /// The global root path.
    pub fn root(&self) -> &str {
        &self.root
    }

    /// The address as configured.
    pub fn address(&self) -> &str {
        &self.global.address
    }

    /// Whether the dial succeeded (calls may still fail later).
    pub fn is_connected(&self) -> bool {
        self.global.kv.is_ok()
    }

    /// The reason the dial failed, as the error every call returns.
    pub fn unavailable(&self) -> Option<TopoError> {
        self.global.kv().err()
    }

    // -- primitives on the global server (spec-wire.md §1.7), full keys --

    /// Put iff absent; NodeExists otherwise. Returns the new revision.
    pub async fn create(&self, key: &str, value: Vec<u8>) -> Result<i64, TopoError> {
        self.global.create(key, value).await
    }

    /// The value and mod revision of `key`; NoNode when absent.
    pub async fn get(&self, key: &str) -> Result<(Vec<u8>, i64), TopoError> {
        self.global.get(key).await
    }

    /// Put iff the mod revision is still `version`; BadVersion otherwise.
    pub async fn update(&self, key: &str, value: Vec<u8>, version: i64) -> Result<i64, TopoError> {
        self.global.update(key, value, version).await
    }

    /// Unconditional delete; NoNode when nothing was there.
    pub async fn delete(&self, key: &str) -> Result<(), TopoError> {
        self.global.delete(key).await
    }

    /// The names directly under `dir` of the root; NoNode when empty.
    pub async fn list_dir(&self, dir: &str) -> Result<Vec<String>, TopoError> {
        self.global.list_dir(&dir_prefix(&self.root, dir)).await
    }

    /// Read-modify-write of `key` (spec-wire.md §1.8): `mutate` gets the current value (`None`
    /// when absent) and returns the new one, or `None` for no write. An absent key is created
    /// with the version-0 transaction, a present one replaced on its mod revision; losing either
    /// race reads again. No retry limit, as in Go: the caller's deadline ends the loop.
    pub async fn update_with<F>(&self, key: &str, mut mutate: F) -> Result<Write, TopoError>
    where
        F: FnMut(Option<&[u8]>) -> Result<Option<Vec<u8>>, TopoError>,
    {
        loop {
            let current = match self.global.get(key).await {
                Ok(found) => Some(found),
                Err(TopoError::NoNode { .. }) => None,
                Err(other) => return Err(other),
            };
            let Some(value) = mutate(current.as_ref().map(|(value, _)| value.as_slice()))? else {
                return Ok(Write::Unchanged);
            };
            let written = match current {
                None => self
                    .global
                    .create(key, value)
                    .await
                    .map(|revision| Write::Created { revision }),
                Some((_, version)) => self
                    .global
                    .update(key, value, version)
                    .await
                    .map(|revision| Write::Updated { revision }),
            };
            match written {
                Err(TopoError::NodeExists { .. } | TopoError::BadVersion { .. }) => continue,
                other => return other,
            }
        }
    }

    // -- cells and databases (spec-wire.md §1.9 T1, T2) --

    /// The Cell record of `cell`.
    pub async fn get_cell(&self, cell: &str) -> Result<Cell, TopoError> {
        let key = cell_key(&self.root, cell);
        let (bytes, _) = self.global.get(&key).await?;
        decode_cell(&bytes).map_err(|source| TopoError::Decode { key, source })
    }

    /// Creates the Cell record; NodeExists when the cell is registered (records are never
    /// updated).
    pub async fn create_cell(&self, cell: &Cell) -> Result<i64, TopoError> {
        let key = cell_key(&self.root, &cell.name);
        self.global
            .create(&key, prost::Message::encode_to_vec(cell))
            .await
    }

    /// Names under `cells/` (Go `GetCellNames`); empty when there are none.
    pub async fn cell_names(&self) -> Result<Vec<String>, TopoError> {
        empty_on_no_node(self.list_dir(CELLS_DIR).await)
    }

    /// Names under `databases/` (Go `GetDatabaseNames`); empty when there are none. Includes
    /// "ghost" names whose Database record is gone but whose ShardInitClaim stays (§1.10).
    pub async fn database_names(&self) -> Result<Vec<String>, TopoError> {
        empty_on_no_node(self.list_dir(DATABASES_DIR).await)
    }

    /// The Database record of `database`, unknown fields kept.
    pub async fn get_database(&self, database: &str) -> Result<StoredDatabase, TopoError> {
        let key = database_key(&self.root, database);
        let (bytes, _) = self.global.get(&key).await?;
        StoredDatabase::decode(&bytes).map_err(|source| TopoError::Decode { key, source })
    }

    /// Writes `desired` for its database, only when it differs: created when absent, else the
    /// three operator fields replaced by CAS, every other field kept (spec-wire.md §1.9 T2).
    pub async fn register_database(&self, desired: &Database) -> Result<Write, TopoError> {
        let key = database_key(&self.root, &desired.name);
        self.update_with(&key, |current| match current {
            None => Ok(Some(prost::Message::encode_to_vec(desired))),
            Some(bytes) => {
                let mut stored =
                    StoredDatabase::decode(bytes).map_err(|source| TopoError::Decode {
                        key: key.clone(),
                        source,
                    })?;
                Ok(stored
                    .apply_operator_fields(desired)
                    .then(|| stored.encode()))
            }
        })
        .await
    }

    /// Unconditional delete of the Database record; NoNode when absent.
    pub async fn delete_database(&self, database: &str) -> Result<(), TopoError> {
        self.global
            .delete(&database_key(&self.root, database))
            .await
    }

    /// Go `DeleteCell(force=false)`: refuses with NodeNotEmpty while a Database record lists
    /// the cell, then deletes the Cell record (NoNode when absent). A database name without a
    /// record (a ghost, §1.10) references nothing.
    pub async fn delete_cell(&self, cell: &str) -> Result<(), TopoError> {
        let key = cell_key(&self.root, cell);
        for database in self.database_names().await? {
            let record = match self.get_database(&database).await {
                Ok(stored) => stored.record,
                Err(TopoError::NoNode { .. }) => continue,
                Err(other) => return Err(other),
            };
            if record.cells.iter().any(|c| c == cell) {
                return Err(TopoError::NodeNotEmpty {
                    key,
                    cell: cell.to_owned(),
                    database,
                });
            }
        }
        self.global.delete(&key).await
    }

    // -- poolers (spec-wire.md §1.9 T3) --

    /// The connection and root of `cell`, from its Cell record: the global connection when the
    /// cell lives on the global server (always, for cells the operator made), else a cached one.
    async fn cell_conn(&self, cell: &str) -> Result<(Conn, String), TopoError> {
        let record = self.get_cell(cell).await?;
        if record.server_addresses.as_slice() == std::slice::from_ref(&self.global.address) {
            return Ok((self.global.clone(), record.root));
        }
        let mut cells = self.cells.lock().await;
        if let Some(conn) = cells.get(&record.server_addresses) {
            return Ok((conn.clone(), record.root));
        }
        // Go hands every address to one client; we take the first that answers.
        let mut conn = Conn {
            address: record.server_addresses.join(","),
            kv: Err(Arc::new(AddressError::NoAddress {
                host: format!("cell {cell} lists no server address"),
            })),
        };
        for address in &record.server_addresses {
            conn = Conn::dial(address, self.resolver.as_ref()).await?;
            if conn.kv.is_ok() {
                break;
            }
        }
        cells.insert(record.server_addresses.clone(), conn.clone());
        Ok((conn, record.root))
    }

    /// Every MultiPooler record under the root of `cell` (the pinned `List(C/poolers)`): with
    /// the shared root, poolers of every cell. One undecodable record fails the call, as in Go.
    pub async fn cell_poolers(&self, cell: &str) -> Result<Vec<MultiPooler>, TopoError> {
        let (conn, root) = self.cell_conn(cell).await?;
        let listed = empty_on_no_node(conn.list(&poolers_prefix(&root)).await)?;
        listed
            .into_iter()
            .map(|(key, value)| {
                decode_pooler(&value).map_err(|source| TopoError::Decode { key, source })
            })
            .collect()
    }

    /// Go `UnregisterMultiPooler`: unconditional delete of the pooler's record, on the server of
    /// the cell its ID names. NoNode when absent.
    pub async fn delete_pooler(&self, id: &Id) -> Result<(), TopoError> {
        let (conn, root) = self.cell_conn(&id.cell).await?;
        conn.delete(&pooler_key(&root, id)).await
    }
}

/// Listings answer NoNode when empty; callers want an empty list.
fn empty_on_no_node<T>(result: Result<Vec<T>, TopoError>) -> Result<Vec<T>, TopoError> {
    match result {
        Err(TopoError::NoNode { .. }) => Ok(Vec::new()),
        other => other,
    }
}
