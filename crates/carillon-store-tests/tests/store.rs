//! The storage test suite: every test below runs against each backend, through the `Store` trait
//! only. See the crate's documentation for the backends and `CARILLON_TEST_POSTGRES_URL`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails by panicking

use carillon_store::*;
use carillon_store_tests::*;
use std::sync::Arc;
use std::time::Duration;

/// Declares, in module `$module`, one `#[tokio::test]` per test function of the suite (and per
/// extra function named), each on a backend opened by `$open`.
macro_rules! backend_suite {
    ($module:ident, $open:path, [$($extra:ident),* $(,)?]) => {
        mod $module {
            backend_suite!(@tests $open;
                app_instance_crud,
                user_crud,
                bot_crud,
                admin_crud,
                endpoint_crud,
                idempotency_records,
                expired_users_oldest_first,
                app_instance_lists_seek_by_seq,
                child_lists_seek_by_seq,
                counts_follow_inserts_and_deletes,
                user_counts_follow_every_way_users_go,
                delete_app_instance_cascades,
                delete_user_cascades,
                delete_bot_cascades,
                duplicate_user_arn_conflicts,
                duplicate_endpoint_conflicts,
                conflict_leaves_the_transaction_usable,
                caller_error_rolls_back,
                store_error_rolls_back,
                one_statement_writes,
                one_statement_reads,
                one_statement_reads_of_an_endpoint_follow_every_write,
                one_statement_reads_are_linearizable_under_load,
                tags_keep_first_set_order,
                token_secret_is_32_stable_bytes,
                reads_see_committed_writes,
                panics_become_internal_errors,
                concurrent_quota_holds,
                concurrent_quota_holds_when_errors_are_swallowed,
                check_kind_and_close,
                every_text_round_trips,
                detached_instances_children_are_never_found,
                detached_user_made_again_starts_empty,
                reset_is_scoped_and_counts_what_it_deleted,
                reset_takes_pending_purges_with_it,
                commits_are_observed_with_their_batches,
                channel_crud,
                expired_channels_oldest_first,
                channel_counts_follow_every_way_channels_go,
                channel_lists_seek_and_filter_by_privacy,
                membership_crud_and_lists,
                delete_member_everywhere_takes_memberships_and_moderator_roles,
                moderator_crud,
                message_crud_and_redaction,
                message_lists_both_directions,
                delete_messages_before_is_scoped_and_limited,
                delete_channel_cascades,
                messaging_rows_go_with_their_app_instance,
                messaging_texts_round_trip,
                channel_flow_crud_and_lists,
                channel_flow_associations,
                streaming_configurations_replace_and_delete,
                flows_and_streaming_go_with_their_app_instance,
                push_outbox_filters_and_keeps_the_newest,
                push_failure_markers_replace_and_match,
                push_rows_go_with_their_reset_scope,
                push_entries_keep_the_ids_they_are_given,
            );
            backend_suite!(@tests $open; $($extra),*);
        }
    };
    (@tests $open:path; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() {
                if let Some(backend) = $open(stringify!($name)).await {
                    let kind = backend.kind;
                    super::$name(backend).await;
                    carillon_store_tests::passed(kind, stringify!($name));
                }
            }
        )*
    };
}

backend_suite!(
    sqlite_file,
    carillon_store_tests::Backend::sqlite_file,
    [
        writes_inside_reads_fail,
        reads_after_close_are_unavailable,
        data_survives_reopen,
        token_secret_survives_reopen,
        second_open_is_unavailable,
        unknown_enum_values_are_internal_errors,
        messaging_unknown_enum_values_are_internal_errors,
        purge_resumes_after_reopen,
        reset_of_ten_thousand_resources,
        one_statement_reads_refuse_a_second_statement,
    ]
);
backend_suite!(sqlite_memory, carillon_store_tests::Backend::sqlite_memory, [writes_inside_reads_fail]);
backend_suite!(
    postgres,
    carillon_store_tests::Backend::postgres,
    [
        writes_inside_reads_fail,
        reads_after_close_are_unavailable,
        data_survives_reopen,
        token_secret_survives_reopen,
        concurrent_starts_migrate_once,
        recovers_when_sessions_are_killed,
        fails_fast_while_the_server_hangs,
        debug_output_hides_the_password,
        text_escape_migration_keeps_older_texts,
        unknown_enum_values_are_internal_errors,
        messaging_unknown_enum_values_are_internal_errors,
        purge_resumes_after_reopen,
        purges_raced_by_two_nodes_leave_nothing,
        one_statement_writes_refuse_a_second_statement,
        one_statement_reads_refuse_a_second_statement,
    ]
);

fn is_conflict<T: std::fmt::Debug>(r: &StoreResult<T>) -> bool {
    matches!(r, Err(StoreError::Conflict(_)))
}

// ---------------------------------------------------------------------------------------------
// Records: insert, get, update, delete

async fn app_instance_crud(b: Backend) {
    let s = b.store();
    let mut a = app_instance("a");
    a.metadata = Some(String::new());
    a.created_ms = i64::MAX;
    let inserted = a.clone();
    w(s, move |tx| tx.insert_app_instance(&inserted)).await.unwrap();

    let arn = a.arn.clone();
    let got = r(s, move |tx| tx.get_app_instance(&arn)).await.unwrap().expect("inserted");
    assert!(got.seq > 0, "the store assigns seq");
    assert_eq!(got, AppInstanceRecord { seq: got.seq, ..a.clone() });

    let mut changed = got.clone();
    changed.name = "renamed".into();
    changed.metadata = Some("m2".into());
    changed.updated_ms = 1_800_000_000_000;
    let update = AppInstanceUpdate {
        name: Some("renamed".into()),
        metadata: Some("m2".into()),
        retention: None,
        touched_ms: Some(1_800_000_000_000),
    };
    let arn = a.arn.clone();
    assert!(w(s, move |tx| tx.update_app_instance(&arn, &update)).await.unwrap());
    let arn = a.arn.clone();
    assert_eq!(r(s, move |tx| tx.get_app_instance(&arn)).await.unwrap(), Some(changed.clone()));

    // Retention alone: the other members and updated_ms stay.
    changed.retention_days = Some(30);
    changed.retention_set_ms = Some(1_800_000_000_005);
    let update = AppInstanceUpdate { retention: Some(Retention { days: Some(30), set_ms: 1_800_000_000_005 }), ..Default::default() };
    let arn = a.arn.clone();
    assert!(w(s, move |tx| tx.update_app_instance(&arn, &update)).await.unwrap());
    let arn = a.arn.clone();
    assert_eq!(r(s, move |tx| tx.get_app_instance(&arn)).await.unwrap(), Some(changed.clone()));

    // Retention turned off after being set; a touch at an earlier time still moves updated_ms on.
    let mut off = changed.clone();
    off.retention_days = None;
    off.retention_set_ms = Some(1_800_000_000_009);
    off.updated_ms = changed.updated_ms + 1;
    let update = AppInstanceUpdate {
        retention: Some(Retention { days: None, set_ms: 1_800_000_000_009 }),
        touched_ms: Some(5),
        ..Default::default()
    };
    let arn = a.arn.clone();
    assert!(w(s, move |tx| tx.update_app_instance(&arn, &update)).await.unwrap());
    let arn = a.arn.clone();
    assert_eq!(r(s, move |tx| tx.get_app_instance(&arn)).await.unwrap(), Some(off));
    assert!(!w(s, move |tx| tx.update_app_instance("arn:none", &AppInstanceUpdate::default())).await.unwrap(), "no such row");

    let arn = a.arn.clone();
    assert!(w(s, move |tx| tx.delete_app_instance(&arn)).await.unwrap());
    let arn = a.arn.clone();
    assert_eq!(r(s, move |tx| tx.get_app_instance(&arn)).await.unwrap(), None);
    let arn = a.arn.clone();
    assert!(!w(s, move |tx| tx.delete_app_instance(&arn)).await.unwrap(), "deleting twice finds nothing");
}

async fn user_crud(b: Backend) {
    let s = b.store();
    let a = app_instance("a");
    let mut u = user(&a, "alice");
    u.metadata = Some("ünïcode ✓ 'quotes' \"double\"".into());
    u.expiration_days = Some(7);
    u.expiration_criterion = Some(ExpirationCriterion::CreatedTimestamp);
    u.expires_at_ms = Some(1_700_604_800_001);
    let (ia, iu) = (a.clone(), u.clone());
    w(s, move |tx| {
        tx.insert_app_instance(&ia)?;
        tx.insert_user(&iu)
    })
    .await
    .unwrap();

    let arn = u.arn.clone();
    let got = r(s, move |tx| tx.get_user(&arn)).await.unwrap().expect("inserted");
    assert!(got.seq > 0);
    assert_eq!(got, UserRecord { seq: got.seq, ..u.clone() });

    // Name and metadata: the expiration stays.
    let mut changed = got.clone();
    changed.name = "Alice".into();
    changed.metadata = Some(String::new());
    changed.updated_ms += 10;
    let update =
        UserUpdate { name: Some("Alice".into()), metadata: Some(String::new()), expiration: None, touched_ms: Some(changed.updated_ms) };
    let arn = u.arn.clone();
    assert!(w(s, move |tx| tx.update_user(&arn, &update)).await.unwrap());
    let arn = u.arn.clone();
    assert_eq!(r(s, move |tx| tx.get_user(&arn)).await.unwrap(), Some(changed.clone()));

    // Expiration set anew, then removed: name and metadata stay.
    changed.expiration_days = Some(9);
    changed.expires_at_ms = Some(1_700_777_600_001);
    changed.updated_ms += 1;
    let e = Expiration { days: 9, criterion: ExpirationCriterion::CreatedTimestamp, expires_at_ms: 1_700_777_600_001 };
    let update = UserUpdate { expiration: Some(Some(e)), touched_ms: Some(changed.updated_ms - 1), ..Default::default() };
    let arn = u.arn.clone();
    assert!(w(s, move |tx| tx.update_user(&arn, &update)).await.unwrap());
    let arn = u.arn.clone();
    assert_eq!(r(s, move |tx| tx.get_user(&arn)).await.unwrap(), Some(changed.clone()));
    changed.expiration_days = None;
    changed.expiration_criterion = None;
    changed.expires_at_ms = None;
    let arn = u.arn.clone();
    let update = UserUpdate { expiration: Some(None), ..Default::default() };
    assert!(w(s, move |tx| tx.update_user(&arn, &update)).await.unwrap());
    let arn = u.arn.clone();
    assert_eq!(r(s, move |tx| tx.get_user(&arn)).await.unwrap(), Some(changed));

    let arn = u.arn.clone();
    assert!(w(s, move |tx| tx.delete_user(&arn)).await.unwrap());
    let arn = u.arn.clone();
    assert_eq!(r(s, move |tx| tx.get_user(&arn)).await.unwrap(), None);
    let arn = u.arn.clone();
    assert!(!w(s, move |tx| tx.delete_user(&arn)).await.unwrap());
    let arn = a.arn.clone();
    assert!(r(s, move |tx| tx.get_app_instance(&arn)).await.unwrap().is_some(), "the instance stays");
}

async fn bot_crud(b: Backend) {
    let s = b.store();
    let a = app_instance("a");
    let mut bt = bot(&a, "helper");
    bt.name = None;
    bt.metadata = Some("m".into());
    let (ia, ib) = (a.clone(), bt.clone());
    w(s, move |tx| {
        tx.insert_app_instance(&ia)?;
        tx.insert_bot(&ib)
    })
    .await
    .unwrap();

    let arn = bt.arn.clone();
    let got = r(s, move |tx| tx.get_bot(&arn)).await.unwrap().expect("inserted");
    assert!(got.seq > 0);
    assert_eq!(got, BotRecord { seq: got.seq, ..bt.clone() });

    let mut changed = got.clone();
    changed.name = Some("Helper".into());
    changed.metadata = Some(String::new());
    changed.configuration = r#"{"Lex":{"RespondsTo":"STANDARD_MESSAGES","LexBotAliasArn":"x"}}"#.into();
    changed.updated_ms += 1;
    let update = BotUpdate {
        name: changed.name.clone(),
        metadata: changed.metadata.clone(),
        configuration: Some(changed.configuration.clone()),
        touched_ms: Some(0),
    };
    let arn = bt.arn.clone();
    assert!(w(s, move |tx| tx.update_bot(&arn, &update)).await.unwrap());
    let arn = bt.arn.clone();
    assert_eq!(r(s, move |tx| tx.get_bot(&arn)).await.unwrap(), Some(changed.clone()));
    // Without a configuration, the configuration stays.
    changed.name = Some("Other".into());
    changed.updated_ms = 1_900_000_000_000;
    let update = BotUpdate { name: changed.name.clone(), touched_ms: Some(1_900_000_000_000), ..Default::default() };
    let arn = bt.arn.clone();
    assert!(w(s, move |tx| tx.update_bot(&arn, &update)).await.unwrap());
    let arn = bt.arn.clone();
    assert_eq!(r(s, move |tx| tx.get_bot(&arn)).await.unwrap(), Some(changed));

    let arn = bt.arn.clone();
    assert!(w(s, move |tx| tx.delete_bot(&arn)).await.unwrap());
    let arn = bt.arn.clone();
    assert_eq!(r(s, move |tx| tx.get_bot(&arn)).await.unwrap(), None);
    let arn = bt.arn.clone();
    assert!(!w(s, move |tx| tx.delete_bot(&arn)).await.unwrap());
}

async fn admin_crud(b: Backend) {
    let s = b.store();
    let a = app_instance("a");
    let u = user(&a, "alice");
    let ad = admin(&a, &u.arn);
    let (ia, iu, iad) = (a.clone(), u.clone(), ad.clone());
    w(s, move |tx| {
        tx.insert_app_instance(&ia)?;
        tx.insert_user(&iu)?;
        tx.insert_admin(&iad)
    })
    .await
    .unwrap();

    let (arn, member) = (a.arn.clone(), u.arn.clone());
    let got = r(s, move |tx| tx.get_admin(&arn, &member)).await.unwrap().expect("inserted");
    assert!(got.seq > 0);
    assert_eq!(got, AdminRecord { seq: got.seq, ..ad.clone() });
    let arn = a.arn.clone();
    assert_eq!(r(s, move |tx| tx.get_admin(&arn, "arn:nobody")).await.unwrap(), None);

    let again = ad.clone();
    assert!(is_conflict(&w(s, move |tx| tx.insert_admin(&again)).await), "one role per member");

    let (arn, member) = (a.arn.clone(), u.arn.clone());
    assert!(w(s, move |tx| tx.delete_admin(&arn, &member)).await.unwrap());
    let (arn, member) = (a.arn.clone(), u.arn.clone());
    assert_eq!(r(s, move |tx| tx.get_admin(&arn, &member)).await.unwrap(), None);
    let (arn, member) = (a.arn.clone(), u.arn.clone());
    assert!(!w(s, move |tx| tx.delete_admin(&arn, &member)).await.unwrap());
    let member = u.arn.clone();
    assert!(r(s, move |tx| tx.get_user(&member)).await.unwrap().is_some(), "the user stays");
}

async fn endpoint_crud(b: Backend) {
    let s = b.store();
    let a = app_instance("a");
    let u = user(&a, "alice");
    let mut e = endpoint(&u, "e1", "token-1");
    e.voip_device_token = Some("voip-1".into());
    let (ia, iu, ie) = (a.clone(), u.clone(), e.clone());
    w(s, move |tx| {
        tx.insert_app_instance(&ia)?;
        tx.insert_user(&iu)?;
        tx.insert_endpoint(&ie)
    })
    .await
    .unwrap();

    let (user_arn, id) = (u.arn.clone(), e.endpoint_id.clone());
    let got = r(s, move |tx| tx.get_endpoint(&user_arn, &id)).await.unwrap().expect("inserted");
    assert!(got.seq > 0);
    assert_eq!(got, EndpointRecord { seq: got.seq, ..e.clone() });

    let user_arn = u.arn.clone();
    let found =
        r(s, move |tx| Ok((tx.endpoint_with_device_token(&user_arn, "token-1")?, tx.endpoint_with_device_token(&user_arn, "nope")?)))
            .await
            .unwrap();
    assert_eq!(found, (Some("e1".to_string()), None));

    // One member at a time: each leaves the others as they are.
    let mut changed = got.clone();
    let steps = [
        EndpointUpdate { name: Some(String::new()), touched_ms: Some(1), ..Default::default() },
        EndpointUpdate { allow_messages: Some(AllowMessages::None), ..Default::default() },
        EndpointUpdate {
            state: Some((EndpointStatus::Inactive, Some(EndpointStatusReason::InvalidDeviceToken))),
            touched_ms: Some(1_900_000_000_000),
            ..Default::default()
        },
        EndpointUpdate { state: Some((EndpointStatus::Active, None)), ..Default::default() },
    ];
    for (i, step) in steps.into_iter().enumerate() {
        match i {
            0 => {
                changed.name = Some(String::new());
                changed.updated_ms += 1;
            }
            1 => changed.allow_messages = AllowMessages::None,
            2 => {
                changed.status = EndpointStatus::Inactive;
                changed.status_reason = Some(EndpointStatusReason::InvalidDeviceToken);
                changed.updated_ms = 1_900_000_000_000;
            }
            _ => {
                changed.status = EndpointStatus::Active;
                changed.status_reason = None;
            }
        }
        let (user_arn, id) = (u.arn.clone(), e.endpoint_id.clone());
        assert!(w(s, move |tx| tx.update_endpoint(&user_arn, &id, &step)).await.unwrap());
        let (user_arn, id) = (u.arn.clone(), e.endpoint_id.clone());
        assert_eq!(r(s, move |tx| tx.get_endpoint(&user_arn, &id)).await.unwrap(), Some(changed.clone()), "step {i}");
    }
    let user_arn = u.arn.clone();
    assert!(!w(s, move |tx| tx.update_endpoint(&user_arn, "nope", &EndpointUpdate::default())).await.unwrap(), "no such endpoint");

    let (user_arn, id) = (u.arn.clone(), e.endpoint_id.clone());
    assert!(w(s, move |tx| tx.delete_endpoint(&user_arn, &id)).await.unwrap());
    let (user_arn, id) = (u.arn.clone(), e.endpoint_id.clone());
    assert_eq!(r(s, move |tx| tx.get_endpoint(&user_arn, &id)).await.unwrap(), None);
    let (user_arn, id) = (u.arn.clone(), e.endpoint_id.clone());
    assert!(!w(s, move |tx| tx.delete_endpoint(&user_arn, &id)).await.unwrap());
    let user_arn = u.arn.clone();
    assert_eq!(r(s, move |tx| tx.endpoint_with_device_token(&user_arn, "token-1")).await.unwrap(), None);
}

async fn idempotency_records(b: Backend) {
    let s = b.store();
    let a = app_instance("a");
    let key = idempotency_key("CreateAppInstance", "token-1");
    let rec = idempotency(&a.arn, &a.arn);
    let (k, v) = (key.clone(), rec.clone());
    w(s, move |tx| tx.put_idempotency(&k, &v)).await.unwrap();

    let k = key.clone();
    assert_eq!(r(s, move |tx| tx.get_idempotency(&k)).await.unwrap(), Some(rec.clone()));
    // Every part of the key counts.
    for other in [
        IdempotencyKey { account: "000000000000".into(), ..key.clone() },
        IdempotencyKey { region: "eu-west-1".into(), ..key.clone() },
        IdempotencyKey { operation: "CreateAppInstanceUser".into(), ..key.clone() },
        IdempotencyKey { token: "token-2".into(), ..key.clone() },
    ] {
        assert_eq!(r(s, move |tx| tx.get_idempotency(&other)).await.unwrap(), None);
    }
    // A record put again for the same key replaces the first (whose resource is gone).
    let u = user(&a, "alice");
    let mut replacement = idempotency(&u.arn, &a.arn);
    replacement.fingerprint = "another fingerprint".into();
    replacement.response = "another response".into();
    replacement.created_ms += 1;
    let (k, v) = (key.clone(), replacement.clone());
    w(s, move |tx| tx.put_idempotency(&k, &v)).await.unwrap();
    let k = key.clone();
    assert_eq!(r(s, move |tx| tx.get_idempotency(&k)).await.unwrap(), Some(replacement));
    // And the record goes with its new resource, not its old one.
    let arn = a.arn.clone();
    w(s, move |tx| tx.put_idempotency(&idempotency_key("Other", "t"), &idempotency(&arn, &arn))).await.unwrap();
    let arn = u.arn.clone();
    w(s, move |tx| tx.delete_user(&arn)).await.unwrap();
    let k = key.clone();
    let state = r(s, move |tx| Ok((tx.get_idempotency(&k)?, tx.get_idempotency(&idempotency_key("Other", "t"))?.is_some()))).await.unwrap();
    assert_eq!(state, (None, true));
}

async fn expired_users_oldest_first(b: Backend) {
    let s = b.store();
    let a = app_instance("a");
    let mut users = Vec::new();
    for (id, expires) in [("u1", Some(300)), ("u2", None), ("u3", Some(100)), ("u4", Some(200)), ("u5", Some(1_000))] {
        let mut u = user(&a, id);
        u.expires_at_ms = expires;
        users.push(u);
    }
    let (ia, iu) = (a.clone(), users.clone());
    w(s, move |tx| {
        tx.insert_app_instance(&ia)?;
        iu.iter().try_for_each(|u| tx.insert_user(u))
    })
    .await
    .unwrap();
    let arn = |id: &str| format!("{}/user/{id}", a.arn);
    assert_eq!(r(s, |tx| tx.expired_users(300, 10)).await.unwrap(), vec![arn("u3"), arn("u4"), arn("u1")]);
    assert_eq!(r(s, |tx| tx.expired_users(300, 2)).await.unwrap(), vec![arn("u3"), arn("u4")]);
    assert_eq!(r(s, |tx| tx.expired_users(99, 10)).await.unwrap(), Vec::<String>::new());
}

// ---------------------------------------------------------------------------------------------
// Lists and counts

