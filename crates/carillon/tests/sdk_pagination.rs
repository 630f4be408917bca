//! Seek pagination at scale through aws-sdk-chimesdkidentity: 10,000 users listed with every page
//! size from 1 to 50 come back exactly once, in creation order, also while users are created and
//! deleted between pages; tokens are bound to their list.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails by panicking

use aws_sdk_chimesdkidentity::Client;
use carillon_testing::{TestServer, error_of};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

const USERS: usize = 10_000;

async fn create_users(c: &Client, instance: &str, prefix: &str, n: usize) -> Vec<String> {
    let c = Arc::new(c.clone());
    let mut tasks = Vec::new();
    let per = n.div_ceil(16);
    for w in 0..16 {
        let (c, instance, prefix) = (c.clone(), instance.to_string(), prefix.to_string());
        tasks.push(tokio::spawn(async move {
            let mut out = Vec::new();
            for i in (w * per)..((w + 1) * per).min(n) {
                let r = c
                    .create_app_instance_user()
                    .app_instance_arn(&instance)
                    .app_instance_user_id(format!("{prefix}{i:05}"))
                    .name("n")
                    .send()
                    .await
                    .unwrap();
                out.push(r.app_instance_user_arn().unwrap().to_string());
            }
            out
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all
}

async fn list_all(c: &Client, instance: &str, page: i32) -> Vec<String> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let r = c.list_app_instance_users().app_instance_arn(instance).max_results(page).set_next_token(token).send().await.unwrap();
        assert!(r.app_instance_users().len() <= page as usize);
        out.extend(r.app_instance_users().iter().map(|u| u.app_instance_user_arn().unwrap().to_string()));
        token = r.next_token().map(str::to_string);
        if token.is_none() {
            return out;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_thousand_users_with_every_page_size() {
    let server = TestServer::start();
    let (c, _) = server.client();
    let instance = c.create_app_instance().name("big").send().await.unwrap().app_instance_arn().unwrap().to_string();
    let created: HashSet<String> = create_users(&c, &instance, "user-", USERS).await.into_iter().collect();
    assert_eq!(created.len(), USERS);

    // Creation order is the order the server assigned; take it from one full listing and check
    // every page size against it.
    let reference = list_all(&c, &instance, 50).await;
    assert_eq!(reference.len(), USERS);
    assert_eq!(reference.iter().cloned().collect::<HashSet<_>>(), created);
    let reference = Arc::new(reference);
    let sizes: Vec<i32> = (1..=49).collect();
    let mut tasks = Vec::new();
    for chunk in sizes.chunks(7) {
        let (c, instance, reference, chunk) = (c.clone(), instance.clone(), reference.clone(), chunk.to_vec());
        tasks.push(tokio::spawn(async move {
            for page in chunk {
                let got = list_all(&c, &instance, page).await;
                assert_eq!(got.len(), USERS, "page size {page}");
                assert!(got == *reference, "page size {page} returns every user exactly once in creation order");
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
}

#[tokio::test]
async fn users_created_and_deleted_between_pages() {
    let server = TestServer::start();
    let (c, _) = server.client();
    let instance = c.create_app_instance().name("churn").send().await.unwrap().app_instance_arn().unwrap().to_string();
    let stable = create_users(&c, &instance, "stable-", 300).await;
    let doomed = create_users(&c, &instance, "doomed-", 100).await;
    let mut doomed = doomed.into_iter();
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let r = c.list_app_instance_users().app_instance_arn(&instance).max_results(7).set_next_token(token).send().await.unwrap();
        for u in r.app_instance_users() {
            *seen.entry(u.app_instance_user_arn().unwrap().to_string()).or_default() += 1;
        }
        pages += 1;
        // Between pages: delete a doomed user and create a new one.
        if let Some(d) = doomed.next() {
            c.delete_app_instance_user().app_instance_user_arn(&d).send().await.unwrap();
        }
        c.create_app_instance_user()
            .app_instance_arn(&instance)
            .app_instance_user_id(format!("late-{pages}"))
            .name("n")
            .send()
            .await
            .unwrap();
        token = r.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    for u in &stable {
        assert_eq!(seen.get(u), Some(&1), "{u} existed throughout and comes back exactly once");
    }
    assert!(seen.values().all(|&n| n == 1), "nothing is returned twice");
}

#[tokio::test]
async fn tokens_are_bound_to_their_list_and_tamper_evident() {
    let server = TestServer::start();
    let (c, account) = server.client();
    let a = c.create_app_instance().name("a").send().await.unwrap().app_instance_arn().unwrap().to_string();
    let b = c.create_app_instance().name("b").send().await.unwrap().app_instance_arn().unwrap().to_string();
    create_users(&c, &a, "u", 3).await;
    create_users(&c, &b, "u", 3).await;
    let page = c.list_app_instance_users().app_instance_arn(&a).max_results(1).send().await.unwrap();
    let token = page.next_token().unwrap().to_string();

    let mut forged = token.clone().into_bytes();
    let last = forged.len() - 2;
    forged[last] = if forged[last] == b'A' { b'B' } else { b'A' };
    let forged = String::from_utf8(forged).unwrap();
    let cases = [
        (a.clone(), forged),
        (a.clone(), token[..token.len() - 3].to_string()),
        (a.clone(), format!("{token}AAAA")),
        (a.clone(), "garbage!".to_string()),
        (b.clone(), token.clone()),
    ];
    for (instance, t) in cases {
        let err = c.list_app_instance_users().app_instance_arn(&instance).max_results(1).next_token(&t).send().await.unwrap_err();
        assert_eq!(error_of(&err), ("BadRequestException".into(), 400), "{t}");
    }
    // Another operation, or another caller, cannot use it either.
    let err = c.list_app_instance_bots().app_instance_arn(&a).next_token(&token).send().await.unwrap_err();
    assert_eq!(error_of(&err), ("BadRequestException".into(), 400));
    let other = server.client_for(&account, "us-west-2");
    let err = other.list_app_instances().next_token(&token).send().await.unwrap_err();
    assert_eq!(error_of(&err), ("BadRequestException".into(), 400));
    // The genuine token still works.
    let next = c.list_app_instance_users().app_instance_arn(&a).max_results(1).next_token(&token).send().await.unwrap();
    assert_eq!(next.app_instance_users().len(), 1);
}
