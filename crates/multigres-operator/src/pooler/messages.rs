//! The `multipoolermanagerdata` messages the operator exchanges with a multipooler, as
//! hand-written prost structs of the pinned multigres (`d782aa060`, spec-wire.md §2.4).
//!
//! Pure: field numbers and types only. Message names never reach the wire (only the method
//! paths in `client.rs` do), and fields the operator does not read are kept so a decoded message
//! is the whole message. HEAD's extra `BackupMetadata` fields (11–14) are skipped by prost as
//! unknown fields; the ones read (3, 4, 8) are the same there (spec-wire.md §6).

use crate::topology::records::PoolerType;

/// `GetBackupsRequest{1 limit}`: at most `limit` backups, 0 for all of them. multipooler keeps
/// pgBackRest's order (oldest first) and cuts after `limit`, so a limit keeps the OLDEST ones.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct GetBackupsRequest {
    #[prost(uint32, tag = "1")]
    pub limit: u32,
}

/// `GetBackupsResponse{1 repeated backups}`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct GetBackupsResponse {
    #[prost(message, repeated, tag = "1")]
    pub backups: Vec<BackupMetadata>,
}

/// `BackupMetadata`: one pgBackRest backup of the pooler's shard.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct BackupMetadata {
    #[prost(string, tag = "1")]
    pub table_group: String,
    #[prost(string, tag = "2")]
    pub shard: String,
    #[prost(enumeration = "BackupStatus", tag = "3")]
    pub status: i32,
    /// The pgBackRest label, `YYYYMMDD-HHMMSS` (UTC) then `F`, `D` or `I` and parents.
    #[prost(string, tag = "4")]
    pub backup_id: String,
    #[prost(string, tag = "5")]
    pub final_lsn: String,
    #[prost(string, tag = "6")]
    pub job_id: String,
    #[prost(uint64, tag = "7")]
    pub backup_size_bytes: u64,
    /// `full`, `diff` or `incr`.
    #[prost(string, tag = "8")]
    pub r#type: String,
    #[prost(string, tag = "9")]
    pub multipooler_id: String,
    #[prost(enumeration = "PoolerType", tag = "10")]
    pub pooler_type: i32,
}

/// `BackupMetadata.Status`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum BackupStatus {
    Unknown = 0,
    Incomplete = 1,
    Complete = 2,
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use prost::Message;

    fn hex(text: &str) -> Vec<u8> {
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex digits"))
            .collect()
    }

    // The vectors of spec-wire.md §1.6, checked there against protoc.

    #[test]
    fn a_limit_of_ten_encodes_as_the_spec_vector() {
        assert_eq!(GetBackupsRequest { limit: 10 }.encode_to_vec(), hex("080a"));
        // No limit is the empty message.
        assert_eq!(
            GetBackupsRequest { limit: 0 }.encode_to_vec(),
            Vec::<u8>::new()
        );
    }

    #[test]
    fn the_spec_response_decodes_field_by_field_and_encodes_back() {
        let bytes = hex(
            "0a2c0a0764656661756c741205302d696e661802221032303236303530312d3132303030304642\
             0466756c6c5002",
        );
        let response = GetBackupsResponse::decode(bytes.as_slice()).expect("decodes");
        assert_eq!(
            response,
            GetBackupsResponse {
                backups: vec![BackupMetadata {
                    table_group: "default".into(),
                    shard: "0-inf".into(),
                    status: BackupStatus::Complete as i32,
                    backup_id: "20260501-120000F".into(),
                    r#type: "full".into(),
                    pooler_type: PoolerType::Replica as i32,
                    ..Default::default()
                }],
            }
        );
        assert_eq!(response.encode_to_vec(), bytes);
    }

    #[test]
    fn unknown_fields_and_enum_values_of_a_newer_multigres_decode() {
        // HEAD adds field 11 (start_timestamp, a message) and may send a status this schema
        // does not know (7): the fields read stay readable.
        let mut bytes = BackupMetadata {
            status: 7,
            backup_id: "20260501-120000F".into(),
            r#type: "incr".into(),
            ..Default::default()
        }
        .encode_to_vec();
        bytes.extend(hex("5a020801"));
        let backup = BackupMetadata::decode(bytes.as_slice()).expect("decodes");
        assert_eq!(backup.status, 7);
        assert_eq!(backup.backup_id, "20260501-120000F");
        assert_eq!(backup.r#type, "incr");
    }
}
