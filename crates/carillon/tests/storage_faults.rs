//! Storage faults under a running server: the disk filling up and the filesystem turning
//! read-only. Writes answer 503 ServiceUnavailableException, reads keep working, the health
//! endpoint says what it says (printed), and once the fault is gone writes work again, the
//! database passes `PRAGMA integrity_check` and every acknowledged write is there.
//!
//! These tests mount filesystems, so they need root; without it they print a line and skip.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails by panicking

mod common;

use aws_sdk_chimesdkidentity::Client;
use aws_sdk_chimesdkidentity::config::timeout::TimeoutConfig;
use aws_sdk_chimesdkidentity::error::SdkError;
use aws_sdk_chimesdkidentity::types::{AppInstanceUserEndpointType, EndpointAttributes, Tag};
use carillon_testing::{ServerProcess, client_config, error_of, fresh_account, pinpoint_arn, secret_of};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------------
// The server process.

fn start(db: &Path) -> ServerProcess {
    common::serve_sqlite(db).start().unwrap()
}

/// SIGTERM and the exit code.
fn stop(server: &mut ServerProcess) -> Option<i32> {
    server.terminate(Duration::from_secs(40)).unwrap()
}

fn client(url: &str, account: &str) -> Client {
    let timeouts = TimeoutConfig::builder().operation_timeout(Duration::from_secs(30)).build();
    Client::from_conf(client_config(url, account, &secret_of(account), "us-east-1").timeout_config(timeouts).build())
}

/// `GET /_carillon/health`: (status, body).
async fn health(url: &str) -> (u16, String) {
    carillon_testing::health(url).await
}

// ---------------------------------------------------------------------------------------------
// Mounts.

