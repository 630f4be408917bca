//! The JSON writer of answer bodies: compact JSON, byte for byte what `serde_json::to_vec` writes,
//! with a faster string writer. serde_json looks up every byte of every string (member names
//! included) in a table, one at a time; this one checks a whole string for the three kinds of byte
//! that need an escape (a control character, `"` and `\`) in wide compares and copies it whole.

use serde::ser::{self, Serialize};
use std::fmt::Display;

/// `value` as compact JSON.
pub fn to_vec<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, Error> {
    let mut w = Writer { out: Vec::with_capacity(256) };
    value.serialize(&mut w)?;
    Ok(w.out)
}

/// A value JSON cannot hold (a map key that is no string or number, bytes).
#[derive(Debug)]
pub struct Error(String);

impl Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl ser::Error for Error {
    fn custom<T: Display>(msg: T) -> Self {
        Error(msg.to_string())
    }
}

struct Writer {
    out: Vec<u8>,
}

/// Whether a byte needs an escape in a JSON string: a control character, `"` or `\\`.
fn needs_escape(b: u8) -> bool {
    (b < 0x20) | (b == b'"') | (b == b'\\')
}

/// Writes `s` as a JSON string, escaped as serde_json escapes it. Most strings need no escape: one
/// pass without an early exit (which the compiler turns into wide compares) tells, and such a
/// string is copied whole.
fn write_str(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    if !bytes.iter().fold(false, |any, &b| any | needs_escape(b)) {
        out.extend_from_slice(bytes);
        out.push(b'"');
        return;
    }
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if !needs_escape(b) {
            continue;
        }
        out.extend_from_slice(&bytes[start..i]);
        start = i + 1;
        let short: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            _ => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(&[b'\\', b'u', b'0', b'0', HEX[usize::from(b >> 4)], HEX[usize::from(b & 0xf)]]);
                continue;
            }
        };
        out.extend_from_slice(short);
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

fn write_int(out: &mut Vec<u8>, n: impl itoa::Integer) {
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

/// A float as serde_json writes one (its own formatter: the shortest form that reads back, `null` if
/// not finite), by serde_json itself: timestamps are the only floats of the answers.
fn write_float<F: Serialize>(out: &mut Vec<u8>, x: F) {
    if serde_json::to_writer(&mut *out, &x).is_err() {
        out.extend_from_slice(b"null");
    }
}

/// A sequence or map being written: whether an element was written yet.
struct Compound<'w> {
    w: &'w mut Writer,
    first: bool,
}

impl Compound<'_> {
    fn comma(&mut self) {
        if self.first {
            self.first = false;
        } else {
            self.w.out.push(b',');
        }
    }
}

