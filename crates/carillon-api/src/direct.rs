//! Binding straight into the typed input: the path labels, query, headers and JSON body of a request
//! are read into the operation's generated input shape in one pass, every value checked against the
//! model on the way (JSON type, length, range, pattern, enum), with no `serde_json::Value` between.
//!
//! It only says yes or no: [`typed`] gives the input when the request is valid, and `None` at the
//! first thing it does not like, without saying why. The caller then binds the request again through
//! [`crate::bind::bind`], which finds every violation and words the message. So a valid request
//! pays for one pass, and an invalid one gets exactly the answer it always got.
//!
//! To be safe it must refuse whatever the full binding refuses; accepting less is only slower.

use crate::bind::MAX_BODY_BYTES;
use crate::model::{Location, Model, OperationDef, Segment, Shape, ShapeKind};
use crate::validate::string_violations;
use serde::de::value::{F64Deserializer, I64Deserializer, MapDeserializer, StrDeserializer};
use serde::de::{self, DeserializeOwned, DeserializeSeed, Deserializer, IntoDeserializer, MapAccess, SeqAccess, Visitor};
use std::cell::Cell;
use std::fmt;

/// The parts of a request an input is bound from.
#[derive(Clone, Copy)]
pub struct Parts<'a> {
    pub model: &'a Model,
    pub op: &'a OperationDef,
    /// Decoded path labels, in template order.
    pub labels: &'a [String],
    pub query: &'a [(String, String)],
    pub headers: &'a [(&'a str, &'a [u8])],
    pub body: &'a [u8],
}

/// The typed input of the request, when it is valid; `None` when anything is wrong with it (the
/// full binding then says what).
pub fn typed<T: DeserializeOwned>(parts: Parts<'_>) -> Option<T> {
    let input = parts.op.input.as_deref()?;
    let shape = parts.model.shapes.get(input)?;
    T::deserialize(Input { parts, shape }).ok()
}

/// A refusal: its words are never shown.
fn refused<E: de::Error>() -> E {
    E::custom("refused")
}

/// A member bound from outside the body.
#[derive(Clone, Copy)]
enum Fixed<'a> {
    Str(&'a str),
    Int(i64),
    Float(f64),
}

/// The whole input: the members bound from the path, query and headers, then those of the body.
struct Input<'a> {
    parts: Parts<'a>,
    shape: &'a Shape,
}

impl<'de> Deserializer<'de> for Input<'de> {
    type Error = serde_json::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        let Parts { model, body, .. } = self.parts;
        if body.len() > MAX_BODY_BYTES {
            return Err(refused());
        }
        let mut fixed = Vec::new();
        for (i, member) in self.shape.members.iter().enumerate() {
            if let Some(value) = fixed_value(&self.parts, member)? {
                fixed.push((i, value));
            }
        }
        let members = Members { model, shape: self.shape, fixed, next_fixed: 0, pending: None };
        if body.iter().all(u8::is_ascii_whitespace) {
            let empty = MapDeserializer::<std::iter::Empty<(&str, &str)>, serde_json::Error>::new(std::iter::empty());
            return visitor.visit_map(BodyMembers { members, body: empty });
        }
        // The full binding refuses a body that is not UTF-8 anywhere, even inside a member it then
        // leaves out, while serde_json checks only the strings it reads: the whole body is checked
        // first (and read as a `str`, which needs no check of its own after that).
        let text = std::str::from_utf8(body).map_err(|_| refused())?;
        let mut json = serde_json::Deserializer::from_str(text);
        let value = (&mut json).deserialize_map(BodyVisitor { visitor, members })?;
        json.end()?;
        Ok(value)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option unit unit_struct
        newtype_struct seq tuple tuple_struct map struct enum identifier ignored_any
    }
}

