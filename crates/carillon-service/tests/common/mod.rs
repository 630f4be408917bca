//! The harness of this crate's tests: a service on a store of the test's own, the request context
//! of the test account, and helpers that make AppInstances, users, bots and admins through the
//! typed operations. With `CARILLON_TEST_BACKEND=postgres` (and `CARILLON_TEST_POSTGRES_URL`)
//! [`service`] runs on a fresh PostgreSQL database instead of an in-memory SQLite one.
#![allow(dead_code)] // each test file uses a part of the harness

use carillon_api::{ApiError, ChimeSdkIdentity, ErrorKind, RequestContext, shapes as id};
use carillon_service::{Clock, Quotas, Service};
use carillon_store::Store;
use carillon_store_postgres::PostgresStore;
use carillon_store_sqlite::{Location, SqliteStore};
use carillon_testing::PostgresDb;
use std::sync::Arc;

pub const ACCOUNT: &str = "111122223333";
pub const REGION: &str = "us-east-1";
pub const DAY_MS: i64 = 24 * 3600 * 1000;

/// A service on a store of the test's own; the database (on PostgreSQL) goes with it.
pub struct TestService {
    pub svc: Service,
    _db: Option<PostgresDb>,
}

impl std::ops::Deref for TestService {
    type Target = Service;
    fn deref(&self) -> &Service {
        &self.svc
    }
}

/// A service with the default quotas, on the backend the run asks for.
pub async fn service() -> TestService {
    service_with(Quotas::default()).await
}

/// A service with `quotas`, on the backend the run asks for.
pub async fn service_with(quotas: Quotas) -> TestService {
    let (store, db): (Arc<dyn Store>, _) = if PostgresDb::wanted() {
        let db = PostgresDb::fresh().unwrap();
        (Arc::new(PostgresStore::connect(db.url()).await.unwrap()), Some(db))
    } else {
        (Arc::new(SqliteStore::open(Location::Memory).unwrap()), None)
    };
    TestService { svc: Service::new(store, quotas, Clock::default()).await.unwrap(), _db: db }
}

/// A service with `quotas` on an in-memory SQLite store, whatever the backend the run asks for.
pub async fn memory_service(quotas: Quotas) -> Service {
    let store = SqliteStore::open(Location::Memory).unwrap();
    Service::new(Arc::new(store), quotas, Clock::default()).await.unwrap()
}

/// The context of a request of the test account.
pub fn ctx() -> RequestContext {
    ctx_of(ACCOUNT)
}

/// The context of a request of `account`, in the test region.
pub fn ctx_of(account: &str) -> RequestContext {
    RequestContext { account: account.into(), region: REGION.into(), request_id: "test".into() }
}

/// The kind of the error `r` must be.
pub fn kind<T: std::fmt::Debug>(r: Result<T, ApiError>) -> ErrorKind {
    match r {
        Err(e) => e.kind,
        Ok(v) => panic!("expected an error, got {v:?}"),
    }
}

/// An AppInstance named `name` (token `t-{name}`).
pub async fn instance(svc: &Service, name: &str) -> String {
    let input = id::CreateAppInstanceRequest { name: name.into(), metadata: None, client_request_token: format!("t-{name}"), tags: None };
    svc.create_app_instance(&ctx(), input).await.unwrap().app_instance_arn.unwrap()
}

/// The user `user_id` of `instance`, named `name of {user_id}`.
pub async fn user(svc: &Service, instance: &str, user_id: &str) -> String {
    let input = id::CreateAppInstanceUserRequest {
        app_instance_arn: instance.into(),
        app_instance_user_id: user_id.into(),
        name: format!("name of {user_id}"),
        metadata: None,
        client_request_token: format!("t-{user_id}"),
        tags: None,
        expiration_settings: None,
    };
    svc.create_app_instance_user(&ctx(), input).await.unwrap().app_instance_user_arn.unwrap()
}

/// A Lex bot of `instance`, created with the request token `token`.
pub async fn bot(svc: &Service, instance: &str, token: &str) -> String {
    let configuration = id::Configuration {
        lex: id::LexConfiguration {
            responds_to: None,
            invoked_by: None,
            lex_bot_alias_arn: format!("arn:aws:lex:{REGION}:{ACCOUNT}:bot-alias/BOT/ALIAS"),
            locale_id: "en_US".into(),
            welcome_intent: None,
        },
    };
    let input = id::CreateAppInstanceBotRequest {
        app_instance_arn: instance.into(),
        name: Some("the bot".into()),
        metadata: None,
        client_request_token: token.into(),
        tags: None,
        configuration,
    };
    svc.create_app_instance_bot(&ctx(), input).await.unwrap().app_instance_bot_arn.unwrap()
}

/// Promotes the user or bot `member` to AppInstanceAdmin of `instance`.
pub async fn make_admin(svc: &Service, instance: &str, member: &str) {
    let input = id::CreateAppInstanceAdminRequest { app_instance_admin_arn: member.into(), app_instance_arn: instance.into() };
    svc.create_app_instance_admin(&ctx(), input).await.unwrap();
}
