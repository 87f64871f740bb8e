//! Protobuf wire bytes ↔ JSON, driven by the message catalogue ([`super::schema`]).
//!
//! Decoding follows what the API server's Go types make of a client-go body: a Go client
//! writes every non-pointer field, zero or not, and the server's JSON omits the zero ones
//! (`omitempty`), so zero scalars are dropped unless the field is required or a pointer
//! ([`Catalogue::keeps_zero`]); empty nested messages stay (`{}`, as Go writes empty structs).
//! The apimachinery wrappers are written in their JSON forms: `Time` and `MicroTime` as
//! RFC 3339 strings, `Quantity` as its string, `IntOrString` as a number or string,
//! `RawExtension`/`FieldsV1`/`JSON` as the JSON their bytes hold, and the JSONSchemaProps
//! unions as whichever side is set.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use prost::bytes::Buf;
use prost::encoding::{
    DecodeContext, WireType, decode_key, decode_varint, encode_key, encode_varint, skip_field,
};
use serde_json::{Map, Value, json};

use super::ProtobufError;
use super::schema::{Catalogue, Kind, Message, normalize};

const TIME: &str = "apimachinery.pkg.apis.meta.v1.Time";
const MICRO_TIME: &str = "apimachinery.pkg.apis.meta.v1.MicroTime";
const FIELDS_V1: &str = "apimachinery.pkg.apis.meta.v1.FieldsV1";
const QUANTITY: &str = "apimachinery.pkg.api.resource.Quantity";
const INT_OR_STRING: &str = "apimachinery.pkg.util.intstr.IntOrString";
const RAW_EXTENSION: &str = "apimachinery.pkg.runtime.RawExtension";
const CRD_JSON: &str = "apiextensions_apiserver.pkg.apis.apiextensions.v1.Json";
const PROPS_OR_ARRAY: &str =
    "apiextensions_apiserver.pkg.apis.apiextensions.v1.JsonSchemaPropsOrArray";
const PROPS_OR_BOOL: &str =
    "apiextensions_apiserver.pkg.apis.apiextensions.v1.JsonSchemaPropsOrBool";
const PROPS_OR_STRINGS: &str =
    "apiextensions_apiserver.pkg.apis.apiextensions.v1.JsonSchemaPropsOrStringArray";
const PROPS: &str = "apiextensions_apiserver.pkg.apis.apiextensions.v1.JsonSchemaProps";

fn wire_error(message: &str, source: prost::DecodeError) -> ProtobufError {
    ProtobufError::Decode {
        message: message.to_string(),
        detail: source.to_string(),
    }
}

fn invalid(message: &str, detail: String) -> ProtobufError {
    ProtobufError::Decode {
        message: message.to_string(),
        detail,
    }
}

fn nested(
    catalogue: &Catalogue,
    name: &str,
    context: &str,
) -> Result<&'static Message, ProtobufError> {
    catalogue
        .message(name)
        .ok_or_else(|| invalid(context, format!("no message {name}")))
}

/// Reads a length-delimited payload.
fn read_bytes<'a>(buf: &mut &'a [u8], message: &str) -> Result<&'a [u8], ProtobufError> {
    let len = decode_varint(buf).map_err(|e| wire_error(message, e))? as usize;
    if len > buf.len() {
        return Err(invalid(
            message,
            format!("a length of {len} runs past the end"),
        ));
    }
    let (payload, rest) = buf.split_at(len);
    *buf = rest;
    Ok(payload)
}

/// One field as read off the wire: tag, wire type, payload (length-delimited) and number
/// (varint and 64-bit).
type RawField<'a> = (u32, WireType, &'a [u8], u64);

