//! The runtime's view of the committed service models. `carillon-model` reads and checks each model;
//! this module adds what serving needs on top: every pattern checked for a whole-value match. It is
//! all done by [`Model::parse`] (or [`load`] for both models), which the pipeline calls at start-up,
//! so that a bad model or pattern stops the server before it listens, never a request.
//!
//! A pattern's syntax is checked at start-up; the pattern is compiled at its first use. Compiling
//! every pattern up front cost about 8 ms and 7 MB at every start for regular expressions most runs
//! never use (the large Unicode classes of the name patterns); the test suite compiles them all.
//! Shapes whose patterns are the same, in one model or across both, share one compiled expression:
//! the ARN pattern (`ChimeArn`, `SensitiveChimeArn`, and Messaging's `ChimeArn`) ends in a
//! Unicode-aware `.{0,1023}`, which took about 5 ms to compile, once instead of three times.
//!
//! A pattern that ends in a bounded repetition of any character, as the ARN pattern does, is
//! checked against values no longer than that bound with the repetition unbounded instead
//! (`Pattern::short`): the same answer for those values, from an expression that compiles in a
//! fraction of the time. Longer values, which only a hostile or broken client sends, use the
//! pattern as written, compiled at the first of them.

use regex::Regex;
use std::collections::HashMap;
use std::ops::Deref;
use std::sync::{Arc, OnceLock};

pub use carillon_model::{Location, Member, Metadata, OperationDef, Segment, ShapeKind};

/// The committed Chime SDK Identity model (documentation stripped); `scripts/refresh-model.py` refreshes it.
pub const MODEL_JSON: &str = include_str!("../model/chime-sdk-identity-2021-04-20.json");
/// The committed Chime SDK Messaging model, refreshed the same way.
pub const MESSAGING_JSON: &str = include_str!("../model/chime-sdk-messaging-2021-05-15.json");

/// A shape of the model with its pattern ready for a whole-value match. It dereferences to the
/// model's [`carillon_model::Shape`] (`kind`, `min`, `max`, `pattern`, `members`, `required`, ...).
#[derive(Debug)]
pub struct Shape {
    pub def: carillon_model::Shape,
    /// The pattern ready for a whole-value match; `None` where there is none or it matches
    /// everything. Shared by every shape loaded together whose pattern is the same.
    matcher: Option<Arc<Pattern>>,
}

/// A whole-value pattern, compiled at first use; `None` inside if the engine refused it.
#[derive(Debug)]
struct Pattern {
    /// The pattern as the regex engine reads it (its syntax checked at load).
    source: String,
    full: OnceLock<Option<Regex>>,
    /// For a pattern `P.{m,n}` (any character, `m` to `n` times, at its very end): `P.{m,}` and `n`.
    /// A value of at most `n` characters matches one exactly when it matches the other: a split of
    /// the value into `P` and a tail of `m` or more characters has a tail of at most `n` characters
    /// whatever the split, since the whole value is no longer.
    short: Option<(String, usize, OnceLock<Option<Regex>>)>,
}

impl Pattern {
    /// Checks the syntax of `source`, a whole-value pattern (compiled later, at first use).
    fn new(source: String) -> Result<Pattern, String> {
        let hir = regex_syntax::Parser::new().parse(&source).map_err(|e| e.to_string())?;
        let short = short_form(&hir).map(|(short, n)| (short, n, OnceLock::new()));
        Ok(Pattern { source, full: OnceLock::new(), short })
    }

    fn full(&self) -> Option<&Regex> {
        self.full.get_or_init(|| Regex::new(&self.source).ok()).as_ref()
    }

    fn is_match(&self, value: &str) -> bool {
        // Should the engine refuse the short form, the pattern as written still answers.
        if let Some((short, n, compiled)) = &self.short
            && (value.len() <= *n || value.chars().count() <= *n)
            && let Some(re) = compiled.get_or_init(|| Regex::new(short).ok())
        {
            return re.is_match(value);
        }
        self.full().is_some_and(|re| re.is_match(value))
    }
}

