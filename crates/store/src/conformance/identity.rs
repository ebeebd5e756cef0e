//! Settings, users and tokens.

use super::{seed_owner, user};
use crate::{Store, StoreError, Token};
use drawbridge_model::Timestamp;

pub async fn settings_keep_their_first_value(s: &dyn Store) {
    assert_eq!(s.setting("secret").await.unwrap(), None);
    assert_eq!(s.setting_or_insert("secret", "a").await.unwrap(), "a");
    assert_eq!(
        s.setting_or_insert("secret", "b").await.unwrap(),
        "a",
        "the first value wins"
    );
    assert_eq!(s.setting("secret").await.unwrap().as_deref(), Some("a"));
}

pub async fn user_names_are_unique(s: &dyn Store) {
    s.create_user(&user("u1", "alice")).await.unwrap();
    assert!(matches!(
        s.create_user(&user("u2", "alice")).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(s.user("u1").await.unwrap(), Some(user("u1", "alice")));
    assert_eq!(
        s.user_by_name("alice").await.unwrap().map(|u| u.id),
        Some("u1".to_owned())
    );
    assert_eq!(s.user_by_name("bob").await.unwrap(), None);
}

fn token() -> Token {
    Token {
        id: "t1".into(),
        user_id: "u1".into(),
        digest: "00ff".into(),
        access: "{}".into(),
        created: Timestamp::from_millis(2_000),
        revoked: None,
    }
}

pub async fn tokens_are_created_once(s: &dyn Store) {
    seed_owner(s).await;
    let t = token();
    assert_eq!(s.token_count().await.unwrap(), 0);
    s.create_token(&t).await.unwrap();
    assert!(matches!(
        s.create_token(&t).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(s.token("t1").await.unwrap(), Some(t.clone()));
    assert_eq!(s.token_count().await.unwrap(), 1);
}

pub async fn tokens_are_revoked_once(s: &dyn Store) {
    seed_owner(s).await;
    s.create_token(&token()).await.unwrap();
    let at = Timestamp::from_millis(3_000);
    assert!(s.revoke_token("t1", at).await.unwrap());
    assert!(!s.revoke_token("t1", at).await.unwrap(), "revoked once");
    assert!(!s.revoke_token("nope", at).await.unwrap());
    assert_eq!(s.token("t1").await.unwrap().unwrap().revoked, Some(at));
}