/// The fields of a message in wire order.
fn raw_fields<'a>(mut buf: &'a [u8], message: &str) -> Result<Vec<RawField<'a>>, ProtobufError> {
    let mut out = Vec::new();
    while buf.has_remaining() {
        let (tag, wire) = decode_key(&mut buf).map_err(|e| wire_error(message, e))?;
        match wire {
            WireType::Varint => {
                let v = decode_varint(&mut buf).map_err(|e| wire_error(message, e))?;
                out.push((tag, wire, &[][..], v));
            }
            WireType::LengthDelimited => {
                let payload = read_bytes(&mut buf, message)?;
                out.push((tag, wire, payload, 0));
            }
            WireType::SixtyFourBit => {
                if buf.len() < 8 {
                    return Err(invalid(message, "a 64-bit field runs past the end".into()));
                }
                out.push((tag, wire, &[][..], buf.get_u64_le()));
            }
            other => {
                skip_field(other, tag, &mut buf, DecodeContext::default())
                    .map_err(|e| wire_error(message, e))?;
            }
        }
    }
    Ok(out)
}

/// Decodes `bytes` as `message` into its JSON form.
pub fn decode(
    catalogue: &Catalogue,
    message: &Message,
    bytes: &[u8],
) -> Result<Value, ProtobufError> {
    if let Some(value) = decode_special(catalogue, message, bytes)? {
        return Ok(value);
    }
    let mut values: Vec<Option<Value>> = message.fields.iter().map(|_| None).collect();
    for (tag, wire, payload, number) in raw_fields(bytes, message.name)? {
        let Some(index) = message.fields.iter().position(|f| f.tag == tag) else {
            continue;
        };
        let field = &message.fields[index];
        match &field.kind {
            Kind::Map(value_kind) => {
                let (key, value) = decode_entry(catalogue, message, value_kind, payload)?;
                if let Value::Object(map) = values[index].get_or_insert_with(|| json!({})) {
                    map.insert(key, value);
                }
            }
            kind if field.repeated => {
                let items = if wire == WireType::LengthDelimited && is_varint(kind) {
                    // A packed run of numbers.
                    let mut run = payload;
                    let mut items = Vec::new();
                    while run.has_remaining() {
                        let v = decode_varint(&mut run).map_err(|e| wire_error(message.name, e))?;
                        items.push(decode_scalar(catalogue, message, kind, wire, &[], v)?);
                    }
                    items
                } else {
                    vec![decode_scalar(
                        catalogue, message, kind, wire, payload, number,
                    )?]
                };
                if let Value::Array(list) = values[index].get_or_insert_with(|| json!([])) {
                    list.extend(items);
                }
            }
            kind => {
                values[index] = Some(decode_scalar(
                    catalogue, message, kind, wire, payload, number,
                )?)
            }
        }
    }
    let mut out = Map::new();
    for (field, value) in message.fields.iter().zip(values) {
        let Some(value) = value else { continue };
        if catalogue.is_inline(message, field) {
            if let Value::Object(fields) = value {
                out.extend(fields);
            }
            continue;
        }
        if value.is_null()
            || (!field.repeated && is_zero(&value) && !catalogue.keeps_zero(message, field))
        {
            continue;
        }
        out.insert(catalogue.json_name(message, field).to_string(), value);
    }
    Ok(Value::Object(out))
}

fn is_varint(kind: &Kind) -> bool {
    matches!(kind, Kind::Bool | Kind::Int32 | Kind::Int64)
}

fn is_zero(value: &Value) -> bool {
    match value {
        Value::String(s) => s.is_empty(),
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        _ => false,
    }
}

fn decode_entry(
    catalogue: &Catalogue,
    message: &Message,
    value_kind: &Kind,
    payload: &[u8],
) -> Result<(String, Value), ProtobufError> {
    let mut key = String::new();
    let mut value = None;
    for (tag, wire, bytes, number) in raw_fields(payload, message.name)? {
        match tag {
            1 => key = utf8(bytes, message)?,
            2 => {
                value = Some(decode_scalar(
                    catalogue, message, value_kind, wire, bytes, number,
                )?)
            }
            _ => {}
        }
    }
    let value = match value {
        Some(v) => v,
        // An absent value is the zero value of its kind.
        None => match value_kind {
            Kind::String | Kind::Bytes => json!(""),
            Kind::Message(name) => decode(catalogue, nested(catalogue, name, message.name)?, &[])?,
            _ => json!(0),
        },
    };
    Ok((key, value))
}

fn utf8(bytes: &[u8], message: &Message) -> Result<String, ProtobufError> {
    String::from_utf8(bytes.to_vec()).map_err(|e| invalid(message.name, e.to_string()))
}