async fn app_instance_lists_seek_by_seq(b: Backend) {
    let s = b.store();
    // Interleave other scopes, so that the scope's own seqs have gaps.
    let mut mine = Vec::new();
    for i in 0..7 {
        let a = app_instance(&format!("mine-{i}"));
        let mut other_account = app_instance(&format!("other-account-{i}"));
        other_account.account = "000000000000".into();
        let mut other_region = app_instance(&format!("other-region-{i}"));
        other_region.region = "eu-west-1".into();
        let ia = a.clone();
        w(s, move |tx| {
            tx.insert_app_instance(&other_account)?;
            tx.insert_app_instance(&ia)?;
            tx.insert_app_instance(&other_region)
        })
        .await
        .unwrap();
        mine.push(a.arn);
    }
    let mut seen = Vec::new();
    let mut after = 0;
    let mut pages = 0;
    loop {
        let page = r(s, move |tx| tx.list_app_instances(ACCOUNT, REGION, after, 3)).await.unwrap();
        if page.is_empty() {
            break;
        }
        pages += 1;
        assert!(page.len() <= 3);
        assert!(page.windows(2).all(|p| p[0].seq < p[1].seq), "ordered by seq");
        assert!(page.iter().all(|x| x.seq > after), "only after the cursor");
        after = page.last().unwrap().seq;
        seen.extend(page.into_iter().map(|x| x.arn));
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, mine, "every record once, in creation order");
    assert_eq!(r(s, |tx| tx.count_app_instances(ACCOUNT, REGION)).await.unwrap(), 7);
    assert_eq!(r(s, |tx| tx.count_app_instances("000000000000", REGION)).await.unwrap(), 7);
    assert_eq!(r(s, |tx| tx.count_app_instances(ACCOUNT, "ap-south-1")).await.unwrap(), 0);
    assert_eq!(r(s, |tx| tx.list_app_instances(ACCOUNT, REGION, i64::MAX, 3)).await.unwrap(), vec![]);
    assert_eq!(r(s, |tx| tx.list_app_instances(ACCOUNT, REGION, 0, 0)).await.unwrap(), vec![]);
    assert_eq!(r(s, |tx| tx.list_app_instances(ACCOUNT, REGION, 0, usize::MAX)).await.unwrap().len(), 7);

    // Every scope at once (a state export): all 21, in creation order, by seek.
    let mut every = Vec::new();
    let mut after = 0;
    loop {
        let page = r(s, move |tx| tx.list_every_app_instance(after, 4)).await.unwrap();
        let Some(last) = page.last() else { break };
        assert!(page.len() <= 4 && page.windows(2).all(|p| p[0].seq < p[1].seq) && page[0].seq > after);
        after = last.seq;
        every.extend(page);
    }
    assert_eq!(every.len(), 21);
    let names: Vec<&str> = every.iter().map(|a| a.name.as_str()).collect();
    let expected: Vec<String> = (0..7)
        .flat_map(|i| [format!("instance other-account-{i}"), format!("instance mine-{i}"), format!("instance other-region-{i}")])
        .collect();
    assert_eq!(names, expected, "creation order across accounts and regions");
    assert_eq!(r(s, |tx| tx.list_every_app_instance(i64::MAX, 3)).await.unwrap(), vec![]);
}

/// Pages through a list with `page` records at a time, checking order and the cursor.
async fn page_all<T, F>(s: &dyn Store, page: usize, list: F) -> Vec<T>
where
    T: Send + Clone + 'static,
    F: Fn(&mut dyn Tx, i64, usize) -> StoreResult<Vec<(i64, T)>> + Send + Sync + Clone + 'static,
{
    let mut out = Vec::new();
    let mut after = 0;
    loop {
        let list = list.clone();
        let got = r(s, move |tx| list(tx, after, page)).await.unwrap();
        assert!(got.len() <= page);
        assert!(got.iter().all(|(seq, _)| *seq > after));
        assert!(got.windows(2).all(|p| p[0].0 < p[1].0), "ordered by seq");
        match got.last() {
            Some((seq, _)) => after = *seq,
            None => return out,
        }
        out.extend(got.into_iter().map(|(_, x)| x));
    }
}

async fn child_lists_seek_by_seq(b: Backend) {
    let s = b.store();
    let a = app_instance("a");
    let other = app_instance("other");
    let owner = user(&a, "owner");
    let mut users = Vec::new();
    let mut bots = Vec::new();
    let mut endpoints = Vec::new();
    let mut admins = Vec::new();
    let (ia, io, iowner) = (a.clone(), other.clone(), owner.clone());
    w(s, move |tx| {
        tx.insert_app_instance(&ia)?;
        tx.insert_app_instance(&io)?;
        tx.insert_user(&iowner)
    })
    .await
    .unwrap();
    users.push(owner.arn.clone());
    for i in 0..5 {
        let u = user(&a, &format!("u{i}"));
        let noise = user(&other, &format!("u{i}"));
        let bt = bot(&a, &format!("b{i}"));
        let e = endpoint(&owner, &format!("e{i}"), &format!("token-{i}"));
        let ad = admin(&a, &u.arn);
        let (iu, ib, ie, iad) = (u.clone(), bt.clone(), e.clone(), ad.clone());
        w(s, move |tx| {
            tx.insert_user(&noise)?;
            tx.insert_user(&iu)?;
            tx.insert_bot(&ib)?;
            tx.insert_endpoint(&ie)?;
            tx.insert_admin(&iad)
        })
        .await
        .unwrap();
        users.push(u.arn);
        bots.push(bt.arn);
        endpoints.push(e.endpoint_id);
        admins.push(ad.member_arn);
    }
    let arn = a.arn.clone();
    let listed = page_all(s, 2, move |tx, after, n| Ok(tx.list_users(&arn, after, n)?.into_iter().map(|u| (u.seq, u.arn)).collect())).await;
    assert_eq!(listed, users);
    let arn = a.arn.clone();
    let listed = page_all(s, 2, move |tx, after, n| Ok(tx.list_bots(&arn, after, n)?.into_iter().map(|x| (x.seq, x.arn)).collect())).await;
    assert_eq!(listed, bots);
    let arn = a.arn.clone();
    let listed =
        page_all(s, 2, move |tx, after, n| Ok(tx.list_admins(&arn, after, n)?.into_iter().map(|x| (x.seq, x.member_arn)).collect())).await;
    assert_eq!(listed, admins);
    let arn = owner.arn.clone();
    let listed =
        page_all(s, 2, move |tx, after, n| Ok(tx.list_endpoints(&arn, after, n)?.into_iter().map(|x| (x.seq, x.endpoint_id)).collect()))
            .await;
    assert_eq!(listed, endpoints);

    let (arn, other_arn, owner_arn) = (a.arn.clone(), other.arn.clone(), owner.arn.clone());
    let counts = r(s, move |tx| {
        Ok([
            tx.count_users(&arn)?,
            tx.count_bots(&arn)?,
            tx.count_admins(&arn)?,
            tx.count_endpoints(&owner_arn)?,
            tx.count_users(&other_arn)?,
            tx.count_bots(&other_arn)?,
        ])
    })
    .await
    .unwrap();
    assert_eq!(counts, [6, 5, 5, 5, 5, 0]);
}

async fn count(s: &dyn Store, arn: String) -> (u64, u64, u64) {
    r(s, move |tx| Ok((tx.count_users(&arn)?, tx.count_bots(&arn)?, tx.count_admins(&arn)?))).await.unwrap()
}

async fn counts_follow_inserts_and_deletes(b: Backend) {
    let s = b.store();
    let a = app_instance("a");
    let ia = a.clone();
    w(s, move |tx| tx.insert_app_instance(&ia)).await.unwrap();
    assert_eq!(count(s, a.arn.clone()).await, (0, 0, 0));
    let (u, bt) = (user(&a, "u"), bot(&a, "b"));
    let (iu, ib, ad) = (u.clone(), bt.clone(), admin(&a, &u.arn));
    w(s, move |tx| {
        tx.insert_user(&iu)?;
        tx.insert_bot(&ib)?;
        tx.insert_admin(&ad)?;
        // Counts inside the transaction see its own writes.
        assert_eq!(tx.count_users(&iu.app_instance_arn)?, 1);
        Ok(())
    })
    .await
    .unwrap();
    assert_eq!(count(s, a.arn.clone()).await, (1, 1, 1));
    let arn = bt.arn.clone();
    w(s, move |tx| tx.delete_bot(&arn)).await.unwrap();
    assert_eq!(count(s, a.arn.clone()).await, (1, 0, 1));
    let arn = u.arn.clone();
    w(s, move |tx| tx.delete_user(&arn)).await.unwrap();
    assert_eq!(count(s, a.arn.clone()).await, (0, 0, 0));
}

/// The users count is kept by the database itself, so it must follow every way users go: a
/// delete, the cascade of an AppInstance's delete, the batches of a purge, a reset, and a user
/// made again after its AppInstance was made again.
async fn user_counts_follow_every_way_users_go(b: Backend) {
    let s = b.store();
    let users = |arn: &str| {
        let arn = arn.to_string();
        async move { r(s, move |tx| tx.count_users(&arn)).await.unwrap() }
    };
    let a = populate_large(s, "counted", 30, 0).await;
    let other = populate_large(s, "other", 7, 0).await;
    assert_eq!((users(&a.arn).await, users(&other.arn).await), (30, 7));
    let gone = user(&a, "u3").arn;
    w(s, move |tx| tx.delete_user(&gone)).await.unwrap();
    assert_eq!(users(&a.arn).await, 29);

    // Detached: its users are unreachable, then purged in batches; the count of a new AppInstance
    // with the same ARN starts at 0.
    let arn = a.arn.clone();
    assert!(w(s, move |tx| tx.detach(PurgeKind::AppInstance, &arn, 1)).await.unwrap());
    let job = r(s, |tx| tx.pending_purges(10)).await.unwrap().remove(0);
    purge_all(s, job.seq, 4).await;
    assert_eq!(users(&a.arn).await, 0);
    let again = a.clone();
    w(s, move |tx| {
        tx.insert_app_instance(&again)?;
        tx.insert_user(&user(&again, "fresh"))
    })
    .await
    .unwrap();
    assert_eq!(users(&a.arn).await, 1);

    // An inline cascade and a reset.
    let arn = a.arn.clone();
    assert!(w(s, move |tx| tx.delete_app_instance(&arn)).await.unwrap());
    assert_eq!((users(&a.arn).await, users(&other.arn).await), (0, 7));
    w(s, |tx| tx.reset(&ResetScope::all())).await.unwrap();
    assert_eq!(users(&other.arn).await, 0);
    let back = populate_large(s, "other", 2, 0).await;
    assert_eq!(users(&back.arn).await, 2);
}

// ---------------------------------------------------------------------------------------------
// Cascades

/// An instance with a user (endpoint, admin role, tags, idempotency), a bot (admin role, tags,
/// idempotency), and tags and idempotency of its own.
struct Populated {
    a: AppInstanceRecord,
    u: UserRecord,
    bt: BotRecord,
    e: EndpointRecord,
}

async fn populate(s: &dyn Store, id: &str) -> Populated {
    populate_in(s, id, ACCOUNT, REGION).await
}

/// [`populate`] in another account or region.
async fn populate_in(s: &dyn Store, id: &str, account: &str, region: &str) -> Populated {
    let mut a = app_instance(id);
    a.arn = format!("arn:aws:chime:{region}:{account}:app-instance/{id}");
    (a.account, a.region) = (account.to_string(), region.to_string());
    let u = user(&a, "alice");
    let bt = bot(&a, "helper");
    let e = endpoint(&u, "e1", "token-1");
    let p = Populated { a: a.clone(), u: u.clone(), bt: bt.clone(), e: e.clone() };
    w(s, move |tx| {
        tx.insert_app_instance(&a)?;
        tx.insert_user(&u)?;
        tx.insert_bot(&bt)?;
        tx.insert_endpoint(&e)?;
        tx.insert_admin(&admin(&a, &u.arn))?;
        tx.insert_admin(&admin(&a, &bt.arn))?;
        for arn in [&a.arn, &u.arn, &bt.arn] {
            tx.put_tags(arn, &a.arn, &[tag("k1", "v1"), tag("k2", "v2")])?;
        }
        tx.put_idempotency(&idempotency_key("CreateAppInstance", &a.arn), &idempotency(&a.arn, &a.arn))?;
        tx.put_idempotency(&idempotency_key("CreateAppInstanceUser", &u.arn), &idempotency(&u.arn, &a.arn))?;
        tx.put_idempotency(
            &idempotency_key("RegisterAppInstanceUserEndpoint", &format!("{}/{}", u.arn, e.endpoint_id)),
            &idempotency(&u.arn, &a.arn),
        )?;
        tx.put_idempotency(&idempotency_key("CreateAppInstanceBot", &bt.arn), &idempotency(&bt.arn, &a.arn))?;
        Ok(())
    })
    .await
    .unwrap();
    p
}

/// What remains of a populated instance: (instance, user, bot, endpoint, user admin, bot admin,
/// instance tags, user tags, bot tags, instance/user/endpoint/bot idempotency records).
#[derive(Debug, PartialEq, Eq)]
struct Remains {
    instance: bool,
    user: bool,
    bot: bool,
    endpoint: bool,
    user_admin: bool,
    bot_admin: bool,
    tags: [usize; 3],
    idempotency: [bool; 4],
}

async fn remains(s: &dyn Store, p: &Populated) -> Remains {
    let (a, u, bt, e) = (p.a.clone(), p.u.clone(), p.bt.clone(), p.e.clone());
    r(s, move |tx| {
        Ok(Remains {
            instance: tx.get_app_instance(&a.arn)?.is_some(),
            user: tx.get_user(&u.arn)?.is_some(),
            bot: tx.get_bot(&bt.arn)?.is_some(),
            endpoint: tx.get_endpoint(&u.arn, &e.endpoint_id)?.is_some(),
            user_admin: tx.get_admin(&a.arn, &u.arn)?.is_some(),
            bot_admin: tx.get_admin(&a.arn, &bt.arn)?.is_some(),
            tags: [tx.get_tags(&a.arn)?.len(), tx.get_tags(&u.arn)?.len(), tx.get_tags(&bt.arn)?.len()],
            idempotency: [
                tx.get_idempotency(&idempotency_key("CreateAppInstance", &a.arn))?.is_some(),
                tx.get_idempotency(&idempotency_key("CreateAppInstanceUser", &u.arn))?.is_some(),
                tx.get_idempotency(&idempotency_key("RegisterAppInstanceUserEndpoint", &format!("{}/{}", u.arn, e.endpoint_id)))?.is_some(),
                tx.get_idempotency(&idempotency_key("CreateAppInstanceBot", &bt.arn))?.is_some(),
            ],
        })
    })
    .await
    .unwrap()
}

const ALL: Remains = Remains {
    instance: true,
    user: true,
    bot: true,
    endpoint: true,
    user_admin: true,
    bot_admin: true,
    tags: [2, 2, 2],
    idempotency: [true; 4],
};

async fn delete_app_instance_cascades(b: Backend) {
    let s = b.store();
    let doomed = populate(s, "doomed").await;
    let kept = populate(s, "kept").await;
    assert_eq!(remains(s, &doomed).await, ALL);
    let arn = doomed.a.arn.clone();
    assert!(w(s, move |tx| tx.delete_app_instance(&arn)).await.unwrap());
    let none = Remains {
        instance: false,
        user: false,
        bot: false,
        endpoint: false,
        user_admin: false,
        bot_admin: false,
        tags: [0, 0, 0],
        idempotency: [false; 4],
    };
    assert_eq!(remains(s, &doomed).await, none);
    assert_eq!(remains(s, &kept).await, ALL, "another instance is untouched");
    let (arn, user_arn) = (doomed.a.arn.clone(), doomed.u.arn.clone());
    let counts = r(s, move |tx| Ok((tx.count_users(&arn)?, tx.count_bots(&arn)?, tx.count_admins(&arn)?, tx.count_endpoints(&user_arn)?)))
        .await
        .unwrap();
    assert_eq!(counts, (0, 0, 0, 0));
    // The same ARNs can be made again.
    let again = populate(s, "doomed").await;
    assert_eq!(remains(s, &again).await, ALL);
}

async fn delete_user_cascades(b: Backend) {
    let s = b.store();
    let p = populate(s, "a").await;
    let kept = populate(s, "b").await;
    let arn = p.u.arn.clone();
    assert!(w(s, move |tx| tx.delete_user(&arn)).await.unwrap());
    let expected = Remains {
        user: false,
        endpoint: false,
        user_admin: false,
        tags: [2, 0, 2],
        // The endpoint's idempotency record names the user as its resource, so it goes too.
        idempotency: [true, false, false, true],
        ..ALL
    };
    assert_eq!(remains(s, &p).await, expected);
    assert_eq!(remains(s, &kept).await, ALL);
    let user_arn = p.u.arn.clone();
    assert_eq!(r(s, move |tx| tx.count_endpoints(&user_arn)).await.unwrap(), 0);
}

async fn delete_bot_cascades(b: Backend) {
    let s = b.store();
    let p = populate(s, "a").await;
    let kept = populate(s, "b").await;
    let arn = p.bt.arn.clone();
    assert!(w(s, move |tx| tx.delete_bot(&arn)).await.unwrap());
    let expected = Remains { bot: false, bot_admin: false, tags: [2, 2, 0], idempotency: [true, true, true, false], ..ALL };
    assert_eq!(remains(s, &p).await, expected);
    assert_eq!(remains(s, &kept).await, ALL);
}

// ---------------------------------------------------------------------------------------------
// Large deletes: detach now, purge in batches (docs/behaviour.md, "Resources")

/// What of a populated instance the service can still reach through the store: (instance, user,
/// bot, endpoint, user admin, expired users).
async fn reachable(s: &dyn Store, p: &Populated) -> (bool, bool, bool, bool, bool, Vec<String>) {
    let (a, u, bt, e) = (p.a.clone(), p.u.clone(), p.bt.clone(), p.e.clone());
    r(s, move |tx| {
        Ok((
            tx.get_app_instance(&a.arn)?.is_some(),
            tx.get_user(&u.arn)?.is_some(),
            tx.get_bot(&bt.arn)?.is_some(),
            tx.get_endpoint(&u.arn, &e.endpoint_id)?.is_some(),
            tx.get_admin(&a.arn, &u.arn)?.is_some(),
            tx.expired_users(i64::MAX, 10)?,
        ))
    })
    .await
    .unwrap()
}

/// Runs purge batches of `size` rows until `seq` is done; returns how many batches it took.
async fn purge_all(s: &dyn Store, seq: i64, size: usize) -> usize {
    for batches in 1..10_000 {
        let step = w(s, move |tx| tx.purge_batch(seq, size)).await.unwrap();
        assert!(step.deleted <= size as u64, "{step:?}");
        if step.done {
            return batches;
        }
    }
    panic!("the purge never ended");
}

async fn detached_instances_children_are_never_found(b: Backend) {
    let s = b.store();
    let doomed = populate(s, "doomed").await;
    let kept = populate(s, "kept").await;
    let user_arn = doomed.u.arn.clone();
    let expiring = UserUpdate {
        expiration: Some(Some(Expiration { days: 1, criterion: ExpirationCriterion::CreatedTimestamp, expires_at_ms: 5 })),
        ..Default::default()
    };
    w(s, move |tx| tx.update_user(&user_arn, &expiring)).await.unwrap();
    assert_eq!(reachable(s, &doomed).await, (true, true, true, true, true, vec![doomed.u.arn.clone()]));
    let arn = doomed.a.arn.clone();
    let children = r(s, move |tx| tx.count_children(PurgeKind::AppInstance, &arn, 1_000)).await.unwrap();
    assert_eq!(children, 1 + 6 + 4 + 2 + 1 + 1, "endpoint, tags, idempotency records, admins, user, bot");

    let arn = doomed.a.arn.clone();
    assert!(w(s, move |tx| tx.detach(PurgeKind::AppInstance, &arn, 42)).await.unwrap());
    let arn = doomed.a.arn.clone();
    assert!(!w(s, move |tx| tx.detach(PurgeKind::AppInstance, &arn, 43)).await.unwrap(), "gone already");
    let (instance, user, bot, endpoint, _, expired) = reachable(s, &doomed).await;
    assert_eq!((instance, user, bot, endpoint, expired), (false, false, false, false, vec![]), "nothing of it is found");
    let (user_arn, bot_arn, id) = (doomed.u.arn.clone(), doomed.bt.arn.clone(), doomed.e.endpoint_id.clone());
    let touched = w(s, move |tx| {
        Ok((
            tx.update_user(&user_arn, &UserUpdate { name: Some("x".into()), ..Default::default() })?,
            tx.update_bot(&bot_arn, &BotUpdate { name: Some("x".into()), ..Default::default() })?,
            tx.update_endpoint(&user_arn, &id, &EndpointUpdate { name: Some("x".into()), ..Default::default() })?,
            tx.delete_endpoint(&user_arn, &id)?,
            tx.delete_user(&user_arn)?,
            tx.delete_bot(&bot_arn)?,
        ))
    })
    .await
    .unwrap();
    assert_eq!(touched, (false, false, false, false, false, false), "updates and deletes find nothing either");
    assert_eq!(remains(s, &kept).await, ALL, "another instance is untouched");
    let (user_arn, id) = (kept.u.arn.clone(), kept.e.endpoint_id.clone());
    let renamed = EndpointUpdate { name: Some("y".into()), ..Default::default() };
    assert!(
        w(s, move |tx| tx.update_endpoint(&user_arn, &id, &renamed)).await.unwrap(),
        "another instance's endpoint is still updated while a purge is queued"
    );

    let queued = r(s, |tx| tx.pending_purges(10)).await.unwrap();
    assert_eq!(queued.len(), 1, "{queued:?}");
    let job = queued[0].clone();
    assert_eq!(
        (job.kind, job.arn.as_str(), job.app_instance_arn.as_str(), job.created_ms),
        (PurgeKind::AppInstance, doomed.a.arn.as_str(), doomed.a.arn.as_str(), 42)
    );
    let arn = doomed.a.arn.clone();
    let left = r(s, move |tx| tx.count_children(PurgeKind::AppInstance, &arn, 1_000)).await.unwrap();
    assert_eq!(left, 5, "the instance's tags and record, the user and the bot (the deletes above took the user's own)");
    assert_eq!(purge_all(s, job.seq, 2).await as u64, left / 2 + 1, "2 rows a batch");
    let arn = doomed.a.arn.clone();
    assert_eq!(r(s, move |tx| tx.count_children(PurgeKind::AppInstance, &arn, 1_000)).await.unwrap(), 0);
    assert!(r(s, |tx| tx.pending_purges(10)).await.unwrap().is_empty());
    assert_eq!(w(s, move |tx| tx.purge_batch(job.seq, 10)).await.unwrap(), PurgeStep { deleted: 0, done: true });
    assert_eq!(remains(s, &kept).await, ALL, "another instance is untouched");
}