impl<'w> ser::Serializer for &'w mut Writer {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Compound<'w>;
    type SerializeTuple = Compound<'w>;
    type SerializeTupleStruct = Compound<'w>;
    type SerializeTupleVariant = Compound<'w>;
    type SerializeMap = Compound<'w>;
    type SerializeStruct = Compound<'w>;
    type SerializeStructVariant = Compound<'w>;

    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        self.out.extend_from_slice(if v { b"true" } else { b"false" });
        Ok(())
    }
    fn serialize_i8(self, v: i8) -> Result<(), Error> {
        write_int(&mut self.out, v);
        Ok(())
    }
    fn serialize_i16(self, v: i16) -> Result<(), Error> {
        write_int(&mut self.out, v);
        Ok(())
    }
    fn serialize_i32(self, v: i32) -> Result<(), Error> {
        write_int(&mut self.out, v);
        Ok(())
    }
    fn serialize_i64(self, v: i64) -> Result<(), Error> {
        write_int(&mut self.out, v);
        Ok(())
    }
    fn serialize_i128(self, v: i128) -> Result<(), Error> {
        write_int(&mut self.out, v);
        Ok(())
    }
    fn serialize_u8(self, v: u8) -> Result<(), Error> {
        write_int(&mut self.out, v);
        Ok(())
    }
    fn serialize_u16(self, v: u16) -> Result<(), Error> {
        write_int(&mut self.out, v);
        Ok(())
    }
    fn serialize_u32(self, v: u32) -> Result<(), Error> {
        write_int(&mut self.out, v);
        Ok(())
    }
    fn serialize_u64(self, v: u64) -> Result<(), Error> {
        write_int(&mut self.out, v);
        Ok(())
    }
    fn serialize_u128(self, v: u128) -> Result<(), Error> {
        write_int(&mut self.out, v);
        Ok(())
    }
    fn serialize_f32(self, v: f32) -> Result<(), Error> {
        write_float(&mut self.out, v);
        Ok(())
    }
    fn serialize_f64(self, v: f64) -> Result<(), Error> {
        write_float(&mut self.out, v);
        Ok(())
    }
    fn serialize_char(self, v: char) -> Result<(), Error> {
        write_str(&mut self.out, v.encode_utf8(&mut [0; 4]));
        Ok(())
    }
    fn serialize_str(self, v: &str) -> Result<(), Error> {
        write_str(&mut self.out, v);
        Ok(())
    }
    /// As serde_json: an array of the byte values.
    fn serialize_bytes(self, v: &[u8]) -> Result<(), Error> {
        use ser::SerializeSeq;
        let mut seq = self.serialize_seq(Some(v.len()))?;
        for b in v {
            seq.serialize_element(b)?;
        }
        seq.end()
    }
    fn serialize_none(self) -> Result<(), Error> {
        self.serialize_unit()
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Error> {
        self.out.extend_from_slice(b"null");
        Ok(())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Error> {
        self.serialize_unit()
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> Result<(), Error> {
        self.serialize_str(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, value: &T) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.out.push(b'{');
        write_str(&mut self.out, variant);
        self.out.push(b':');
        value.serialize(&mut *self)?;
        self.out.push(b'}');
        Ok(())
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Compound<'w>, Error> {
        self.out.push(b'[');
        Ok(Compound { w: self, first: true })
    }
    fn serialize_tuple(self, len: usize) -> Result<Compound<'w>, Error> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(self, _: &'static str, len: usize) -> Result<Compound<'w>, Error> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(self, _: &'static str, _: u32, variant: &'static str, _: usize) -> Result<Compound<'w>, Error> {
        self.out.push(b'{');
        write_str(&mut self.out, variant);
        self.out.extend_from_slice(b":[");
        Ok(Compound { w: self, first: true })
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Compound<'w>, Error> {
        self.out.push(b'{');
        Ok(Compound { w: self, first: true })
    }
    fn serialize_struct(self, _: &'static str, len: usize) -> Result<Compound<'w>, Error> {
        self.serialize_map(Some(len))
    }
    fn serialize_struct_variant(self, _: &'static str, _: u32, variant: &'static str, _: usize) -> Result<Compound<'w>, Error> {
        self.out.push(b'{');
        write_str(&mut self.out, variant);
        self.out.extend_from_slice(b":{");
        Ok(Compound { w: self, first: true })
    }
}

impl ser::SerializeSeq for Compound<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.comma();
        value.serialize(&mut *self.w)
    }
    fn end(self) -> Result<(), Error> {
        self.w.out.push(b']');
        Ok(())
    }
}

impl ser::SerializeTuple for Compound<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        ser::SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> Result<(), Error> {
        ser::SerializeSeq::end(self)
    }
}

impl ser::SerializeTupleStruct for Compound<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        ser::SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> Result<(), Error> {
        ser::SerializeSeq::end(self)
    }
}

impl ser::SerializeTupleVariant for Compound<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        ser::SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> Result<(), Error> {
        self.w.out.extend_from_slice(b"]}");
        Ok(())
    }
}

impl ser::SerializeMap for Compound<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        self.comma();
        key.serialize(MapKey { out: &mut self.w.out })?;
        self.w.out.push(b':');
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        value.serialize(&mut *self.w)
    }
    fn end(self) -> Result<(), Error> {
        self.w.out.push(b'}');
        Ok(())
    }
}

