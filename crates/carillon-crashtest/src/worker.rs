//! A worker: the only writer of its own account. It sends a stream of operations, checks each
//! answer against its model, and stops at its first request that got no answer (its outcome is
//! then unknown until the state is read back).

use crate::api::Outcome;
use crate::exec;
use crate::model::{self, Answer, Expect, Generator, Op, World};
use crate::rng::Rng;
use crate::verify::{self, Resolution};
use aws_sdk_chimesdkidentity::Client;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// One request and what became of it.
#[derive(Debug, Clone)]
pub struct Record {
    pub op: &'static str,
    pub write: bool,
    pub outcome: String,
}

#[derive(Debug, Default, Clone)]
pub struct Stats {
    pub requests: u64,
    pub writes_acked: u64,
    pub rejected: u64,
    pub unanswered: u64,
    pub server_errors: u64,
    pub reads_checked: u64,
    /// Unanswered creates sent again with the same ClientRequestToken after the restart.
    pub retries: u64,
    pub violations: Vec<String>,
    /// Latency of every answered request, in microseconds.
    pub latencies_us: Vec<u32>,
}

impl Stats {
    pub fn add(&mut self, o: &Stats) {
        self.requests += o.requests;
        self.writes_acked += o.writes_acked;
        self.rejected += o.rejected;
        self.unanswered += o.unanswered;
        self.server_errors += o.server_errors;
        self.reads_checked += o.reads_checked;
        self.retries += o.retries;
        self.violations.extend(o.violations.iter().cloned());
        self.latencies_us.extend(o.latencies_us.iter().copied());
    }
}

/// A write whose answer was lost: the state with and without it.
#[derive(Debug, Clone)]
pub struct Pending {
    pub op: Op,
    pub after: World,
    pub why: String,
}

pub struct Worker {
    pub label: String,
    pub account: String,
    pub client: Client,
    pub world: World,
    pub pending: Option<Pending>,
    pub generator: Generator,
    pub rng: Rng,
    pub stats: Stats,
    pub log: Vec<Record>,
    /// 5xx answers are expected (the store is being killed) rather than violations.
    pub expect_5xx: bool,
}

pub enum Step {
    Continue,
    /// The request got no definite answer; `pending` holds it.
    Stopped,
}

impl Worker {
    pub fn new(label: String, account: String, client: Client, rng: Rng, max_instances: usize, max_users: usize) -> Worker {
        Worker {
            generator: Generator { prefix: label.clone(), account: account.clone(), seq: 0, max_instances, max_users, read_weight: 5 },
            label,
            account,
            client,
            world: World::default(),
            pending: None,
            rng,
            stats: Stats::default(),
            log: Vec::new(),
            expect_5xx: false,
        }
    }

    fn violation(&mut self, msg: String) {
        self.stats.violations.push(format!("[{}] {msg}", self.label));
    }

    /// Sends one operation and folds its answer into the model.
    pub async fn step(&mut self) -> Step {
        let op = self.generator.op(&self.world, &mut self.rng);
        let expect = model::predict(&self.world, &op);
        let started = Instant::now();
        let outcome = exec::execute(&self.client, &op).await;
        let elapsed = started.elapsed();
        self.stats.requests += 1;
        self.log.push(Record { op: op.name(), write: op.is_write(), outcome: outcome.short() });
        if !matches!(outcome, Outcome::Unanswered(_)) {
            self.stats.latencies_us.push(elapsed.as_micros().min(u32::MAX as u128) as u32);
        }
        match outcome {
            Outcome::Ok(answer) => {
                if let Expect::Fail(codes) = &expect {
                    self.violation(format!("{} answered 2xx where the model expects {codes:?}: {op:?}", op.name()));
                }
                if op.is_write() {
                    self.stats.writes_acked += 1;
                    let created = match &answer {
                        Answer::Created(id) => Some(id.clone()),
                        _ => None,
                    };
                    if let (Op::CreateUser { instance, id, .. }, Some(arn)) = (&op, &created)
                        && *arn != model::user_arn(instance.as_str(), id.as_str())
                    {
                        self.violation(format!(
                            "CreateAppInstanceUser answered ARN {arn}, expected {}",
                            model::user_arn(instance.as_str(), id.as_str())
                        ));
                    }
                    model::apply(&mut self.world, &op, created.as_deref());
                } else if expect == Expect::Ok {
                    self.stats.reads_checked += 1;
                    let want = model::expected_read(&self.world, &op);
                    if want.as_ref() != Some(&answer) {
                        self.violation(format!("{} read {answer:?}, but the acknowledged writes say {want:?}", op.name()));
                    }
                }
                Step::Continue
            }
            Outcome::Err { status, code } if status < 500 => {
                self.stats.rejected += 1;
                let allowed = match &expect {
                    Expect::Ok => false,
                    Expect::Fail(codes) => codes.iter().any(|(s, c)| *s == status && c == &code),
                };
                if !allowed {
                    self.violation(format!("{} answered {status} {code} where the model expects {expect:?}: {op:?}", op.name()));
                }
                Step::Continue
            }
            other => {
                let why = other.short();
                if other.is_5xx() {
                    self.stats.server_errors += 1;
                    if !self.expect_5xx {
                        self.violation(format!("{} answered {why} while the store was up: {op:?}", op.name()));
                    } else if !why.contains("ServiceUnavailableException") {
                        self.violation(format!(
                            "{} answered {why} while the store was down; a store that cannot be reached is 503 ServiceUnavailableException",
                            op.name()
                        ));
                    }
                } else {
                    self.stats.unanswered += 1;
                }
                if op.is_write() {
                    let mut after = self.world.clone();
                    if expect == Expect::Ok {
                        model::apply(&mut after, &op, None);
                    }
                    self.pending = Some(Pending { op, after, why });
                }
                Step::Stopped
            }
        }
    }