async fn detached_user_made_again_starts_empty(b: Backend) {
    let s = b.store();
    let p = populate(s, "a").await;
    let arn = p.u.arn.clone();
    assert_eq!(r(s, move |tx| tx.count_children(PurgeKind::User, &arn, 1_000)).await.unwrap(), 1 + 2 + 2, "endpoint, tags, idempotency");
    let arn = p.u.arn.clone();
    assert!(w(s, move |tx| tx.detach(PurgeKind::User, &arn, 7)).await.unwrap());
    let (_, user, _, endpoint, admin, _) = reachable(s, &p).await;
    assert_eq!((user, endpoint, admin), (false, false, false), "the user, its endpoint and its admin role are gone at once");
    let arn = p.u.arn.clone();
    assert!(!w(s, move |tx| tx.detach(PurgeKind::User, &arn, 8)).await.unwrap());
    let queued = r(s, |tx| tx.pending_purges(10)).await.unwrap();
    assert_eq!(queued.iter().map(|j| (j.kind, j.app_instance_arn.clone())).collect::<Vec<_>>(), vec![(PurgeKind::User, p.a.arn.clone())]);

    // The same ARN again, before the purge ran: the old endpoint, tags and records go first.
    let again = p.u.clone();
    w(s, move |tx| tx.insert_user(&again)).await.unwrap();
    let (arn, id) = (p.u.arn.clone(), p.e.endpoint_id.clone());
    let seen = r(s, move |tx| {
        Ok((
            tx.get_endpoint(&arn, &id)?.is_some(),
            tx.count_endpoints(&arn)?,
            tx.endpoint_with_device_token(&arn, "token-1")?,
            tx.get_tags(&arn)?.len(),
            tx.pending_purges(10)?.len(),
        ))
    })
    .await
    .unwrap();
    assert_eq!(seen, (false, 0, None, 0, 0));
    let e = p.e.clone();
    w(s, move |tx| tx.insert_endpoint(&e)).await.unwrap();
    let seq = queued[0].seq;
    assert_eq!(w(s, move |tx| tx.purge_batch(seq, 10)).await.unwrap(), PurgeStep { deleted: 0, done: true });
    let (arn, id) = (p.u.arn.clone(), p.e.endpoint_id.clone());
    assert!(r(s, move |tx| tx.get_endpoint(&arn, &id)).await.unwrap().is_some(), "the new user's endpoint stays");
}

/// Seeds an instance with `users` users of `per_user` endpoints each.
async fn populate_large(s: &dyn Store, id: &str, users: usize, per_user: usize) -> AppInstanceRecord {
    let a = app_instance(id);
    let ia = a.clone();
    w(s, move |tx| {
        tx.insert_app_instance(&ia)?;
        for i in 0..users {
            let u = user(&ia, &format!("u{i}"));
            tx.insert_user(&u)?;
            for n in 0..per_user {
                tx.insert_endpoint(&endpoint(&u, &format!("e{n}"), &format!("t{n}")))?;
            }
        }
        Ok(())
    })
    .await
    .unwrap();
    a
}

async fn purge_resumes_after_reopen(mut b: Backend) {
    let a = populate_large(b.store(), "big", 20, 10).await;
    let arn = a.arn.clone();
    assert!(w(b.store(), move |tx| tx.detach(PurgeKind::AppInstance, &arn, 1)).await.unwrap());
    let seq = r(b.store(), |tx| tx.pending_purges(1)).await.unwrap()[0].seq;
    let step = w(b.store(), move |tx| tx.purge_batch(seq, 50)).await.unwrap();
    assert_eq!(step, PurgeStep { deleted: 50, done: false });
    // A crash here: the purge is still queued, with what it has not deleted yet.
    b.reopen().await;
    let queued = r(b.store(), |tx| tx.pending_purges(10)).await.unwrap();
    assert_eq!(queued.iter().map(|j| j.seq).collect::<Vec<_>>(), vec![seq]);
    let arn = a.arn.clone();
    assert_eq!(r(b.store(), move |tx| tx.count_children(PurgeKind::AppInstance, &arn, 1_000)).await.unwrap(), 220 - 50);
    purge_all(b.store(), seq, 50).await;
    let arn = a.arn.clone();
    assert_eq!(r(b.store(), move |tx| tx.count_children(PurgeKind::AppInstance, &arn, 1_000)).await.unwrap(), 0);
    assert!(r(b.store(), |tx| tx.pending_purges(10)).await.unwrap().is_empty());
}

async fn purges_raced_by_two_nodes_leave_nothing(b: Backend) {
    let a = populate_large(b.store(), "big", 50, 10).await;
    let arn = a.arn.clone();
    assert!(w(b.store(), move |tx| tx.detach(PurgeKind::AppInstance, &arn, 1)).await.unwrap());
    let seq = r(b.store(), |tx| tx.pending_purges(1)).await.unwrap()[0].seq;
    let mut nodes = Vec::new();
    for _ in 0..3 {
        let store = b.open_again().await.unwrap();
        nodes.push(tokio::spawn(async move {
            let mut deleted = 0;
            loop {
                let step = w(&*store, move |tx| tx.purge_batch(seq, 7)).await.unwrap();
                deleted += step.deleted;
                if step.done {
                    return deleted;
                }
            }
        }));
    }
    let mut deleted = 0;
    for n in nodes {
        deleted += n.await.unwrap();
    }
    assert_eq!(deleted, 550, "every row deleted once, none left behind by a node that thought it was done");
    let arn = a.arn.clone();
    assert_eq!(r(b.store(), move |tx| tx.count_children(PurgeKind::AppInstance, &arn, 1_000)).await.unwrap(), 0);
}

// ---------------------------------------------------------------------------------------------
// Uniqueness and rollback

async fn duplicate_user_arn_conflicts(b: Backend) {
    let s = b.store();
    let a = app_instance("a");
    let u = user(&a, "alice");
    let (ia, iu) = (a.clone(), u.clone());
    w(s, move |tx| {
        tx.insert_app_instance(&ia)?;
        tx.insert_user(&iu)
    })
    .await
    .unwrap();
    let mut dup = u.clone();
    dup.name = "another alice".into();
    assert!(is_conflict(&w(s, move |tx| tx.insert_user(&dup)).await));
    let dup_instance = a.clone();
    assert!(is_conflict(&w(s, move |tx| tx.insert_app_instance(&dup_instance)).await));
    let dup_bot = bot(&a, "b");
    let again = dup_bot.clone();
    w(s, move |tx| tx.insert_bot(&dup_bot)).await.unwrap();
    assert!(is_conflict(&w(s, move |tx| tx.insert_bot(&again)).await));
    let arn = u.arn.clone();
    assert_eq!(r(s, move |tx| tx.get_user(&arn)).await.unwrap().unwrap().name, u.name, "the first one stays");
    let arn = a.arn.clone();
    assert_eq!(r(s, move |tx| tx.count_users(&arn)).await.unwrap(), 1);
}

async fn duplicate_endpoint_conflicts(b: Backend) {
    let s = b.store();
    let a = app_instance("a");
    let (alice, bob) = (user(&a, "alice"), user(&a, "bob"));
    let (ia, ial, ib) = (a.clone(), alice.clone(), bob.clone());
    let first = endpoint(&alice, "e1", "token-1");
    let ie = first.clone();
    w(s, move |tx| {
        tx.insert_app_instance(&ia)?;
        tx.insert_user(&ial)?;
        tx.insert_user(&ib)?;
        tx.insert_endpoint(&ie)
    })
    .await
    .unwrap();
    // The same device token for the same user, under another endpoint id.
    let same_token = endpoint(&alice, "e2", "token-1");
    assert!(is_conflict(&w(s, move |tx| tx.insert_endpoint(&same_token)).await));
    // The same endpoint id for the same user.
    let same_id = endpoint(&alice, "e1", "token-2");
    assert!(is_conflict(&w(s, move |tx| tx.insert_endpoint(&same_id)).await));
    // Another user may use the same token and id.
    let other_user = endpoint(&bob, "e1", "token-1");
    w(s, move |tx| tx.insert_endpoint(&other_user)).await.unwrap();
    let (arn_a, arn_b) = (alice.arn.clone(), bob.arn.clone());
    assert_eq!(r(s, move |tx| Ok((tx.count_endpoints(&arn_a)?, tx.count_endpoints(&arn_b)?))).await.unwrap(), (1, 1));
}

async fn conflict_leaves_the_transaction_usable(b: Backend) {
    let s = b.store();
    let a = app_instance("a");
    let u = user(&a, "alice");
    let (ia, iu) = (a.clone(), u.clone());
    w(s, move |tx| {
        tx.insert_app_instance(&ia)?;
        tx.insert_user(&iu)
    })
    .await
    .unwrap();
    // A closure that meets a conflict and goes on: its other writes commit.
    let (iu, ib) = (u.clone(), bot(&a, "b"));
    let seen = w(s, move |tx| {
        let dup = tx.insert_user(&iu);
        tx.insert_bot(&ib)?;
        tx.put_tags(&ib.arn, &ib.app_instance_arn, &[tag("k", "v")])?;
        Ok(dup)
    })
    .await
    .unwrap();
    assert!(is_conflict(&seen), "{seen:?}");
    let (arn, bot_arn) = (a.arn.clone(), bot(&a, "b").arn);
    let after = r(s, move |tx| Ok((tx.count_users(&arn)?, tx.get_bot(&bot_arn)?.is_some(), tx.get_tags(&bot_arn)?.len()))).await.unwrap();
    assert_eq!(after, (1, true, 1));
}

#[derive(Debug)]
enum CallerError {
    Refused(&'static str),
    Store(StoreError),
}

impl From<StoreError> for CallerError {
    fn from(e: StoreError) -> Self {
        CallerError::Store(e)
    }
}

async fn caller_error_rolls_back(b: Backend) {
    let s = b.store();
    let a = app_instance("a");
    let ia = a.clone();
    w(s, move |tx| tx.insert_app_instance(&ia)).await.unwrap();
    let (ia, iu) = (a.clone(), user(&a, "alice"));
    let out: Result<(), CallerError> = carillon_store::write(s, move |tx| {
        tx.insert_user(&iu)?;
        tx.insert_bot(&bot(&ia, "b"))?;
        tx.insert_endpoint(&endpoint(&iu, "e", "t"))?;
        tx.put_tags(&ia.arn, &ia.arn, &[tag("k", "v")])?;
        tx.put_idempotency(&idempotency_key("Op", "tok"), &idempotency(&iu.arn, &ia.arn))?;
        tx.update_app_instance(&ia.arn, &AppInstanceUpdate { name: Some("renamed".into()), ..Default::default() })?;
        tx.delete_app_instance("arn:none")?;
        Err(CallerError::Refused("changed my mind"))
    })
    .await;
    assert!(matches!(out, Err(CallerError::Refused("changed my mind"))), "{out:?}");
    let (ia, user_arn) = (a.clone(), user(&a, "alice").arn);
    let state = r(s, move |tx| {
        Ok((
            tx.count_users(&ia.arn)?,
            tx.count_bots(&ia.arn)?,
            tx.count_endpoints(&user_arn)?,
            tx.get_tags(&ia.arn)?.len(),
            tx.get_idempotency(&idempotency_key("Op", "tok"))?,
            tx.get_app_instance(&ia.arn)?.map(|x| x.name),
        ))
    })
    .await
    .unwrap();
    assert_eq!(state, (0, 0, 0, 0, None, Some(a.name.clone())));
}

async fn store_error_rolls_back(b: Backend) {
    let s = b.store();
    let a = app_instance("a");
    let ia = a.clone();
    w(s, move |tx| tx.insert_app_instance(&ia)).await.unwrap();
    // The closure passes a conflict on: everything it wrote before goes.
    let (ia, iu) = (a.clone(), user(&a, "alice"));
    let out = w(s, move |tx| {
        tx.insert_user(&iu)?;
        tx.put_tags(&iu.arn, &ia.arn, &[tag("k", "v")])?;
        tx.insert_app_instance(&ia)
    })
    .await;
    assert!(is_conflict(&out), "{out:?}");
    let (arn, user_arn) = (a.arn.clone(), user(&a, "alice").arn);
    assert_eq!(r(s, move |tx| Ok((tx.count_users(&arn)?, tx.get_tags(&user_arn)?.len()))).await.unwrap(), (0, 0));
    // A closure may also fail with an error of its own making.
    let ia = a.clone();
    let out = w(s, move |tx| {
        tx.insert_user(&user(&ia, "bob"))?;
        Err::<(), _>(StoreError::Internal("invented".into()))
    })
    .await;
    assert_eq!(out, Err(StoreError::Internal("invented".into())));
    let arn = a.arn.clone();
    assert_eq!(r(s, move |tx| tx.count_users(&arn)).await.unwrap(), 0);
}

/// `Store::write_one`: an update that matched is there to read and observed as a commit; one
/// that matched nothing gives back its caller's error and changes nothing. Each is run right
/// after another request and after a pause of over a second: on PostgreSQL the statement goes
/// out without `BEGIN` on a connection that answered within the last second, and with it on one
/// idle for longer.
async fn one_statement_writes(b: Backend) {
    let s = b.store();
    let Populated { u, e, .. } = populate(s, "one").await;
    let seen: Arc<std::sync::Mutex<Vec<usize>>> = Arc::default();
    let noted = seen.clone();
    s.set_commit_observer(Arc::new(move |batch, _| noted.lock().unwrap().push(batch)));
    for (round, pause) in [(0, Duration::ZERO), (1, Duration::from_millis(1_100))] {
        tokio::time::sleep(pause).await;
        let name = format!("renamed {round}");
        let (user_arn, id, new_name) = (u.arn.clone(), e.endpoint_id.clone(), name.clone());
        let update = EndpointUpdate { name: Some(new_name), touched_ms: Some(1_800_000_000_000 + round), ..Default::default() };
        assert!(carillon_store::write_one(s, move |tx| tx.update_endpoint(&user_arn, &id, &update)).await.unwrap(), "round {round}");
        let (user_arn, id) = (u.arn.clone(), e.endpoint_id.clone());
        let got = r(s, move |tx| tx.get_endpoint(&user_arn, &id)).await.unwrap().expect("still there");
        assert_eq!((got.name, got.updated_ms), (Some(name), 1_800_000_000_000 + round));

        tokio::time::sleep(pause).await;
        let user_arn = u.arn.clone();
        let out: Result<(), CallerError> = carillon_store::write_one(s, move |tx| {
            let update = EndpointUpdate { name: Some("never".into()), ..Default::default() };
            if tx.update_endpoint(&user_arn, "nope", &update)? { Ok(()) } else { Err(CallerError::Refused("no such endpoint")) }
        })
        .await;
        assert!(matches!(out, Err(CallerError::Refused("no such endpoint"))), "{out:?}");
    }
    assert_eq!(*seen.lock().unwrap(), [1, 1], "each update that matched, and only those, observed as a commit");
    let user_arn = u.arn.clone();
    let names = r(s, move |tx| Ok(tx.list_endpoints(&user_arn, 0, 10)?.into_iter().map(|e| e.name).collect::<Vec<_>>())).await.unwrap();
    assert_eq!(names, [Some("renamed 1".to_string())]);
}

/// On PostgreSQL, a one-statement write that goes on to a second statement, or that inserts
/// (behind a savepoint, which needs a transaction), fails with `Internal` without sending it,
/// with or without `BEGIN` (see `one_statement_writes`).
async fn one_statement_writes_refuse_a_second_statement(b: Backend) {
    let s = b.store();
    let Populated { a, u, e, .. } = populate(s, "one").await;
    for pause in [Duration::ZERO, Duration::from_millis(1_100)] {
        tokio::time::sleep(pause).await;
        let (user_arn, id) = (u.arn.clone(), e.endpoint_id.clone());
        let out = carillon_store::write_one(s, move |tx| {
            tx.get_endpoint(&user_arn, &id)?;
            tx.get_endpoint(&user_arn, &id)
        })
        .await;
        assert!(matches!(&out, Err(StoreError::Internal(m)) if m.contains("second statement")), "{out:?}");

        tokio::time::sleep(pause).await;
        let bob = user(&a, "bob");
        let out = carillon_store::write_one(s, move |tx| tx.insert_user(&bob)).await;
        assert!(matches!(&out, Err(StoreError::Internal(m)) if m.contains("cannot insert")), "{out:?}");
        let arn = a.arn.clone();
        assert_eq!(r(s, move |tx| tx.count_users(&arn)).await.unwrap(), 1, "nothing inserted");
    }
}

/// `Store::read_one`: it finds what is there, and what was just written, and writes through its
/// `Tx` fail.
async fn one_statement_reads(b: Backend) {
    let s = b.store();
    let Populated { u, e, .. } = populate(s, "one").await;
    let (user_arn, id) = (u.arn.clone(), e.endpoint_id.clone());
    let got = carillon_store::read_one(s, move |tx| tx.get_endpoint(&user_arn, &id)).await.unwrap();
    assert_eq!(got.map(|g| (g.endpoint_id, g.name)), Some((e.endpoint_id.clone(), e.name.clone())));
    let user_arn = u.arn.clone();
    assert_eq!(carillon_store::read_one(s, move |tx| tx.get_endpoint(&user_arn, "nope")).await.unwrap(), None);

    let (user_arn, id) = (u.arn.clone(), e.endpoint_id.clone());
    let update = EndpointUpdate { name: Some("renamed".into()), ..Default::default() };
    assert!(carillon_store::write_one(s, move |tx| tx.update_endpoint(&user_arn, &id, &update)).await.unwrap());
    let (user_arn, id) = (u.arn.clone(), e.endpoint_id.clone());
    let got = carillon_store::read_one(s, move |tx| tx.get_endpoint(&user_arn, &id)).await.unwrap();
    assert_eq!(got.and_then(|g| g.name), Some("renamed".to_string()), "a read sees the write answered before it");

    let (user_arn, id) = (u.arn.clone(), e.endpoint_id.clone());
    let out = carillon_store::read_one(s, move |tx| tx.delete_endpoint(&user_arn, &id)).await;
    assert!(matches!(&out, Err(StoreError::Internal(m)) if m.contains("read")), "{out:?}");
}

/// A one-statement read that goes on to a second statement fails with `Internal` without running
/// it, on the backends that run it outside a transaction.
async fn one_statement_reads_refuse_a_second_statement(b: Backend) {
    let s = b.store();
    let Populated { a, u, .. } = populate(s, "one").await;
    let (arn, user_arn) = (a.arn.clone(), u.arn.clone());
    let out = carillon_store::read_one(s, move |tx| {
        tx.get_app_instance(&arn)?;
        tx.get_user(&user_arn)
    })
    .await;
    assert!(matches!(&out, Err(StoreError::Internal(m)) if m.contains("second statement")), "{out:?}");
    // The connection is as good as before.
    let arn = a.arn.clone();
    assert!(carillon_store::read_one(s, move |tx| tx.get_app_instance(&arn)).await.unwrap().is_some());
}

/// A one-statement read of an endpoint, read many times over (a backend may answer it from a
/// cache), sees every write answered before it: an update, a delete and a new registration, the
/// delete of its user, a reset.
async fn one_statement_reads_of_an_endpoint_follow_every_write(b: Backend) {
    let s = b.store();
    let Populated { a, u, e, .. } = populate(s, "one").await;
    let read = |user_arn: &str, id: &str| {
        let (user_arn, id) = (user_arn.to_string(), id.to_string());
        async move {
            let mut seen = Vec::new();
            for _ in 0..3 {
                let (user_arn, id) = (user_arn.clone(), id.clone());
                seen.push(carillon_store::read_one(s, move |tx| tx.get_endpoint(&user_arn, &id)).await.unwrap());
            }
            assert!(seen.windows(2).all(|w| w[0] == w[1]), "{seen:?}");
            seen.pop().unwrap()
        }
    };
    assert_eq!(read(&u.arn, &e.endpoint_id).await.and_then(|g| g.name), e.name);

    let (user_arn, id) = (u.arn.clone(), e.endpoint_id.clone());
    let update = EndpointUpdate { name: Some("renamed".into()), ..Default::default() };
    assert!(carillon_store::write_one(s, move |tx| tx.update_endpoint(&user_arn, &id, &update)).await.unwrap());
    assert_eq!(read(&u.arn, &e.endpoint_id).await.and_then(|g| g.name), Some("renamed".to_string()));

    let (user_arn, id) = (u.arn.clone(), e.endpoint_id.clone());
    assert!(w(s, move |tx| tx.delete_endpoint(&user_arn, &id)).await.unwrap());
    assert_eq!(read(&u.arn, &e.endpoint_id).await, None);
    let again = EndpointRecord { name: Some("again".into()), ..e.clone() };
    w(s, move |tx| tx.insert_endpoint(&again)).await.unwrap();
    assert_eq!(read(&u.arn, &e.endpoint_id).await.and_then(|g| g.name), Some("again".to_string()));

    // A write elsewhere, to another table, leaves the read right too.
    let other = user(&a, "bob");
    w(s, move |tx| tx.insert_user(&other)).await.unwrap();
    assert_eq!(read(&u.arn, &e.endpoint_id).await.and_then(|g| g.name), Some("again".to_string()));

    let user_arn = u.arn.clone();
    assert!(w(s, move |tx| tx.delete_user(&user_arn)).await.unwrap());
    assert_eq!(read(&u.arn, &e.endpoint_id).await, None, "the endpoint goes with its user");

    let p = populate(s, "two").await;
    assert!(read(&p.u.arn, &p.e.endpoint_id).await.is_some());
    let scope = ResetScope { app_instance_arn: Some(p.a.arn.clone()), arn_pattern: None };
    w(s, move |tx| tx.reset(&scope)).await.unwrap();
    assert_eq!(read(&p.u.arn, &p.e.endpoint_id).await, None, "a reset takes the endpoint");

    // Still one statement, whether the read is answered from a cache or not (an in-memory
    // database runs its reads on the writer's connection, in a transaction).
    let (user_arn, id) = (p.u.arn.clone(), p.e.endpoint_id.clone());
    let out = carillon_store::read_one(s, move |tx| {
        tx.get_endpoint(&user_arn, &id)?;
        tx.get_endpoint(&user_arn, &id)
    })
    .await;
    if b.kind != Kind::SqliteMemory {
        assert!(matches!(&out, Err(StoreError::Internal(m)) if m.contains("second statement")), "{out:?}");
    }
}

/// Readers keep reading one endpoint while a writer renames it, one acknowledged update after
/// another: every reader sees the names in order, never one older than the last it saw, and a
/// read that starts after an update was answered sees it.
async fn one_statement_reads_are_linearizable_under_load(b: Backend) {
    let s = b.shared();
    let Populated { u, e, .. } = populate(&*s, "one").await;
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut readers = Vec::new();
    for _ in 0..3 {
        let (s, done, user_arn, id) = (s.clone(), done.clone(), u.arn.clone(), e.endpoint_id.clone());
        readers.push(tokio::spawn(async move {
            let (mut last, mut reads) = (0u64, 0u64);
            while !done.load(std::sync::atomic::Ordering::Acquire) {
                let (user_arn, id) = (user_arn.clone(), id.clone());
                let got = carillon_store::read_one(&*s, move |tx| tx.get_endpoint(&user_arn, &id)).await.unwrap().unwrap();
                let n = got.name.and_then(|n| n.parse::<u64>().ok()).unwrap_or(0);
                assert!(n >= last, "read {n} after {last}");
                (last, reads) = (n, reads + 1);
                // A read of a cached database never waits: let the others run, and the runtime
                // stop this task when the test fails.
                tokio::task::yield_now().await;
            }
            reads
        }));
    }
    for n in 1..=200u64 {
        let (user_arn, id) = (u.arn.clone(), e.endpoint_id.clone());
        let update = EndpointUpdate { name: Some(n.to_string()), ..Default::default() };
        assert!(carillon_store::write_one(&*s, move |tx| tx.update_endpoint(&user_arn, &id, &update)).await.unwrap());
        let (user_arn, id) = (u.arn.clone(), e.endpoint_id.clone());
        let got = carillon_store::read_one(&*s, move |tx| tx.get_endpoint(&user_arn, &id)).await.unwrap().unwrap();
        assert_eq!(got.name, Some(n.to_string()), "a read after update {n} was answered");
    }
    done.store(true, std::sync::atomic::Ordering::Release);
    for reader in readers {
        assert!(reader.await.unwrap() > 0);
    }
}

// ---------------------------------------------------------------------------------------------
// Tags, secrets, reads

async fn tags_keep_first_set_order(b: Backend) {
    let s = b.store();
    let a = app_instance("a");
    let u = user(&a, "alice");
    let (ia, iu) = (a.clone(), u.clone());
    w(s, move |tx| {
        tx.insert_app_instance(&ia)?;
        tx.insert_user(&iu)?;
        tx.put_tags(&ia.arn, &ia.arn, &[tag("zeta", "1"), tag("alpha", "2"), tag("mid", "3")])
    })
    .await
    .unwrap();
    let arn = a.arn.clone();
    w(s, move |tx| tx.put_tags(&arn, &arn, &[tag("beta", "4"), tag("zeta", "changed")])).await.unwrap();
    let arn = a.arn.clone();
    let got = r(s, move |tx| tx.get_tags(&arn)).await.unwrap();
    assert_eq!(got, vec![tag("zeta", "changed"), tag("alpha", "2"), tag("mid", "3"), tag("beta", "4")]);

    // Removed and set again: it goes to the end. Unknown keys are ignored.
    let arn = a.arn.clone();
    w(s, move |tx| {
        tx.delete_tags(&arn, &["alpha".to_string(), "nope".to_string()])?;
        tx.delete_tags(&arn, &[])?;
        tx.put_tags(&arn, &arn, &[tag("alpha", "again")])
    })
    .await
    .unwrap();
    let arn = a.arn.clone();
    let got = r(s, move |tx| tx.get_tags(&arn)).await.unwrap();
    assert_eq!(got, vec![tag("zeta", "changed"), tag("mid", "3"), tag("beta", "4"), tag("alpha", "again")]);

    // Resources do not share tags; a resource without tags has none.
    let (arn, user_arn) = (a.arn.clone(), u.arn.clone());
    w(s, move |tx| tx.put_tags(&user_arn, &arn, &[tag("mid", "user's")])).await.unwrap();
    let (arn, user_arn) = (a.arn.clone(), u.arn.clone());
    let got = r(s, move |tx| Ok((tx.get_tags(&user_arn)?, tx.get_tags(&arn)?.len(), tx.get_tags("arn:none")?))).await.unwrap();
    assert_eq!(got, (vec![tag("mid", "user's")], 4, vec![]));
}

async fn token_secret_is_32_stable_bytes(b: Backend) {
    let s = b.store();
    let first = r(s, |tx| tx.token_secret()).await.unwrap();
    assert_eq!(first.len(), 32);
    assert!(first.iter().any(|&x| x != 0), "random, not zeros");
    let again = w(s, |tx| tx.token_secret()).await.unwrap();
    assert_eq!(first, again);
}

async fn reads_see_committed_writes(b: Backend) {
    let s = b.store();
    let a = app_instance("a");
    let ia = a.clone();
    w(s, move |tx| tx.insert_app_instance(&ia)).await.unwrap();
    // A read straight after a write sees it, and a read sees a consistent state.
    for i in 0..5 {
        let iu = user(&a, &format!("u{i}"));
        w(s, move |tx| tx.insert_user(&iu)).await.unwrap();
        let arn = a.arn.clone();
        let (count, listed) = r(s, move |tx| Ok((tx.count_users(&arn)?, tx.list_users(&arn, 0, 100)?.len() as u64))).await.unwrap();
        assert_eq!((count, listed), (i + 1, i + 1));
    }
}

async fn writes_inside_reads_fail(b: Backend) {
    let s = b.store();
    let a = app_instance("a");
    let ia = a.clone();
    let out = r(s, move |tx| tx.insert_app_instance(&ia)).await;
    assert!(out.is_err(), "a read transaction wrote: {out:?}");
    // Even a closure that ignores the error writes nothing.
    let ia = a.clone();
    r(s, move |tx| {
        let _ = tx.insert_app_instance(&ia);
        let _ = tx.put_tags(&ia.arn, &ia.arn, &[tag("k", "v")]);
        Ok(())
    })
    .await
    .unwrap();
    let arn = a.arn.clone();
    assert_eq!(r(s, move |tx| Ok((tx.get_app_instance(&arn)?, tx.get_tags(&arn)?))).await.unwrap(), (None, vec![]));
}

async fn panics_become_internal_errors(b: Backend) {
    let s = b.store();
    let a = app_instance("a");
    let ia = a.clone();
    let out: StoreResult<()> = w(s, move |tx| {
        tx.insert_app_instance(&ia)?;
        panic!("a bug inside a write closure");
    })
    .await;
    assert!(matches!(out, Err(StoreError::Internal(_))), "{out:?}");
    let out: StoreResult<()> = r(s, |tx| {
        tx.count_app_instances(ACCOUNT, REGION)?;
        panic!("a bug inside a read closure");
    })
    .await;
    assert!(matches!(out, Err(StoreError::Internal(_))), "{out:?}");
    // Nothing of the panicking write stays, and the store still works, many times over (a
    // poisoned or leaked connection would show after as many transactions as the pool holds).
    for i in 0..20 {
        let iu = user(&a, &format!("u{i}"));
        let out: StoreResult<()> = w(s, move |tx| {
            tx.insert_user(&iu)?;
            if i % 2 == 0 {
                panic!("again");
            }
            Ok(())
        })
        .await;
        assert_eq!(out.is_ok(), i % 2 == 1, "{out:?}");
    }
    let arn = a.arn.clone();
    let state = r(s, move |tx| Ok((tx.get_app_instance(&arn)?.is_some(), tx.count_users(&arn)?))).await.unwrap();
    assert_eq!(state, (false, 10));
    s.check().await.unwrap();
}

// ---------------------------------------------------------------------------------------------
// Concurrency

const WRITERS: usize = 30;
const QUOTA: u64 = 10;

async fn quota_setup(b: &Backend) -> UserRecord {
    let a = app_instance("a");
    let u = user(&a, "alice");
    let (ia, iu) = (a.clone(), u.clone());
    w(b.store(), move |tx| {
        tx.insert_app_instance(&ia)?;
        tx.insert_user(&iu)
    })
    .await
    .unwrap();
    u
}

/// WRITERS closures at once, each checking the user's endpoint count against the quota before
/// inserting one: exactly QUOTA get in.
async fn concurrent_quota_holds(b: Backend) {
    let u = quota_setup(&b).await;
    let mut tasks = Vec::new();
    for i in 0..WRITERS {
        let store = b.shared();
        let e = endpoint(&u, &format!("e{i}"), &format!("token-{i}"));
        tasks.push(tokio::spawn(async move {
            carillon_store::write(&*store, move |tx| -> Result<(), CallerError> {
                // The rule's owner is locked first, as the trait asks of rule-checking writers.
                tx.lock(&e.user_arn)?;
                if tx.count_endpoints(&e.user_arn)? >= QUOTA {
                    return Err(CallerError::Refused("quota"));
                }
                tx.insert_endpoint(&e)?;
                Ok(())
            })
            .await
        }));
    }
    let mut admitted = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(()) => admitted += 1,
            Err(CallerError::Refused(_)) => {}
            Err(CallerError::Store(e)) => panic!("a writer failed: {e}"),
        }
    }
    let arn = u.arn.clone();
    assert_eq!(r(b.store(), move |tx| tx.count_endpoints(&arn)).await.unwrap(), QUOTA);
    assert_eq!(admitted, QUOTA);
}