impl ser::SerializeStruct for Compound<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result<(), Error> {
        self.comma();
        write_str(&mut self.w.out, key);
        self.w.out.push(b':');
        value.serialize(&mut *self.w)
    }
    fn end(self) -> Result<(), Error> {
        self.w.out.push(b'}');
        Ok(())
    }
}

impl ser::SerializeStructVariant for Compound<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result<(), Error> {
        ser::SerializeStruct::serialize_field(self, key, value)
    }
    fn end(self) -> Result<(), Error> {
        self.w.out.extend_from_slice(b"}}");
        Ok(())
    }
}

/// A map's key: a string, or a number or boolean written as a string, as serde_json does.
struct MapKey<'a> {
    out: &'a mut Vec<u8>,
}

fn quoted(out: &mut Vec<u8>, write: impl FnOnce(&mut Vec<u8>)) -> Result<(), Error> {
    out.push(b'"');
    write(out);
    out.push(b'"');
    Ok(())
}

fn key_must_be_a_string() -> Error {
    Error("key must be a string".into())
}

impl ser::Serializer for MapKey<'_> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = ser::Impossible<(), Error>;
    type SerializeTuple = ser::Impossible<(), Error>;
    type SerializeTupleStruct = ser::Impossible<(), Error>;
    type SerializeTupleVariant = ser::Impossible<(), Error>;
    type SerializeMap = ser::Impossible<(), Error>;
    type SerializeStruct = ser::Impossible<(), Error>;
    type SerializeStructVariant = ser::Impossible<(), Error>;

    fn serialize_str(self, v: &str) -> Result<(), Error> {
        write_str(self.out, v);
        Ok(())
    }
    fn serialize_char(self, v: char) -> Result<(), Error> {
        write_str(self.out, v.encode_utf8(&mut [0; 4]));
        Ok(())
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> Result<(), Error> {
        self.serialize_str(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, value: &T) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        quoted(self.out, |o| o.extend_from_slice(if v { b"true" } else { b"false" }))
    }
    fn serialize_i8(self, v: i8) -> Result<(), Error> {
        quoted(self.out, |o| write_int(o, v))
    }
    fn serialize_i16(self, v: i16) -> Result<(), Error> {
        quoted(self.out, |o| write_int(o, v))
    }
    fn serialize_i32(self, v: i32) -> Result<(), Error> {
        quoted(self.out, |o| write_int(o, v))
    }
    fn serialize_i64(self, v: i64) -> Result<(), Error> {
        quoted(self.out, |o| write_int(o, v))
    }
    fn serialize_i128(self, v: i128) -> Result<(), Error> {
        quoted(self.out, |o| write_int(o, v))
    }
    fn serialize_u8(self, v: u8) -> Result<(), Error> {
        quoted(self.out, |o| write_int(o, v))
    }
    fn serialize_u16(self, v: u16) -> Result<(), Error> {
        quoted(self.out, |o| write_int(o, v))
    }
    fn serialize_u32(self, v: u32) -> Result<(), Error> {
        quoted(self.out, |o| write_int(o, v))
    }
    fn serialize_u64(self, v: u64) -> Result<(), Error> {
        quoted(self.out, |o| write_int(o, v))
    }
    fn serialize_u128(self, v: u128) -> Result<(), Error> {
        quoted(self.out, |o| write_int(o, v))
    }
    fn serialize_f32(self, v: f32) -> Result<(), Error> {
        if !v.is_finite() {
            return Err(Error("float key must be finite".into()));
        }
        quoted(self.out, |o| write_float(o, v))
    }
    fn serialize_f64(self, v: f64) -> Result<(), Error> {
        if !v.is_finite() {
            return Err(Error("float key must be finite".into()));
        }
        quoted(self.out, |o| write_float(o, v))
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_none(self) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(self, _: &'static str, _: u32, _: &'static str, _: &T) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeTupleStruct, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_tuple_variant(self, _: &'static str, _: u32, _: &'static str, _: usize) -> Result<Self::SerializeTupleVariant, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_struct_variant(self, _: &'static str, _: u32, _: &'static str, _: usize) -> Result<Self::SerializeStructVariant, Error> {
        Err(key_must_be_a_string())
    }
}

#[cfg(test)]
mod tests {
    use super::to_vec;
    use crate::identity::shapes as id;
    use crate::messaging::shapes as msg;
    use crate::{Timestamp, json};
    use serde::Serialize;
    use std::collections::BTreeMap;

    fn same<T: Serialize>(value: &T) {
        assert_eq!(String::from_utf8(to_vec(value).unwrap()).unwrap(), String::from_utf8(serde_json::to_vec(value).unwrap()).unwrap());
    }

    /// Every string that needs an escape, at every offset of an eight-byte word.
    #[test]
    fn strings_are_escaped_as_serde_json_escapes_them() {
        let specials: Vec<char> =
            (0u8..0x20).map(char::from).chain(['"', '\\', '/', '\u{7f}', 'é', '€', '😀', ' ', '!', '#', '[', ']']).collect();
        for c in &specials {
            for before in 0..17 {
                for after in [0, 1, 7, 8, 9] {
                    let s = format!("{}{c}{}", "a".repeat(before), "b".repeat(after));
                    same(&s);
                }
            }
        }
        let all: String = (0u32..0x250).filter_map(char::from_u32).collect();
        same(&all);
        same(&"");
        same(&'\n');
        same(&"\u{1f}\"\\".repeat(9));
    }

    #[test]
    fn numbers_and_the_rest_are_written_as_serde_json_writes_them() {
        for x in [0.0, -0.0, 1.5, 1764326400.123, 1764326400.0, 1e300, 1e-7, f64::NAN, f64::INFINITY, f64::MIN_POSITIVE] {
            same(&x);
            same(&Timestamp((x * 1000.0) as i64));
        }
        same(&(1.5f32, f32::NAN, i64::MIN, u64::MAX, i128::MIN, u128::MAX, -7i8, true, false, (), 'x'));
        same(&Some(vec![Some(1), None]));
        let mut map = BTreeMap::new();
        map.insert("k\"ey".to_string(), vec!["v".to_string()]);
        map.insert(String::new(), Vec::new());
        same(&map);
        let mut numbered = BTreeMap::new();
        numbered.insert(5u32, true);
        numbered.insert(7u32, false);
        same(&numbered);
        same(&BTreeMap::from([(true, 1)]));
        same(&BTreeMap::from([(Some('c'), 1)]));
        #[derive(Serialize)]
        enum E {
            Unit,
            New(i32),
            Tuple(i32, String),
            Struct { a: Option<bool> },
        }
        same(&vec![E::Unit, E::New(3), E::Tuple(1, "t".into()), E::Struct { a: None }]);
        assert!(json::to_vec(&BTreeMap::from([(vec![1], 1)])).is_err());
    }

    #[test]
    fn answers_are_written_as_serde_json_writes_them() {
        same(&id::DescribeAppInstanceUserEndpointResponse {
            app_instance_user_endpoint: Some(id::AppInstanceUserEndpoint {
                r#type: Some(id::AppInstanceUserEndpointType::Apns),
                allow_messages: Some(id::AllowMessages::All),
                endpoint_state: Some(id::EndpointState {
                    status: id::EndpointStatus::Inactive,
                    status_reason: Some(id::EndpointStatusReason::InvalidDeviceToken),
                }),
                app_instance_user_arn: Some("arn:aws:chime:us-east-1:111122223333:app-instance/a/user/u\u{0}".into()),
                endpoint_id: Some("e".repeat(32)),
                name: Some("Ünïcode \"name\"\t".into()),
                resource_arn: None,
                endpoint_attributes: Some(id::EndpointAttributes { device_token: "dt".into(), voip_device_token: None }),
                created_timestamp: Some(Timestamp(1_764_326_400_123)),
                last_updated_timestamp: Some(Timestamp(1_764_326_400_000)),
            }),
        });
        same(&msg::ListChannelMessagesResponse {
            channel_arn: Some("c".into()),
            next_token: None,
            channel_messages: Some(vec![]),
            sub_channel_id: None,
        });
    }
}