/// The value of a member bound from the path, the query or a header, as `bind` reads it.
fn fixed_value<'a>(parts: &Parts<'a>, member: &crate::model::Member) -> Result<Option<Fixed<'a>>, serde_json::Error> {
    let name = member.location_name.as_str();
    Ok(match member.location {
        Location::Body => None,
        Location::Uri => {
            let mut labels = parts.op.segments.iter().filter_map(|s| if let Segment::Label(l) = s { Some(l) } else { None });
            labels.position(|l| l == name).and_then(|at| parts.labels.get(at)).map(|v| Fixed::Str(v))
        }
        Location::Query => match parts.query.iter().find(|(k, _)| k == name) {
            None => None,
            Some((_, raw)) => Some(match parts.model.shape(&member.shape).kind {
                ShapeKind::Integer | ShapeKind::Long => Fixed::Int(raw.parse().map_err(|_| refused::<serde_json::Error>())?),
                // A date-time the full binding converts; it is rare enough to leave to it.
                ShapeKind::Timestamp => {
                    Fixed::Float(raw.parse().ok().filter(|s: &f64| s.is_finite()).ok_or_else(refused::<serde_json::Error>)?)
                }
                _ => Fixed::Str(raw),
            }),
        },
        Location::Header => match parts.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)) {
            None => None,
            Some((_, raw)) => Some(Fixed::Str(std::str::from_utf8(raw).map_err(|_| refused::<serde_json::Error>())?)),
        },
    })
}

/// Opens the body's JSON object and hands its entries, after the fixed members, to the input's visitor.
struct BodyVisitor<'a, V> {
    visitor: V,
    members: Members<'a>,
}

impl<'de, V: Visitor<'de>> Visitor<'de> for BodyVisitor<'de, V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, body: A) -> Result<Self::Value, A::Error> {
        self.visitor.visit_map(BodyMembers { members: self.members, body })
    }
}

/// What the next value is.
#[derive(Clone, Copy)]
enum Pending<'a> {
    Fixed(Fixed<'a>, &'a Shape),
    Body(&'a Shape),
}

/// The members of a structure being read.
struct Members<'a> {
    model: &'a Model,
    shape: &'a Shape,
    /// The members from outside the body: (index in `shape.members`, value).
    fixed: Vec<(usize, Fixed<'a>)>,
    next_fixed: usize,
    pending: Option<Pending<'a>>,
}

/// The input's members: the fixed ones first, then the body's own members; any other key of the
/// body (unknown, or a member bound from outside the body) is read and left out, as `bind` does.
struct BodyMembers<'a, A> {
    members: Members<'a>,
    body: A,
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for BodyMembers<'_, A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, A::Error> {
        let m = &mut self.members;
        if let Some(&(i, value)) = m.fixed.get(m.next_fixed) {
            m.next_fixed += 1;
            let member = &m.shape.members[i];
            m.pending = Some(Pending::Fixed(value, m.model.shape(&member.shape)));
            return seed.deserialize(StrDeserializer::<A::Error>::new(&member.name)).map(Some);
        }
        next_body_key(m, &mut self.body, seed)
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, A::Error> {
        let model = self.members.model;
        match self.members.pending.take() {
            Some(Pending::Fixed(value, shape)) => seed.deserialize(Checked { model, shape, inner: fixed::<A::Error>(value) }),
            Some(Pending::Body(shape)) => self.body.next_value_seed(CheckedSeed { model, shape, seed }),
            None => Err(refused()),
        }
    }
}

/// The next key of `body` that names a body member of the structure, skipping the others.
fn next_body_key<'de, A: MapAccess<'de>, K: DeserializeSeed<'de>>(
    m: &mut Members<'_>,
    body: &mut A,
    seed: K,
) -> Result<Option<K::Value>, A::Error> {
    loop {
        let Some(found) = body.next_key_seed(MemberKey { shape: m.shape })? else { return Ok(None) };
        match found {
            Some(i) => {
                let member = &m.shape.members[i];
                m.pending = Some(Pending::Body(m.model.shape(&member.shape)));
                return seed.deserialize(StrDeserializer::<A::Error>::new(&member.name)).map(Some);
            }
            None => {
                // Read whole, as the full binding reads it: skipping the value would not check its
                // strings' escapes (a lone surrogate), which the full binding refuses.
                body.next_value::<serde_json::Value>()?;
            }
        }
    }
}

