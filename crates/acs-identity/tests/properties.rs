//! Properties over arbitrary input: parsing never panics and keeps what it was given.

use acs_identity::{AccessToken, CommunicationIdentifier, TokenScope};
use proptest::prelude::*;

proptest! {
    #[test]
    fn any_raw_id_is_classified_and_kept(raw in ".{0,80}") {
        let id = CommunicationIdentifier::from_raw_id(&raw);
        prop_assert_eq!(id.raw_id(), raw.as_str());
        prop_assert_eq!(id.to_string(), raw);
    }

    #[test]
    fn acs_ids_are_users_unless_three_parts(resource in "[a-f0-9-]{1,36}", suffix in "[a-f0-9-]{1,36}") {
        let raw = format!("8:acs:{resource}_{suffix}");
        let is_user = matches!(
            CommunicationIdentifier::from_raw_id(&raw),
            CommunicationIdentifier::CommunicationUser(_)
        );
        prop_assert!(is_user);
    }

    #[test]
    fn any_scope_round_trips(text in "[a-z.]{0,30}") {
        let scope: TokenScope = text.parse().unwrap();
        prop_assert_eq!(scope.as_str(), text.as_str());
    }

    #[test]
    fn claims_of_any_string_never_panic(token in ".{0,200}") {
        let _ = AccessToken::new(token, time::OffsetDateTime::UNIX_EPOCH).claims();
    }
}