/// The unbounded form of a whole-value pattern that ends in `.{m,n}` (in `(?s)` mode, so any
/// character), and its `n`: see [`Pattern::short`]. `None` for any other pattern, e.g. one whose
/// last repetition is inside an alternation or of a narrower class.
fn short_form(hir: &regex_syntax::hir::Hir) -> Option<(String, usize)> {
    use regex_syntax::hir::{Class, ClassUnicode, ClassUnicodeRange, Hir, HirKind, Look, Repetition};
    let HirKind::Concat(items) = hir.kind() else { return None };
    // The items end with the pattern's last part and the end-of-text assertion.
    let [.., last, end] = items.as_slice() else { return None };
    let (HirKind::Repetition(Repetition { min, max: Some(max), greedy: true, sub }), HirKind::Look(Look::End)) = (last.kind(), end.kind())
    else {
        return None;
    };
    let any = Hir::class(Class::Unicode(ClassUnicode::new([ClassUnicodeRange::new('\0', char::MAX)])));
    if **sub != any {
        return None;
    }
    let mut relaxed = items.clone();
    let at = relaxed.len() - 2;
    relaxed[at] = Hir::repetition(Repetition { min: *min, max: None, greedy: true, sub: sub.clone() });
    Some((Hir::concat(relaxed).to_string(), usize::try_from(*max).ok()?))
}

impl Shape {
    /// The compiled pattern, `None` where the shape has none (or one that matches everything).
    pub fn regex(&self) -> Option<&Regex> {
        self.matcher.as_ref()?.full()
    }

    /// Whether `value` satisfies the shape's pattern. A pattern the engine could not compile (its
    /// syntax was checked at load, so only a size limit could) matches nothing: never a silent pass.
    pub fn matches_pattern(&self, value: &str) -> bool {
        self.matcher.as_ref().is_none_or(|p| p.is_match(value))
    }
}

impl Deref for Shape {
    type Target = carillon_model::Shape;

    fn deref(&self) -> &carillon_model::Shape {
        &self.def
    }
}

/// A checked model with its patterns compiled.
#[derive(Debug)]
pub struct Model {
    pub metadata: Metadata,
    /// Operations in the model's order.
    pub operations: Vec<OperationDef>,
    /// By name. Binding a request looks up its input's shape and each member's: hashed, where a
    /// sorted map compared names a dozen times a lookup.
    pub shapes: foldhash::HashMap<String, Shape>,
}

/// Both committed models, parsed, checked and compiled.
#[derive(Debug)]
pub struct Models {
    pub identity: Model,
    pub messaging: Model,
}

/// Parses, checks and compiles both committed models. An error names the model and what is wrong.
pub fn load() -> Result<Models, String> {
    let mut patterns = Patterns::default();
    Ok(Models {
        identity: Model::parse_with(MODEL_JSON, &mut patterns).map_err(|e| format!("the Chime SDK Identity model: {e}"))?,
        messaging: Model::parse_with(MESSAGING_JSON, &mut patterns).map_err(|e| format!("the Chime SDK Messaging model: {e}"))?,
    })
}

/// The compiled expressions of the models being loaded, by source: one for all shapes of a pattern.
#[derive(Default)]
struct Patterns(HashMap<String, Arc<Pattern>>);

impl Model {
    /// Parses and checks a model in botocore's JSON form, and compiles its patterns.
    pub fn parse(text: &str) -> Result<Model, String> {
        Model::parse_with(text, &mut Patterns::default())
    }

    /// [`Model::parse`], sharing compiled patterns with the other models parsed with `patterns`.
    fn parse_with(text: &str, patterns: &mut Patterns) -> Result<Model, String> {
        let def = carillon_model::Model::parse(text).map_err(|e| e.to_string())?;
        Model::compile_with(def, patterns)
    }

    /// Checks the patterns of a checked model (they are compiled at first use).
    pub fn compile(def: carillon_model::Model) -> Result<Model, String> {
        Model::compile_with(def, &mut Patterns::default())
    }

    fn compile_with(def: carillon_model::Model, patterns: &mut Patterns) -> Result<Model, String> {
        let mut shapes = foldhash::HashMap::default();
        for (name, shape) in def.shapes {
            let matcher = match &shape.pattern {
                Some(p) if !carillon_model::matches_everything(p) => {
                    let source = whole_value_source(p);
                    Some(match patterns.0.get(&source) {
                        Some(known) => known.clone(),
                        None => {
                            let pattern = Arc::new(Pattern::new(source.clone()).map_err(|e| format!("shape {name}: {e}"))?);
                            patterns.0.insert(source, pattern.clone());
                            pattern
                        }
                    })
                }
                _ => None,
            };
            shapes.insert(name, Shape { def: shape, matcher });
        }
        Ok(Model { metadata: def.metadata, operations: def.operations, shapes })
    }