/// Reads a key of a JSON object: the index of the body member it names, if any.
struct MemberKey<'a> {
    shape: &'a Shape,
}

impl<'de> DeserializeSeed<'de> for MemberKey<'_> {
    type Value = Option<usize>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<usize>, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for MemberKey<'_> {
    type Value = Option<usize>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a member name")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<Option<usize>, E> {
        Ok(self.shape.members.iter().position(|m| m.location == Location::Body && m.name == key))
    }
}

/// A fixed member's value, deserialized through its own kind.
struct FixedOf<'a, E> {
    value: Fixed<'a>,
    error: std::marker::PhantomData<E>,
}

fn fixed<E>(value: Fixed<'_>) -> FixedOf<'_, E> {
    FixedOf { value, error: std::marker::PhantomData }
}

impl<'de, E: de::Error> Deserializer<'de> for FixedOf<'_, E> {
    type Error = E;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, E> {
        match self.value {
            Fixed::Str(s) => visitor.visit_str(s),
            Fixed::Int(n) => I64Deserializer::<E>::new(n).deserialize_any(visitor),
            Fixed::Float(x) => F64Deserializer::<E>::new(x).deserialize_any(visitor),
        }
    }

    /// A value given is never `None`.
    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, E> {
        visitor.visit_some(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(self, _: &'static str, _: &'static [&'static str], visitor: V) -> Result<V::Value, E> {
        match self.value {
            Fixed::Str(s) => visitor.visit_enum(IntoDeserializer::<E>::into_deserializer(s)),
            _ => Err(refused()),
        }
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf unit unit_struct
        newtype_struct seq tuple tuple_struct map struct identifier ignored_any
    }
}

/// Deserializes a value of `shape` through `seed`, checked.
struct CheckedSeed<'a, S> {
    model: &'a Model,
    shape: &'a Shape,
    seed: S,
}

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for CheckedSeed<'_, S> {
    type Value = S::Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<S::Value, D::Error> {
        self.seed.deserialize(Checked { model: self.model, shape: self.shape, inner: d })
    }
}

/// A deserializer of a value of `shape` that refuses what the model does not allow.
struct Checked<'a, D> {
    model: &'a Model,
    shape: &'a Shape,
    inner: D,
}

impl<'a, D> Checked<'a, D> {
    fn visitor<V>(&self, inner: V) -> CheckedVisitor<'a, V> {
        CheckedVisitor { model: self.model, shape: self.shape, inner }
    }
}