fn run(cmd: &str, args: &[&str]) -> Result<String, String> {
    let out = Command::new(cmd).args(args).output().map_err(|e| format!("{cmd}: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    } else {
        Err(format!(
            "{cmd} {}: {} {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout).trim(),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// A tmpfs of `size` mounted on a fresh directory; unmounted (lazily) on drop.
struct Tmpfs {
    dir: PathBuf,
    _holder: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(size: &str) -> Result<Tmpfs, String> {
        let holder = tempfile::Builder::new().prefix("carillon-faults-").tempdir().map_err(|e| e.to_string())?;
        let dir = holder.path().join("mnt");
        std::fs::create_dir(&dir).map_err(|e| e.to_string())?;
        run("mount", &["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs", dir.to_str().unwrap()])?;
        Ok(Tmpfs { dir, _holder: holder })
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = run("umount", &["-l", self.dir.to_str().unwrap()]);
    }
}

/// A journal-less ext4 on a loop device, mounted with errors=remount-ro: the kernel turns it
/// read-only on an error, as a real disk does. Unmounted and detached on drop.
struct Ext4 {
    dir: PathBuf,
    image: PathBuf,
    device: String,
    _holder: tempfile::TempDir,
}

impl Ext4 {
    fn mount() -> Result<Ext4, String> {
        let holder = tempfile::Builder::new().prefix("carillon-rofs-").tempdir().map_err(|e| e.to_string())?;
        let image = holder.path().join("fs.img");
        let dir = holder.path().join("mnt");
        std::fs::create_dir(&dir).map_err(|e| e.to_string())?;
        std::fs::File::create(&image).and_then(|f| f.set_len(32 << 20)).map_err(|e| e.to_string())?;
        run("mkfs.ext4", &["-q", "-F", "-O", "^has_journal", image.to_str().unwrap()])?;
        let device = run("losetup", &["-f", "--show", image.to_str().unwrap()])?;
        if let Err(e) = run("mount", &["-o", "errors=remount-ro", &device, dir.to_str().unwrap()]) {
            let _ = run("losetup", &["-d", &device]);
            return Err(e);
        }
        Ok(Ext4 { dir, image, device, _holder: holder })
    }

    fn sysfs(&self) -> PathBuf {
        PathBuf::from("/sys/fs/ext4").join(Path::new(&self.device).file_name().unwrap())
    }

    /// Makes the kernel see an error on the filesystem: with errors=remount-ro it turns read-only.
    fn fail(&self) -> Result<(), String> {
        std::fs::write(self.sysfs().join("trigger_fs_error"), "carillon storage_faults test\n")
            .map_err(|e| format!("trigger_fs_error: {e}"))
    }

    /// Unmounts, repairs and mounts read-write again (an emergency read-only ext4 comes back only so).
    fn remount_after_repair(&self) -> Result<(), String> {
        run("umount", &[self.dir.to_str().unwrap()])?;
        let _ = Command::new("e2fsck").args(["-f", "-y", "-q", self.image.to_str().unwrap()]).output();
        run("mount", &["-o", "errors=remount-ro", &self.device, self.dir.to_str().unwrap()]).map(|_| ())
    }
}

impl Drop for Ext4 {
    fn drop(&mut self) {
        let _ = run("umount", &["-l", self.dir.to_str().unwrap()]);
        let _ = run("losetup", &["-d", &self.device]);
    }
}

fn is_root() -> bool {
    run("id", &["-u"]).map(|u| u == "0").unwrap_or(false)
}

fn read_only(dir: &Path) -> bool {
    let mounts = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
    mounts.lines().any(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        f.len() > 3 && Path::new(f[1]) == dir && f[3].split(',').any(|o| o == "ro" || o == "emergency_ro")
    })
}

fn integrity_check(db: &Path) -> String {
    let out = Command::new("sqlite3").arg(db).arg("PRAGMA integrity_check;").output().expect("the sqlite3 command-line tool is installed");
    format!("{}{}", String::from_utf8_lossy(&out.stdout).trim(), String::from_utf8_lossy(&out.stderr).trim())
}

// ---------------------------------------------------------------------------------------------
// What was written.

#[derive(Debug, Clone, PartialEq)]
enum Answer {
    Ok,
    Status(u16, String),
    Unanswered(String),
}

fn answer_of<T, E: aws_sdk_chimesdkidentity::error::ProvideErrorMetadata + std::fmt::Debug>(
    r: &Result<T, SdkError<E, aws_sdk_chimesdkidentity::config::http::HttpResponse>>,
) -> Answer {
    match r {
        Ok(_) => Answer::Ok,
        Err(SdkError::ServiceError(se)) => Answer::Status(se.raw().status().as_u16(), se.err().code().unwrap_or_default().to_string()),
        Err(e) => Answer::Unanswered(format!("{e:?}").chars().take(200).collect()),
    }
}

fn is_503(a: &Answer) -> bool {
    matches!(a, Answer::Status(503, code) if code == "ServiceUnavailableException")
}

struct Ledger {
    account: String,
    instance: String,
    seq: usize,
    /// Users whose create was acknowledged, with their metadata.
    acked: Vec<(String, String)>,
    /// Users whose create answered 503.
    refused: Vec<String>,
    /// Endpoints acknowledged: (user, EndpointId, device token).
    endpoints: Vec<(String, String, String)>,
}

impl Ledger {
    async fn new(c: &Client, account: &str) -> Ledger {
        let instance = c.create_app_instance().name("faults").metadata("m").send().await.unwrap().app_instance_arn().unwrap().to_string();
        Ledger { account: account.to_string(), instance, seq: 0, acked: Vec::new(), refused: Vec::new(), endpoints: Vec::new() }
    }

    /// Creates a user with a large metadata and a tag; records the outcome.
    async fn create_user(&mut self, c: &Client) -> Answer {
        self.seq += 1;
        let id = format!("user-{}", self.seq);
        let metadata = format!("{id} {}", "x".repeat(1000));
        let r = c
            .create_app_instance_user()
            .app_instance_arn(&self.instance)
            .app_instance_user_id(&id)
            .name(&id)
            .metadata(&metadata)
            .tags(Tag::builder().key("id").value(&id).build().unwrap())
            .send()
            .await;
        let a = answer_of(&r);
        let arn = format!("{}/user/{id}", self.instance);
        match &a {
            Answer::Ok => self.acked.push((arn, metadata)),
            x if is_503(x) => self.refused.push(arn),
            _ => {}
        }
        a
    }

    async fn register(&mut self, c: &Client, user: &str, n: usize) -> Answer {
        let token = format!("token-{n}-{}", "t".repeat(500));
        let r = c
            .register_app_instance_user_endpoint()
            .app_instance_user_arn(user)
            .name(format!("endpoint {n}"))
            .r#type(AppInstanceUserEndpointType::Gcm)
            .resource_arn(pinpoint_arn(&self.account, "us-east-1"))
            .endpoint_attributes(EndpointAttributes::builder().device_token(&token).build().unwrap())
            .send()
            .await;
        if let Ok(o) = &r {
            self.endpoints.push((user.to_string(), o.endpoint_id().unwrap().to_string(), token));
        }
        answer_of(&r)
    }

    /// Reads that must keep working whatever the disk does.
    async fn reads_work(&self, c: &Client) {
        c.describe_app_instance().app_instance_arn(&self.instance).send().await.expect("DescribeAppInstance works during the fault");
        c.list_app_instance_users().app_instance_arn(&self.instance).send().await.expect("ListAppInstanceUsers works during the fault");
        c.list_app_instances().send().await.expect("ListAppInstances works during the fault");
        if let Some((u, _)) = self.acked.first() {
            c.describe_app_instance_user().app_instance_user_arn(u).send().await.expect("DescribeAppInstanceUser works during the fault");
            c.list_app_instance_user_endpoints()
                .app_instance_user_arn(u)
                .send()
                .await
                .expect("ListAppInstanceUserEndpoints works during the fault");
        }
        if let Some((u, e, _)) = self.endpoints.first() {
            c.describe_app_instance_user_endpoint()
                .app_instance_user_arn(u)
                .endpoint_id(e)
                .send()
                .await
                .expect("DescribeAppInstanceUserEndpoint works");
        }
    }

    /// Every acknowledged write is there; every refused create left nothing half done.
    async fn verify(&self, c: &Client) {
        for (arn, metadata) in &self.acked {
            let u = c
                .describe_app_instance_user()
                .app_instance_user_arn(arn)
                .send()
                .await
                .unwrap_or_else(|e| panic!("acknowledged user {arn} is missing: {e:?}"));
            assert_eq!(u.app_instance_user().and_then(|u| u.metadata()), Some(metadata.as_str()), "{arn}");
            let tags = c.list_tags_for_resource().resource_arn(arn).send().await.unwrap();
            assert_eq!(tags.tags().len(), 1, "the tag of {arn}");
        }
        for (u, e, token) in &self.endpoints {
            let d = c
                .describe_app_instance_user_endpoint()
                .app_instance_user_arn(u)
                .endpoint_id(e)
                .send()
                .await
                .unwrap_or_else(|err| panic!("acknowledged endpoint {e} is missing: {err:?}"));
            assert_eq!(
                d.app_instance_user_endpoint().and_then(|x| x.endpoint_attributes()).map(|a| a.device_token()),
                Some(token.as_str())
            );
        }
        let mut refused_present = 0;
        for arn in &self.refused {
            match c.describe_app_instance_user().app_instance_user_arn(arn).send().await {
                Ok(_) => {
                    refused_present += 1;
                    let tags = c.list_tags_for_resource().resource_arn(arn).send().await.unwrap();
                    assert_eq!(tags.tags().len(), 1, "a user answered 503 is all or nothing: {arn}");
                }
                Err(e) => assert_eq!(error_of(&e).1, 404),
            }
        }
        println!(
            "verified {} acknowledged users and {} endpoints; {} of {} creates answered 503 exist",
            self.acked.len(),
            self.endpoints.len(),
            refused_present,
            self.refused.len()
        );
        assert_eq!(refused_present, 0, "a create answered 503 must not have happened");
    }
}

/// Writes until `n` in a row answer 503 (at most `limit` attempts). Every answer is 2xx or 503.
async fn write_until_refused(c: &Client, ledger: &mut Ledger, n: usize, limit: usize) -> (usize, usize) {
    let (mut ok, mut refused, mut streak) = (0, 0, 0);
    for _ in 0..limit {
        let a = ledger.create_user(c).await;
        match &a {
            Answer::Ok => {
                ok += 1;
                streak = 0;
            }
            x if is_503(x) => {
                refused += 1;
                streak += 1;
                if streak >= n {
                    break;
                }
            }
            other => panic!("a write on a full or read-only disk answers 2xx or 503 ServiceUnavailableException, not {other:?}"),
        }
    }
    (ok, refused)
}

/// Other kinds of writes during the fault: each answers 2xx or 503, never 500 or nothing.
async fn other_writes(c: &Client, ledger: &mut Ledger) -> Vec<(&'static str, Answer)> {
    let mut out = Vec::new();
    let user = ledger.acked.first().map(|(u, _)| u.clone()).unwrap();
    let a =
        c.update_app_instance_user().app_instance_user_arn(&user).name("renamed during the fault").metadata("y".repeat(1000)).send().await;
    out.push(("UpdateAppInstanceUser", answer_of(&a)));
    let a = ledger.register(c, &user, 900).await;
    out.push(("RegisterAppInstanceUserEndpoint", a));
    let a = c.create_app_instance().name("during the fault").send().await;
    out.push(("CreateAppInstance", answer_of(&a)));
    for (op, a) in &out {
        assert!(*a == Answer::Ok || is_503(a), "{op} during the fault answers 2xx or 503, not {a:?}");
    }
    // An update that succeeded changes the expectation of that user.
    if out[0].1 == Answer::Ok {
        ledger.acked[0].1 = "y".repeat(1000);
    }
    out
}

/// Seeds some data before the fault.
async fn seed(c: &Client, ledger: &mut Ledger) {
    for _ in 0..5 {
        assert_eq!(ledger.create_user(c).await, Answer::Ok);
    }
    let users: Vec<String> = ledger.acked.iter().map(|(u, _)| u.clone()).collect();
    for (i, u) in users.iter().enumerate() {
        assert_eq!(ledger.register(c, u, i).await, Answer::Ok);
    }
}

/// Fills the filesystem holding `dir` with a filler file; returns its path.
fn fill(dir: &Path) -> PathBuf {
    let path = dir.join("filler");
    let mut f = std::fs::File::create(&path).expect("create the filler");
    let chunk = vec![0xA5u8; 64 * 1024];
    while f.write_all(&chunk).is_ok() {}
    let small = vec![0x5Au8; 512];
    while f.write_all(&small).is_ok() {}
    let _ = f.sync_all();
    path
}

// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_refuses_writes_with_503_keeps_reads_and_recovers_without_restart() {
    if !is_root() {
        println!("skipped: mounting a tmpfs needs root, and this test is not running as root");
        return;
    }
    let fs = match Tmpfs::mount("8m") {
        Ok(m) => m,
        Err(e) => {
            println!("skipped: cannot mount a tmpfs here: {e}");
            return;
        }
    };
    let db = fs.dir.join("carillon.db");
    let mut server = start(&db);
    let account = fresh_account();
    let c = client(server.url(), &account);
    let mut ledger = Ledger::new(&c, &account).await;
    seed(&c, &mut ledger).await;
    assert_eq!(health(server.url()).await.0, 200);

    // The disk fills up.
    let filler = fill(&fs.dir);
    let (ok, refused) = write_until_refused(&c, &mut ledger, 5, 3000).await;
    println!("disk full: {ok} writes still fitted (in space SQLite already held), then {refused} answered 503");
    assert!(refused >= 5, "writes on a full disk answer 503 ServiceUnavailableException");
    let others = other_writes(&c, &mut ledger).await;
    println!("other writes on the full disk: {others:?}");
    ledger.reads_work(&c).await;
    let (status, body) = health(server.url()).await;
    println!("health while the disk is full: {status} {body}");
    assert_eq!(status, 503, "health says writes are failing: {body}");
    assert!(body.contains("\"writes\":\"failing\""), "{body}");

    // Space comes back: writes work again, with no restart.
    std::fs::remove_file(&filler).unwrap();
    let t = Instant::now();
    let mut first_ok = None;
    for attempt in 1..=50 {
        if ledger.create_user(&c).await == Answer::Ok {
            first_ok = Some(attempt);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    println!("space back: the first write succeeded at attempt {first_ok:?} after {:?}", t.elapsed());
    assert_eq!(first_ok, Some(1), "the first write after space returns succeeds");
    for _ in 0..20 {
        assert_eq!(ledger.create_user(&c).await, Answer::Ok, "writes keep working once space is back");
    }
    let users: Vec<String> = ledger.acked.iter().map(|(u, _)| u.clone()).collect();
    assert_eq!(ledger.register(&c, users.last().unwrap(), 1000).await, Answer::Ok);
    assert_eq!(health(server.url()).await.0, 200, "health is ok once space is back");

    // Again, with concurrent writers (group commits) while the disk fills up under them.
    let mut writers = Vec::new();
    for _ in 0..6 {
        let c = c.clone();
        let mut l = Ledger::new(&c, &account).await;
        writers.push(tokio::spawn(async move {
            let (ok, refused) = write_until_refused(&c, &mut l, 3, 4000).await;
            (l, ok, refused)
        }));
    }
    let dir = fs.dir.clone();
    let filler = tokio::task::spawn_blocking(move || fill(&dir)).await.unwrap();
    let mut ledgers = Vec::new();
    for w in writers {
        let (l, ok, refused) = w.await.unwrap();
        println!("concurrent writer: {ok} acknowledged, {refused} answered 503 as the disk filled");
        assert!(refused >= 3);
        ledgers.push(l);
    }
    ledger.reads_work(&c).await;
    std::fs::remove_file(&filler).unwrap();
    for l in &mut ledgers {
        assert_eq!(l.create_user(&c).await, Answer::Ok, "writes work again once space is back");
    }

    // A clean stop, an intact database, and everything acknowledged there after a restart.
    assert_eq!(stop(&mut server), Some(0), "a clean stop after the fault exits 0");
    assert_eq!(integrity_check(&db), "ok");
    let mut server = start(&db);
    let c = client(server.url(), &account);
    ledger.verify(&c).await;
    for l in &ledgers {
        l.verify(&c).await;
    }
    assert_eq!(stop(&mut server), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_filesystem_refuses_writes_with_503_keeps_reads_and_recovers() {
    if !is_root() {
        println!("skipped: mounting filesystems needs root, and this test is not running as root");
        return;
    }
    // First as asked: `mount -o remount,ro` of the filesystem under a running server.
    let fs = match Tmpfs::mount("16m") {
        Ok(m) => m,
        Err(e) => {
            println!("skipped: cannot mount a tmpfs here: {e}");
            return;
        }
    };
    let db = fs.dir.join("carillon.db");
    let mut server = start(&db);
    let account = fresh_account();
    let c = client(server.url(), &account);
    let mut ledger = Ledger::new(&c, &account).await;
    seed(&c, &mut ledger).await;
    match run("mount", &["-o", "remount,ro", fs.dir.to_str().unwrap()]) {
        Ok(_) => {
            assert!(read_only(&fs.dir));
            check_read_only_phase(server.url(), &c, &mut ledger, "remount,ro").await;
            run("mount", &["-o", "remount,rw", fs.dir.to_str().unwrap()]).expect("remount,rw");
            // Back read-write, no restart: writes work again.
            let mut first_ok = None;
            for attempt in 1..=50 {
                if ledger.create_user(&c).await == Answer::Ok {
                    first_ok = Some(attempt);
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            assert_eq!(first_ok, Some(1), "the first write after remount,rw succeeds");
            for _ in 0..10 {
                assert_eq!(ledger.create_user(&c).await, Answer::Ok);
            }
            assert_eq!(stop(&mut server), Some(0));
            assert_eq!(integrity_check(&db), "ok");
            let mut server = start(&db);
            ledger.verify(&client(server.url(), &account)).await;
            assert_eq!(stop(&mut server), Some(0));
            return;
        }
        Err(e) => {
            // Linux refuses to make a filesystem read-only while files on it are open for writing,
            // and SQLite keeps the database and its WAL open for writing: EBUSY.
            println!(
                "`mount -o remount,ro` under the running server is refused by the kernel ({e}); a running filesystem turns read-only only by the kernel's emergency remount, which is what the rest of this test does"
            );
            assert_eq!(stop(&mut server), Some(0));
            ledger.verify(&client(start(&db).url(), &account)).await;
        }
    }
    drop(server);

    // A filesystem the kernel turns read-only under the server (ext4, errors=remount-ro).
    let fs = match Ext4::mount() {
        Ok(m) => m,
        Err(e) => {
            println!("skipped the emergency read-only part: cannot make a loop-mounted ext4 here: {e}");
            return;
        }
    };
    let db = fs.dir.join("carillon.db");
    let mut server = start(&db);
    let account = fresh_account();
    let c = client(server.url(), &account);
    let mut ledger = Ledger::new(&c, &account).await;
    seed(&c, &mut ledger).await;
    if let Err(e) = fs.fail() {
        println!("skipped the emergency read-only part: {e}");
        return;
    }
    assert!(read_only(&fs.dir), "the filesystem is read-only after the error");
    check_read_only_phase(server.url(), &c, &mut ledger, "emergency read-only").await;
    // An emergency read-only ext4 comes back read-write only through an unmount, so the server
    // stops (cleanly: exit 0) and starts again.
    let code = stop(&mut server);
    println!("server stopped on the read-only filesystem with exit code {code:?}; its log: {:?}", server.log());
    assert_eq!(code, Some(0), "a SIGTERM'd server exits 0 even when its filesystem went read-only");
    drop(server);
    fs.remount_after_repair().expect("repair and mount read-write again");
    assert_eq!(integrity_check(&db), "ok");
    let mut server = start(&db);
    let c = client(server.url(), &account);
    for _ in 0..10 {
        assert_eq!(ledger.create_user(&c).await, Answer::Ok, "writes work once the filesystem is read-write again");
    }
    ledger.verify(&c).await;
    assert_eq!(stop(&mut server), Some(0));
    assert_eq!(integrity_check(&db), "ok");
}

/// While the filesystem is read-only: writes 503, reads 200, health printed.
async fn check_read_only_phase(url: &str, c: &Client, ledger: &mut Ledger, how: &str) {
    let (ok, refused) = write_until_refused(c, ledger, 5, 50).await;
    println!("{how}: {ok} writes succeeded, {refused} answered 503");
    assert_eq!(ok, 0, "no write succeeds on a read-only filesystem");
    assert!(refused >= 5, "writes on a read-only filesystem answer 503 ServiceUnavailableException");
    let others = other_writes(c, ledger).await;
    println!("{how}: other writes: {others:?}");
    assert!(others.iter().all(|(_, a)| is_503(a)), "every write on a read-only filesystem answers 503");
    ledger.reads_work(c).await;
    let (status, body) = health(url).await;
    println!("{how}: health {status} {body}");
    assert_eq!(status, 503, "health says writes are failing: {body}");
    assert!(body.contains("\"writes\":\"failing\""), "{body}");
}