    /// Runs until `stop` is set or a request gets no definite answer.
    pub async fn run(&mut self, stop: Arc<AtomicBool>) {
        while !stop.load(Ordering::Relaxed) {
            if let Step::Stopped = self.step().await {
                return;
            }
        }
    }

    /// Reads the account back and checks it; resolves the unanswered write, if any.
    pub async fn check(&mut self) -> CheckResult {
        let mut known_i = self.world.all_known_instances();
        let mut known_u = self.world.all_known_users();
        if let Some(p) = &self.pending {
            known_i.extend(p.after.all_known_instances());
            known_u.extend(p.after.all_known_users());
        }
        let (observed, invariants) = match verify::observe(&self.client, &known_i, &known_u).await {
            Ok(v) => v,
            Err(e) => {
                self.violation(format!("cannot read the state back: {e}"));
                return CheckResult::ReadFailed;
            }
        };
        for v in invariants {
            self.violation(format!("invariant: {v}"));
        }
        let pending = self.pending.take();
        let mut result = match verify::resolve(&observed, &self.world, pending.as_ref().map(|p| &p.after)) {
            Resolution::NotApplied(w) => {
                self.world = w;
                if pending.is_some() { CheckResult::NotApplied } else { CheckResult::Clean }
            }
            Resolution::Either(w) => {
                self.world = w;
                if pending.is_some() { CheckResult::NoEffect } else { CheckResult::Clean }
            }
            Resolution::Applied(w) => {
                self.world = w;
                CheckResult::Applied
            }
            Resolution::Mismatch(msg) => {
                let what = match &pending {
                    Some(p) => format!(" (unanswered: {} {:?} — {})", p.op.name(), p.op, p.why),
                    None => String::new(),
                };
                let recent: Vec<String> = self
                    .log
                    .iter()
                    .rev()
                    .take(5)
                    .rev()
                    .map(|r| format!("{}{} -> {}", r.op, if r.write { "" } else { " (read)" }, r.outcome))
                    .collect();
                self.violation(format!("{msg}{what}\n    last requests of this worker: {}", recent.join("; ")));
                CheckResult::Mismatch
            }
        };
        if let Some(p) = &pending
            && matches!(p.op, Op::CreateInstance { .. } | Op::CreateUser { .. } | Op::Register { .. })
            && matches!(result, CheckResult::Applied | CheckResult::NotApplied | CheckResult::NoEffect)
            && !self.retry_same_token(&p.op, result).await
        {
            result = CheckResult::Mismatch;
        }
        result
    }

    /// What a client does with a create whose answer it never got: sends it again with the same
    /// ClientRequestToken. If the first one took effect, the retry answers with the same ARN or
    /// EndpointId and makes nothing new; if it did not, the retry does the work now.
    async fn retry_same_token(&mut self, op: &Op, result: CheckResult) -> bool {
        self.stats.retries += 1;
        let made = match op {
            Op::CreateInstance { name, .. } => self.world.instances.iter().find(|(_, i)| &i.name == name).map(|(a, _)| a.clone()),
            Op::CreateUser { instance, id, .. } => Some(model::user_arn(instance, id)),
            Op::Register { user, name, .. } => self
                .world
                .user(user)
                .and_then(|u| u.endpoints.iter().find(|(_, e)| e.name.as_deref() == Some(name.as_str())).map(|(id, _)| id.clone())),
            _ => None,
        };
        let outcome = exec::execute(&self.client, op).await;
        self.log.push(Record { op: op.name(), write: true, outcome: format!("retry with the same token: {}", outcome.short()) });
        if result == CheckResult::Applied {
            match outcome {
                Outcome::Ok(Answer::Created(id)) if Some(&id) == made.as_ref() => true,
                other => {
                    self.violation(format!(
                        "{} took effect before the crash as {made:?}; its retry with the same ClientRequestToken answered {other:?} instead of the same id",
                        op.name()
                    ));
                    false
                }
            }
        } else {
            let expect = model::predict(&self.world, op);
            match (outcome, &expect) {
                (Outcome::Ok(answer), Expect::Ok) => {
                    self.stats.writes_acked += 1;
                    let created = match &answer {
                        Answer::Created(id) => Some(id.clone()),
                        _ => None,
                    };
                    model::apply(&mut self.world, op, created.as_deref());
                    true
                }
                (Outcome::Err { status, code }, Expect::Fail(codes)) if codes.iter().any(|(s, c)| *s == status && *c == code) => true,
                (other, _) => {
                    self.violation(format!(
                        "{} had no effect before the crash; its retry with the same ClientRequestToken answered {} where the model expects {expect:?}",
                        op.name(),
                        other.short()
                    ));
                    false
                }
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckResult {
    Clean,
    Applied,
    NotApplied,
    NoEffect,
    Mismatch,
    ReadFailed,
}