macro_rules! forward_checked {
    ($($method:ident)*) => {
        $(fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
            let visitor = self.visitor(visitor);
            self.inner.$method(visitor)
        })*
    };
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for Checked<'_, D> {
    type Error = D::Error;

    forward_checked! {
        deserialize_any deserialize_bool deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64 deserialize_u8
        deserialize_u16 deserialize_u32 deserialize_u64 deserialize_f32 deserialize_f64 deserialize_char deserialize_str
        deserialize_string deserialize_bytes deserialize_byte_buf deserialize_option deserialize_unit deserialize_seq
        deserialize_map deserialize_identifier deserialize_ignored_any
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(self, name: &'static str, visitor: V) -> Result<V::Value, D::Error> {
        let visitor = self.visitor(visitor);
        self.inner.deserialize_unit_struct(name, visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(self, name: &'static str, visitor: V) -> Result<V::Value, D::Error> {
        let visitor = self.visitor(visitor);
        self.inner.deserialize_newtype_struct(name, visitor)
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, D::Error> {
        let visitor = self.visitor(visitor);
        self.inner.deserialize_tuple(len, visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(self, name: &'static str, len: usize, visitor: V) -> Result<V::Value, D::Error> {
        let visitor = self.visitor(visitor);
        self.inner.deserialize_tuple_struct(name, len, visitor)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        let visitor = self.visitor(visitor);
        self.inner.deserialize_struct(name, fields, visitor)
    }

    /// An enum of the model is a string: it is read and checked as one, then handed over.
    fn deserialize_enum<V: Visitor<'de>>(self, _: &'static str, _: &'static [&'static str], visitor: V) -> Result<V::Value, D::Error> {
        let checked = CheckedVisitor { model: self.model, shape: self.shape, inner: ToEnum(visitor) };
        self.inner.deserialize_str(checked)
    }
}

/// Hands a checked string to an enum's visitor.
struct ToEnum<V>(V);

impl<'de, V: Visitor<'de>> Visitor<'de> for ToEnum<V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.expecting(f)
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<V::Value, E> {
        self.0.visit_enum(IntoDeserializer::<E>::into_deserializer(s))
    }
}

/// Checks each value against `shape` before `inner` sees it.
struct CheckedVisitor<'a, V> {
    model: &'a Model,
    shape: &'a Shape,
    inner: V,
}

impl<V> CheckedVisitor<'_, V> {
    fn string<E: de::Error>(&self, s: &str) -> Result<(), E> {
        if self.shape.kind == ShapeKind::String && string_violations(self.shape, s).is_empty() { Ok(()) } else { Err(refused()) }
    }

    fn integer<E: de::Error>(&self, n: i128) -> Result<(), E> {
        let (lo, hi) = match self.shape.kind {
            ShapeKind::Integer => (i128::from(i32::MIN), i128::from(i32::MAX)),
            ShapeKind::Long => (i128::from(i64::MIN), i128::from(i64::MAX)),
            // Any number is a timestamp (epoch seconds).
            ShapeKind::Timestamp => return Ok(()),
            _ => return Err(refused()),
        };
        let min = self.shape.min.map_or(lo, i128::from).max(lo);
        let max = self.shape.max.map_or(hi, i128::from).min(hi);
        if n < min || n > max { Err(refused()) } else { Ok(()) }
    }
}

