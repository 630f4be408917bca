//! What the bench measured, printed as it goes (human-readable) and at the end as targets, in text
//! and (with --markdown) as Markdown rows for BENCHMARKS.md.

use crate::api::Op;
use crate::load::RunResult;
use std::collections::BTreeMap;
use std::fmt::Write as _;

#[derive(Clone, Debug)]
pub struct Summary {
    pub rps: f64,
    pub p50: f64,
    pub p99: f64,
    pub p999: f64,
    pub errors: BTreeMap<u16, u64>,
    pub per_op: Vec<(Op, u64, f64, f64)>,
    pub server_cpu: Option<f64>,
    pub client_cpu: Option<f64>,
    pub peak_rss_kib: Option<u64>,
    pub threads: Vec<(String, f64)>,
    pub switches_per_request: Option<f64>,
}

impl Summary {
    pub fn threads_text(&self) -> String {
        let mut s = self.threads.iter().map(|(n, c)| format!("{n} {:.0}%", c * 100.0)).collect::<Vec<_>>().join(", ");
        if let Some(cs) = self.switches_per_request {
            s.push_str(&format!("; {cs:.2} context switches/request"));
        }
        s
    }

    pub fn of(r: &RunResult) -> Summary {
        Summary {
            rps: r.rps(),
            p50: r.ms(0.5),
            p99: r.ms(0.99),
            p999: r.ms(0.999),
            errors: r.errors.clone(),
            per_op: r
                .per_op
                .iter()
                .map(|(op, h)| (*op, h.len(), h.value_at_quantile(0.5) as f64 / 1000.0, h.value_at_quantile(0.99) as f64 / 1000.0))
                .collect(),
            server_cpu: r.server_cpu,
            client_cpu: r.client_cpu,
            peak_rss_kib: r.peak_rss_kib,
            threads: r.threads.clone(),
            switches_per_request: r.switches_per_request,
        }
    }

    pub fn errors_text(&self) -> String {
        if self.errors.is_empty() {
            return "0".into();
        }
        self.errors.iter().map(|(s, c)| if *s == 0 { format!("io:{c}") } else { format!("{s}:{c}") }).collect::<Vec<_>>().join(",")
    }
}

#[derive(Clone, Debug)]
pub struct RunRow {
    pub label: String,
    pub connections: usize,
    pub carillon: Summary,
    pub baseline: Option<Summary>,
}

#[derive(Clone, Debug, Default)]
pub struct SeedStat {
    pub label: String,
    pub users: usize,
    pub endpoints: usize,
    pub user_secs: f64,
    pub endpoint_secs: f64,
    pub connections: usize,
}

impl SeedStat {
    pub fn total_secs(&self) -> f64 {
        self.user_secs + self.endpoint_secs
    }
}

#[derive(Clone, Debug, Default)]
pub struct Startup {
    /// (spawn -> listening line, spawn -> first 200 from /_carillon/health), ms.
    pub runs: Vec<(f64, f64)>,
    /// The same, restarting on the database the run before created.
    pub restarts: Vec<(f64, f64)>,
    /// VmRSS a moment after start-up, KiB.
    pub idle_rss: Vec<u64>,
}