fn decode_scalar(
    catalogue: &Catalogue,
    message: &Message,
    kind: &Kind,
    wire: WireType,
    payload: &[u8],
    number: u64,
) -> Result<Value, ProtobufError> {
    let expect = |wanted: WireType| {
        if wire == wanted {
            Ok(())
        } else {
            Err(invalid(
                message.name,
                format!("wire type {wire:?} where {wanted:?} was expected"),
            ))
        }
    };
    Ok(match kind {
        Kind::String => {
            expect(WireType::LengthDelimited)?;
            Value::String(utf8(payload, message)?)
        }
        Kind::Bytes => {
            expect(WireType::LengthDelimited)?;
            Value::String(B64.encode(payload))
        }
        Kind::Bool => {
            expect(WireType::Varint)?;
            Value::Bool(number != 0)
        }
        Kind::Int32 => {
            expect(WireType::Varint)?;
            json!(number as i64 as i32)
        }
        Kind::Int64 => {
            expect(WireType::Varint)?;
            json!(number as i64)
        }
        Kind::Double => {
            expect(WireType::SixtyFourBit)?;
            json!(f64::from_bits(number))
        }
        Kind::Message(name) => {
            expect(WireType::LengthDelimited)?;
            decode(catalogue, nested(catalogue, name, message.name)?, payload)?
        }
        Kind::Map(_) => return Err(invalid(message.name, "a map inside a map".into())),
    })
}

/// The first value of `tag` as a number / bytes.
fn number_of(fields: &[RawField<'_>], tag: u32) -> Option<u64> {
    fields
        .iter()
        .rev()
        .find(|f| f.0 == tag && f.1 == WireType::Varint)
        .map(|f| f.3)
}

fn bytes_of<'a>(fields: &[RawField<'a>], tag: u32) -> Option<&'a [u8]> {
    fields
        .iter()
        .rev()
        .find(|f| f.0 == tag && f.1 == WireType::LengthDelimited)
        .map(|f| f.2)
}

fn raw_json(bytes: Option<&[u8]>, message: &Message) -> Result<Value, ProtobufError> {
    match bytes {
        None | Some([]) => Ok(Value::Null),
        Some(raw) => serde_json::from_slice(raw).map_err(|e| invalid(message.name, e.to_string())),
    }
}

fn format_time(seconds: i64, nanos: i32, micro: bool) -> Result<Value, ProtobufError> {
    let ts = jiff::Timestamp::new(seconds, if micro { nanos } else { 0 })
        .map_err(|e| invalid(TIME, e.to_string()))?;
    Ok(if micro {
        json!(format!("{}", ts.strftime("%Y-%m-%dT%H:%M:%S.%6fZ")))
    } else {
        json!(format!("{}", ts.strftime("%Y-%m-%dT%H:%M:%SZ")))
    })
}

fn decode_special(
    catalogue: &Catalogue,
    message: &Message,
    bytes: &[u8],
) -> Result<Option<Value>, ProtobufError> {
    let fields = || raw_fields(bytes, message.name);
    Ok(Some(match message.name {
        TIME | MICRO_TIME => {
            let f = fields()?;
            let seconds = number_of(&f, 1).unwrap_or(0) as i64;
            let nanos = number_of(&f, 2).unwrap_or(0) as i64 as i32;
            if seconds == 0 && nanos == 0 {
                // Go's zero time, which its JSON writes as null.
                Value::Null
            } else {
                format_time(seconds, nanos, message.name == MICRO_TIME)?
            }
        }
        QUANTITY => json!(utf8(bytes_of(&fields()?, 1).unwrap_or_default(), message)?),
        INT_OR_STRING => {
            let f = fields()?;
            if number_of(&f, 1).unwrap_or(0) == 1 {
                json!(utf8(bytes_of(&f, 3).unwrap_or_default(), message)?)
            } else {
                json!(number_of(&f, 2).unwrap_or(0) as i64 as i32)
            }
        }
        RAW_EXTENSION | FIELDS_V1 | CRD_JSON => raw_json(bytes_of(&fields()?, 1), message)?,
        PROPS_OR_ARRAY | PROPS_OR_STRINGS => {
            let f = fields()?;
            let props = nested(catalogue, PROPS, message.name)?;
            match bytes_of(&f, 1) {
                Some(schema) => decode(catalogue, props, schema)?,
                None => {
                    let items = f.iter().filter(|x| x.0 == 2).map(|x| {
                        if message.name == PROPS_OR_ARRAY {
                            decode(catalogue, props, x.2)
                        } else {
                            utf8(x.2, message).map(Value::String)
                        }
                    });
                    Value::Array(items.collect::<Result<_, _>>()?)
                }
            }
        }
        PROPS_OR_BOOL => {
            let f = fields()?;
            match bytes_of(&f, 2) {
                Some(schema) => decode(catalogue, nested(catalogue, PROPS, message.name)?, schema)?,
                None => json!(number_of(&f, 1).unwrap_or(0) != 0),
            }
        }
        _ => return Ok(None),
    }))
}