/// The same with closures that swallow every store error and report success: a store that
/// retried only on the errors closures pass on would commit wrong answers here.
async fn concurrent_quota_holds_when_errors_are_swallowed(b: Backend) {
    let u = quota_setup(&b).await;
    let mut tasks = Vec::new();
    for i in 0..WRITERS {
        let store = b.shared();
        let e = endpoint(&u, &format!("e{i}"), &format!("token-{i}"));
        tasks.push(tokio::spawn(async move {
            w(&*store, move |tx| {
                let _ = tx.lock(&e.user_arn);
                let n = tx.count_endpoints(&e.user_arn).unwrap_or(QUOTA);
                if n >= QUOTA {
                    return Ok(false);
                }
                Ok(tx.insert_endpoint(&e).is_ok())
            })
            .await
        }));
    }
    let mut admitted = 0;
    for t in tasks {
        if t.await.unwrap().expect("the store answers") {
            admitted += 1;
        }
    }
    let arn = u.arn.clone();
    assert_eq!(r(b.store(), move |tx| tx.count_endpoints(&arn)).await.unwrap(), QUOTA);
    assert_eq!(admitted, QUOTA, "each closure that saw its insert succeed got committed");
}

// ---------------------------------------------------------------------------------------------
// Lifecycle

async fn check_kind_and_close(b: Backend) {
    let s = b.store();
    s.check().await.unwrap();
    let expected = match b.kind {
        Kind::SqliteFile | Kind::SqliteMemory => "sqlite",
        Kind::Postgres => "postgres",
    };
    assert_eq!(s.kind(), expected);
    let a = app_instance("a");
    let ia = a.clone();
    w(s, move |tx| tx.insert_app_instance(&ia)).await.unwrap();
    s.close().await;
    let ia = app_instance("b");
    let out = w(s, move |tx| tx.insert_app_instance(&ia)).await;
    assert!(matches!(out, Err(StoreError::Unavailable(_))), "{out:?}");
    s.close().await; // closing twice is harmless
}

async fn reads_after_close_are_unavailable(b: Backend) {
    let s = b.store();
    s.close().await;
    let out = r(s, |tx| tx.token_secret()).await;
    assert!(matches!(out, Err(StoreError::Unavailable(_))), "{out:?}");
    let checked = s.check().await;
    assert!(matches!(checked, Err(StoreError::Unavailable(_))), "{checked:?}");
}

async fn data_survives_reopen(mut b: Backend) {
    let p = populate(b.store(), "a").await;
    let before = remains(b.store(), &p).await;
    let arn = p.a.arn.clone();
    let seqs_before = r(b.store(), move |tx| Ok(tx.list_users(&arn, 0, 10)?.into_iter().map(|u| u.seq).collect::<Vec<_>>())).await.unwrap();
    b.reopen().await;
    assert_eq!(remains(b.store(), &p).await, before);
    let arn = p.a.arn.clone();
    let seqs_after = r(b.store(), move |tx| Ok(tx.list_users(&arn, 0, 10)?.into_iter().map(|u| u.seq).collect::<Vec<_>>())).await.unwrap();
    assert_eq!(seqs_before, seqs_after);
    // New records still come after the old ones.
    let iu = user(&p.a, "later");
    w(b.store(), move |tx| tx.insert_user(&iu)).await.unwrap();
    let arn = p.a.arn.clone();
    let users = r(b.store(), move |tx| tx.list_users(&arn, 0, 10)).await.unwrap();
    assert_eq!(users.last().unwrap().user_id, "later");
    assert!(users.last().unwrap().seq > seqs_before[0]);
}

async fn token_secret_survives_reopen(mut b: Backend) {
    let first = r(b.store(), |tx| tx.token_secret()).await.unwrap();
    b.reopen().await;
    let second = r(b.store(), |tx| tx.token_secret()).await.unwrap();
    assert_eq!(second.len(), 32);
    assert_eq!(first, second);
}

