//! Injected faults (docs/behaviour.md, "Control plane"): rules set through `/_carillon/faults`
//! that make chosen API requests fail with one of their operation's model errors, wait, or lose
//! their connection. A rule is checked after the request is resolved and before the operation
//! runs, so an injected error changes nothing in the store. Which requests a rule hits depends
//! only on the seed and the order of the requests it matches.

use carillon_api::{ApiError, ErrorKind, Wire};
use serde_json::{Map, Value, json};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// The errors a rule for every operation (`"*"`) may inject.
const ANY_OPERATION_ERRORS: [&str; 3] = ["ThrottledClientException", "ServiceUnavailableException", "ServiceFailureException"];

/// The longest latency a rule may add.
const MAX_LATENCY_MS: u64 = 600_000;

/// What a fired rule does to its request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fired {
    Error(ApiError),
    Latency(Duration),
    /// Close the connection without an answer.
    Reset,
}

/// Marks a response whose connection must be aborted instead of answered; the connection's
/// service turns it into this error, and hyper closes the connection without writing anything.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionAborted;

impl std::fmt::Display for ConnectionAborted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection reset by an injected fault")
    }
}

impl std::error::Error for ConnectionAborted {}

impl Fired {
    /// The action's name in the faults-fired metric: `error`, `latency` or `reset`.
    pub fn action(&self) -> &'static str {
        match self {
            Fired::Error(_) => "error",
            Fired::Latency(_) => "latency",
            Fired::Reset => "reset",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Condition {
    Probability(f64),
    EveryNth(u64),
    Count(u64),
}

#[derive(Debug, Clone)]
struct Rule {
    /// `None` for `"*"`.
    operation: Option<String>,
    account: Option<String>,
    condition: Condition,
    action: Fired,
    /// The rule as it was set, for `GET`.
    shown: Map<String, Value>,
    matched: u64,
    fired: u64,
}

/// SplitMix64: a small, seeded, well-mixed sequence; enough to pick which requests fail.
#[derive(Debug, Clone, Copy)]
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

struct State {
    seed: u64,
    rng: SplitMix64,
    rules: Vec<Rule>,
}

/// The fault rules of a server, and whether there are any: a server without rules checks that flag
/// per request instead of taking the lock.
pub struct Faults(Mutex<State>, AtomicBool);

impl Default for Faults {
    fn default() -> Self {
        Faults(Mutex::new(State { seed: 0, rng: SplitMix64(0), rules: Vec::new() }), AtomicBool::new(false))
    }
}

impl Faults {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Replaces every rule with those of `body` (`{"Seed", "Rules"}`), zeroing the counts; a body
    /// that is not valid changes nothing and is a 400.
    pub fn set(&self, wire: &Wire, body: &Value) -> Result<Value, ApiError> {
        let obj = body.as_object().ok_or_else(|| bad("The body must be a JSON object {\"Seed\", \"Rules\"}."))?;
        if let Some(k) = obj.keys().find(|k| *k != "Seed" && *k != "Rules") {
            return Err(bad(format!("Unknown member {k:?}: the body holds Seed and Rules.")));
        }
        let seed = match obj.get("Seed") {
            None => 0,
            Some(v) => v.as_u64().ok_or_else(|| bad("Seed must be a non-negative integer."))?,
        };
        let rules = match obj.get("Rules") {
            None => Vec::new(),
            Some(Value::Array(rules)) => rules
                .iter()
                .enumerate()
                .map(|(i, r)| parse_rule(wire, r).map_err(|m| bad(format!("Rules[{i}]: {m}"))))
                .collect::<Result<_, _>>()?,
            Some(_) => return Err(bad("Rules must be a list.")),
        };
        let mut state = self.state();
        self.1.store(!rules.is_empty(), Ordering::Release);
        *state = State { seed, rng: SplitMix64(seed), rules };
        Ok(shown(&state))
    }

    /// The seed and the rules, each with how often it fired.
    pub fn get(&self) -> Value {
        shown(&self.state())
    }

    /// Removes every rule.
    pub fn clear(&self) {
        let mut state = self.state();
        state.rules.clear();
        self.1.store(false, Ordering::Release);
    }

    /// What happens to a request for `operation` by `account`: the first rule that matches it and
    /// fires. A rule sees a request only when no earlier rule fired on it.
    pub fn check(&self, operation: &str, account: &str) -> Option<Fired> {
        if !self.1.load(Ordering::Acquire) {
            return None;
        }
        let mut state = self.state();
        let State { rng, rules, .. } = &mut *state;
        for rule in rules.iter_mut() {
            if rule.operation.as_deref().is_some_and(|o| o != operation) || rule.account.as_deref().is_some_and(|a| a != account) {
                continue;
            }
            rule.matched += 1;
            let fires = match rule.condition {
                Condition::Probability(p) => rng.unit() < p,
                Condition::EveryNth(n) => rule.matched % n == 0,
                Condition::Count(n) => rule.matched <= n,
            };
            if fires {
                rule.fired += 1;
                return Some(rule.action.clone());
            }
        }
        None
    }
}

fn bad(message: impl Into<String>) -> ApiError {
    ApiError::bad_request(message)
}

fn shown(state: &State) -> Value {
    let rules: Vec<Value> = state
        .rules
        .iter()
        .map(|r| {
            let mut m = r.shown.clone();
            m.insert("Fired".into(), json!(r.fired));
            Value::Object(m)
        })
        .collect();
    json!({"Seed": state.seed, "Rules": rules})
}

fn parse_rule(wire: &Wire, rule: &Value) -> Result<Rule, String> {
    const KEYS: [&str; 9] = ["Operation", "Account", "Probability", "EveryNth", "Count", "Error", "Message", "LatencyMs", "Reset"];
    let obj = rule.as_object().ok_or("a rule must be a JSON object")?;
    if let Some(k) = obj.keys().find(|k| !KEYS.contains(&k.as_str())) {
        return Err(format!("unknown member {k:?}"));
    }
    let operation = obj.get("Operation").and_then(Value::as_str).ok_or("Operation must be an operation's name or \"*\"")?;
    let errors: Vec<&str> = if operation == "*" {
        ANY_OPERATION_ERRORS.to_vec()
    } else {
        // An operation of either served service; the `/tags` ones, the same in both, have the
        // same errors in both.
        let op = wire.operations_named(operation).into_iter().next().ok_or_else(|| format!("no operation is named {operation:?}"))?;
        let def = wire.definition(op).ok_or_else(|| format!("no operation is named {operation:?}"))?;
        def.errors.iter().map(String::as_str).collect()
    };
    let account = match obj.get("Account") {
        None => None,
        Some(v) => Some(v.as_str().ok_or("Account must be a string")?.to_string()),
    };
    let positive = |k: &str| obj.get(k).map(|v| v.as_u64().filter(|n| *n >= 1).ok_or(format!("{k} must be an integer of at least 1")));
    let mut conditions = Vec::new();
    if let Some(v) = obj.get("Probability") {
        let p = v.as_f64().filter(|p| (0.0..=1.0).contains(p)).ok_or("Probability must be a number from 0 to 1")?;
        conditions.push(Condition::Probability(p));
    }
    if let Some(n) = positive("EveryNth") {
        conditions.push(Condition::EveryNth(n?));
    }
    if let Some(n) = positive("Count") {
        conditions.push(Condition::Count(n?));
    }
    let [condition] = conditions[..] else { return Err("a rule has exactly one of Probability, EveryNth and Count".into()) };
    let mut actions = Vec::new();
    if let Some(v) = obj.get("Error") {
        let name = v.as_str().ok_or("Error must be an error shape's name")?;
        if !errors.contains(&name) {
            return Err(format!("{name:?} is not an error of {operation}; it may be one of {}", errors.join(", ")));
        }
        let kind =
            ErrorKind::MODEL.iter().copied().find(|k| k.type_name() == name).ok_or_else(|| format!("{name:?} is not a known error"))?;
        let message = match obj.get("Message") {
            None => format!("Injected fault: {name}."),
            Some(m) => m.as_str().ok_or("Message must be a string")?.to_string(),
        };
        actions.push(Fired::Error(ApiError::new(kind, message)));
    } else if obj.contains_key("Message") {
        return Err("Message goes with Error".into());
    }
    if let Some(v) = obj.get("LatencyMs") {
        let ms = v.as_u64().filter(|ms| *ms <= MAX_LATENCY_MS).ok_or(format!("LatencyMs must be an integer from 0 to {MAX_LATENCY_MS}"))?;
        actions.push(Fired::Latency(Duration::from_millis(ms)));
    }
    if let Some(v) = obj.get("Reset") {
        if v != &Value::Bool(true) {
            return Err("Reset must be true".into());
        }
        actions.push(Fired::Reset);
    }
    let [action] = &actions[..] else { return Err("a rule has exactly one of Error, LatencyMs and Reset".into()) };
    Ok(Rule {
        operation: (operation != "*").then(|| operation.to_string()),
        account,
        condition,
        action: action.clone(),
        shown: obj.clone(),
        matched: 0,
        fired: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(f: &Faults, body: Value) -> Result<Value, ApiError> {
        let wire = Wire::load().unwrap();
        f.set(&wire, &body)
    }

    #[test]
    fn every_nth_and_count_follow_the_matching_requests_only() {
        let f = Faults::default();
        set(&f, json!({"Rules": [{"Operation": "DescribeAppInstance", "EveryNth": 2, "LatencyMs": 0}]})).unwrap();
        let fired: Vec<bool> = (0..6)
            .map(|i| {
                let _ = f.check("ListAppInstances", "1");
                f.check("DescribeAppInstance", if i % 2 == 0 { "1" } else { "2" }).is_some()
            })
            .collect();
        assert_eq!(fired, [false, true, false, true, false, true]);
        set(&f, json!({"Rules": [{"Operation": "*", "Account": "1", "Count": 2, "Reset": true}]})).unwrap();
        let fired: Vec<_> = (0..4).map(|_| f.check("CreateAppInstance", "1")).collect();
        assert_eq!(fired, [Some(Fired::Reset), Some(Fired::Reset), None, None]);
        assert_eq!(f.check("CreateAppInstance", "2"), None);
        assert_eq!(f.get()["Rules"][0]["Fired"], 2);
    }

    #[test]
    fn the_same_seed_gives_the_same_sequence() {
        let f = Faults::default();
        let rules = json!({"Seed": 7, "Rules": [{"Operation": "*", "Probability": 0.5, "Error": "ServiceFailureException"}]});
        let run = |f: &Faults| (0..64).map(|_| f.check("ListAppInstances", "1").is_some()).collect::<Vec<_>>();
        set(&f, rules.clone()).unwrap();
        let first = run(&f);
        set(&f, rules).unwrap();
        assert_eq!(run(&f), first);
        assert!(first.contains(&true) && first.contains(&false));
    }

    #[test]
    fn rules_are_checked_against_the_model() {
        let f = Faults::default();
        for bad in [
            json!({"Rules": [{"Operation": "*", "Error": "NotFoundException", "Count": 1}]}),
            json!({"Rules": [{"Operation": "Nope", "Error": "ServiceFailureException", "Count": 1}]}),
            json!({"Rules": [{"Operation": "*", "Count": 1, "EveryNth": 2, "Reset": true}]}),
            json!({"Rules": [{"Operation": "*", "Count": 1}]}),
            json!({"Rules": [{"Operation": "*", "Count": 1, "Reset": true, "LatencyMs": 3}]}),
            json!({"Rules": [{"Operation": "*", "Probability": 1.5, "Reset": true}]}),
            json!({"Rules": [{"Operation": "*", "Count": 0, "Reset": true}]}),
            json!({"Rules": [{"Operation": "*", "Count": 1, "Reset": false}]}),
            json!({"Rules": [{"Operation": "*", "Count": 1, "Reset": true, "Message": "x"}]}),
            json!({"Rules": [], "Other": 1}),
            json!([]),
        ] {
            assert!(set(&f, bad.clone()).is_err(), "{bad}");
        }
        set(&f, json!({"Rules": [{"Operation": "DescribeAppInstanceBot", "Error": "NotFoundException", "Count": 1, "Message": "m"}]}))
            .unwrap();
        assert_eq!(f.check("DescribeAppInstanceBot", "1"), Some(Fired::Error(ApiError::new(ErrorKind::NotFound, "m"))));
    }
}