/// Encodes the JSON form `value` of `message`.
pub fn encode(
    catalogue: &Catalogue,
    message: &Message,
    value: &Value,
    out: &mut Vec<u8>,
) -> Result<(), ProtobufError> {
    if encode_special(catalogue, message, value, out)? {
        return Ok(());
    }
    let Value::Object(object) = value else {
        return Err(ProtobufError::NotAnObject {
            message: message.name.to_string(),
        });
    };
    let by_key: std::collections::HashMap<String, &Value> =
        object.iter().map(|(k, v)| (normalize(k), v)).collect();
    for field in message.fields {
        if let (true, Kind::Message(name)) = (catalogue.is_inline(message, field), &field.kind) {
            // The embedded struct's fields sit in this object.
            let mut payload = Vec::new();
            encode(
                catalogue,
                nested(catalogue, name, message.name)?,
                value,
                &mut payload,
            )?;
            encode_len(field.tag, &payload, out);
            continue;
        }
        let Some(value) = by_key.get(&normalize(field.name)).copied() else {
            continue;
        };
        match (&field.kind, value) {
            (_, Value::Null) => {}
            (Kind::Map(value_kind), Value::Object(entries)) => {
                for (key, entry) in entries {
                    let mut payload = Vec::new();
                    encode_key(1, WireType::LengthDelimited, &mut payload);
                    encode_varint(key.len() as u64, &mut payload);
                    payload.extend_from_slice(key.as_bytes());
                    encode_scalar(catalogue, message, 2, value_kind, entry, &mut payload)?;
                    encode_key(field.tag, WireType::LengthDelimited, out);
                    encode_varint(payload.len() as u64, out);
                    out.extend_from_slice(&payload);
                }
            }
            (kind, Value::Array(items)) if field.repeated => {
                for item in items {
                    encode_scalar(catalogue, message, field.tag, kind, item, out)?;
                }
            }
            (kind, value) => encode_scalar(catalogue, message, field.tag, kind, value, out)?,
        }
    }
    Ok(())
}

fn encode_len(tag: u32, payload: &[u8], out: &mut Vec<u8>) {
    encode_key(tag, WireType::LengthDelimited, out);
    encode_varint(payload.len() as u64, out);
    out.extend_from_slice(payload);
}

fn mismatch(message: &Message, field_tag: u32, value: &Value) -> ProtobufError {
    ProtobufError::Encode {
        message: message.name.to_string(),
        tag: field_tag,
        value: value.to_string(),
    }
}