impl<'de, V: Visitor<'de>> Visitor<'de> for CheckedVisitor<'_, V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.expecting(f)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<V::Value, E> {
        if self.shape.kind != ShapeKind::Boolean {
            return Err(refused());
        }
        self.inner.visit_bool(v)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<V::Value, E> {
        self.integer(i128::from(v))?;
        self.inner.visit_i64(v)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<V::Value, E> {
        self.integer(i128::from(v))?;
        self.inner.visit_u64(v)
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<V::Value, E> {
        if self.shape.kind != ShapeKind::Timestamp {
            return Err(refused());
        }
        self.inner.visit_f64(v)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<V::Value, E> {
        self.string(v)?;
        self.inner.visit_str(v)
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<V::Value, E> {
        self.string(v)?;
        self.inner.visit_borrowed_str(v)
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<V::Value, E> {
        self.string(&v)?;
        self.inner.visit_string(v)
    }

    /// A member given as `null` is absent (only an optional member reads one).
    fn visit_none<E: de::Error>(self) -> Result<V::Value, E> {
        self.inner.visit_none()
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<V::Value, D::Error> {
        self.inner.visit_some(Checked { model: self.model, shape: self.shape, inner: d })
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<V::Value, A::Error> {
        let (ShapeKind::List, Some(item)) = (self.shape.kind, self.shape.list_member.as_deref()) else { return Err(refused()) };
        let count = Cell::new(0usize);
        let items = Items { model: self.model, shape: self.model.shape(item), seq, count: &count };
        let value = self.inner.visit_seq(items)?;
        length_ok(self.shape, count.get())?;
        Ok(value)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<V::Value, A::Error> {
        match self.shape.kind {
            ShapeKind::Structure => {
                let members = Members { model: self.model, shape: self.shape, fixed: Vec::new(), next_fixed: 0, pending: None };
                self.inner.visit_map(BodyMembers { members, body: map })
            }
            ShapeKind::Map => {
                let (Some(key), Some(value)) = (self.shape.map_key.as_deref(), self.shape.map_value.as_deref()) else {
                    return Err(refused());
                };
                let count = Cell::new(0usize);
                let entries = Entries { model: self.model, key: self.model.shape(key), value: self.model.shape(value), map, count: &count };
                let value = self.inner.visit_map(entries)?;
                length_ok(self.shape, count.get())?;
                Ok(value)
            }
            _ => Err(refused()),
        }
    }
}

/// A list's or map's length within its shape's bounds.
fn length_ok<E: de::Error>(shape: &Shape, len: usize) -> Result<(), E> {
    let len = i64::try_from(len).unwrap_or(i64::MAX);
    if shape.max.is_some_and(|m| len > m) || shape.min.is_some_and(|m| len < m) { Err(refused()) } else { Ok(()) }
}

/// A list's items, each checked against the list's member shape. No item is an `Option`, so a
/// `null` item is refused, as the full binding refuses it; so is a `null` value of a map.
struct Items<'a, A> {
    model: &'a Model,
    shape: &'a Shape,
    seq: A,
    count: &'a Cell<usize>,
}

impl<'de, A: SeqAccess<'de>> SeqAccess<'de> for Items<'_, A> {
    type Error = A::Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>, A::Error> {
        let item = self.seq.next_element_seed(CheckedSeed { model: self.model, shape: self.shape, seed })?;
        if item.is_some() {
            self.count.set(self.count.get() + 1);
        }
        Ok(item)
    }
}

/// A map's entries: each key checked against the key shape, each value against the value shape.
struct Entries<'a, A> {
    model: &'a Model,
    key: &'a Shape,
    value: &'a Shape,
    map: A,
    count: &'a Cell<usize>,
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Entries<'_, A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, A::Error> {
        let key = self.map.next_key_seed(CheckedSeed { model: self.model, shape: self.key, seed })?;
        if key.is_some() {
            self.count.set(self.count.get() + 1);
        }
        Ok(key)
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, A::Error> {
        self.map.next_value_seed(CheckedSeed { model: self.model, shape: self.value, seed })
    }
}

/// A request bound both ways: straight into `T`, and through the JSON value (which words the
/// errors). Straight binding must never accept what the other refuses, and must give the same input:
/// it panics if not. `None` when the request does not resolve to an operation.
#[allow(clippy::panic)] // a broken invariant is reported by panicking, to the tests and the fuzzer
fn both<T: DeserializeOwned + PartialEq + fmt::Debug>(
    wire: &crate::Wire,
    request: crate::Request<'_>,
) -> Option<(Option<T>, Result<T, String>)> {
    let r = wire.resolve(request).ok()?;
    let straight = typed::<T>(wire.parts(&r));
    let full = wire.bind(&r).and_then(crate::bind::Bound::typed::<T>).map_err(|e| e.message);
    match (&straight, &full) {
        (Some(s), Ok(f)) => assert_eq!(s, f, "bound straight to another input than the full binding's"),
        (Some(s), Err(e)) => panic!("bound straight, {s:?}, what the full binding refuses: {e}"),
        (None, _) => {}
    }
    Some((straight, full))
}

/// The fuzz target of the straight binding (`carillon-fuzz`'s `direct`): the first byte picks one of
/// eight operations with nested inputs, labels, query members and a header; the rest is the body,
/// or the query string of the List. Whatever the bytes, [`both`] must hold.
#[doc(hidden)]
pub fn fuzz_agreement(wire: &crate::Wire, data: &[u8]) {
    use crate::{Request, identity::shapes as id, messaging::shapes as msg};
    const USER: &str = "/app-instance-users/arn%3Aaws%3Achime%3Aus-east-1%3A111122223333%3Aapp-instance%2Fa%2Fuser%2Fu";
    const CHANNEL: &str = "/channels/arn%3Aaws%3Achime%3Aus-east-1%3A111122223333%3Aapp-instance%2Fa%2Fchannel%2Fc";
    const BEARER: &[(&str, &[u8])] = &[("x-amz-chime-bearer", b"arn:aws:chime:us-east-1:111122223333:app-instance/a/user/u")];
    let Some((&pick, rest)) = data.split_first() else { return };
    let text = String::from_utf8_lossy(rest);
    let post = |raw_path, headers| Request { method: "POST", raw_path, raw_query: None, headers, body: rest };
    let endpoint = format!("{USER}/endpoints/e1");
    let endpoints = format!("{USER}/endpoints");
    let messages = format!("{CHANNEL}/messages");
    let preferences =
        format!("{CHANNEL}/memberships/arn%3Aaws%3Achime%3Aus-east-1%3A111122223333%3Aapp-instance%2Fa%2Fuser%2Fu/preferences");
    match pick % 8 {
        0 => drop(both::<id::UpdateAppInstanceUserEndpointRequest>(wire, Request { method: "PUT", ..post(&endpoint, &[]) })),
        1 => drop(both::<id::CreateAppInstanceRequest>(wire, post("/app-instances", &[]))),
        2 => drop(both::<id::CreateAppInstanceUserRequest>(wire, post("/app-instance-users", &[]))),
        3 => drop(both::<id::RegisterAppInstanceUserEndpointRequest>(wire, post(&endpoints, &[]))),
        4 => drop(both::<msg::SendChannelMessageRequest>(wire, post(&messages, BEARER))),
        5 => drop(both::<msg::CreateChannelRequest>(wire, post("/channels", BEARER))),
        6 => drop(both::<msg::PutChannelMembershipPreferencesRequest>(wire, Request { method: "PUT", ..post(&preferences, BEARER) })),
        _ => drop(both::<id::ListAppInstanceUsersRequest>(
            wire,
            Request { method: "GET", raw_path: "/app-instance-users", raw_query: Some(&text), headers: &[], body: b"" },
        )),
    }
}

#[cfg(test)]
mod tests {
    use crate::{Request, Wire, identity::shapes as id, messaging::shapes as msg};
    use serde::de::DeserializeOwned;
    use std::fmt::Debug;
    use std::sync::LazyLock;

    static WIRE: LazyLock<Wire> = LazyLock::new(|| Wire::load().unwrap());

    const USER: &str = "arn%3Aaws%3Achime%3Aus-east-1%3A111122223333%3Aapp-instance%2Fa%2Fuser%2Fu";
    const INSTANCE: &str = "arn:aws:chime:us-east-1:111122223333:app-instance/a";
    const BEARER: &str = "arn:aws:chime:us-east-1:111122223333:app-instance/a/user/u";

    /// The request bound both ways (see [`super::both`]).
    fn both<T: DeserializeOwned + PartialEq + Debug>(
        method: &str,
        path: &str,
        query: Option<&str>,
        headers: &[(&str, &[u8])],
        body: &str,
    ) -> (Option<T>, Result<T, String>) {
        let request = Request { method, raw_path: path, raw_query: query, headers, body: body.as_bytes() };
        super::both(&WIRE, request).unwrap()
    }

    fn update(body: &str) -> (Option<id::UpdateAppInstanceUserEndpointRequest>, Result<id::UpdateAppInstanceUserEndpointRequest, String>) {
        both("PUT", &format!("/app-instance-users/{USER}/endpoints/e1"), None, &[], body)
    }

    #[test]
    fn a_valid_request_is_bound_straight_to_the_same_input() {
        for body in [
            "",
            "  ",
            "{}",
            r#"{"Name":"n","AllowMessages":"ALL"}"#,
            r#"{"Name":null,"AllowMessages":"NONE"}"#,
            r#"{"Name":"caf\u00e9","Unknown":{"deep":[1,2,{"x":null}]}}"#,
            // A label's member in the body is left out: the label binds it.
            r#"{"EndpointId":5,"AppInstanceUserArn":"x","Name":"n"}"#,
        ] {
            let (straight, full) = update(body);
            assert!(straight.is_some() && full.is_ok(), "{body}: {full:?}");
        }
        let (straight, _) = update(r#"{"Name":"n"}"#);
        let input = straight.unwrap();
        assert_eq!((input.endpoint_id.as_str(), input.name.as_deref()), ("e1", Some("n")));
        assert_eq!(input.app_instance_user_arn, "arn:aws:chime:us-east-1:111122223333:app-instance/a/user/u");

        let tags = r#"{"Name":"n","ClientRequestToken":"tok-1","Metadata":"m","Tags":[{"Key":"k","Value":"v"},{"Key":"k2","Value":"v2"}]}"#;
        let (straight, full) = both::<id::CreateAppInstanceRequest>("POST", "/app-instances", None, &[], tags);
        assert!(straight.is_some() && full.is_ok(), "{full:?}");

        let (straight, full) = both::<id::ListAppInstanceUsersRequest>(
            "GET",
            "/app-instance-users",
            Some("app-instance-arn=arn%3Aaws%3Achime%3Aus-east-1%3A111122223333%3Aapp-instance%2Fa&max-results=5"),
            &[],
            "",
        );
        assert!(straight.is_some() && full.is_ok(), "{full:?}");
        assert_eq!(straight.unwrap().max_results, Some(5));

        let headers: [(&str, &[u8]); 1] = [("x-amz-chime-bearer", BEARER.as_bytes())];
        let send = r#"{"Content":"hi","Type":"STANDARD","Persistence":"PERSISTENT","ClientRequestToken":"tok-1",
                       "MessageAttributes":{"mention":{"StringValues":["ana","bo"]}}}"#;
        let (straight, full) = both::<msg::SendChannelMessageRequest>(
            "POST",
            "/channels/arn%3Aaws%3Achime%3Aus-east-1%3A111122223333%3Aapp-instance%2Fa%2Fchannel%2Fc/messages",
            None,
            &headers,
            send,
        );
        assert!(straight.is_some() && full.is_ok(), "{full:?}");
        let create_channel = format!(
            r#"{{"AppInstanceArn":"{INSTANCE}","Name":"c","ClientRequestToken":"tok-1","ExpirationSettings":{{"ExpirationDays":1,"ExpirationCriterion":"CREATED_TIMESTAMP"}}}}"#
        );
        let (straight, full) = both::<msg::CreateChannelRequest>("POST", "/channels", None, &headers, &create_channel);
        assert!(straight.is_some() && full.is_ok(), "{full:?}");
    }

    #[test]
    fn a_body_that_is_not_utf8_json_is_refused_even_where_it_is_left_out() {
        // Found by the `direct` fuzz target: serde_json skipped the bytes of an unknown member
        // without checking them, while the full binding refused the body.
        let path = format!("/app-instance-users/{USER}/endpoints/e1");
        // And an escape that is no character (a lone surrogate) inside such a member.
        for body in [
            &b"{\"Name\":\"n\",\"Unknown\":\"\xff\"}"[..],
            b"{\"Name\":\"n\",\"Unknown\":[\"\xc3\"]}",
            br#"{"Name":"n","Unknown":{"a\ud800b":1}}"#,
            br#"{"Name":"n","Unknown":"\udc00"}"#,
        ] {
            let request = Request { method: "PUT", raw_path: &path, raw_query: None, headers: &[], body };
            let (straight, full) = super::both::<id::UpdateAppInstanceUserEndpointRequest>(&WIRE, request).unwrap();
            assert!(straight.is_none() && full.is_err(), "{full:?}");
        }
    }

    #[test]
    fn whatever_the_full_binding_refuses_is_not_bound_straight() {
        let refused = [
            "[1]",
            "{",
            r#"{"Name":"n"} x"#,
            r#"{"Name":5}"#,
            r#"{"AllowMessages":"SOME"}"#,
            r#"{"AllowMessages":null,"Name":true}"#,
            r#"{"Name":"n","Name":"m"}"#,
            r#"{"Name":["n"]}"#,
            r#"{"Name":{"a":1}}"#,
        ];
        for body in refused {
            let (straight, full) = update(body);
            assert!(straight.is_none(), "{body}");
            let _ = full;
        }
        // Checked against the full binding's verdict, whatever it is.
        let create = |extra: &str| {
            let body = format!(r#"{{"Name":"n","ClientRequestToken":"tok-1"{extra}}}"#);
            both::<id::CreateAppInstanceRequest>("POST", "/app-instances", None, &[], &body)
        };
        for extra in [
            r#","Tags":[{"Key":"k"}]"#,
            r#","Tags":[null]"#,
            r#","Tags":{"Key":"k","Value":"v"}"#,
            r#","Tags":[]"#,
            r#","Tags":[{"Key":"","Value":"v"}]"#,
            r#","Metadata":null"#,
            r#","ClientRequestToken":null"#,
            r#","Name":"n\u0000""#,
        ] {
            let (straight, full) = create(extra);
            assert_eq!(straight.is_some(), full.is_ok(), "{extra}: {full:?}");
        }
        let tags: Vec<String> = (0..51).map(|i| format!(r#"{{"Key":"k{i}","Value":"v"}}"#)).collect();
        let (straight, full) = create(&format!(r#","Tags":[{}]"#, tags.join(",")));
        assert!(straight.is_none() && full.is_err());

        for query in ["max-results=0", "max-results=51", "max-results=1.5", "max-results=99999999999", "max-results=-1"] {
            let query = format!("app-instance-arn=arn%3Aaws%3Achime%3Aus-east-1%3A111122223333%3Aapp-instance%2Fa&{query}");
            let (straight, full) = both::<id::ListAppInstanceUsersRequest>("GET", "/app-instance-users", Some(&query), &[], "");
            assert!(straight.is_none() && full.is_err(), "{query}: {full:?}");
        }
        let (straight, full) = both::<id::DescribeAppInstanceRequest>("GET", "/app-instances/not-an-arn", None, &[], "");
        assert!(straight.is_none() && full.is_err());

        let headers: [(&str, &[u8]); 1] = [("x-amz-chime-bearer", BEARER.as_bytes())];
        let send = |attributes: &str| {
            let body = format!(
                r#"{{"Content":"hi","Type":"STANDARD","Persistence":"PERSISTENT","ClientRequestToken":"tok-1","MessageAttributes":{attributes}}}"#
            );
            both::<msg::SendChannelMessageRequest>(
                "POST",
                "/channels/arn%3Aaws%3Achime%3Aus-east-1%3A111122223333%3Aapp-instance%2Fa%2Fchannel%2Fc/messages",
                None,
                &headers,
                &body,
            )
        };
        for attributes in [
            r#"{"mention":null}"#,
            r#"{"mention":{"StringValues":[""]}}"#,
            &format!(r#"{{"{}":{{"StringValues":["a"]}}}}"#, "k".repeat(65)),
            r#"{"mention":{"StringValues":"a"}}"#,
        ] {
            let (straight, full) = send(attributes);
            assert!(straight.is_none() && full.is_err(), "{attributes}: {full:?}");
        }
        // Without the required bearer header.
        let (straight, full) = both::<msg::SendChannelMessageRequest>(
            "POST",
            "/channels/arn%3Aaws%3Achime%3Aus-east-1%3A111122223333%3Aapp-instance%2Fa%2Fchannel%2Fc/messages",
            None,
            &[],
            r#"{"Content":"hi","Type":"STANDARD","Persistence":"PERSISTENT","ClientRequestToken":"tok-1"}"#,
        );
        assert!(straight.is_none() && full.is_err());
    }
}