async fn second_open_is_unavailable(mut b: Backend) {
    let second = b.open_again().await;
    assert!(matches!(second, Err(StoreError::Unavailable(_))), "a second store opened the same file: {:?}", second.map(|s| s.kind()));
    // The first one still works, and once it is closed the file can be opened again.
    b.store().check().await.unwrap();
    b.reopen().await;
    b.store().check().await.unwrap();
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL only

async fn concurrent_starts_migrate_once(b: Backend) {
    // A fresh, unmigrated database of its own, and eight servers starting on it at once.
    let db = PgDatabase::create("concurrent_starts_migrate_once (inner database)").await.expect("the variable is set");
    let mut starts = Vec::new();
    for _ in 0..8 {
        let url = db.url.clone();
        starts.push(tokio::spawn(async move { carillon_store_postgres::PostgresStore::connect(&url).await }));
    }
    let mut secrets = Vec::new();
    for s in starts {
        let store = s.await.unwrap().expect("every server starts");
        secrets.push(r(&store, |tx| tx.token_secret()).await.unwrap());
        store.close().await;
    }
    assert!(secrets.windows(2).all(|p| p[0] == p[1]), "one secret for all");
    let client = db.client().await;
    let versions: Vec<i32> =
        client.query("SELECT version FROM carillon_schema_version", &[]).await.unwrap().iter().map(|r| r.get(0)).collect();
    assert_eq!(versions, vec![1, 2, 3, 4, 5, 6, 7], "each migration once");
    let secrets: i64 = client.query_one("SELECT COUNT(*) FROM meta WHERE key = 'token_secret'", &[]).await.unwrap().get(0);
    assert_eq!(secrets, 1);
    drop(b);
}

async fn recovers_when_sessions_are_killed(b: Backend) {
    let s = b.store();
    let a = app_instance("a");
    let ia = a.clone();
    w(s, move |tx| tx.insert_app_instance(&ia)).await.unwrap();
    // Fill the pool with idle connections.
    let mut readers = Vec::new();
    for _ in 0..8 {
        let store = b.shared();
        readers.push(tokio::spawn(async move { r(&*store, |tx| tx.count_app_instances(ACCOUNT, REGION)).await }));
    }
    for t in readers {
        assert_eq!(t.await.unwrap().unwrap(), 1);
    }
    let killed = b.postgres_database().unwrap().kill_sessions().await;
    assert!(killed >= 1, "the store had sessions open");
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    // The next requests find the dead connections, drop them and open new ones.
    let arn = a.arn.clone();
    assert!(r(s, move |tx| tx.get_app_instance(&arn)).await.unwrap().is_some());
    let iu = user(&a, "alice");
    w(s, move |tx| tx.insert_user(&iu)).await.unwrap();
    s.check().await.unwrap();
    // The same when the sessions die while the pool is idle and nobody waits.
    b.postgres_database().unwrap().kill_sessions().await;
    s.check().await.unwrap();
    let arn = a.arn.clone();
    assert_eq!(r(s, move |tx| tx.count_users(&arn)).await.unwrap(), 1);
    // A one-statement read, sent without BEGIN, that meets a dead connection runs on another.
    // (Each statement runs once first, so that it is prepared on the connection and the one
    // after the kill fails on being sent, not on being prepared.)
    let rename = |name: &str| {
        let (arn, update) = (a.arn.clone(), AppInstanceUpdate { name: Some(name.into()), ..Default::default() });
        carillon_store::write_one(s, move |tx| tx.update_app_instance(&arn, &update))
    };
    let get = || {
        let arn = a.arn.clone();
        carillon_store::read_one(s, move |tx| tx.get_app_instance(&arn))
    };
    assert!(rename("renamed").await.unwrap());
    assert!(get().await.unwrap().is_some());
    b.postgres_database().unwrap().kill_sessions().await;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(get().await.unwrap().map(|x| x.name), Some("renamed".to_string()));
    // So does a one-statement write on a connection idle for over a second: it goes out with
    // BEGIN, which finds the connection closed before anything ran.
    assert!(rename("renamed again").await.unwrap());
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    b.postgres_database().unwrap().kill_sessions().await;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert!(rename("renamed once more").await.unwrap());
    assert_eq!(get().await.unwrap().map(|x| x.name), Some("renamed once more".to_string()));
}

async fn debug_output_hides_the_password(b: Backend) {
    let db = b.postgres_database().unwrap();
    let password = "hunter2-carillon";
    // With the test server's trust authentication the password is ignored; with any other, the
    // connection fails, and its error must not show the password either.
    let url = if db.url.contains('?') { format!("{}&password={password}", db.url) } else { format!("{}?password={password}", db.url) };
    match carillon_store_postgres::PostgresStore::connect(&url).await {
        Ok(store) => {
            let debug = format!("{store:?}");
            assert!(!debug.contains(password), "{debug}");
            assert!(debug.contains("password=***"), "{debug}");
            store.close().await;
        }
        Err(e) => assert!(!format!("{e:?}").contains(password), "{e:?}"),
    }
}

async fn fails_fast_while_the_server_hangs(b: Backend) {
    use carillon_store_postgres::{PostgresOptions, PostgresStore};
    use std::time::{Duration, Instant};
    let db = b.postgres_database().unwrap();
    let Some(proxy) = FlakyProxy::start(&db.url).await else {
        eprintln!("the test server is reached through a Unix socket: no proxy, nothing to test");
        return;
    };
    let options = PostgresOptions {
        connect_timeout: Duration::from_secs(1),
        statement_timeout: Duration::from_secs(1),
        lock_timeout: Duration::from_secs(1),
        ..PostgresOptions::default()
    };
    let store = PostgresStore::connect_with(&proxy.url_for(&db.url), options).await.expect("connect through the proxy");
    let s: &dyn Store = &store;
    let a = app_instance("a");
    let ia = a.clone();
    w(s, move |tx| tx.insert_app_instance(&ia)).await.unwrap();

    // The server stops answering: on connections in the pool and on new ones alike.
    proxy.cut();
    // The client waits 1 s longer than the statement or connect timeout, never twice.
    let bound = Duration::from_secs(4);
    for _ in 0..3 {
        let started = Instant::now();
        let iu = user(&a, "alice");
        let out = w(s, move |tx| tx.insert_user(&iu)).await;
        assert!(matches!(out, Err(StoreError::Unavailable(_))), "{out:?}");
        assert!(started.elapsed() < bound, "a write took {:?}", started.elapsed());
        let started = Instant::now();
        let out = r(s, |tx| tx.count_app_instances(ACCOUNT, REGION)).await;
        assert!(matches!(out, Err(StoreError::Unavailable(_))), "{out:?}");
        assert!(started.elapsed() < bound, "a read took {:?}", started.elapsed());
        let started = Instant::now();
        assert!(matches!(s.check().await, Err(StoreError::Unavailable(_))));
        assert!(started.elapsed() < bound, "check took {:?}", started.elapsed());
    }

    // The server answers again: without a restart, requests succeed once more.
    proxy.restore();
    tokio::time::sleep(Duration::from_millis(700)).await;
    let iu = user(&a, "alice");
    w(s, move |tx| tx.insert_user(&iu)).await.expect("a write after the outage");
    let arn = a.arn.clone();
    assert_eq!(r(s, move |tx| tx.count_users(&arn)).await.unwrap(), 1, "the writes that failed left nothing behind");
    s.check().await.unwrap();
    store.close().await;
}

// ---------------------------------------------------------------------------------------------
// Enum columns: a value the model does not know is a corrupt row, never a default

/// Runs one SQL statement on the test's database behind the store's back.
async fn raw_sql(b: &Backend, sql: &str) {
    match b.kind {
        Kind::SqliteFile => {
            let conn = rusqlite::Connection::open(b.sqlite_path().expect("a file")).expect("open the database file");
            conn.busy_timeout(std::time::Duration::from_secs(5)).unwrap();
            conn.execute_batch(sql).expect("raw SQL");
        }
        Kind::Postgres => b.postgres_database().expect("a database").client().await.batch_execute(sql).await.expect("raw SQL"),
        Kind::SqliteMemory => panic!("an in-memory database has no second connection"),
    }
}

async fn unknown_enum_values_are_internal_errors(b: Backend) {
    let s = b.store();
    let a = app_instance("a");
    let mut u = user(&a, "alice");
    u.expiration_days = Some(1);
    u.expiration_criterion = Some(ExpirationCriterion::CreatedTimestamp);
    let e = endpoint(&u, "e1", "token-1");
    let (ia, iu, ie) = (a.clone(), u.clone(), e.clone());
    w(s, move |tx| {
        tx.insert_app_instance(&ia)?;
        tx.insert_user(&iu)?;
        tx.insert_endpoint(&ie)
    })
    .await
    .unwrap();

    // Each enum column in turn holds a value the model does not know.
    for (table, column) in
        [("endpoints", "status"), ("endpoints", "allow_messages"), ("endpoints", "endpoint_type"), ("endpoints", "status_reason")]
    {
        raw_sql(&b, &format!("UPDATE {table} SET {column} = 'BOGUS_{column}'")).await;
        let (user_arn, id) = (u.arn.clone(), e.endpoint_id.clone());
        let got = r(s, move |tx| tx.get_endpoint(&user_arn, &id)).await;
        match &got {
            Err(StoreError::Internal(m)) => {
                assert!(m.contains(&format!("{table}.{column}")) && m.contains(&format!("BOGUS_{column}")), "{m}")
            }
            other => panic!("{table}.{column}: expected an internal error, got {other:?}"),
        }
        let user_arn = u.arn.clone();
        let listed = r(s, move |tx| tx.list_endpoints(&user_arn, 0, 10)).await;
        assert!(matches!(listed, Err(StoreError::Internal(_))), "{listed:?}");
        let restore = match column {
            "status" => "'ACTIVE'",
            "allow_messages" => "'ALL'",
            "endpoint_type" => "'APNS'",
            _ => "NULL",
        };
        raw_sql(&b, &format!("UPDATE {table} SET {column} = {restore}")).await;
        let (user_arn, id) = (u.arn.clone(), e.endpoint_id.clone());
        let back = r(s, move |tx| tx.get_endpoint(&user_arn, &id)).await.unwrap().expect("still there");
        assert_eq!(back, EndpointRecord { seq: back.seq, ..e.clone() });
    }

    raw_sql(&b, "UPDATE users SET expiration_criterion = 'LAST_SEEN'").await;
    let arn = u.arn.clone();
    match r(s, move |tx| tx.get_user(&arn)).await {
        Err(StoreError::Internal(m)) => assert!(m.contains("users.expiration_criterion") && m.contains("LAST_SEEN"), "{m}"),
        other => panic!("expected an internal error, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Text: every Unicode scalar value the model admits, NUL included, round-trips
// (docs/behaviour.md, "Limits"). PostgreSQL's TEXT cannot hold U+0000 and rejected it.

/// Awkward texts: NUL alone and amid text, the store's own escape character and what its escape
/// makes of NUL (they must stay distinct), other C0 and C1 controls, the supplementary planes.
const AWKWARD: &[&str] = &[
    "\0",
    "a\0b",
    "\0\0",
    "\u{1}",
    "\u{1}0",
    "\u{1}1",
    "\u{1}\0",
    "\\0",
    "\x07\x08\t\n\r\x1b\x7f\u{85}\u{9f}",
    "\u{10000}\u{1F600}\u{10FFFF}",
    "\u{FFFE}\u{FFFF}",
    "plain",
];

async fn every_text_round_trips(b: Backend) {
    let s = b.store();
    for (i, text) in AWKWARD.iter().enumerate() {
        let text = text.to_string();
        let mut a = app_instance(&format!("text-{i}"));
        a.name = format!("n{text}");
        a.metadata = Some(text.clone());
        let mut u = user(&a, &format!("u{i}"));
        u.name = text.clone();
        u.metadata = Some(text.clone());
        let mut bt = bot(&a, "b");
        bt.name = Some(text.clone());
        bt.metadata = Some(text.clone());
        let mut e = endpoint(&u, "e", &text);
        e.name = Some(text.clone());
        e.voip_device_token = Some(text.clone());
        e.resource_arn = format!("arn:aws:mobiletargeting:us-east-1:123456789012:apps/{text}");
        let tags = vec![tag(&text, &text), tag(&format!("k{text}"), &format!("v{text}"))];
        let (ia, iu, ib, ie, it) = (a.clone(), u.clone(), bt.clone(), e.clone(), tags.clone());
        let key = idempotency_key("Op", &format!("tok{i}{text}"));
        let mut idem = idempotency(&u.arn, &a.arn);
        idem.fingerprint = text.clone();
        idem.response = text.clone();
        let (ik, ii) = (key.clone(), idem.clone());
        w(s, move |tx| {
            tx.insert_app_instance(&ia)?;
            tx.insert_user(&iu)?;
            tx.insert_bot(&ib)?;
            tx.insert_endpoint(&ie)?;
            tx.put_tags(&iu.arn, &ia.arn, &it)?;
            tx.put_idempotency(&ik, &ii)
        })
        .await
        .unwrap_or_else(|err| panic!("text {i} {text:?}: {err}"));

        let (ga, gu, gb, ge, gt, gk) = (a.arn.clone(), u.arn.clone(), bt.arn.clone(), (u.arn.clone(), "e"), u.arn.clone(), key.clone());
        let token = text.clone();
        let got = r(s, move |tx| {
            Ok((
                tx.get_app_instance(&ga)?,
                tx.get_user(&gu)?,
                tx.get_bot(&gb)?,
                tx.get_endpoint(&ge.0, ge.1)?,
                tx.get_tags(&gt)?,
                tx.get_idempotency(&gk)?,
                tx.endpoint_with_device_token(&ge.0, &token)?,
                tx.list_endpoints(&ge.0, 0, 10)?.len(),
            ))
        })
        .await
        .unwrap_or_else(|err| panic!("text {i} {text:?}: {err}"));
        assert_eq!(got.0.map(|x| (x.name, x.metadata)), Some((a.name.clone(), a.metadata.clone())), "AppInstance, text {i}");
        assert_eq!(got.1.map(|x| (x.name, x.metadata)), Some((u.name.clone(), u.metadata.clone())), "user, text {i}");
        assert_eq!(got.2.map(|x| (x.name, x.metadata)), Some((bt.name.clone(), bt.metadata.clone())), "bot, text {i}");
        assert_eq!(got.3.map(|x| EndpointRecord { seq: 0, ..x }), Some(e.clone()), "endpoint, text {i}");
        assert_eq!(got.4, tags, "tags, text {i}");
        assert_eq!(got.5, Some(idem), "idempotency record, text {i}");
        assert_eq!(got.6.as_deref(), Some("e"), "device token lookup, text {i}");
        assert_eq!(got.7, 1);

        // Updates carry such text too, and untagging finds such keys.
        let (ua, uu, ub, ue, ut) = (a.arn.clone(), u.arn.clone(), bt.arn.clone(), u.arn.clone(), text.clone());
        let changed = format!("{text}\0{text}");
        let c = changed.clone();
        w(s, move |tx| {
            tx.update_app_instance(&ua, &AppInstanceUpdate { metadata: Some(c.clone()), ..Default::default() })?;
            tx.update_user(&uu, &UserUpdate { name: Some(c.clone()), metadata: Some(c.clone()), ..Default::default() })?;
            tx.update_bot(&ub, &BotUpdate { name: Some(c.clone()), metadata: Some(c.clone()), ..Default::default() })?;
            tx.update_endpoint(&ue, "e", &EndpointUpdate { name: Some(c.clone()), ..Default::default() })?;
            tx.delete_tags(&uu, std::slice::from_ref(&ut))
        })
        .await
        .unwrap_or_else(|err| panic!("text {i} {text:?}: {err}"));
        let (ga, gu, gb) = (a.arn.clone(), u.arn.clone(), bt.arn.clone());
        let got = r(s, move |tx| {
            Ok((
                tx.get_app_instance(&ga)?.unwrap().metadata,
                tx.get_user(&gu)?.unwrap().name,
                tx.get_bot(&gb)?.unwrap().metadata,
                tx.get_endpoint(&gu, "e")?.unwrap().name,
                tx.get_tags(&gu)?,
            ))
        })
        .await
        .unwrap();
        assert_eq!(got.0.as_deref(), Some(changed.as_str()));
        assert_eq!(got.1, changed);
        assert_eq!(got.2.as_deref(), Some(changed.as_str()));
        assert_eq!(got.3.as_deref(), Some(changed.as_str()));
        assert_eq!(got.4, vec![tags[1].clone()], "untag removed exactly the key {text:?}");
    }

    // Texts that differ only in NUL against the escape's own characters stay distinct: one user
    // may hold both device tokens, and each lookup finds its own.
    let a = app_instance("distinct");
    let u = user(&a, "d");
    let tokens = ["x\0", "x\u{1}0", "x\u{1}", "x"];
    let (ia, iu) = (a.clone(), u.clone());
    w(s, move |tx| {
        tx.insert_app_instance(&ia)?;
        tx.insert_user(&iu)?;
        for (i, t) in tokens.iter().enumerate() {
            tx.insert_endpoint(&endpoint(&iu, &format!("e{i}"), t))?;
        }
        Ok(())
    })
    .await
    .unwrap();
    let arn = u.arn.clone();
    let found = r(s, move |tx| tokens.iter().map(|t| tx.endpoint_with_device_token(&arn, t)).collect::<StoreResult<Vec<_>>>()).await;
    assert_eq!(found.unwrap(), (0..4).map(|i| Some(format!("e{i}"))).collect::<Vec<_>>());

    // Keys and ARNs with NUL that name nothing are simply not found.
    let arn = format!("{}\0", u.arn);
    let missing = r(s, move |tx| Ok((tx.get_user(&arn)?, tx.get_app_instance(&arn)?, tx.get_endpoint(&arn, "\0")?, tx.get_tags(&arn)?)))
        .await
        .unwrap();
    assert_eq!(missing, (None, None, None, vec![]));
    let arn = format!("{}\0", a.arn);
    assert!(!w(s, move |tx| tx.delete_app_instance(&arn)).await.unwrap());
    let arn = format!("{}\0", u.arn);
    w(s, move |tx| tx.lock(&arn)).await.unwrap();
}

/// A database written before migration 3 may hold U+0001, unescaped; the migration rewrites it
/// so that it still reads as what was written.
async fn text_escape_migration_keeps_older_texts(mut b: Backend) {
    let a = app_instance("old");
    let ia = a.clone();
    w(b.store(), move |tx| tx.insert_app_instance(&ia)).await.unwrap();
    b.store().close().await;
    let client = b.postgres_database().unwrap().client().await;
    // Back to version 2, with texts as version 2 stored them (and without what versions 4 to 7 made).
    client
        .batch_execute(&format!(
            "DELETE FROM carillon_schema_version WHERE version >= 3; \
             DROP TRIGGER users_counted ON users; DROP FUNCTION carillon_count_users(); DROP TABLE user_counts; \
             DROP TABLE channels, channel_memberships, channel_moderators, channel_messages, channel_counts; \
             DROP FUNCTION carillon_count_channels(); DROP TABLE channel_flows, streaming_configurations; \
             DROP TABLE push_outbox, push_failure_markers; \
             UPDATE app_instances SET metadata = 'x' || chr(1) || '0' || chr(1), name = chr(1) || '1' WHERE arn = '{}'",
            a.arn
        ))
        .await
        .unwrap();
    b.reopen().await;
    let arn = a.arn.clone();
    let got = r(b.store(), move |tx| tx.get_app_instance(&arn)).await.unwrap().unwrap();
    assert_eq!((got.name.as_str(), got.metadata.as_deref()), ("\u{1}1", Some("x\u{1}0\u{1}")));
}

// ---------------------------------------------------------------------------------------------
// Reset

const NONE: Remains = Remains {
    instance: false,
    user: false,
    bot: false,
    endpoint: false,
    user_admin: false,
    bot_admin: false,
    tags: [0, 0, 0],
    idempotency: [false; 4],
};

async fn reset(s: &dyn Store, scope: ResetScope) -> ResetCounts {
    w(s, move |tx| tx.reset(&scope)).await.unwrap()
}

async fn reset_is_scoped_and_counts_what_it_deleted(b: Backend) {
    let s = b.store();
    let one = ResetCounts { app_instances: 1, users: 1, bots: 1, admins: 2, endpoints: 1, ..Default::default() };
    let here = populate(s, "here").await;
    let twin = populate(s, "twin").await;
    let other_account = populate_in(s, "acct", "210987654321", REGION).await;
    let other_region = populate_in(s, "west", ACCOUNT, "eu-west-2").await;

    assert_eq!(reset(s, ResetScope::app_instance(&here.a.arn)).await, one);
    assert_eq!(remains(s, &here).await, NONE);
    for kept in [&twin, &other_account, &other_region] {
        assert_eq!(remains(s, kept).await, ALL, "{}", kept.a.arn);
    }
    assert_eq!(reset(s, ResetScope::app_instance(&here.a.arn)).await, ResetCounts::default(), "a second reset finds nothing");

    assert_eq!(reset(s, ResetScope::account_region(None, Some("eu-west-2"))).await, one);
    assert_eq!(remains(s, &other_region).await, NONE);
    assert_eq!(remains(s, &twin).await, ALL);

    assert_eq!(reset(s, ResetScope::account_region(Some("210987654321"), None)).await, one);
    assert_eq!(remains(s, &other_account).await, NONE);
    assert_eq!(remains(s, &twin).await, ALL);

    let again = populate(s, "here").await;
    let both = ResetCounts { app_instances: 2, users: 2, bots: 2, admins: 4, endpoints: 2, ..Default::default() };
    assert_eq!(reset(s, ResetScope::all()).await, both);
    assert_eq!(remains(s, &twin).await, NONE);
    assert_eq!(remains(s, &again).await, NONE);
    let left = r(s, |tx| tx.list_app_instances(ACCOUNT, REGION, 0, 10)).await.unwrap();
    assert!(left.is_empty());
    // The same ARNs can be made again, and the secret of pagination tokens is kept.
    assert_eq!(remains(s, &populate(s, "twin").await).await, ALL);
}

async fn reset_takes_pending_purges_with_it(b: Backend) {
    let s = b.store();
    let doomed = populate(s, "doomed").await;
    let kept = populate_in(s, "kept", "210987654321", REGION).await;
    let arn = doomed.a.arn.clone();
    assert!(w(s, move |tx| tx.detach(PurgeKind::AppInstance, &arn, 42)).await.unwrap());
    assert_eq!(r(s, |tx| tx.pending_purges(10)).await.unwrap().len(), 1);
    // The detached instance's children are no longer resources: not counted, but deleted.
    let counts = reset(s, ResetScope::account_region(Some(ACCOUNT), Some(REGION))).await;
    assert_eq!(counts, ResetCounts::default());
    assert!(r(s, |tx| tx.pending_purges(10)).await.unwrap().is_empty());
    let arn = doomed.a.arn.clone();
    assert_eq!(r(s, move |tx| tx.count_children(PurgeKind::AppInstance, &arn, 1_000)).await.unwrap(), 0);
    assert_eq!(remains(s, &kept).await, ALL);
}

/// Measures (does not assert) a global reset of 10,000 resources: 100 AppInstances of 50 users with
/// one endpoint each, plus 49 bots each.
async fn reset_of_ten_thousand_resources(b: Backend) {
    let s = b.store();
    for i in 0..100 {
        let a = app_instance(&format!("big-{i}"));
        w(s, move |tx| {
            tx.insert_app_instance(&a)?;
            for j in 0..50 {
                let u = user(&a, &format!("u{j}"));
                tx.insert_user(&u)?;
                tx.insert_endpoint(&endpoint(&u, "e", &format!("t{j}")))?;
            }
            for j in 0..49 {
                tx.insert_bot(&bot(&a, &format!("b{j}")))?;
            }
            Ok(())
        })
        .await
        .unwrap();
    }
    let started = std::time::Instant::now();
    let n = reset(s, ResetScope::all()).await;
    let took = started.elapsed();
    assert_eq!(n, ResetCounts { app_instances: 100, users: 5_000, bots: 4_900, admins: 0, endpoints: 5_000, ..Default::default() });
    eprintln!("reset of {} resources on {:?}: {took:?}", 100 + 5_000 + 4_900 + 5_000, b.kind);
}

/// The commit observer is told of every write transaction made durable, in batches (a group
/// commit) or one by one, and of nothing else: not a read, not a rolled-back write.
async fn commits_are_observed_with_their_batches(b: Backend) {
    let seen: Arc<std::sync::Mutex<Vec<(usize, Duration)>>> = Arc::default();
    let noted = seen.clone();
    b.store().set_commit_observer(Arc::new(move |batch, took| noted.lock().unwrap().push((batch, took))));
    // Only the first observer is kept.
    b.store().set_commit_observer(Arc::new(|_, _| panic!("a second observer was called")));
    let a = app_instance("observed");
    let ia = a.clone();
    w(b.store(), move |tx| tx.insert_app_instance(&ia)).await.unwrap();
    assert_eq!(seen.lock().unwrap().iter().map(|(n, _)| n).collect::<Vec<_>>(), [&1]);
    let arn = a.arn.clone();
    assert!(r(b.store(), move |tx| tx.get_app_instance(&arn)).await.unwrap().is_some());
    let refused: Result<(), CallerError> = carillon_store::write(b.store(), |_| Err(CallerError::Refused("no"))).await;
    assert!(refused.is_err());
    assert_eq!(seen.lock().unwrap().len(), 1, "a read or a rolled-back write was observed");

    const WRITERS: usize = 24;
    let tasks: Vec<_> = (0..WRITERS)
        .map(|i| {
            let (store, u) = (b.shared(), user(&a, &format!("u{i}")));
            tokio::spawn(async move { w(&*store, move |tx| tx.insert_user(&u)).await })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let seen = seen.lock().unwrap();
    let later = &seen[1..];
    assert_eq!(later.iter().map(|(n, _)| n).sum::<usize>(), WRITERS, "{later:?}");
    assert!(later.iter().all(|(n, _)| *n >= 1));
    if b.kind == Kind::Postgres {
        assert!(later.iter().all(|(n, _)| *n == 1), "PostgreSQL commits each transaction alone: {later:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// Messaging: channels, memberships, moderators, messages

/// An AppInstance with a user, in which the Messaging tests make their channels.
async fn messaging_setup(s: &dyn Store, id: &str) -> (AppInstanceRecord, UserRecord) {
    let a = app_instance(id);
    let u = user(&a, "alice");
    let (a2, u2) = (a.clone(), u.clone());
    w(s, move |tx| {
        tx.insert_app_instance(&a2)?;
        tx.insert_user(&u2)
    })
    .await
    .unwrap();
    (a, u)
}

async fn get_channel(s: &dyn Store, arn: &str) -> Option<ChannelRecord> {
    let arn = arn.to_string();
    r(s, move |tx| tx.get_channel(&arn)).await.unwrap()
}

async fn update_channel(s: &dyn Store, arn: &str, u: ChannelUpdate) -> bool {
    let arn = arn.to_string();
    w(s, move |tx| tx.update_channel(&arn, &u)).await.unwrap()
}

async fn channel_crud(b: Backend) {
    let s = b.store();
    let (a, u) = messaging_setup(s, "a").await;
    let mut c = channel(&a, "c1", &u.arn);
    c.mode = ChannelMode::Restricted;
    c.privacy = ChannelPrivacy::Private;
    c.metadata = Some("meta".into());
    c.created_by.name = None;
    c.expiration = Some(ChannelExpiration { days: 3, criterion: ChannelExpirationCriterion::LastMessageTimestamp, expires_at_ms: 99 });
    let inserted = c.clone();
    w(s, move |tx| tx.insert_channel(&inserted)).await.unwrap();
    let got = get_channel(s, &c.arn).await.expect("inserted");
    assert!(got.seq > 0, "the store assigns seq");
    assert_eq!(got, ChannelRecord { seq: got.seq, ..c.clone() });
    let again = c.clone();
    assert!(is_conflict(&w(s, move |tx| tx.insert_channel(&again)).await), "one channel per ARN");

    // Only the members named change; updated_ms moves on.
    let mut want = got.clone();
    assert!(
        update_channel(
            s,
            &c.arn,
            ChannelUpdate { name: Some("renamed".into()), touched_ms: Some(1_800_000_000_000), ..Default::default() }
        )
        .await
    );
    (want.name, want.updated_ms) = ("renamed".into(), 1_800_000_000_000);
    assert_eq!(get_channel(s, &c.arn).await, Some(want.clone()));
    // A touch at an earlier time still moves updated_ms forward.
    assert!(
        update_channel(s, &c.arn, ChannelUpdate { mode: Some(ChannelMode::Unrestricted), touched_ms: Some(5), ..Default::default() }).await
    );
    (want.mode, want.updated_ms) = (ChannelMode::Unrestricted, 1_800_000_000_001);
    assert_eq!(get_channel(s, &c.arn).await, Some(want.clone()));

    // Metadata: kept when not named, replaced, then removed.
    assert!(update_channel(s, &c.arn, ChannelUpdate::default()).await);
    assert_eq!(get_channel(s, &c.arn).await, Some(want.clone()), "an empty update changes nothing");
    assert!(update_channel(s, &c.arn, ChannelUpdate { metadata: Some(Some("m2".into())), ..Default::default() }).await);
    want.metadata = Some("m2".into());
    assert_eq!(get_channel(s, &c.arn).await, Some(want.clone()));
    assert!(update_channel(s, &c.arn, ChannelUpdate { metadata: Some(None), ..Default::default() }).await);
    want.metadata = None;
    assert_eq!(get_channel(s, &c.arn).await, Some(want.clone()));

    // last_message_ms: set, moved on, never back.
    for (given, kept) in [(1_000, 1_000), (2_000, 2_000), (1_500, 2_000), (2_000, 2_000)] {
        assert!(update_channel(s, &c.arn, ChannelUpdate { last_message_ms: Some(given), ..Default::default() }).await);
        assert_eq!(get_channel(s, &c.arn).await.unwrap().last_message_ms, Some(kept), "after {given}");
    }
    want.last_message_ms = Some(2_000);

    // Expiration: replaced, kept when not named, removed.
    let later = ChannelExpiration { days: 7, criterion: ChannelExpirationCriterion::CreatedTimestamp, expires_at_ms: 1_234 };
    assert!(update_channel(s, &c.arn, ChannelUpdate { expiration: Some(Some(later)), ..Default::default() }).await);
    want.expiration = Some(later);
    assert_eq!(get_channel(s, &c.arn).await, Some(want.clone()));
    assert!(update_channel(s, &c.arn, ChannelUpdate { name: Some("x".into()), ..Default::default() }).await);
    assert_eq!(get_channel(s, &c.arn).await.unwrap().expiration, Some(later));
    assert!(update_channel(s, &c.arn, ChannelUpdate { expiration: Some(None), ..Default::default() }).await);
    assert_eq!(get_channel(s, &c.arn).await.unwrap().expiration, None);
    assert!(r(s, |tx| tx.expired_channels(i64::MAX, 10)).await.unwrap().is_empty(), "no longer expiring");

    let missing = format!("{}/channel/missing", a.arn);
    assert!(!update_channel(s, &missing, ChannelUpdate { name: Some("x".into()), ..Default::default() }).await);
    assert_eq!(get_channel(s, &missing).await, None);
    let arn = c.arn.clone();
    assert!(w(s, move |tx| tx.delete_channel(&arn)).await.unwrap());
    let arn = c.arn.clone();
    assert!(!w(s, move |tx| tx.delete_channel(&arn)).await.unwrap(), "gone already");
    assert_eq!(get_channel(s, &c.arn).await, None);
}

async fn expired_channels_oldest_first(b: Backend) {
    let s = b.store();
    let (a, u) = messaging_setup(s, "a").await;
    let (gone, gone_user) = messaging_setup(s, "gone").await;
    let expiring = |id: &str, app: &AppInstanceRecord, creator: &str, at: Option<i64>| {
        let mut c = channel(app, id, creator);
        c.expiration =
            at.map(|expires_at_ms| ChannelExpiration { days: 1, criterion: ChannelExpirationCriterion::CreatedTimestamp, expires_at_ms });
        c
    };
    let channels = [
        expiring("late", &a, &u.arn, Some(300)),
        expiring("never", &a, &u.arn, None),
        expiring("early", &a, &u.arn, Some(100)),
        expiring("tie-1", &a, &u.arn, Some(200)),
        expiring("tie-2", &a, &u.arn, Some(200)),
        expiring("future", &a, &u.arn, Some(1_000)),
        expiring("detached", &gone, &gone_user.arn, Some(50)),
    ];
    w(s, move |tx| channels.iter().try_for_each(|c| tx.insert_channel(c))).await.unwrap();
    let arn = gone.arn.clone();
    assert!(w(s, move |tx| tx.detach(PurgeKind::AppInstance, &arn, 1)).await.unwrap());
    let arns = |ids: &[&str]| ids.iter().map(|id| format!("{}/channel/{id}", a.arn)).collect::<Vec<_>>();
    assert_eq!(r(s, |tx| tx.expired_channels(300, 10)).await.unwrap(), arns(&["early", "tie-1", "tie-2", "late"]), "at or before now");
    assert_eq!(r(s, |tx| tx.expired_channels(299, 2)).await.unwrap(), arns(&["early", "tie-1"]), "limited");
    assert!(r(s, |tx| tx.expired_channels(99, 10)).await.unwrap().is_empty());
}

async fn channel_count(s: &dyn Store, app_instance_arn: &str) -> u64 {
    let arn = app_instance_arn.to_string();
    r(s, move |tx| tx.count_channels(&arn)).await.unwrap()
}

async fn insert_channels(s: &dyn Store, a: &AppInstanceRecord, creator: &str, ids: &[&str]) -> Vec<ChannelRecord> {
    let channels: Vec<ChannelRecord> = ids.iter().map(|id| channel(a, id, creator)).collect();
    let inserted = channels.clone();
    w(s, move |tx| inserted.iter().try_for_each(|c| tx.insert_channel(c))).await.unwrap();
    channels
}

async fn channel_counts_follow_every_way_channels_go(b: Backend) {
    let s = b.store();
    let (a, u) = messaging_setup(s, "a").await;
    let (other, other_user) = messaging_setup(s, "other").await;
    assert_eq!(channel_count(s, &a.arn).await, 0);
    let cs = insert_channels(s, &a, &u.arn, &["c1", "c2", "c3"]).await;
    insert_channels(s, &other, &other_user.arn, &["o1"]).await;
    assert_eq!((channel_count(s, &a.arn).await, channel_count(s, &other.arn).await), (3, 1));
    let dup = cs[0].clone();
    assert!(is_conflict(&w(s, move |tx| tx.insert_channel(&dup)).await));
    assert_eq!(channel_count(s, &a.arn).await, 3, "a refused insert counts nothing");
    let arn = cs[0].arn.clone();
    w(s, move |tx| tx.delete_channel(&arn)).await.unwrap();
    assert_eq!(channel_count(s, &a.arn).await, 2);
    // A rolled-back insert counts nothing either.
    let extra = channel(&a, "rolled-back", &u.arn);
    let failed: StoreResult<()> = w(s, move |tx| {
        tx.insert_channel(&extra)?;
        Err(StoreError::Internal("abort".into()))
    })
    .await;
    assert!(failed.is_err());
    assert_eq!(channel_count(s, &a.arn).await, 2);

    let arn = a.arn.clone();
    assert!(w(s, move |tx| tx.delete_app_instance(&arn)).await.unwrap());
    assert_eq!((channel_count(s, &a.arn).await, channel_count(s, &other.arn).await), (0, 1));

    // A purge, batch by batch.
    let (p, pu) = messaging_setup(s, "purged").await;
    insert_channels(s, &p, &pu.arn, &["p1", "p2", "p3", "p4"]).await;
    let arn = p.arn.clone();
    assert!(w(s, move |tx| tx.detach(PurgeKind::AppInstance, &arn, 1)).await.unwrap());
    let job = r(s, |tx| tx.pending_purges(10)).await.unwrap().pop().expect("queued");
    purge_all(s, job.seq, 1).await;
    assert_eq!(channel_count(s, &p.arn).await, 0);

    // A reset.
    let (q, qu) = messaging_setup(s, "reset").await;
    insert_channels(s, &q, &qu.arn, &["r1", "r2"]).await;
    assert_eq!(channel_count(s, &q.arn).await, 2);
    reset(s, ResetScope::app_instance(&q.arn)).await;
    assert_eq!((channel_count(s, &q.arn).await, channel_count(s, &other.arn).await), (0, 1));
}

async fn channel_lists_seek_and_filter_by_privacy(b: Backend) {
    let s = b.store();
    let (a, u) = messaging_setup(s, "a").await;
    let (other, other_user) = messaging_setup(s, "other").await;
    let mut all = Vec::new();
    for i in 0..9 {
        let mut c = channel(&a, &format!("c{i}"), &u.arn);
        if i % 3 == 0 {
            c.privacy = ChannelPrivacy::Private;
        }
        all.push(c);
    }
    let inserted = all.clone();
    w(s, move |tx| inserted.iter().try_for_each(|c| tx.insert_channel(c))).await.unwrap();
    insert_channels(s, &other, &other_user.arn, &["o1", "o2"]).await;
    let names = |cs: &[ChannelRecord]| cs.iter().map(|c| c.arn.clone()).collect::<Vec<_>>();
    for (privacy, want) in [
        (None, names(&all)),
        (Some(ChannelPrivacy::Private), names(&all.iter().filter(|c| c.privacy == ChannelPrivacy::Private).cloned().collect::<Vec<_>>())),
        (Some(ChannelPrivacy::Public), names(&all.iter().filter(|c| c.privacy == ChannelPrivacy::Public).cloned().collect::<Vec<_>>())),
    ] {
        for page in [1, 2, 4, 100] {
            let arn = a.arn.clone();
            let got = page_all(s, page, move |tx, after, n| {
                Ok(tx.list_channels(&arn, privacy, after, n)?.into_iter().map(|c| (c.seq, c.arn)).collect())
            })
            .await;
            assert_eq!(got, want, "{privacy:?} by pages of {page}");
        }
    }
    let arn = a.arn.clone();
    let listed = r(s, move |tx| tx.list_channels(&arn, None, 0, 100)).await.unwrap();
    assert_eq!(listed.iter().map(|c| ChannelRecord { seq: 0, ..c.clone() }).collect::<Vec<_>>(), all, "whole records");
}

async fn membership_crud_and_lists(b: Backend) {
    let s = b.store();
    let (a, u) = messaging_setup(s, "a").await;
    let cs = insert_channels(s, &a, &u.arn, &["c1", "c2", "c3"]).await;
    let bt = bot(&a, "helper");
    let mut hidden = membership(&cs[0], &bt.arn, ChannelMembershipType::Hidden);
    hidden.member.name = None;
    hidden.preferences = Some(r#"{"PushNotifications":{"AllowNotifications":"ALL"}}"#.into());
    let members: Vec<MembershipRecord> = (0..5)
        .map(|i| membership(&cs[0], &format!("{}/user/m{i}", a.arn), ChannelMembershipType::Default))
        .chain([hidden.clone()])
        .chain([membership(&cs[2], &bt.arn, ChannelMembershipType::Default), membership(&cs[1], &bt.arn, ChannelMembershipType::Default)])
        .collect();
    let inserted = members.clone();
    w(s, move |tx| inserted.iter().try_for_each(|m| tx.insert_membership(m))).await.unwrap();
    let dup = hidden.clone();
    assert!(is_conflict(&w(s, move |tx| tx.insert_membership(&dup)).await), "one membership per channel and member");

    let (c, m) = (cs[0].arn.clone(), bt.arn.clone());
    let got = r(s, move |tx| tx.get_membership(&c, &m)).await.unwrap().expect("inserted");
    assert!(got.seq > 0);
    assert_eq!(got, MembershipRecord { seq: got.seq, ..hidden.clone() });

    // Read marker and preferences, each alone.
    let (c, m) = (cs[0].arn.clone(), bt.arn.clone());
    let marked = w(s, move |tx| {
        let first = tx.update_membership(
            &c,
            &m,
            &MembershipUpdate { read_marker_ms: Some(77), touched_ms: Some(1_800_000_000_000), ..Default::default() },
        )?;
        let second = tx.update_membership(&c, &m, &MembershipUpdate { preferences: Some("{}".into()), ..Default::default() })?;
        let missing = tx.update_membership(&c, "nobody", &MembershipUpdate { read_marker_ms: Some(1), ..Default::default() })?;
        Ok((first, second, missing, tx.get_membership(&c, &m)?))
    })
    .await
    .unwrap();
    let want = MembershipRecord {
        seq: got.seq,
        read_marker_ms: Some(77),
        preferences: Some("{}".into()),
        updated_ms: 1_800_000_000_000,
        ..hidden.clone()
    };
    assert_eq!(marked, (true, true, false, Some(want.clone())));

    let (c0, bt_arn) = (cs[0].arn.clone(), bt.arn.clone());
    let counts = r(s, move |tx| Ok((tx.count_memberships(&c0)?, tx.count_member_channels(&bt_arn)?))).await.unwrap();
    assert_eq!(counts, (6, 3));
    let member_arns = |ms: &[MembershipRecord]| ms.iter().map(|m| m.member.arn.clone()).collect::<Vec<_>>();
    for (kind, want) in [
        (None, member_arns(&members[..6])),
        (Some(ChannelMembershipType::Default), member_arns(&members[..5])),
        (Some(ChannelMembershipType::Hidden), vec![bt.arn.clone()]),
    ] {
        for page in [1, 2, 100] {
            let c0 = cs[0].arn.clone();
            let got = page_all(s, page, move |tx, after, n| {
                Ok(tx.list_memberships(&c0, kind, after, n)?.into_iter().map(|m| (m.seq, m.member.arn)).collect())
            })
            .await;
            assert_eq!(got, want, "{kind:?} by pages of {page}");
        }
    }

    // A member's channels, by membership creation order, each with its channel.
    for page in [1, 2, 100] {
        let bt_arn = bt.arn.clone();
        let got = page_all(s, page, move |tx, after, n| {
            Ok(tx
                .list_member_channels(&bt_arn, after, n)?
                .into_iter()
                .map(|(m, c)| {
                    assert_eq!(m.channel_arn, c.arn, "the membership's own channel");
                    (m.seq, (c.arn, c.name, m.membership_type))
                })
                .collect())
        })
        .await;
        let want = [(0, ChannelMembershipType::Hidden), (2, ChannelMembershipType::Default), (1, ChannelMembershipType::Default)]
            .map(|(i, t)| (cs[i].arn.clone(), cs[i].name.clone(), t));
        assert_eq!(got, want, "by pages of {page}");
    }

    let (c0, bt_arn) = (cs[0].arn.clone(), bt.arn.clone());
    let deleted = w(s, move |tx| Ok((tx.delete_membership(&c0, &bt_arn)?, tx.delete_membership(&c0, &bt_arn)?))).await.unwrap();
    assert_eq!(deleted, (true, false));
    let (c0, bt_arn) = (cs[0].arn.clone(), bt.arn.clone());
    let after = r(s, move |tx| Ok((tx.get_membership(&c0, &bt_arn)?, tx.count_memberships(&c0)?, tx.count_member_channels(&bt_arn)?)))
        .await
        .unwrap();
    assert_eq!(after, (None, 5, 2));
}

async fn delete_member_everywhere_takes_memberships_and_moderator_roles(b: Backend) {
    let s = b.store();
    let (a, u) = messaging_setup(s, "a").await;
    let cs = insert_channels(s, &a, &u.arn, &["c1", "c2", "c3"]).await;
    let other = format!("{}/user/bob", a.arn);
    let rows = (cs.clone(), u.arn.clone(), other.clone());
    w(s, move |tx| {
        let (cs, alice, bob) = &rows;
        tx.insert_membership(&membership(&cs[2], alice, ChannelMembershipType::Default))?;
        tx.insert_membership(&membership(&cs[0], alice, ChannelMembershipType::Hidden))?;
        tx.insert_membership(&membership(&cs[0], bob, ChannelMembershipType::Default))?;
        tx.insert_moderator(&moderator(&cs[1], alice))?;
        tx.insert_moderator(&moderator(&cs[0], bob))?;
        tx.insert_message(&message(&cs[0], "m1", 10, alice))
    })
    .await
    .unwrap();
    let alice = u.arn.clone();
    let channels = w(s, move |tx| tx.delete_member_everywhere(&alice)).await.unwrap();
    assert_eq!(channels, vec![cs[2].arn.clone(), cs[0].arn.clone()], "the channels it was a member of, by membership order");
    let (alice, bob, cs2) = (u.arn.clone(), other.clone(), cs.clone());
    let left = r(s, move |tx| {
        Ok((
            tx.count_member_channels(&alice)?,
            tx.get_moderator(&cs2[1].arn, &alice)?.is_some(),
            tx.get_membership(&cs2[0].arn, &bob)?.is_some(),
            tx.get_moderator(&cs2[0].arn, &bob)?.is_some(),
            tx.get_message(&cs2[0].arn, "m1")?.is_some(),
            tx.count_channels(&cs2[0].app_instance_arn)?,
        ))
    })
    .await
    .unwrap();
    assert_eq!(left, (0, false, true, true, true, 3), "only its own rows go; messages and channels stay");
    let alice = u.arn.clone();
    assert!(w(s, move |tx| tx.delete_member_everywhere(&alice)).await.unwrap().is_empty());
}

async fn moderator_crud(b: Backend) {
    let s = b.store();
    let (a, u) = messaging_setup(s, "a").await;
    let cs = insert_channels(s, &a, &u.arn, &["c1", "c2"]).await;
    let mods: Vec<ModeratorRecord> = (0..5).map(|i| moderator(&cs[0], &format!("{}/user/m{i}", a.arn))).collect();
    let inserted = (mods.clone(), moderator(&cs[1], &u.arn));
    w(s, move |tx| {
        inserted.0.iter().try_for_each(|m| tx.insert_moderator(m))?;
        tx.insert_moderator(&inserted.1)
    })
    .await
    .unwrap();
    let dup = mods[0].clone();
    assert!(is_conflict(&w(s, move |tx| tx.insert_moderator(&dup)).await), "one role per channel and moderator");
    let m = mods[1].clone();
    let got = r(s, move |tx| tx.get_moderator(&m.channel_arn, &m.moderator.arn)).await.unwrap().expect("inserted");
    assert_eq!(got, ModeratorRecord { seq: got.seq, ..mods[1].clone() });
    for page in [1, 2, 100] {
        let c0 = cs[0].arn.clone();
        let got = page_all(s, page, move |tx, after, n| {
            Ok(tx.list_moderators(&c0, after, n)?.into_iter().map(|m| (m.seq, m.moderator.arn)).collect())
        })
        .await;
        assert_eq!(got, mods.iter().map(|m| m.moderator.arn.clone()).collect::<Vec<_>>(), "by pages of {page}");
    }
    let m = mods[1].clone();
    let c1 = cs[1].arn.clone();
    let out = w(s, move |tx| {
        Ok((
            tx.delete_moderator(&m.channel_arn, &m.moderator.arn)?,
            tx.delete_moderator(&m.channel_arn, &m.moderator.arn)?,
            tx.get_moderator(&m.channel_arn, &m.moderator.arn)?,
            tx.count_moderators(&m.channel_arn)?,
            tx.count_moderators(&c1)?,
        ))
    })
    .await
    .unwrap();
    assert_eq!(out, (true, false, None, 4, 1));
}

async fn get_message(s: &dyn Store, c: &ChannelRecord, id: &str) -> Option<MessageRecord> {
    let (c, id) = (c.arn.clone(), id.to_string());
    r(s, move |tx| tx.get_message(&c, &id)).await.unwrap()
}

async fn message_crud_and_redaction(b: Backend) {
    let s = b.store();
    let (a, u) = messaging_setup(s, "a").await;
    let cs = insert_channels(s, &a, &u.arn, &["c1", "c2"]).await;
    let mut m = message(&cs[0], "m1", 1_000, &u.arn);
    m.sender.name = None;
    let mut control = message(&cs[0], "m2", 1_001, &u.arn);
    control.message_type = ChannelMessageType::Control;
    (control.metadata, control.content_type, control.message_attributes) = (None, None, None);
    let same_id_elsewhere = message(&cs[1], "m1", 1_000, &u.arn);
    let inserted = [m.clone(), control.clone(), same_id_elsewhere.clone()];
    w(s, move |tx| inserted.iter().try_for_each(|m| tx.insert_message(m))).await.unwrap();
    let dup = m.clone();
    assert!(is_conflict(&w(s, move |tx| tx.insert_message(&dup)).await), "one message per channel and id");
    let got = get_message(s, &cs[0], "m1").await.expect("inserted");
    assert!(got.seq > 0);
    assert_eq!(got, MessageRecord { seq: got.seq, ..m.clone() });
    let got2 = get_message(s, &cs[0], "m2").await.expect("inserted");
    assert_eq!(got2, MessageRecord { seq: got2.seq, ..control.clone() });

    // An edit: content changes, an absent metadata and content type are kept.
    let (c0, edit) = (
        cs[0].arn.clone(),
        MessageUpdate { content: Some("edited".into()), edited_ms: Some(2_000), touched_ms: Some(2_000), ..Default::default() },
    );
    assert!(w(s, move |tx| tx.update_message(&c0, "m1", &edit)).await.unwrap());
    let mut want = MessageRecord { seq: got.seq, content: Some("edited".into()), edited_ms: Some(2_000), updated_ms: 2_000, ..m.clone() };
    assert_eq!(get_message(s, &cs[0], "m1").await, Some(want.clone()));
    let (c0, edit) = (
        cs[0].arn.clone(),
        MessageUpdate { metadata: Some("new meta".into()), content_type: Some("text/markdown".into()), ..Default::default() },
    );
    assert!(w(s, move |tx| tx.update_message(&c0, "m1", &edit)).await.unwrap());
    (want.metadata, want.content_type) = (Some("new meta".into()), Some("text/markdown".into()));
    assert_eq!(get_message(s, &cs[0], "m1").await, Some(want.clone()));

    // A redaction clears every content member at once, even one given with it.
    let (c0, redact) =
        (cs[0].arn.clone(), MessageUpdate { redact: true, content: Some("ignored".into()), touched_ms: Some(3_000), ..Default::default() });
    assert!(w(s, move |tx| tx.update_message(&c0, "m1", &redact)).await.unwrap());
    let redacted = MessageRecord {
        content: None,
        metadata: None,
        content_type: None,
        message_attributes: None,
        redacted: true,
        updated_ms: 3_000,
        ..want.clone()
    };
    assert_eq!(get_message(s, &cs[0], "m1").await, Some(redacted.clone()));
    // A later edit does not bring the flag back down.
    let (c0, edit) = (cs[0].arn.clone(), MessageUpdate { edited_ms: Some(4_000), ..Default::default() });
    assert!(w(s, move |tx| tx.update_message(&c0, "m1", &edit)).await.unwrap());
    assert!(get_message(s, &cs[0], "m1").await.unwrap().redacted);
    assert_eq!(
        get_message(s, &cs[1], "m1").await.map(|m| (m.content, m.redacted)),
        Some((same_id_elsewhere.content.clone(), false)),
        "the other channel's message is untouched"
    );

    let c0 = cs[0].arn.clone();
    let out = w(s, move |tx| {
        Ok((
            tx.update_message(&c0, "missing", &MessageUpdate { content: Some("x".into()), ..Default::default() })?,
            tx.delete_message(&c0, "m1")?,
            tx.delete_message(&c0, "m1")?,
            tx.get_message(&c0, "m1")?,
        ))
    })
    .await
    .unwrap();
    assert_eq!(out, (false, true, false, None));
    assert!(get_message(s, &cs[1], "m1").await.is_some());
}

/// Every page of a listing from `q` (its `after` ignored), each `q.limit` long at most.
async fn list_all_messages(s: &dyn Store, c: &ChannelRecord, q: MessageQuery) -> Vec<String> {
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let (c, q) = (c.arn.clone(), MessageQuery { after, ..q });
        let page = r(s, move |tx| tx.list_messages(&c, &q)).await.unwrap();
        assert!(page.len() <= q.limit);
        match page.last() {
            Some(m) => after = Some((m.created_ms, m.seq)),
            None => return out,
        }
        out.extend(page.into_iter().map(|m| m.message_id));
    }
}

async fn message_lists_both_directions(b: Backend) {
    let s = b.store();
    let (a, u) = messaging_setup(s, "a").await;
    let cs = insert_channels(s, &a, &u.arn, &["c1", "c2"]).await;
    // Sent in this order, with ties on created_ms: time 10 holds m2, m3 and m4 (send order), and
    // a message of time 5 arrives after them.
    let times = [("m1", 0), ("m2", 10), ("m3", 10), ("m4", 10), ("m5", 20), ("m6", 5), ("m7", 30), ("m8", 20)];
    let msgs: Vec<MessageRecord> = times.iter().map(|(id, t)| message(&cs[0], id, *t, &u.arn)).collect();
    let noise = message(&cs[1], "elsewhere", 10, &u.arn);
    w(s, move |tx| {
        msgs.iter().try_for_each(|m| tx.insert_message(m))?;
        tx.insert_message(&noise)
    })
    .await
    .unwrap();
    let ascending: Vec<String> = ["m1", "m6", "m2", "m3", "m4", "m5", "m8", "m7"].map(String::from).to_vec();
    let descending: Vec<String> = ascending.iter().rev().cloned().collect();
    let c = cs[0].clone();
    let full = |descending: bool| MessageQuery { descending, limit: 100, ..Default::default() };
    let c0 = c.arn.clone();
    let listed = r(s, move |tx| tx.list_messages(&c0, &full(false))).await.unwrap();
    assert_eq!(listed.iter().map(|m| m.message_id.clone()).collect::<Vec<_>>(), ascending, "by created_ms, ties by send order");
    assert!(listed.windows(2).all(|p| (p[0].created_ms, p[0].seq) < (p[1].created_ms, p[1].seq)));
    let c0 = c.arn.clone();
    let listed = r(s, move |tx| tx.list_messages(&c0, &full(true))).await.unwrap();
    assert_eq!(listed.iter().map(|m| m.message_id.clone()).collect::<Vec<_>>(), descending, "newest first, ties in reverse send order");

    // Paging with `after` through the whole channel gives the full listing, in either direction.
    for limit in [1, 2, 3, 7, 8, 50] {
        assert_eq!(
            list_all_messages(s, &c, MessageQuery { descending: false, limit, ..Default::default() }).await,
            ascending,
            "ascending by {limit}"
        );
        assert_eq!(
            list_all_messages(s, &c, MessageQuery { descending: true, limit, ..Default::default() }).await,
            descending,
            "descending by {limit}"
        );
    }

    // Time bounds are inclusive, alone, together and with paging.
    let ids = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    for (not_before_ms, not_after_ms, want) in [
        (Some(10), None, ids(&["m2", "m3", "m4", "m5", "m8", "m7"])),
        (None, Some(10), ids(&["m1", "m6", "m2", "m3", "m4"])),
        (Some(10), Some(20), ids(&["m2", "m3", "m4", "m5", "m8"])),
        (Some(10), Some(10), ids(&["m2", "m3", "m4"])),
        (Some(11), Some(19), vec![]),
        (Some(21), Some(20), vec![]),
    ] {
        for limit in [1, 2, 100] {
            let q = MessageQuery { not_before_ms, not_after_ms, limit, ..Default::default() };
            assert_eq!(list_all_messages(s, &c, q).await, want, "ascending {not_before_ms:?}..={not_after_ms:?} by {limit}");
            let q = MessageQuery { descending: true, ..q };
            let reversed: Vec<String> = want.iter().rev().cloned().collect();
            assert_eq!(list_all_messages(s, &c, q).await, reversed, "descending {not_before_ms:?}..={not_after_ms:?} by {limit}");
        }
    }

    // `after` is exclusive in the direction of travel, also in the middle of a tie.
    let c0 = c.arn.clone();
    let m3 = get_message(s, &c, "m3").await.unwrap();
    let around = r(s, move |tx| {
        let up = tx.list_messages(&c0, &MessageQuery { after: Some((m3.created_ms, m3.seq)), limit: 2, ..Default::default() })?;
        let down = tx
            .list_messages(&c0, &MessageQuery { descending: true, after: Some((m3.created_ms, m3.seq)), limit: 2, ..Default::default() })?;
        Ok((up.into_iter().map(|m| m.message_id).collect::<Vec<_>>(), down.into_iter().map(|m| m.message_id).collect::<Vec<_>>()))
    })
    .await
    .unwrap();
    assert_eq!(around, (ids(&["m4", "m5"]), ids(&["m2", "m6"])));

    // Deleted messages leave the listing; redacted ones stay.
    let c0 = c.arn.clone();
    w(s, move |tx| {
        tx.delete_message(&c0, "m3")?;
        tx.update_message(&c0, "m4", &MessageUpdate { redact: true, ..Default::default() })
    })
    .await
    .unwrap();
    assert_eq!(
        list_all_messages(s, &c, MessageQuery { limit: 3, ..Default::default() }).await,
        ids(&["m1", "m6", "m2", "m4", "m5", "m8", "m7"])
    );
    let c1 = cs[1].arn.clone();
    assert_eq!(r(s, move |tx| tx.list_messages(&c1, &full(true))).await.unwrap().len(), 1, "one channel's messages only");
}

async fn delete_messages_before_is_scoped_and_limited(b: Backend) {
    let s = b.store();
    let (a, u) = messaging_setup(s, "a").await;
    let (other, other_user) = messaging_setup(s, "other").await;
    let cs = insert_channels(s, &a, &u.arn, &["c1", "c2"]).await;
    let os = insert_channels(s, &other, &other_user.arn, &["o1"]).await;
    let mut msgs = Vec::new();
    for (i, t) in [5, 1, 9, 3, 10, 7, 2, 11].iter().enumerate() {
        msgs.push(message(&cs[i % 2], &format!("m{i}"), *t, &u.arn));
    }
    msgs.push(message(&os[0], "old", 1, &other_user.arn));
    w(s, move |tx| msgs.iter().try_for_each(|m| tx.insert_message(m))).await.unwrap();
    let arn = a.arn.clone();
    assert_eq!(w(s, move |tx| tx.delete_messages_before(&arn, 10, 2)).await.unwrap(), 2, "limited");
    let arn = a.arn.clone();
    assert_eq!(w(s, move |tx| tx.delete_messages_before(&arn, 10, 100)).await.unwrap(), 4, "created before 10 only");
    let arn = a.arn.clone();
    assert_eq!(w(s, move |tx| tx.delete_messages_before(&arn, 10, 100)).await.unwrap(), 0);
    let mut left = Vec::new();
    for c in &cs {
        left.extend(list_all_messages(s, c, MessageQuery { limit: 100, ..Default::default() }).await);
    }
    left.sort();
    assert_eq!(left, vec!["m4".to_string(), "m7".to_string()], "times 10 and 11 stay");
    assert_eq!(
        list_all_messages(s, &os[0], MessageQuery { limit: 100, ..Default::default() }).await,
        vec!["old".to_string()],
        "another AppInstance's stay"
    );
}

/// A channel with a member, a moderator, a message, tags and an idempotency record.
async fn populate_channel(s: &dyn Store, a: &AppInstanceRecord, creator: &str, id: &str) -> ChannelRecord {
    let c = channel(a, id, creator);
    let (c2, creator) = (c.clone(), creator.to_string());
    w(s, move |tx| {
        tx.insert_channel(&c2)?;
        tx.insert_membership(&membership(&c2, &creator, ChannelMembershipType::Default))?;
        tx.insert_moderator(&moderator(&c2, &creator))?;
        tx.insert_message(&message(&c2, "m1", 10, &creator))?;
        tx.insert_message(&message(&c2, "m2", 11, &creator))?;
        tx.put_tags(&c2.arn, &c2.app_instance_arn, &[tag("k1", "v1")])?;
        tx.put_idempotency(&idempotency_key("CreateChannel", &c2.arn), &idempotency(&c2.arn, &c2.app_instance_arn))
    })
    .await
    .unwrap();
    c
}

/// What is left of a [`populate_channel`] channel: (channel, memberships, moderators, messages,
/// tags, idempotency record).
async fn channel_remains(s: &dyn Store, c: &ChannelRecord) -> (bool, u64, u64, usize, usize, bool) {
    let c = c.clone();
    r(s, move |tx| {
        Ok((
            tx.get_channel(&c.arn)?.is_some(),
            tx.count_memberships(&c.arn)?,
            tx.count_moderators(&c.arn)?,
            tx.list_messages(&c.arn, &MessageQuery { limit: 100, ..Default::default() })?.len(),
            tx.get_tags(&c.arn)?.len(),
            tx.get_idempotency(&idempotency_key("CreateChannel", &c.arn))?.is_some(),
        ))
    })
    .await
    .unwrap()
}

const CHANNEL_ALL: (bool, u64, u64, usize, usize, bool) = (true, 1, 1, 2, 1, true);
const CHANNEL_NONE: (bool, u64, u64, usize, usize, bool) = (false, 0, 0, 0, 0, false);

async fn delete_channel_cascades(b: Backend) {
    let s = b.store();
    let (a, u) = messaging_setup(s, "a").await;
    let doomed = populate_channel(s, &a, &u.arn, "doomed").await;
    let kept = populate_channel(s, &a, &u.arn, "kept").await;
    assert_eq!(channel_remains(s, &doomed).await, CHANNEL_ALL);
    let arn = doomed.arn.clone();
    assert!(w(s, move |tx| tx.delete_channel(&arn)).await.unwrap());
    assert_eq!(channel_remains(s, &doomed).await, CHANNEL_NONE);
    assert_eq!(channel_remains(s, &kept).await, CHANNEL_ALL, "another channel is untouched");
    let alice = u.arn.clone();
    assert_eq!(r(s, move |tx| tx.count_member_channels(&alice)).await.unwrap(), 1);
    assert_eq!(channel_count(s, &a.arn).await, 1);
    // The same ARN can be made again, and starts empty.
    let again = channel(&a, "doomed", &u.arn);
    w(s, move |tx| tx.insert_channel(&again)).await.unwrap();
    assert_eq!(channel_remains(s, &doomed).await, (true, 0, 0, 0, 0, false));
}

async fn messaging_rows_go_with_their_app_instance(b: Backend) {
    let s = b.store();
    // delete_app_instance
    let (a, u) = messaging_setup(s, "deleted").await;
    let (k, ku) = messaging_setup(s, "kept").await;
    let doomed = [populate_channel(s, &a, &u.arn, "c1").await, populate_channel(s, &a, &u.arn, "c2").await];
    let kept = populate_channel(s, &k, &ku.arn, "c1").await;
    let arn = a.arn.clone();
    assert!(w(s, move |tx| tx.delete_app_instance(&arn)).await.unwrap());
    for c in &doomed {
        assert_eq!(channel_remains(s, c).await, CHANNEL_NONE, "{}", c.arn);
    }
    assert_eq!(channel_remains(s, &kept).await, CHANNEL_ALL);
    let alice = u.arn.clone();
    assert_eq!(r(s, move |tx| tx.count_member_channels(&alice)).await.unwrap(), 0);

    // reset: counted, and scoped.
    let (rs, ru) = messaging_setup(s, "reset").await;
    let reset_channels = [populate_channel(s, &rs, &ru.arn, "c1").await, populate_channel(s, &rs, &ru.arn, "c2").await];
    let counts = reset(s, ResetScope::app_instance(&rs.arn)).await;
    let want = ResetCounts { app_instances: 1, users: 1, channels: 2, memberships: 2, moderators: 2, messages: 4, ..Default::default() };
    assert_eq!(counts, want);
    for c in &reset_channels {
        assert_eq!(channel_remains(s, c).await, CHANNEL_NONE, "{}", c.arn);
    }
    assert_eq!(channel_remains(s, &kept).await, CHANNEL_ALL);

    // A purge: its rows are counted as children, go in batches, and only its own.
    let (p, pu) = messaging_setup(s, "purged").await;
    let purged = [populate_channel(s, &p, &pu.arn, "c1").await, populate_channel(s, &p, &pu.arn, "c2").await];
    let arn = p.arn.clone();
    let children = r(s, move |tx| tx.count_children(PurgeKind::AppInstance, &arn, 1_000)).await.unwrap();
    assert_eq!(children, 2 + 2 + 2 + 4 + 2 + 2 + 1, "channels, memberships, moderators, messages, tags, idempotency records, user");
    let arn = p.arn.clone();
    assert!(w(s, move |tx| tx.detach(PurgeKind::AppInstance, &arn, 1)).await.unwrap());
    let job = r(s, |tx| tx.pending_purges(10)).await.unwrap().pop().expect("queued");
    assert_eq!(purge_all(s, job.seq, 3).await, children as usize / 3 + 1, "3 rows a batch");
    for c in &purged {
        assert_eq!(channel_remains(s, c).await, CHANNEL_NONE, "{}", c.arn);
    }
    let arn = p.arn.clone();
    assert_eq!(r(s, move |tx| tx.count_children(PurgeKind::AppInstance, &arn, 1_000)).await.unwrap(), 0);
    assert_eq!(channel_remains(s, &kept).await, CHANNEL_ALL);

    // A reset finds a detached AppInstance's rows, deletes them and does not count them.
    let (d, du) = messaging_setup(s, "detached").await;
    let detached = populate_channel(s, &d, &du.arn, "c1").await;
    let arn = d.arn.clone();
    assert!(w(s, move |tx| tx.detach(PurgeKind::AppInstance, &arn, 1)).await.unwrap());
    assert_eq!(reset(s, ResetScope::app_instance(&d.arn)).await, ResetCounts::default());
    let arn = d.arn.clone();
    assert_eq!(r(s, move |tx| tx.count_children(PurgeKind::AppInstance, &arn, 1_000)).await.unwrap(), 0);
    assert_eq!(channel_remains(s, &detached).await, CHANNEL_NONE);
    assert_eq!(channel_remains(s, &kept).await, CHANNEL_ALL);
}

/// Every text of every Messaging row round-trips, NUL and the store's escape character included,
/// through gets, lists and the lookups by id.
async fn messaging_texts_round_trip(b: Backend) {
    let s = b.store();
    let (a, u) = messaging_setup(s, "texts").await;
    for (i, text) in AWKWARD.iter().enumerate() {
        let text = text.to_string();
        let mut c = channel(&a, &format!("c{i}{text}"), &u.arn);
        (c.name, c.metadata, c.created_by.name) = (format!("n{text}"), Some(text.clone()), Some(text.clone()));
        let mut m = membership(&c, &format!("{}/user/{text}", a.arn), ChannelMembershipType::Default);
        (m.member.name, m.invited_by.name, m.preferences) = (Some(text.clone()), Some(text.clone()), Some(text.clone()));
        let mut md = moderator(&c, &format!("{}/bot/{text}", a.arn));
        (md.moderator.name, md.created_by.name) = (Some(text.clone()), Some(text.clone()));
        let mut msg = message(&c, &format!("id{text}"), 1, &u.arn);
        (msg.content, msg.metadata, msg.content_type, msg.message_attributes, msg.sender.name) =
            (Some(text.clone()), Some(text.clone()), Some(text.clone()), Some(text.clone()), Some(text.clone()));
        let rows = (c.clone(), m.clone(), md.clone(), msg.clone());
        w(s, move |tx| {
            tx.insert_channel(&rows.0)?;
            tx.insert_membership(&rows.1)?;
            tx.insert_moderator(&rows.2)?;
            tx.insert_message(&rows.3)
        })
        .await
        .unwrap();
        let (cq, mq, mdq, msgq) = (c.clone(), m.clone(), md.clone(), msg.clone());
        let got = r(s, move |tx| {
            Ok((
                tx.get_channel(&cq.arn)?,
                tx.get_membership(&cq.arn, &mq.member.arn)?,
                tx.get_moderator(&cq.arn, &mdq.moderator.arn)?,
                tx.get_message(&cq.arn, &msgq.message_id)?,
                tx.list_member_channels(&mq.member.arn, 0, 10)?,
                tx.list_messages(&cq.arn, &MessageQuery { limit: 10, ..Default::default() })?,
            ))
        })
        .await
        .unwrap();
        let (gc, gm, gmd, gmsg, member_channels, listed) = got;
        let gc = gc.expect("channel");
        assert_eq!(gc, ChannelRecord { seq: gc.seq, ..c.clone() }, "{text:?}");
        let gm = gm.expect("membership");
        assert_eq!(gm, MembershipRecord { seq: gm.seq, ..m.clone() }, "{text:?}");
        let gmd = gmd.expect("moderator");
        assert_eq!(gmd, ModeratorRecord { seq: gmd.seq, ..md.clone() }, "{text:?}");
        let gmsg = gmsg.expect("message");
        assert_eq!(gmsg, MessageRecord { seq: gmsg.seq, ..msg.clone() }, "{text:?}");
        assert_eq!(member_channels, vec![(gm.clone(), gc.clone())], "{text:?}");
        assert_eq!(listed, vec![gmsg.clone()], "{text:?}");
    }
    let arn = a.arn.clone();
    assert_eq!(r(s, move |tx| tx.count_channels(&arn)).await.unwrap(), AWKWARD.len() as u64, "every channel ARN kept apart");
}

async fn messaging_unknown_enum_values_are_internal_errors(b: Backend) {
    let s = b.store();
    let (a, u) = messaging_setup(s, "a").await;
    let mut c = channel(&a, "c1", &u.arn);
    c.expiration = Some(ChannelExpiration { days: 1, criterion: ChannelExpirationCriterion::CreatedTimestamp, expires_at_ms: 5 });
    let rows = (c.clone(), membership(&c, &u.arn, ChannelMembershipType::Default), message(&c, "m1", 1, &u.arn));
    w(s, move |tx| {
        tx.insert_channel(&rows.0)?;
        tx.insert_membership(&rows.1)?;
        tx.insert_message(&rows.2)
    })
    .await
    .unwrap();
    for (table, column, restore) in [
        ("channels", "mode", "'UNRESTRICTED'"),
        ("channels", "privacy", "'PUBLIC'"),
        ("channels", "expiration_criterion", "'CREATED_TIMESTAMP'"),
        ("channel_memberships", "membership_type", "'DEFAULT'"),
        ("channel_messages", "message_type", "'STANDARD'"),
    ] {
        raw_sql(&b, &format!("UPDATE {table} SET {column} = 'BOGUS_{column}'")).await;
        let (ca, ua) = (c.arn.clone(), u.arn.clone());
        let got = r(s, move |tx| {
            Ok(match table {
                "channels" => tx.get_channel(&ca).map(|_| ()),
                "channel_memberships" => tx.list_member_channels(&ua, 0, 10).map(|_| ()),
                _ => tx.list_messages(&ca, &MessageQuery { limit: 10, ..Default::default() }).map(|_| ()),
            })
        })
        .await
        .unwrap();
        match &got {
            Err(StoreError::Internal(m)) => {
                assert!(m.contains(&format!("{table}.{column}")) && m.contains(&format!("BOGUS_{column}")), "{m}")
            }
            other => panic!("{table}.{column}: expected an internal error, got {other:?}"),
        }
        raw_sql(&b, &format!("UPDATE {table} SET {column} = {restore}")).await;
    }
    let (ca, ua) = (c.arn.clone(), u.arn.clone());
    let back = r(s, move |tx| Ok((tx.get_channel(&ca)?, tx.list_member_channels(&ua, 0, 10)?.len(), tx.get_message(&ca, "m1")?.is_some())))
        .await
        .unwrap();
    assert_eq!(back, (Some(ChannelRecord { seq: back.0.as_ref().map_or(0, |c| c.seq), ..c.clone() }), 1, true));
}

// Channel flows and streaming configurations.

fn flow(a: &AppInstanceRecord, id: &str, created_ms: i64) -> ChannelFlowRecord {
    ChannelFlowRecord {
        seq: 0,
        arn: format!("{}/channel-flow/{id}", a.arn),
        app_instance_arn: a.arn.clone(),
        name: format!("flow {id}"),
        processors: format!(r#"[{{"Name":"p-{id}"}}]"#),
        created_ms,
        updated_ms: created_ms,
    }
}

async fn get_flow(s: &dyn Store, arn: &str) -> Option<ChannelFlowRecord> {
    let arn = arn.to_string();
    r(s, move |tx| tx.get_channel_flow(&arn)).await.unwrap()
}

async fn list_all_flows(s: &dyn Store, app_instance_arn: &str, page: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut after = 0;
    loop {
        let arn = app_instance_arn.to_string();
        let rows = r(s, move |tx| tx.list_channel_flows(&arn, after, page)).await.unwrap();
        let Some(last) = rows.last() else { return out };
        after = last.seq;
        let n = rows.len();
        out.extend(rows.into_iter().map(|f| f.arn));
        if n < page {
            return out;
        }
    }
}

async fn flow_channels(s: &dyn Store, flow_arn: &str, after: i64, limit: usize) -> Vec<ChannelRecord> {
    let arn = flow_arn.to_string();
    r(s, move |tx| tx.list_flow_channels(&arn, after, limit)).await.unwrap()
}

async fn channel_flow_crud_and_lists(b: Backend) {
    let s = b.store();
    let (a, _) = messaging_setup(s, "a").await;
    let (other, _) = messaging_setup(s, "other").await;
    let mut f1 = flow(&a, "f1", 100);
    f1.name = "nul \0 and escape \u{1}0 kept".into();
    let flows = [f1.clone(), flow(&a, "f2", 101), flow(&a, "f3", 102), flow(&other, "f1", 103)];
    let inserted = flows.clone();
    w(s, move |tx| inserted.iter().try_for_each(|f| tx.insert_channel_flow(f))).await.unwrap();
    let got = get_flow(s, &f1.arn).await.expect("stored");
    assert!(got.seq > 0);
    assert_eq!(ChannelFlowRecord { seq: got.seq, ..f1.clone() }, got, "every field round-trips");
    assert_eq!(get_flow(s, &format!("{}/channel-flow/none", a.arn)).await, None);

    // A second flow of the same ARN is refused.
    let dup = f1.clone();
    assert!(is_conflict(&w(s, move |tx| tx.insert_channel_flow(&dup)).await));

    // Lists seek by creation order, per AppInstance.
    let want: Vec<String> = flows[..3].iter().map(|f| f.arn.clone()).collect();
    assert_eq!(list_all_flows(s, &a.arn, 2).await, want);
    assert_eq!(list_all_flows(s, &a.arn, 1).await, want);
    assert_eq!(list_all_flows(s, &other.arn, 10).await, vec![flows[3].arn.clone()]);

    // An update sets name and processors, and LastUpdated always moves forward.
    let arn = f1.arn.clone();
    assert!(w(s, move |tx| tx.update_channel_flow(&arn, "renamed", "[]", 50)).await.unwrap());
    let got = get_flow(s, &f1.arn).await.unwrap();
    assert_eq!((got.name.as_str(), got.processors.as_str(), got.created_ms, got.updated_ms), ("renamed", "[]", 100, 101));
    let arn = f1.arn.clone();
    assert!(w(s, move |tx| tx.update_channel_flow(&arn, "again", "[1]", 500)).await.unwrap());
    assert_eq!(get_flow(s, &f1.arn).await.unwrap().updated_ms, 500);
    let none = format!("{}/channel-flow/none", a.arn);
    assert!(!w(s, move |tx| tx.update_channel_flow(&none, "x", "[]", 1)).await.unwrap());

    // A delete takes the flow's tags and idempotency records, and nothing of the others.
    let (f1a, f2a, aa) = (f1.arn.clone(), flows[1].arn.clone(), a.arn.clone());
    w(s, move |tx| {
        tx.put_tags(&f1a, &aa, &[tag("k", "v")])?;
        tx.put_tags(&f2a, &aa, &[tag("k", "v")])?;
        tx.put_idempotency(&idempotency_key("CreateChannelFlow", "t1"), &idempotency(&f1a, &aa))
    })
    .await
    .unwrap();
    let arn = f1.arn.clone();
    assert!(w(s, move |tx| tx.delete_channel_flow(&arn)).await.unwrap());
    let arn = f1.arn.clone();
    assert!(!w(s, move |tx| tx.delete_channel_flow(&arn)).await.unwrap(), "deleted once");
    assert_eq!(get_flow(s, &f1.arn).await, None);
    let (f1a, f2a) = (f1.arn.clone(), flows[1].arn.clone());
    let (tags1, tags2, key) = r(s, move |tx| {
        Ok((tx.get_tags(&f1a)?.len(), tx.get_tags(&f2a)?.len(), tx.get_idempotency(&idempotency_key("CreateChannelFlow", "t1"))?.is_some()))
    })
    .await
    .unwrap();
    assert_eq!((tags1, tags2, key), (0, 1, false));
    assert_eq!(list_all_flows(s, &a.arn, 10).await, want[1..].to_vec());
}

async fn channel_flow_associations(b: Backend) {
    let s = b.store();
    let (a, u) = messaging_setup(s, "a").await;
    let channels = insert_channels(s, &a, &u.arn, &["c1", "c2", "c3"]).await;
    let (f, g) = (flow(&a, "f", 1), flow(&a, "g", 2));
    let (f2, g2) = (f.clone(), g.clone());
    w(s, move |tx| {
        tx.insert_channel_flow(&f2)?;
        tx.insert_channel_flow(&g2)
    })
    .await
    .unwrap();
    let of = |arn: &str| {
        let arn = arn.to_string();
        async move { r(s, move |tx| tx.channel_flow_of(&arn)).await.unwrap() }
    };
    assert_eq!(of(&channels[0].arn).await, None);
    // c3 and c1 use f (listed by channel creation order), c2 uses g.
    for (c, fl) in [(&channels[2], &f), (&channels[0], &f), (&channels[1], &g)] {
        let (c, fl) = (c.arn.clone(), fl.arn.clone());
        assert!(w(s, move |tx| tx.set_channel_flow(&c, Some(&fl))).await.unwrap());
    }
    let missing = format!("{}/channel/none", a.arn);
    let fa = f.arn.clone();
    assert!(!w(s, move |tx| tx.set_channel_flow(&missing, Some(&fa))).await.unwrap());
    assert_eq!(of(&channels[0].arn).await.as_deref(), Some(f.arn.as_str()));
    assert_eq!(of(&channels[1].arn).await.as_deref(), Some(g.arn.as_str()));
    let listed = flow_channels(s, &f.arn, 0, 10).await;
    assert_eq!(listed.iter().map(|c| c.arn.as_str()).collect::<Vec<_>>(), [channels[0].arn.as_str(), channels[2].arn.as_str()]);
    assert_eq!(listed[0], get_channel(s, &channels[0].arn).await.unwrap(), "whole channel records");
    let first = flow_channels(s, &f.arn, 0, 1).await;
    assert_eq!(first.len(), 1);
    let rest = flow_channels(s, &f.arn, first[0].seq, 10).await;
    assert_eq!(rest.iter().map(|c| c.arn.as_str()).collect::<Vec<_>>(), [channels[2].arn.as_str()]);

    // Disassociating and deleting a channel both end its association.
    let c = channels[0].arn.clone();
    assert!(w(s, move |tx| tx.set_channel_flow(&c, None)).await.unwrap());
    assert_eq!(of(&channels[0].arn).await, None);
    let c = channels[2].arn.clone();
    assert!(w(s, move |tx| tx.delete_channel(&c)).await.unwrap());
    assert!(flow_channels(s, &f.arn, 0, 10).await.is_empty());
    assert_eq!(flow_channels(s, &g.arn, 0, 10).await.len(), 1);
}

async fn get_streaming(s: &dyn Store, app_instance_arn: &str) -> Vec<StreamingConfigRecord> {
    let arn = app_instance_arn.to_string();
    r(s, move |tx| tx.get_streaming_configurations(&arn)).await.unwrap()
}

fn stream(data_type: MessagingDataType, name: &str) -> StreamingConfigRecord {
    StreamingConfigRecord { data_type, resource_arn: format!("arn:aws:kinesis:us-east-1:111122223333:stream/{name}") }
}

async fn streaming_configurations_replace_and_delete(b: Backend) {
    let s = b.store();
    let (a, _) = messaging_setup(s, "a").await;
    let (other, _) = messaging_setup(s, "other").await;
    assert!(get_streaming(s, &a.arn).await.is_empty());
    let both = vec![stream(MessagingDataType::Channelmessage, "m"), stream(MessagingDataType::Channel, "c")];
    let (aa, oa, b2) = (a.arn.clone(), other.arn.clone(), both.clone());
    w(s, move |tx| {
        tx.put_streaming_configurations(&aa, &b2)?;
        tx.put_streaming_configurations(&oa, &b2[..1])
    })
    .await
    .unwrap();
    assert_eq!(get_streaming(s, &a.arn).await, both, "in the order they were put");
    // A Put replaces the whole set.
    let one = vec![stream(MessagingDataType::Channel, "c2")];
    let (aa, one2) = (a.arn.clone(), one.clone());
    w(s, move |tx| tx.put_streaming_configurations(&aa, &one2)).await.unwrap();
    assert_eq!(get_streaming(s, &a.arn).await, one);
    let aa = a.arn.clone();
    assert_eq!(w(s, move |tx| tx.delete_streaming_configurations(&aa)).await.unwrap(), 1);
    let aa = a.arn.clone();
    assert_eq!(w(s, move |tx| tx.delete_streaming_configurations(&aa)).await.unwrap(), 0);
    assert!(get_streaming(s, &a.arn).await.is_empty());
    assert_eq!(get_streaming(s, &other.arn).await, both[..1].to_vec(), "another AppInstance's are untouched");
}

/// Puts two flows (one tagged, one associated with a channel) and one streaming configuration
/// into the AppInstance.
async fn populate_flows(s: &dyn Store, a: &AppInstanceRecord, creator: &str) -> [ChannelFlowRecord; 2] {
    let c = channel(a, "c", creator);
    let flows = [flow(a, "f1", 1), flow(a, "f2", 2)];
    let (f, arn) = (flows.clone(), a.arn.clone());
    w(s, move |tx| {
        tx.insert_channel(&c)?;
        tx.insert_channel_flow(&f[0])?;
        tx.insert_channel_flow(&f[1])?;
        tx.put_tags(&f[0].arn, &arn, &[tag("k", "v")])?;
        tx.set_channel_flow(&c.arn, Some(&f[1].arn))?;
        tx.put_streaming_configurations(&arn, &[stream(MessagingDataType::Channel, "s")])
    })
    .await
    .unwrap();
    flows
}

/// What is left of a [`populate_flows`] AppInstance: (flows, tagged flows, associated channels,
/// streaming configurations).
async fn flows_remain(s: &dyn Store, a: &AppInstanceRecord, flows: &[ChannelFlowRecord; 2]) -> (usize, usize, usize, usize) {
    let (arn, f) = (a.arn.clone(), flows.clone());
    r(s, move |tx| {
        Ok((
            f.iter().filter_map(|x| tx.get_channel_flow(&x.arn).transpose()).count(),
            tx.get_tags(&f[0].arn)?.len(),
            tx.list_flow_channels(&f[1].arn, 0, 10)?.len(),
            tx.get_streaming_configurations(&arn)?.len(),
        ))
    })
    .await
    .unwrap()
}

async fn flows_and_streaming_go_with_their_app_instance(b: Backend) {
    let s = b.store();
    let (k, ku) = messaging_setup(s, "kept").await;
    let kept = populate_flows(s, &k, &ku.arn).await;
    assert_eq!(flows_remain(s, &k, &kept).await, (2, 1, 1, 1));

    // delete_app_instance
    let (a, u) = messaging_setup(s, "deleted").await;
    let doomed = populate_flows(s, &a, &u.arn).await;
    let arn = a.arn.clone();
    assert!(w(s, move |tx| tx.delete_app_instance(&arn)).await.unwrap());
    assert_eq!(flows_remain(s, &a, &doomed).await, (0, 0, 0, 0));

    // reset: counted, and scoped.
    let (rs, ru) = messaging_setup(s, "reset").await;
    let reset_flows = populate_flows(s, &rs, &ru.arn).await;
    let counts = reset(s, ResetScope::app_instance(&rs.arn)).await;
    let want = ResetCounts { app_instances: 1, users: 1, channels: 1, channel_flows: 2, streaming_configurations: 1, ..Default::default() };
    assert_eq!(counts, want);
    assert_eq!(flows_remain(s, &rs, &reset_flows).await, (0, 0, 0, 0));

    // A purge counts them as children and deletes them.
    let (p, pu) = messaging_setup(s, "purged").await;
    let purged = populate_flows(s, &p, &pu.arn).await;
    let arn = p.arn.clone();
    let children = r(s, move |tx| tx.count_children(PurgeKind::AppInstance, &arn, 1_000)).await.unwrap();
    assert_eq!(children, 1 + 2 + 1 + 1 + 1, "channel, flows, streaming configuration, tag, user");
    let arn = p.arn.clone();
    assert!(w(s, move |tx| tx.detach(PurgeKind::AppInstance, &arn, 1)).await.unwrap());
    let job = r(s, |tx| tx.pending_purges(10)).await.unwrap().pop().expect("queued");
    purge_all(s, job.seq, 2).await;
    assert_eq!(flows_remain(s, &p, &purged).await, (0, 0, 0, 0));

    // A reset of a detached AppInstance deletes its rows without counting them.
    let (d, du) = messaging_setup(s, "detached").await;
    let detached = populate_flows(s, &d, &du.arn).await;
    let arn = d.arn.clone();
    assert!(w(s, move |tx| tx.detach(PurgeKind::AppInstance, &arn, 1)).await.unwrap());
    assert_eq!(reset(s, ResetScope::app_instance(&d.arn)).await, ResetCounts::default());
    assert_eq!(flows_remain(s, &d, &detached).await, (0, 0, 0, 0));
    assert_eq!(flows_remain(s, &k, &kept).await, (2, 1, 1, 1), "another AppInstance's are untouched");
}

// ---------------------------------------------------------------------------------------------
// Push notifications: the outbox and the failure markers

fn push_entry(app_instance_arn: &str, channel: &str, recipient: &str, message_id: &str) -> PushEntry {
    PushEntry {
        id: 0,
        time_ms: 1_700_000_000_123,
        account_id: ACCOUNT.into(),
        region: REGION.into(),
        app_instance_arn: app_instance_arn.into(),
        channel_arn: format!("{app_instance_arn}/channel/{channel}"),
        message_id: message_id.into(),
        sender_arn: format!("{app_instance_arn}/user/sender"),
        recipient_arn: format!("{app_instance_arn}/user/{recipient}"),
        endpoint_id: Some("e1".into()),
        endpoint_type: Some(AppInstanceUserEndpointType::Apns),
        resource_arn: Some("arn:aws:mobiletargeting:us-east-1:123456789012:apps/app".into()),
        device_token_sha256: Some("ab".repeat(32)),
        push_type: PushNotificationType::Voip,
        // A NUL and an escape character survive the round trip.
        title: Some("t\u{0}\u{1}itle".into()),
        body: None,
        outcome: "SKIPPED".into(),
        reason: Some("ENDPOINT_INACTIVE".into()),
    }
}

async fn insert_entries(s: &dyn Store, entries: Vec<PushEntry>) {
    w(s, move |tx| entries.iter().try_for_each(|e| tx.insert_push_entry(e))).await.unwrap();
}

async fn outbox(s: &dyn Store, f: PushFilter) -> Vec<PushEntry> {
    r(s, move |tx| tx.list_push_entries(&f, 1000)).await.unwrap()
}

async fn push_outbox_filters_and_keeps_the_newest(b: Backend) {
    let s = b.store();
    let a = app_instance_arn("a");
    let mut bare = push_entry(&a, "c2", "bob", "m3");
    (bare.endpoint_id, bare.endpoint_type, bare.resource_arn, bare.device_token_sha256, bare.title, bare.reason) =
        (None, None, None, None, None, None);
    bare.push_type = PushNotificationType::Default;
    bare.outcome = "DELIVERED".into();
    insert_entries(
        s,
        vec![push_entry(&a, "c1", "ann", "m1"), push_entry(&a, "c1", "bob", "m1"), push_entry(&a, "c1", "ann", "m2"), bare.clone()],
    )
    .await;

    let all = outbox(s, PushFilter::default()).await;
    assert_eq!(all.len(), 4);
    assert!(all.windows(2).all(|p| p[0].id < p[1].id), "ids increase, oldest first");
    assert_eq!(PushEntry { id: 0, ..all[0].clone() }, push_entry(&a, "c1", "ann", "m1"), "every field round-trips");
    assert_eq!(PushEntry { id: 0, ..all[3].clone() }, bare, "absent members stay absent");

    let ids = |v: Vec<PushEntry>| v.iter().map(|e| e.id).collect::<Vec<_>>();
    let by_channel = PushFilter { channel_arn: Some(format!("{a}/channel/c1")), ..Default::default() };
    assert_eq!(ids(outbox(s, by_channel.clone()).await), ids(all[..3].to_vec()));
    let by_recipient = PushFilter { recipient_arn: Some(format!("{a}/user/ann")), ..Default::default() };
    assert_eq!(ids(outbox(s, by_recipient).await), vec![all[0].id, all[2].id]);
    let by_message = PushFilter { message_id: Some("m1".into()), recipient_arn: Some(format!("{a}/user/bob")), ..Default::default() };
    assert_eq!(ids(outbox(s, by_message.clone()).await), vec![all[1].id]);
    let after = PushFilter { after_id: all[1].id, ..Default::default() };
    assert_eq!(ids(outbox(s, after).await), vec![all[2].id, all[3].id]);
    assert_eq!(r(s, |tx| tx.list_push_entries(&PushFilter::default(), 2)).await.unwrap().len(), 2, "the limit holds");

    // A delete removes only what its filters match.
    assert_eq!(w(s, move |tx| tx.delete_push_entries(&by_message)).await.unwrap(), 1);
    assert_eq!(ids(outbox(s, PushFilter::default()).await), vec![all[0].id, all[2].id, all[3].id]);

    // Trimming keeps the newest entries; ids keep increasing past the deleted ones.
    insert_entries(s, (0..5).map(|i| push_entry(&a, "c3", "cy", &format!("n{i}"))).collect()).await;
    assert_eq!(w(s, |tx| tx.trim_push_outbox(4)).await.unwrap(), 4);
    let kept = outbox(s, PushFilter::default()).await;
    assert_eq!(kept.iter().map(|e| e.message_id.as_str()).collect::<Vec<_>>(), ["n1", "n2", "n3", "n4"]);
    assert!(kept[0].id > all[3].id);
    assert_eq!(w(s, |tx| tx.trim_push_outbox(10)).await.unwrap(), 0, "under the limit nothing goes");
    assert_eq!(w(s, |tx| tx.trim_push_outbox(4)).await.unwrap(), 0, "at the limit nothing goes");
    assert_eq!(w(s, |tx| tx.trim_push_outbox(3)).await.unwrap(), 1, "one over: the oldest goes");
    let kept = outbox(s, PushFilter::default()).await;
    assert_eq!(kept.iter().map(|e| e.message_id.as_str()).collect::<Vec<_>>(), ["n2", "n3", "n4"]);
    assert_eq!(w(s, |tx| tx.delete_push_entries(&PushFilter::default())).await.unwrap(), 3);
    assert!(outbox(s, PushFilter::default()).await.is_empty());
}

fn marker(target: PushFailureTarget, status_reason: EndpointStatusReason) -> PushFailureMarker {
    PushFailureMarker { target, status_reason, created_ms: 5 }
}

async fn push_failure_markers_replace_and_match(b: Backend) {
    let s = b.store();
    let (token, other) = ("11".repeat(32), "22".repeat(32));
    let app = "arn:aws:mobiletargeting:us-east-1:123456789012:apps/app".to_string();
    let by_token = marker(PushFailureTarget::DeviceTokenSha256(token.clone()), EndpointStatusReason::InvalidPinpointArn);
    let by_app = marker(PushFailureTarget::ResourceArn(app.clone()), EndpointStatusReason::InvalidPinpointArn);
    let (t, a) = (by_token.clone(), by_app.clone());
    w(s, move |tx| {
        tx.put_push_failure(&t)?;
        tx.put_push_failure(&a)
    })
    .await
    .unwrap();
    let found = |hash: String, arn: String| r(s, move |tx| tx.push_failure_for(&hash, &arn));
    assert_eq!(found(other.clone(), "arn:else".into()).await.unwrap(), None);
    assert_eq!(found(other.clone(), app.clone()).await.unwrap(), Some(EndpointStatusReason::InvalidPinpointArn));

    // A second marker on the same token replaces the reason; the token's marker wins over the app's.
    let again = marker(PushFailureTarget::DeviceTokenSha256(token.clone()), EndpointStatusReason::InvalidDeviceToken);
    let put = again.clone();
    w(s, move |tx| tx.put_push_failure(&put)).await.unwrap();
    assert_eq!(found(token.clone(), app.clone()).await.unwrap(), Some(EndpointStatusReason::InvalidDeviceToken));
    assert_eq!(r(s, |tx| tx.list_push_failures()).await.unwrap(), vec![again, by_app]);

    assert_eq!(w(s, |tx| tx.delete_push_failures()).await.unwrap(), 2);
    assert_eq!(found(token, app).await.unwrap(), None);
    assert!(r(s, |tx| tx.list_push_failures()).await.unwrap().is_empty());
}

async fn push_rows_go_with_their_reset_scope(b: Backend) {
    let s = b.store();
    let (here, there) = (app_instance_arn("here"), app_instance_arn("there"));
    insert_entries(s, vec![push_entry(&here, "c", "u", "m"), push_entry(&here, "c", "v", "m"), push_entry(&there, "c", "u", "m")]).await;
    let m = marker(PushFailureTarget::ResourceArn("arn:app".into()), EndpointStatusReason::InvalidPinpointArn);
    w(s, move |tx| tx.put_push_failure(&m)).await.unwrap();

    let n = reset(s, ResetScope::app_instance(&here)).await;
    assert_eq!((n.push_outbox_entries, n.push_failure_markers), (2, 0), "markers belong to no AppInstance");
    let left = outbox(s, PushFilter::default()).await;
    assert_eq!(left.iter().map(|e| e.app_instance_arn.as_str()).collect::<Vec<_>>(), [there.as_str()]);
    assert_eq!(r(s, |tx| tx.list_push_failures()).await.unwrap().len(), 1);

    let n = reset(s, ResetScope::all()).await;
    assert_eq!((n.push_outbox_entries, n.push_failure_markers), (1, 1));
    assert!(outbox(s, PushFilter::default()).await.is_empty());
    assert!(r(s, |tx| tx.list_push_failures()).await.unwrap().is_empty());
}

/// A state import puts entries back under their ids; later entries get larger ids than any of
/// them, and the sequence never moves back.
async fn push_entries_keep_the_ids_they_are_given(b: Backend) {
    let s = b.store();
    let a = app_instance_arn("a");
    let entry = |id: i64, message_id: &str| PushEntry { id, ..push_entry(&a, "c", "ann", message_id) };
    insert_entries(s, vec![entry(0, "m1"), entry(0, "m2"), entry(0, "m3")]).await;
    let first = outbox(s, PushFilter::default()).await;
    let highest = first[2].id;
    assert_eq!(reset(s, ResetScope::all()).await.push_outbox_entries, 3);

    // Below and far above the ids given so far.
    let (low, high) = (first[0].id, highest + 1_000);
    let given = vec![entry(low, "imported-low"), entry(high, "imported-high")];
    let put = given.clone();
    w(s, move |tx| put.iter().try_for_each(|e| tx.insert_push_entry_with_id(e))).await.unwrap();
    assert_eq!(outbox(s, PushFilter::default()).await, given, "every field and the ids are kept");

    insert_entries(s, vec![entry(0, "next")]).await;
    let next = outbox(s, PushFilter { after_id: high, ..Default::default() }).await;
    assert_eq!(next.len(), 1);
    assert!(next[0].id > high, "{} after {high}", next[0].id);

    // A low id given now does not move the sequence back.
    let again = entry(high - 1, "low-again");
    w(s, move |tx| tx.insert_push_entry_with_id(&again)).await.unwrap();
    insert_entries(s, vec![entry(0, "after")]).await;
    let after = outbox(s, PushFilter { message_id: Some("after".into()), ..Default::default() }).await;
    assert!(after[0].id > next[0].id, "{} after {}", after[0].id, next[0].id);

    // An id already there is a conflict, and the transaction goes on.
    let (taken, fresh) = (entry(high, "taken"), entry(0, "fresh"));
    let seen = w(s, move |tx| {
        let dup = tx.insert_push_entry_with_id(&taken);
        tx.insert_push_entry(&fresh)?;
        Ok(dup)
    })
    .await
    .unwrap();
    assert!(is_conflict(&seen), "{seen:?}");
    let ids: Vec<_> = outbox(s, PushFilter::default()).await.iter().map(|e| (e.id, e.message_id.clone())).collect();
    assert_eq!(ids.iter().filter(|(id, _)| *id == high).count(), 1);
    assert_eq!(ids.last().map(|(_, m)| m.as_str()), Some("fresh"));
    assert!(ids.windows(2).all(|p| p[0].0 < p[1].0), "oldest first: {ids:?}");
}