    /// The shape of that name. The model reader checked that every reference in the model resolves,
    /// so a name taken from the model (a member's target, an operation's input) is always here; any
    /// other name panics.
    pub fn shape(&self, name: &str) -> &Shape {
        &self.shapes[name]
    }

    pub fn operation(&self, name: &str) -> Option<&OperationDef> {
        self.operations.iter().find(|o| o.name == name)
    }
}

/// Compiles a model pattern for a whole-value match. A `.` also matches line breaks, and the
/// model's five- and six-digit escapes (`\u10000`, `\u10FFFF`) name supplementary-plane code points.
pub fn compile_pattern(pattern: &str) -> Result<Regex, regex::Error> {
    Regex::new(&whole_value_source(pattern))
}

/// A model pattern as the regex engine reads it for a whole-value match.
fn whole_value_source(pattern: &str) -> String {
    let translated = carillon_model::translate_escapes(pattern);
    format!(r"\A(?s:{translated})\z")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    fn models() -> Models {
        load().unwrap()
    }

    #[test]
    fn both_committed_models_load_with_every_operation() {
        let m = models();
        assert_eq!((m.identity.operations.len(), m.identity.shapes.len()), (30, 120));
        assert_eq!(m.messaging.operations.len(), 51);
        assert_eq!(m.identity.metadata.signing_name, "chime");
        assert_eq!(m.messaging.metadata.signing_name, "chime");
    }

    #[test]
    fn shapes_of_the_same_pattern_share_one_compiled_expression() {
        let m = models();
        let arn = m.identity.shape("ChimeArn").regex().unwrap();
        for shared in [m.identity.shape("SensitiveChimeArn").regex().unwrap(), m.messaging.shape("ChimeArn").regex().unwrap()] {
            assert!(std::ptr::eq(arn, shared));
        }
        assert!(!std::ptr::eq(arn, m.identity.shape("UserId").regex().unwrap()));
        // Models loaded apart share nothing.
        let apart = Model::parse(MODEL_JSON).unwrap();
        assert!(!std::ptr::eq(arn, apart.shape("ChimeArn").regex().unwrap()));
        assert!(arn.is_match("arn:aws:chime:us-east-1:111122223333:app-instance/abc"));
        assert!(!arn.is_match("arn:aws:chime:us-east-1:111122223333:/abc"));
    }

    #[test]
    fn a_pattern_ending_in_any_characters_is_checked_unbounded_on_values_within_the_bound() {
        let short = |p: &str| Pattern::new(whole_value_source(p)).unwrap().short.map(|(_, n, _)| n);
        assert_eq!(short(r"arn:[a-z0-9-\.]{1,63}:[a-z0-9-\.]{0,63}:[a-z0-9-\.]{0,63}:[a-z0-9-\.]{0,63}:[^/].{0,1023}"), Some(1023));
        assert_eq!(short("ab.{2,5}"), Some(5));
        for other in ["a|b.{0,5}", r"a\.{0,5}", "a.{0,5}b", "a[^/]{0,5}", "a.*", "(a.{0,5})+", "a.{0,5}?"] {
            assert_eq!(short(other), None, "{other}");
        }
        // Every value of up to eight characters over a small alphabet, within the bound and past
        // it: the same answer as the pattern as written.
        for pattern in ["ab.{2,4}", "(a|ab)b?.{0,3}"] {
            let full = compile_pattern(pattern).unwrap();
            let compiled = Pattern::new(whole_value_source(pattern)).unwrap();
            assert!(compiled.short.is_some(), "{pattern}");
            let mut values = vec![String::new()];
            for _ in 0..8 {
                values = values.iter().flat_map(|v| ["a", "b", "é", "\n"].map(|c| format!("{v}{c}"))).chain(values.clone()).collect();
                values.sort();
                values.dedup();
            }
            for v in &values {
                assert_eq!(compiled.is_match(v), full.is_match(v), "{pattern} {v:?}");
            }
        }
        // The ARN shape at its bound, past it, and with several-byte characters.
        let m = models();
        let arn = m.identity.shape("ChimeArn");
        let head = "arn:aws:chime:us-east-1:111122223333:a";
        for tail in ["x".repeat(1023), "x".repeat(1024), "é".repeat(1023), "é".repeat(1024), "\n".repeat(1023), "€".repeat(600)] {
            let value = format!("{head}{tail}");
            assert_eq!(arn.matches_pattern(&value), arn.regex().unwrap().is_match(&value), "{} characters", tail.chars().count());
        }
        assert!(arn.matches_pattern(&format!("{head}{}", "é".repeat(1023))));
        assert!(!arn.matches_pattern(&format!("{head}{}", "é".repeat(1024))));
    }

    #[test]
    fn every_pattern_of_both_models_compiles() {
        let m = models();
        for model in [&m.identity, &m.messaging] {
            for shape in model.shapes.values() {
                let compiled = shape.regex().is_some() || shape.pattern.as_deref().is_none_or(carillon_model::matches_everything);
                assert!(compiled, "{}", shape.name);
            }
        }
    }

    #[test]
    fn the_generated_operations_are_the_models_in_order() {
        let m = models();
        let names: Vec<&str> = m.identity.operations.iter().map(|o| o.name.as_str()).collect();
        assert_eq!(names, crate::Operation::ALL.iter().map(|o| o.name()).collect::<Vec<_>>());
        let names: Vec<&str> = m.messaging.operations.iter().map(|o| o.name.as_str()).collect();
        assert_eq!(names, crate::messaging::Operation::ALL.iter().map(|o| o.name()).collect::<Vec<_>>());
        for (def, op) in m.identity.operations.iter().zip(crate::Operation::ALL) {
            assert_eq!(
                (op.method(), op.request_uri(), op.success_status()),
                (def.method.as_str(), def.request_uri.as_str(), def.success_status)
            );
            assert_eq!(op.idempotency_token(), def.idempotency_token.as_deref());
        }
        assert_eq!(crate::Operation::CreateAppInstance.idempotency_token(), Some("ClientRequestToken"));
        assert_eq!(crate::Operation::DeleteAppInstance.success_status(), 204);
    }

    #[test]
    fn every_error_shape_of_both_models_is_a_kind_with_its_status() {
        let m = models();
        for model in [&m.identity, &m.messaging] {
            for shape in model.shapes.values().filter(|s| s.is_error) {
                let kind = ErrorKind::MODEL.iter().find(|k| k.type_name() == shape.name);
                assert_eq!(kind.map(|k| k.status()), shape.error_status, "{}", shape.name);
            }
        }
    }

    #[test]
    fn resource_name_pattern_takes_supplementary_planes_and_rejects_controls() {
        let m = models();
        let re = m.identity.shape("NonEmptyResourceName").regex().unwrap();
        assert!(re.is_match("héllo 😀 world"));
        assert!(re.is_match("tab\there\nnewline"));
        assert!(!re.is_match("bell\u{7}"));
        assert!(!re.is_match("nul\u{0}"));
    }

    #[test]
    fn user_id_pattern_matches_the_whole_value() {
        let m = models();
        let re = m.identity.shape("UserId").regex().unwrap();
        assert!(re.is_match("user:name@example.com"));
        assert!(re.is_match("a"));
        assert!(!re.is_match("-leading"));
        assert!(!re.is_match("trailing-"));
        assert!(!re.is_match("has space"));
    }

    #[test]
    fn dot_matches_line_breaks() {
        let m = models();
        let re = m.identity.shape("UserName").regex().unwrap();
        assert!(re.is_match("line one\nline two"));
        assert!(!re.is_match(" \n\t "));
    }

    #[test]
    fn a_pattern_the_regex_engine_refuses_fails_the_load() {
        let text = MODEL_JSON.replace(r#""pattern": ".*""#, r#""pattern": "(unclosed""#);
        assert_ne!(text, MODEL_JSON);
        let e = Model::parse(&text).unwrap_err();
        assert!(e.starts_with("shape "), "{e}");
    }
}