pub fn median(v: &[f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    if s.len() % 2 == 1 { s[s.len() / 2] } else { (s[s.len() / 2 - 1] + s[s.len() / 2]) / 2.0 }
}

impl Startup {
    pub fn median_health_ms(&self) -> f64 {
        median(&self.runs.iter().map(|r| r.1).collect::<Vec<_>>())
    }
    pub fn median_listening_ms(&self) -> f64 {
        median(&self.runs.iter().map(|r| r.0).collect::<Vec<_>>())
    }
    pub fn median_idle_mb(&self) -> f64 {
        median(&self.idle_rss.iter().map(|k| *k as f64 / 1024.0).collect::<Vec<_>>())
    }
}

/// The scale scenario: p50 (ms) keyed by (operation, connections), for the small and large sets.
#[derive(Clone, Debug, Default)]
pub struct Scale {
    pub small_endpoints: usize,
    pub large_endpoints: usize,
    pub small: BTreeMap<(Op, usize), Summary>,
    pub large: BTreeMap<(Op, usize), Summary>,
    pub page: usize,
    pub walk_secs: f64,
    pub page1: Option<Summary>,
    pub page_n: Option<Summary>,
    pub restart: Option<(f64, u64)>,
    /// SQLite's own `SELECT` of the Describes' endpoints at each size, after the runs, on the
    /// server's core (`floor.rs`).
    pub floor: Option<ScaleFloor>,
}

#[derive(Clone, Copy, Debug)]
pub struct ScaleFloor {
    pub small: crate::floor::Measure,
    pub large: crate::floor::Measure,
    /// The distinct endpoints the large size's Describes read. Each connection walks the pool in
    /// order, so a Describe comes back to an endpoint after about the pool's length of requests:
    /// with at least twice as many endpoints as the store's cache holds ([`CACHE_SLOTS`]), nearly
    /// every Describe misses it and runs the `SELECT`.
    pub large_distinct: usize,
}

/// The most endpoints the store's cache of Describe's reads holds.
const CACHE_SLOTS: usize = carillon_store_sqlite::raw::ENDPOINT_CACHE_SLOTS;

impl Scale {
    /// Describe at full load, at the large size against the small, in server CPU per request:
    /// (measured ratio, floor ratio); None without both runs or without a floor measured. The floor
    /// takes Carillon's own work as it is at the small size, where its cache of endpoints answers,
    /// and adds SQLite's `SELECT` at the large size, `(small + select) / small`: only when the large
    /// size's Describes read at least twice as many endpoints as the cache holds, so that nearly
    /// all of them run that `SELECT` (else the floor is None). A ratio of CPU a request: at full
    /// load the p50 follows it.
    pub fn describe_cpu_ratios(&self, connections: usize) -> Option<(f64, Option<f64>)> {
        let small = cpu_us(self.small.get(&(Op::Describe, connections))?)?;
        let large = cpu_us(self.large.get(&(Op::Describe, connections))?)?;
        let f = self.floor?;
        let floor = (f.large_distinct >= 2 * CACHE_SLOTS).then(|| (small + f.large.cpu_us_per_op()) / small);
        (small > 0.0).then_some((large / small, floor))
    }

    /// The measured and floor ratios of [`Scale::describe_cpu_ratios`] in words.
    pub fn describe_cpu_text(&self, connections: usize) -> Option<String> {
        let (cpu, floor) = self.describe_cpu_ratios(connections)?;
        let f = self.floor?;
        Some(match floor {
            Some(floor) => format!("server CPU {cpu:.2}x, floor {floor:.2}x (SQLite's SELECT on top of the cached answer)"),
            None => format!(
                "server CPU {cpu:.2}x, no floor: the {} endpoints read are not twice the cache's {}",
                thousands(f.large_distinct),
                thousands(CACHE_SLOTS)
            ),
        })
    }
}

/// The push decision's server CPU per recipient endpoint: the difference of CPU per send between
/// the large and the small channel, over the endpoints the large one has more. None without both
/// figures or without extra endpoints.
pub fn per_recipient_us(small_us: Option<f64>, large_us: Option<f64>, extra_endpoints: usize) -> Option<f64> {
    match (small_us, large_us) {
        (Some(s), Some(l)) if extra_endpoints > 0 && s.is_finite() && l.is_finite() => Some((l - s) / extra_endpoints as f64),
        _ => None,
    }
}

/// Server CPU per request, µs (None when the run has no CPU figure or no request).
pub fn cpu_us(s: &Summary) -> Option<f64> {
    s.server_cpu.filter(|_| s.rps > 0.0).map(|c| c / s.rps * 1e6)
}

/// Large over small, and whether it is within `limit` (a ratio of at most `limit`).
pub fn flat(small: f64, large: f64, limit: f64) -> (f64, bool) {
    let r = large / small;
    (r, r.is_finite() && r <= limit)
}

/// The ratio target of ListChannelMessages: the large channel's p50 within 1.3x the small one's.
pub const LIST_FLAT: f64 = 1.3;

/// The messaging scenario.
#[derive(Clone, Debug, Default)]
pub struct Messaging {
    pub small_members: usize,
    pub large_members: usize,
    pub endpoints_per_member: usize,
    /// SendChannelMessage runs: (members, connections) -> Carillon and the baseline.
    pub sends: BTreeMap<(usize, usize), RunRow>,
    /// (entries, answer bytes, ms) of `GET /_carillon/push-outbox` after the sends.
    pub outbox: Option<(usize, usize, f64)>,
    /// Seeding: (what, count, seconds, connections).
    pub seeding: Vec<(String, usize, f64, usize)>,
    pub small_messages: usize,
    pub large_messages: usize,
    /// ListChannelMessages: (query, connections) -> (small channel, large channel).
    pub lists: Vec<(String, usize, Summary, Summary)>,
    /// Messages on each query's page: query -> (small, large).
    pub page_sizes: Vec<(String, usize, usize)>,
}

impl Messaging {
    /// Extra recipient endpoints of the large channel.
    pub fn extra_endpoints(&self) -> usize {
        self.large_members.saturating_sub(self.small_members) * self.endpoints_per_member
    }

    /// The push decision's CPU per recipient endpoint at `conns` connections.
    pub fn per_recipient(&self, conns: usize) -> Option<f64> {
        let small = self.sends.get(&(self.small_members, conns))?;
        let large = self.sends.get(&(self.large_members, conns))?;
        per_recipient_us(cpu_us(&small.carillon), cpu_us(&large.carillon), self.extra_endpoints())
    }
}

#[derive(Default)]
pub struct Report {
    pub header: Vec<(String, String)>,
    pub startup: Option<Startup>,
    pub seeding: Vec<SeedStat>,
    pub runs: Vec<RunRow>,
    pub scale: Option<Scale>,
    pub messaging: Option<Messaging>,
    /// SQLite's own cost of an Update's and a Describe's statements (`floor.rs`).
    pub floor: Option<crate::floor::Floor>,
    pub notes: Vec<String>,
    /// The highest VmRSS over the runs at the standard connection count, KiB.
    pub load_rss_kib: Option<u64>,
    pub load_rss_connections: usize,
}

fn mb(kib: Option<u64>) -> String {
    kib.map(|k| format!("{:.1} MB", k as f64 / 1024.0)).unwrap_or_else(|| "-".into())
}

fn pct(v: Option<f64>) -> String {
    v.map(|c| format!("{:.0}%", c * 100.0)).unwrap_or_else(|| "-".into())
}

pub const RUN_HEADER: &str = "run                            server    conns      req/s    p50 ms    p99 ms  p99.9 ms  errors     srv CPU srv us/req  cli CPU cli us/req  peak RSS";

fn us_per(cpu: Option<f64>, rps: f64) -> String {
    cpu.filter(|_| rps > 0.0).map(|c| format!("{:.1}", c / rps * 1e6)).unwrap_or_else(|| "-".into())
}

pub fn run_line(label: &str, server: &str, conns: usize, s: &Summary) -> String {
    format!(
        "{label:<30} {server:<9} {conns:>5} {:>10.1} {:>9.3} {:>9.3} {:>9.3}  {:<10} {:>7} {:>10} {:>8} {:>10} {:>9}",
        s.rps,
        s.p50,
        s.p99,
        s.p999,
        s.errors_text(),
        pct(s.server_cpu),
        us_per(s.server_cpu, s.rps),
        pct(s.client_cpu),
        us_per(s.client_cpu, s.rps),
        mb(s.peak_rss_kib)
    )
}

pub fn ratio_line(label: &str, c: &Summary, b: &Summary) -> String {
    let cpu = match (c.server_cpu, b.server_cpu) {
        (Some(x), Some(y)) if x > 0.0 && y > 0.0 => format!("{:.2}x", (x / c.rps) / (y / b.rps)),
        _ => String::new(),
    };
    format!(
        "{label:<30} {:<9} {:>5} {:>9.3}x {:>8.2}x {:>8.2}x {:>8.2}x  {:<10} {:>7} {cpu:>10}",
        "c/b ratio",
        "",
        c.rps / b.rps,
        c.p50 / b.p50,
        c.p99 / b.p99,
        c.p999 / b.p999,
        "",
        ""
    )
}

pub fn per_op_lines(s: &Summary) -> String {
    let mut out = String::new();
    if s.per_op.len() > 1 {
        for (op, n, p50, p99) in &s.per_op {
            let _ = writeln!(out, "    {:<26} {n:>8} requests  p50 {p50:.3} ms  p99 {p99:.3} ms", op.name());
        }
    }
    out
}

/// One target: what it is, the goal, the measurement and whether it is met (None: not measured).
pub struct Target {
    pub name: String,
    pub goal: String,
    pub measured: String,
    pub met: Option<bool>,
}

impl Report {
    fn run(&self, label: &str) -> Option<&RunRow> {
        self.runs.iter().find(|r| r.label == label)
    }

    pub fn targets(&self, conns: usize) -> Vec<Target> {
        let mut t = Vec::new();
        let na = |name: &str, goal: &str| Target { name: name.into(), goal: goal.into(), measured: "not measured".into(), met: None };
        for (op, share) in [("update", 0.5), ("describe", 0.6)] {
            let name = format!("{} throughput, {conns} connections", capital(op));
            let goal = format!(">= {:.0}% of baseline req/s", share * 100.0);
            match self.run(&format!("{op} x{conns}")).and_then(|r| r.baseline.as_ref().map(|b| (&r.carillon, b))) {
                Some((c, b)) => t.push(Target {
                    name,
                    goal,
                    measured: format!("{:.0} vs {:.0} req/s = {:.1}%", c.rps, b.rps, 100.0 * c.rps / b.rps),
                    met: Some(c.rps >= share * b.rps && c.errors.is_empty()),
                }),
                None => t.push(na(&name, &goal)),
            }
        }
        // CPU per request on the server's one core, beside the floor under it: the baseline's
        // HTTP plus SQLite's own work for the operation's statements.
        for (op, goal_us) in [("update", 17.0), ("describe", 13.0)] {
            let name = format!("{} CPU per request, {conns} connections", capital(op));
            let goal = format!("<= {goal_us:.0} µs of server CPU");
            let row = self.run(&format!("{op} x{conns}"));
            match row.and_then(|r| Some((cpu_us(&r.carillon)?, r.baseline.as_ref()))) {
                Some((us, baseline)) => {
                    let mut measured = format!("{us:.1} µs");
                    if let (Some(b), Some(f)) = (baseline.and_then(cpu_us), &self.floor) {
                        let (sql, how) = if op == "update" {
                            (f.update.cpu_us_per_op(), format!(", {} per commit", f.group))
                        } else {
                            (f.describe.cpu_us_per_op(), String::new())
                        };
                        let _ = write!(
                            measured,
                            "; floor {:.1} µs = baseline {b:.1} + SQLite's own {sql:.1}{how}, so at most {:.0}% of the baseline's req/s",
                            b + sql,
                            100.0 * b / (b + sql)
                        );
                    }
                    t.push(Target { name, goal, measured, met: Some(us <= goal_us) });
                }
                None => t.push(na(&name, &goal)),
            }
        }
        {
            let name = "Update p50, 1 connection";
            let goal = "<= baseline p50 + 0.5 ms";
            match self.run("update x1").and_then(|r| r.baseline.as_ref().map(|b| (&r.carillon, b))) {
                Some((c, b)) => t.push(Target {
                    name: name.into(),
                    goal: goal.into(),
                    measured: format!("{:.3} ms vs {:.3} ms (+{:.3} ms)", c.p50, b.p50, c.p50 - b.p50),
                    met: Some(c.p50 <= b.p50 + 0.5),
                }),
                None => t.push(na(name, goal)),
            }
            let name = "Describe p50, 1 connection";
            let goal = "<= 2x baseline p50";
            match self.run("describe x1").and_then(|r| r.baseline.as_ref().map(|b| (&r.carillon, b))) {
                Some((c, b)) => t.push(Target {
                    name: name.into(),
                    goal: goal.into(),
                    measured: format!("{:.3} ms vs {:.3} ms ({:.2}x)", c.p50, b.p50, c.p50 / b.p50),
                    met: Some(c.p50 <= 2.0 * b.p50),
                }),
                None => t.push(na(name, goal)),
            }
        }
        match &self.startup {
            Some(s) if !s.runs.is_empty() => {
                t.push(Target {
                    name: "Start-up to first answered request".into(),
                    goal: "< 20 ms".into(),
                    measured: format!(
                        "{:.1} ms median of {} on a new database (listening line at {:.1} ms); {:.1} ms restarting on an existing one",
                        s.median_health_ms(),
                        s.runs.len(),
                        s.median_listening_ms(),
                        median(&s.restarts.iter().map(|r| r.1).collect::<Vec<_>>())
                    ),
                    met: Some(s.median_health_ms() < 20.0),
                });
                t.push(Target {
                    name: "Idle RSS after start-up".into(),
                    goal: "< 12 MB".into(),
                    measured: format!("{:.1} MB", s.median_idle_mb()),
                    met: Some(s.median_idle_mb() < 12.0),
                });
            }
            _ => {
                t.push(na("Start-up to first answered request", "< 20 ms"));
                t.push(na("Idle RSS after start-up", "< 12 MB"));
            }
        }
        let name = format!("RSS under load, {} connections (peak)", self.load_rss_connections.max(conns));
        match self.load_rss_kib {
            Some(k) => t.push(Target {
                name,
                goal: "< 48 MB".into(),
                measured: format!("{:.1} MB", k as f64 / 1024.0),
                met: Some((k as f64 / 1024.0) < 48.0),
            }),
            None => t.push(na(&name, "< 48 MB")),
        }
        match &self.scale {
            Some(s) => {
                let mut keys: Vec<&(Op, usize)> = s.large.keys().collect();
                keys.sort();
                for key in keys {
                    let (op, c) = *key;
                    let name = format!("Scale: {} p50 at {} endpoints, {c} conn", capital(op.name()), thousands(s.large_endpoints));
                    // Describe at full load has the tighter goal: its cost is the reads' descents.
                    let most = if op == Op::Describe && c > 1 { 1.3 } else { 1.5 };
                    let goal = format!("<= {most}x p50 at {} endpoints", thousands(s.small_endpoints));
                    match (s.large.get(key), s.small.get(key)) {
                        (Some(l), Some(sm)) => {
                            let mut measured = format!("{:.3} ms vs {:.3} ms ({:.2}x)", l.p50, sm.p50, l.p50 / sm.p50);
                            if op == Op::Describe
                                && c > 1
                                && let Some(text) = s.describe_cpu_text(c)
                            {
                                let _ = write!(measured, "; {text}");
                            }
                            t.push(Target { name, goal, measured, met: Some(l.p50 <= most * sm.p50 && l.errors.is_empty()) })
                        }
                        _ => t.push(na(&name, &goal)),
                    }
                }
                let name = format!("Scale: ListAppInstanceUsers page {} vs page 1 (p50)", thousands(s.page));
                let goal = "as fast as page 1 (<= 1.2x)";
                match (&s.page_n, &s.page1) {
                    (Some(n), Some(p1)) => t.push(Target {
                        name,
                        goal: goal.into(),
                        measured: format!("{:.3} ms vs {:.3} ms ({:.2}x)", n.p50, p1.p50, n.p50 / p1.p50),
                        met: Some(n.p50 <= 1.2 * p1.p50 && n.errors.is_empty()),
                    }),
                    _ => t.push(na(&name, goal)),
                }
            }
            None => t.push(na("Scale targets", "see --scenario scale")),
        }
        if let Some(m) = &self.messaging {
            for ((members, c), r) in &m.sends {
                let name = format!("Messaging: SendChannelMessage, {} members, {c} conn", thousands(*members));
                let goal = "against the baseline (no target)";
                let measured = match &r.baseline {
                    Some(b) => format!(
                        "{:.0} vs {:.0} req/s = {:.1}% (CPU {} vs {} µs/request); errors {}",
                        r.carillon.rps,
                        b.rps,
                        100.0 * r.carillon.rps / b.rps,
                        us_per(r.carillon.server_cpu, r.carillon.rps),
                        us_per(b.server_cpu, b.rps),
                        r.carillon.errors_text()
                    ),
                    None => format!("{:.0} req/s; errors {}", r.carillon.rps, r.carillon.errors_text()),
                };
                t.push(Target { name, goal: goal.into(), measured, met: (!r.carillon.errors.is_empty()).then_some(false) });
            }
            let mut conns: Vec<usize> = m.sends.keys().map(|k| k.1).collect();
            conns.sort_unstable();
            conns.dedup();
            for c in conns {
                if let Some(us) = m.per_recipient(c) {
                    t.push(Target {
                        name: format!("Messaging: push decision per recipient endpoint, {c} conn"),
                        goal: "reported (no target)".into(),
                        measured: format!(
                            "{us:.2} µs of server CPU ({} vs {} members, {} extra endpoints)",
                            thousands(m.large_members),
                            thousands(m.small_members),
                            thousands(m.extra_endpoints())
                        ),
                        met: None,
                    });
                }
            }
            for (q, c, small, large) in &m.lists {
                let (r, ok) = flat(small.p50, large.p50, LIST_FLAT);
                t.push(Target {
                    name: format!(
                        "Messaging: ListChannelMessages {q} at {} vs {} messages, {c} conn",
                        thousands(m.large_messages),
                        thousands(m.small_messages)
                    ),
                    goal: format!("flat (p50 <= {LIST_FLAT}x)"),
                    measured: format!(
                        "{:.3} ms vs {:.3} ms ({r:.2}x); CPU {} vs {} µs/request",
                        large.p50,
                        small.p50,
                        us_per(large.server_cpu, large.rps),
                        us_per(small.server_cpu, small.rps)
                    ),
                    met: Some(ok && large.errors.is_empty() && small.errors.is_empty()),
                });
            }
        }
        if let Some(big) = self.seeding.iter().max_by_key(|s| s.endpoints + s.users) {
            t.push(Target {
                name: format!("Seeding {} users x {} endpoints", thousands(big.users), thousands(big.endpoints)),
                goal: "progress shown, finishes in minutes".into(),
                measured: format!(
                    "{:.1} min ({:.0} users/s, {:.0} endpoints/s, {} connections)",
                    big.total_secs() / 60.0,
                    big.users as f64 / big.user_secs.max(1e-9),
                    big.endpoints as f64 / big.endpoint_secs.max(1e-9),
                    big.connections
                ),
                met: Some(big.total_secs() < 15.0 * 60.0),
            });
        }
        t
    }

    pub fn print_targets(&self, conns: usize) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "\n== targets ==");
        for t in self.targets(conns) {
            let met = match t.met {
                Some(true) => "MET",
                Some(false) => "MISSED",
                None => "-",
            };
            let _ = writeln!(out, "{:<52} {:<40} {:<55} {met}", t.name, t.goal, t.measured);
        }
        out
    }

    pub fn markdown(&self, conns: usize) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "\n<!-- carillon-bench --markdown -->");
        for (k, v) in &self.header {
            let _ = writeln!(out, "- {k}: {v}");
        }
        let _ = writeln!(out, "\n| Target | Goal | Measured | Met |\n|---|---|---|---|");
        for t in self.targets(conns) {
            let met = match t.met {
                Some(true) => "yes",
                Some(false) => "**no**",
                None => "-",
            };
            let _ = writeln!(out, "| {} | {} | {} | {met} |", t.name, t.goal.replace(">=", "≥").replace("<=", "≤"), t.measured);
        }
        if !self.runs.is_empty() {
            run_table(&mut out, self.runs.iter());
        }
        if self.runs.iter().any(|r| !r.carillon.threads.is_empty()) {
            let _ = writeln!(out, "\nServer CPU by thread (share of one core) and context switches per request:\n");
            for r in &self.runs {
                let _ = writeln!(out, "- {}: carillon {}", r.label, r.carillon.threads_text());
                if let Some(b) = &r.baseline {
                    let _ = writeln!(out, "  baseline {}", b.threads_text());
                }
            }
        }
        if let Some(s) = &self.scale {
            let _ = writeln!(
                out,
                "\n| Scale | Conns | p50 ms at {} | p50 ms at {} | Ratio | req/s at {} | req/s at {} |\n|---|---|---|---|---|---|---|",
                thousands(s.small_endpoints),
                thousands(s.large_endpoints),
                thousands(s.small_endpoints),
                thousands(s.large_endpoints)
            );
            for (key, l) in &s.large {
                if let Some(sm) = s.small.get(key) {
                    let _ = writeln!(
                        out,
                        "| {} | {} | {:.3} | {:.3} | {:.2}x | {:.0} | {:.0} |",
                        key.0.name(),
                        key.1,
                        sm.p50,
                        l.p50,
                        l.p50 / sm.p50,
                        sm.rps,
                        l.rps
                    );
                }
            }
            if let (Some(p1), Some(n)) = (&s.page1, &s.page_n) {
                let _ = writeln!(
                    out,
                    "| list-users page 1 vs page {} | 1 | {:.3} | {:.3} | {:.2}x | {:.0} | {:.0} |",
                    thousands(s.page),
                    p1.p50,
                    n.p50,
                    n.p50 / p1.p50,
                    p1.rps,
                    n.rps
                );
            }
            if let Some(f) = &s.floor {
                let _ = writeln!(
                    out,
                    "\nSQLite's own SELECT of the Describes' endpoints (the floor, on the server's core, in the full file): {:.1} µs of CPU for the {}-endpoint AppInstance's, {:.1} µs for the {}-endpoint one's.",
                    f.small.cpu_us_per_op(),
                    thousands(s.small_endpoints),
                    f.large.cpu_us_per_op(),
                    thousands(s.large_endpoints)
                );
                let full = s.large.keys().filter(|(op, _)| *op == Op::Describe).map(|k| k.1).max().unwrap_or(0);
                if let Some(text) = s.describe_cpu_text(full) {
                    let _ = writeln!(
                        out,
                        "Describe at {full} connections, CPU a request at {} over {} endpoints: {text}.",
                        thousands(s.large_endpoints),
                        thousands(s.small_endpoints)
                    );
                }
            }
        }
        if let Some(m) = &self.messaging {
            let _ = writeln!(out, "\nMessaging: SendChannelMessage (PERSISTENT, STANDARD, with PushNotification)");
            run_table(&mut out, m.sends.values());
            let _ = writeln!(
                out,
                "\n| Push decision | Conns | Server µs/send, {} members | Server µs/send, {} members | Extra endpoints | µs per endpoint |\n|---|---|---|---|---|---|",
                m.small_members,
                thousands(m.large_members)
            );
            let mut conns: Vec<usize> = m.sends.keys().map(|k| k.1).collect();
            conns.sort_unstable();
            conns.dedup();
            for c in conns {
                let cpu = |members: usize| m.sends.get(&(members, c)).and_then(|r| cpu_us(&r.carillon));
                let f = |v: Option<f64>| v.map(|v| format!("{v:.1}")).unwrap_or_else(|| "-".into());
                let _ = writeln!(
                    out,
                    "| per recipient endpoint | {c} | {} | {} | {} | {} |",
                    f(cpu(m.small_members)),
                    f(cpu(m.large_members)),
                    thousands(m.extra_endpoints()),
                    m.per_recipient(c).map(|v| format!("{v:.2}")).unwrap_or_else(|| "-".into())
                );
            }
            if let Some((n, bytes, ms)) = m.outbox {
                let _ = writeln!(
                    out,
                    "\nPush outbox after the sends: {} entries ({:.1} MB, read in {ms:.0} ms).",
                    thousands(n),
                    bytes as f64 / 1_048_576.0
                );
            }
            let _ = writeln!(
                out,
                "\n| ListChannelMessages | Conns | p50 ms at {} | p50 ms at {} | Ratio | Server µs/req at {} → {} | req/s at {} | req/s at {} | Errors |\n|---|---|---|---|---|---|---|---|---|",
                thousands(m.small_messages),
                thousands(m.large_messages),
                thousands(m.small_messages),
                thousands(m.large_messages),
                thousands(m.small_messages),
                thousands(m.large_messages)
            );
            for (q, c, small, large) in &m.lists {
                let (r, ok) = flat(small.p50, large.p50, LIST_FLAT);
                let _ = writeln!(
                    out,
                    "| {q} | {c} | {:.3} | {:.3} | {}{r:.2}x{} | {} → {} | {:.0} | {:.0} | {} / {} |",
                    small.p50,
                    large.p50,
                    if ok { "" } else { "**" },
                    if ok { "" } else { "**" },
                    us_per(small.server_cpu, small.rps),
                    us_per(large.server_cpu, large.rps),
                    small.rps,
                    large.rps,
                    small.errors_text(),
                    large.errors_text()
                );
            }
            if !m.page_sizes.is_empty() {
                let sizes = m.page_sizes.iter().map(|(q, a, b)| format!("{q} {a}/{b}")).collect::<Vec<_>>().join(", ");
                let _ = writeln!(out, "\nMessages on each page (small/large channel): {sizes}.");
            }
            if !m.seeding.is_empty() {
                let _ = writeln!(out, "\n| Messaging seeding | Count | Connections | Per second | Total |\n|---|---|---|---|---|");
                for (what, n, secs, conns) in &m.seeding {
                    let _ = writeln!(out, "| {what} | {} | {conns} | {:.0} | {secs:.1} s |", thousands(*n), *n as f64 / secs.max(1e-9));
                }
            }
        }
        if !self.seeding.is_empty() {
            let _ = writeln!(
                out,
                "\n| Seeding | Users | Endpoints | Connections | Users/s | Endpoints/s | Total |\n|---|---|---|---|---|---|---|"
            );
            for s in &self.seeding {
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} | {:.0} | {:.0} | {:.1} s |",
                    s.label,
                    thousands(s.users),
                    thousands(s.endpoints),
                    s.connections,
                    s.users as f64 / s.user_secs.max(1e-9),
                    if s.endpoints == 0 { 0.0 } else { s.endpoints as f64 / s.endpoint_secs.max(1e-9) },
                    s.total_secs()
                );
            }
        }
        for n in &self.notes {
            let _ = writeln!(out, "\n> {n}");
        }
        out
    }
}