fn encode_scalar(
    catalogue: &Catalogue,
    message: &Message,
    tag: u32,
    kind: &Kind,
    value: &Value,
    out: &mut Vec<u8>,
) -> Result<(), ProtobufError> {
    match (kind, value) {
        (Kind::String, Value::String(s)) => encode_len(tag, s.as_bytes(), out),
        (Kind::String, other @ (Value::Number(_) | Value::Bool(_))) => {
            encode_len(tag, other.to_string().as_bytes(), out)
        }
        (Kind::Bytes, Value::String(s)) => {
            let bytes = B64.decode(s).map_err(|_| mismatch(message, tag, value))?;
            encode_len(tag, &bytes, out)
        }
        (Kind::Bool, Value::Bool(b)) => {
            encode_key(tag, WireType::Varint, out);
            encode_varint(u64::from(*b), out);
        }
        (Kind::Int32 | Kind::Int64, Value::Number(n)) => {
            let v = n
                .as_i64()
                .or_else(|| n.as_f64().map(|f| f as i64))
                .ok_or_else(|| mismatch(message, tag, value))?;
            encode_key(tag, WireType::Varint, out);
            encode_varint(v as u64, out);
        }
        (Kind::Double, Value::Number(n)) => {
            encode_key(tag, WireType::SixtyFourBit, out);
            out.extend_from_slice(&n.as_f64().unwrap_or_default().to_bits().to_le_bytes());
        }
        (Kind::Message(name), value) => {
            let mut payload = Vec::new();
            encode(
                catalogue,
                nested(catalogue, name, message.name)?,
                value,
                &mut payload,
            )?;
            encode_len(tag, &payload, out);
        }
        _ => return Err(mismatch(message, tag, value)),
    }
    Ok(())
}

fn encode_special(
    catalogue: &Catalogue,
    message: &Message,
    value: &Value,
    out: &mut Vec<u8>,
) -> Result<bool, ProtobufError> {
    match message.name {
        TIME | MICRO_TIME => {
            let text = value.as_str().ok_or_else(|| mismatch(message, 1, value))?;
            let ts: jiff::Timestamp = text.parse().map_err(|_| mismatch(message, 1, value))?;
            encode_key(1, WireType::Varint, out);
            encode_varint(ts.as_second() as u64, out);
            let nanos = if message.name == MICRO_TIME {
                ts.subsec_nanosecond()
            } else {
                0
            };
            if nanos != 0 {
                encode_key(2, WireType::Varint, out);
                encode_varint(nanos as i64 as u64, out);
            }
        }
        QUANTITY => {
            let text = match value {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            encode_len(1, text.as_bytes(), out);
        }
        INT_OR_STRING => match value {
            Value::String(s) => {
                encode_key(1, WireType::Varint, out);
                encode_varint(1, out);
                encode_len(3, s.as_bytes(), out);
            }
            Value::Number(n) => {
                encode_key(1, WireType::Varint, out);
                encode_varint(0, out);
                encode_key(2, WireType::Varint, out);
                encode_varint(n.as_i64().unwrap_or_default() as u64, out);
            }
            other => return Err(mismatch(message, 1, other)),
        },
        RAW_EXTENSION | FIELDS_V1 | CRD_JSON => {
            let raw = serde_json::to_vec(value).map_err(|_| mismatch(message, 1, value))?;
            encode_len(1, &raw, out);
        }
        PROPS_OR_ARRAY | PROPS_OR_STRINGS | PROPS_OR_BOOL => {
            let props = nested(catalogue, PROPS, message.name)?;
            let schema_tag = if message.name == PROPS_OR_BOOL { 2 } else { 1 };
            match value {
                Value::Object(_) => {
                    let mut payload = Vec::new();
                    encode(catalogue, props, value, &mut payload)?;
                    if message.name == PROPS_OR_BOOL {
                        encode_key(1, WireType::Varint, out);
                        encode_varint(1, out);
                    }
                    encode_len(schema_tag, &payload, out);
                }
                Value::Bool(b) if message.name == PROPS_OR_BOOL => {
                    encode_key(1, WireType::Varint, out);
                    encode_varint(u64::from(*b), out);
                }
                Value::Array(items) if message.name != PROPS_OR_BOOL => {
                    for item in items {
                        if message.name == PROPS_OR_ARRAY {
                            let mut payload = Vec::new();
                            encode(catalogue, props, item, &mut payload)?;
                            encode_len(2, &payload, out);
                        } else {
                            let s = item.as_str().ok_or_else(|| mismatch(message, 2, item))?;
                            encode_len(2, s.as_bytes(), out);
                        }
                    }
                }
                other => return Err(mismatch(message, schema_tag, other)),
            }
        }
        _ => return Ok(false),
    }
    Ok(true)
}