/// The Markdown table of runs: Carillon's row, and the baseline's with the ratio when there is one.
fn run_table<'a>(out: &mut String, rows: impl Iterator<Item = &'a RunRow>) {
    let _ = writeln!(
        out,
        "\n| Run | Server | Conns | req/s | p50 ms | p99 ms | p99.9 ms | Errors | Server CPU | Server µs/req | Client CPU | Client µs/req | Peak RSS |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    );
    for r in rows {
        let mut row = |server: &str, s: &Summary| {
            let _ = writeln!(
                out,
                "| {} | {server} | {} | {:.0} | {:.3} | {:.3} | {:.3} | {} | {} | {} | {} | {} | {} |",
                r.label,
                r.connections,
                s.rps,
                s.p50,
                s.p99,
                s.p999,
                s.errors_text(),
                pct(s.server_cpu),
                us_per(s.server_cpu, s.rps),
                pct(s.client_cpu),
                us_per(s.client_cpu, s.rps),
                mb(s.peak_rss_kib)
            );
        };
        row("carillon", &r.carillon);
        if let Some(b) = &r.baseline {
            row("baseline", b);
            let c = &r.carillon;
            let _ = writeln!(
                out,
                "| {} | ratio c/b | | {:.3} | {:.2}x | {:.2}x | {:.2}x | | | {} | | | |",
                r.label,
                c.rps / b.rps,
                c.p50 / b.p50,
                c.p99 / b.p99,
                c.p999 / b.p999,
                match (c.server_cpu, b.server_cpu) {
                    (Some(x), Some(y)) if x > 0.0 && y > 0.0 => format!("{:.2}x", (x / c.rps) / (y / b.rps)),
                    _ => String::new(),
                }
            );
        }
    }
}

fn capital(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().collect::<String>() + c.as_str()).unwrap_or_default()
}

pub fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_recipient_divides_the_difference_by_the_extra_endpoints() {
        assert_eq!(per_recipient_us(Some(100.0), Some(2096.0), 1996), Some(1.0));
        assert_eq!(per_recipient_us(Some(100.0), None, 1996), None);
        assert_eq!(per_recipient_us(Some(100.0), Some(200.0), 0), None);
        // Noise can make the large channel cheaper: the figure says so rather than hiding it.
        assert_eq!(per_recipient_us(Some(110.0), Some(100.0), 10), Some(-1.0));
    }

    #[test]
    fn flat_is_the_ratio_within_its_limit() {
        assert_eq!(flat(0.2, 0.25, LIST_FLAT), (1.25, true));
        let (r, ok) = flat(0.2, 0.3, LIST_FLAT);
        assert!((r - 1.5).abs() < 1e-9 && !ok);
        assert!(!flat(0.0, 0.1, LIST_FLAT).1);
    }

    #[test]
    fn cpu_per_request_needs_requests() {
        let mut s = Summary {
            rps: 1000.0,
            p50: 1.0,
            p99: 1.0,
            p999: 1.0,
            errors: BTreeMap::new(),
            per_op: Vec::new(),
            server_cpu: Some(0.5),
            client_cpu: None,
            peak_rss_kib: None,
            threads: Vec::new(),
            switches_per_request: None,
        };
        assert_eq!(cpu_us(&s), Some(500.0));
        s.rps = 0.0;
        assert_eq!(cpu_us(&s), None);
    }

    fn run_at(rps: f64, server_cpu: f64) -> Summary {
        Summary {
            rps,
            p50: 1.0,
            p99: 1.0,
            p999: 1.0,
            errors: BTreeMap::new(),
            per_op: Vec::new(),
            server_cpu: Some(server_cpu),
            client_cpu: None,
            peak_rss_kib: None,
            threads: Vec::new(),
            switches_per_request: None,
        }
    }

    #[test]
    fn the_scale_floor_adds_the_large_select_to_the_small_describe_when_the_cache_misses() {
        use crate::floor::Measure;
        use std::time::Duration;
        let mut s = Scale::default();
        // 10 µs a Describe at the small size, 25 µs at the large one.
        s.small.insert((Op::Describe, 32), run_at(100_000.0, 1.0));
        s.large.insert((Op::Describe, 32), run_at(40_000.0, 1.0));
        assert_eq!(s.describe_cpu_ratios(32), None, "no floor measured");
        let select = |us: u64| Measure { ops: 1000, cpu: Duration::from_micros(us * 1000), wall: Duration::from_secs(1) };
        s.floor = Some(ScaleFloor { small: select(2), large: select(8), large_distinct: 32_000 });
        let (cpu, floor) = s.describe_cpu_ratios(32).unwrap();
        assert!((cpu - 2.5).abs() < 1e-9, "{cpu}");
        // (10 + 8) / 10: the small size's SELECT is not in it, its cache answered there.
        assert!((floor.unwrap() - 1.8).abs() < 1e-9, "{floor:?}");
        assert!(s.describe_cpu_text(32).unwrap().contains("floor 1.80x"));
        assert_eq!(s.describe_cpu_ratios(1), None, "no run at that many connections");
        // Describes that the cache can hold all run no SELECT: no floor.
        s.floor = Some(ScaleFloor { small: select(2), large: select(8), large_distinct: 4000 });
        assert_eq!(s.describe_cpu_ratios(32).unwrap().1, None);
        assert!(s.describe_cpu_text(32).unwrap().contains("no floor: the 4,000 endpoints read are not twice the cache's 8,192"));
        // Just past the cache, about half the Describes would still hit it: no floor either.
        s.floor = Some(ScaleFloor { small: select(2), large: select(8), large_distinct: 9000 });
        assert_eq!(s.describe_cpu_ratios(32).unwrap().1, None);
    }
}
