//! Raw-id parsing and formatting. The cases are the official SDKs' identifier test cases
//! (communication-common for JS and Java): the same raw ids, the same expected parts.
// Test code: a failed unwrap or panic is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use acs_common::{
    CommunicationCloudEnvironment as Cloud, CommunicationIdentifier as Id,
    CommunicationUserIdentifier, MicrosoftTeamsAppIdentifier, MicrosoftTeamsUserIdentifier,
    PhoneNumberIdentifier, TeamsExtensionUserIdentifier,
};

const RESOURCE: &str = "bbbcbc1e-9f06-482a-b5d8-20e3f26ef0cd";
const TENANT: &str = "45ab2481-1c1c-4005-be24-0ffb879b1130";
const USER: &str = "207ffef6-9444-41fb-92ab-20eacaae2768";
const TEAMS_USER: &str = "45ab2481-1c1c-4005-be24-0ffb879b1130";
const APP: &str = "01234567-89ab-cdef-0123-456789abcdef";

fn acs_user(raw: &str) -> Id {
    Id::CommunicationUser(CommunicationUserIdentifier::new(raw))
}

#[test]
fn acs_users_in_every_cloud() {
    for raw in [
        "8:acs:00000000-0000-0000-0000-000000000000_00000000-1111-2222-3333-444444444444",
        "8:gcch-acs:abc_def",
        "8:dod-acs:abc",
        "8:spool:a_b_c",
        "8:acs:something",
        &format!("8:acs:{RESOURCE}_{TENANT}"),
        &format!("8:spool:{RESOURCE}_{TENANT}"),
        &format!("8:dod-acs:{RESOURCE}_{TENANT}"),
        &format!("8:gcch-acs:{RESOURCE}_{TENANT}"),
    ] {
        match Id::from_raw_id(raw) {
            Id::CommunicationUser(u) => assert_eq!(u.id(), raw),
            other => panic!("{raw}: {other:?}"),
        }
    }
}

#[test]
fn teams_extension_users_in_every_cloud() {
    for (prefix, cloud) in [
        ("8:acs:", Cloud::Public),
        ("8:gcch-acs:", Cloud::Gcch),
        ("8:dod-acs:", Cloud::Dod),
    ] {
        let raw = format!("{prefix}{RESOURCE}_{TENANT}_{USER}");
        let Id::TeamsExtensionUser(parsed) = Id::from_raw_id(&raw) else {
            panic!("{raw} is not a Teams extension user");
        };
        assert_eq!(
            (&*parsed.user_id, &*parsed.tenant_id, &*parsed.resource_id),
            (USER, TENANT, RESOURCE)
        );
        assert_eq!(parsed.cloud, cloud);
        assert_eq!(parsed.raw_id, raw);
        // Formatting from the parts gives the same raw id.
        let made = TeamsExtensionUserIdentifier::new(USER, TENANT, RESOURCE, cloud);
        assert_eq!(made.raw_id, raw);
        assert_eq!(made, parsed);
    }
}

#[test]
fn teams_extension_user_needs_exactly_three_parts() {
    let id = Id::from_raw_id("8:gcch-acs:res_ten_usr");
    let Id::TeamsExtensionUser(user) = &id else {
        panic!("{id:?}");
    };
    assert_eq!(
        (
            &*user.user_id,
            &*user.tenant_id,
            &*user.resource_id,
            user.cloud
        ),
        ("usr", "ten", "res", Cloud::Gcch)
    );
    assert_eq!(id.raw_id(), "8:gcch-acs:res_ten_usr");
    assert!(matches!(
        Id::from_raw_id("8:acs:a_b_c_d"),
        Id::CommunicationUser(_)
    ));
    assert!(matches!(
        Id::from_raw_id("8:acs:a__c"),
        Id::CommunicationUser(_)
    ));
    // The legacy `8:spool:` space has no Teams extension users.
    assert!(matches!(
        Id::from_raw_id("8:spool:a_b_c"),
        Id::CommunicationUser(_)
    ));
}

#[test]
fn teams_users_in_every_cloud_and_visitors() {
    for (raw, cloud, anonymous) in [
        (format!("8:orgid:{TEAMS_USER}"), Cloud::Public, false),
        (format!("8:dod:{TEAMS_USER}"), Cloud::Dod, false),
        (format!("8:gcch:{TEAMS_USER}"), Cloud::Gcch, false),
        (format!("8:teamsvisitor:{TEAMS_USER}"), Cloud::Public, true),
    ] {
        let Id::MicrosoftTeamsUser(user) = Id::from_raw_id(&raw) else {
            panic!("{raw} is not a Teams user");
        };
        assert_eq!(user.user_id, TEAMS_USER);
        assert_eq!((user.cloud, user.is_anonymous), (cloud, anonymous), "{raw}");
        assert_eq!(
            MicrosoftTeamsUserIdentifier::new(TEAMS_USER, anonymous, cloud).raw_id,
            raw
        );
    }
    let Id::MicrosoftTeamsUser(legacy) = Id::from_raw_id("8:orgid:legacyFormat") else {
        panic!("8:orgid:legacyFormat is not a Teams user");
    };
    assert_eq!(legacy.user_id, "legacyFormat");
    // An anonymous visitor's raw id does not depend on the cloud.
    assert_eq!(
        MicrosoftTeamsUserIdentifier::new(TEAMS_USER, true, Cloud::Dod).raw_id,
        format!("8:teamsvisitor:{TEAMS_USER}")
    );
}

#[test]
fn teams_apps_in_every_cloud() {
    for (raw, cloud) in [
        (format!("28:orgid:{APP}"), Cloud::Public),
        (format!("28:gcch:{APP}"), Cloud::Gcch),
        (format!("28:dod:{APP}"), Cloud::Dod),
    ] {
        let Id::MicrosoftTeamsApp(app) = Id::from_raw_id(&raw) else {
            panic!("{raw} is not a Teams app");
        };
        assert_eq!((&*app.app_id, app.cloud), (APP, cloud));
        assert_eq!(MicrosoftTeamsAppIdentifier::new(APP, cloud).raw_id, raw);
    }
}

#[test]
fn phone_numbers_anonymous_and_asserted_ids() {
    // (raw id, phone number, anonymous, asserted id)
    let cases: &[(&str, &str, bool, Option<&str>)] = &[
        ("4:112345556789", "112345556789", false, None),
        ("4:+112345556789", "+112345556789", false, None),
        (
            "4:207ffef6-9444-41fb-92ab-20eacaae2768",
            "207ffef6-9444-41fb-92ab-20eacaae2768",
            false,
            None,
        ),
        (
            "4:207ffef6-9444-41fb-92ab-20eacaae2768_207ffef6-9444-41fb-92ab-20eacaae2768",
            "207ffef6-9444-41fb-92ab-20eacaae2768_207ffef6-9444-41fb-92ab-20eacaae2768",
            false,
            Some("207ffef6-9444-41fb-92ab-20eacaae2768"),
        ),
        (
            "4:+112345556789_207ffef6-9444-41fb-92ab-20eacaae2768",
            "+112345556789_207ffef6-9444-41fb-92ab-20eacaae2768",
            false,
            Some("207ffef6-9444-41fb-92ab-20eacaae2768"),
        ),
        (
            "4:207ffef6-9444-41fb-92ab-20eacaae2768_",
            "207ffef6-9444-41fb-92ab-20eacaae2768_",
            false,
            None,
        ),
        (
            "4:+112345556789_207ffef6-9444-41fb-92ab-20eacaae2768_123",
            "+112345556789_207ffef6-9444-41fb-92ab-20eacaae2768_123",
            false,
            Some("123"),
        ),
        ("4:_123", "_123", false, Some("123")),
        ("4:anonymous", "anonymous", true, None),
        ("4:anonymous_123", "anonymous_123", false, Some("123")),
        ("4:_anonymous", "_anonymous", false, Some("anonymous")),
    ];
    for &(raw, number, anonymous, asserted) in cases {
        let Id::PhoneNumber(phone) = Id::from_raw_id(raw) else {
            panic!("{raw} is not a phone number");
        };
        assert_eq!(phone.phone_number, number, "{raw}");
        assert_eq!(phone.is_anonymous, anonymous, "{raw}");
        assert_eq!(phone.asserted_id.as_deref(), asserted, "{raw}");
        assert_eq!(phone.raw_id, raw);
        // Formatting: `4:` and the number as given, no `+` added.
        assert_eq!(PhoneNumberIdentifier::new(number), phone);
    }
    assert_eq!(
        Id::from_raw_id("4:+112345556789").to_string(),
        "4:+112345556789"
    );
}

#[test]
fn unknown_ids_are_kept() {
    for raw in [
        "",
        "abc",
        "8:",
        "8:acs:",
        "9:x:y",
        "28:orgid",
        "someFutureFormat",
        "28:45ab2481-1c1c-4005-be24-0ffb879b1130",
        "28:gcch-global:01234567-89ab-cdef-0123-456789abcdef",
        "28:dod-global:01234567-89ab-cdef-0123-456789abcdef",
        "28:ag08-global:01234567-89ab-cdef-0123-456789abcdef",
        "28:ag09-global:01234567-89ab-cdef-0123-456789abcdef",
        "28:gal-global:01234567-89ab-cdef-0123-456789abcdef",
        "48:45ab2481-1c1c-4005-be24-0ffb879b1130",
    ] {
        assert_eq!(Id::from_raw_id(raw), Id::Unknown(raw.to_owned()), "{raw}");
    }
}

#[test]
fn raw_id_survives_a_round_trip() {
    for raw in [
        format!("8:acs:{RESOURCE}_{TENANT}"),
        format!("8:spool:{RESOURCE}_{TENANT}"),
        format!("8:dod-acs:{RESOURCE}_{TENANT}"),
        format!("8:gcch-acs:{RESOURCE}_{TENANT}"),
        "8:acs:something".into(),
        format!("8:orgid:{TEAMS_USER}"),
        format!("8:dod:{TEAMS_USER}"),
        format!("8:gcch:{TEAMS_USER}"),
        format!("8:teamsvisitor:{TEAMS_USER}"),
        "8:orgid:legacyFormat".into(),
        "4:112345556789".into(),
        "4:+112345556789".into(),
        format!("4:{USER}"),
        format!("4:{USER}_{USER}"),
        format!("4:+112345556789_{USER}"),
        "4:anonymous".into(),
        "4:_anonymous".into(),
        "28:45ab2481-1c1c-4005-be24-0ffb879b1130".into(),
        format!("28:gcch-global:{APP}"),
        format!("28:dod-global:{APP}"),
        format!("28:orgid:{APP}"),
        format!("28:gcch:{APP}"),
        format!("28:dod:{APP}"),
        format!("28:gal-global:{APP}"),
        "48:45ab2481-1c1c-4005-be24-0ffb879b1130".into(),
        format!("8:gcch-acs:{RESOURCE}_{TENANT}_{USER}"),
        format!("8:dod-acs:{RESOURCE}_{TENANT}_{USER}"),
        format!("8:acs:{RESOURCE}_{TENANT}_{USER}"),
        String::new(),
    ] {
        let id = Id::from_raw_id(&raw);
        assert_eq!(id.raw_id(), raw);
        assert_eq!(id.to_string(), raw);
    }
}

#[test]
fn raw_id_decides_equality_and_hash() {
    use std::collections::hash_map::DefaultHasher;
    use std::hash::{Hash, Hasher};
    fn hash(value: &impl Hash) -> u64 {
        let mut hasher = DefaultHasher::new();
        value.hash(&mut hasher);
        hasher.finish()
    }

    // A visitor made from its parts equals one whose other parts differ but raw id is the same.
    let visitor = MicrosoftTeamsUserIdentifier::new(TEAMS_USER, true, Cloud::Public);
    let overridden = MicrosoftTeamsUserIdentifier::new("override", false, Cloud::Gcch)
        .with_raw_id(format!("8:teamsvisitor:{TEAMS_USER}"));
    assert_eq!(visitor, overridden);
    assert_eq!(hash(&visitor), hash(&overridden));

    // Same parts, different raw ids: not equal.
    assert_ne!(
        PhoneNumberIdentifier::new("+14255550123").with_raw_id("Raw Id"),
        PhoneNumberIdentifier::new("+14255550123").with_raw_id("Another Raw Id")
    );
    assert_eq!(
        PhoneNumberIdentifier::new("+override").with_raw_id("4:14255550123"),
        PhoneNumberIdentifier::new("14255550123")
    );
    assert_eq!(
        TeamsExtensionUserIdentifier::new(USER, TENANT, RESOURCE, Cloud::Public)
            .with_raw_id("8:acs:resource_tenant_user")
            .raw_id,
        "8:acs:resource_tenant_user"
    );
    assert_eq!(
        MicrosoftTeamsAppIdentifier::new(APP, Cloud::Dod),
        MicrosoftTeamsAppIdentifier::new("other", Cloud::Public)
            .with_raw_id(format!("28:dod:{APP}"))
    );

    // Parsed and made identifiers are interchangeable, also as enum values.
    assert_eq!(
        Id::from_raw_id(&format!("8:orgid:{TEAMS_USER}")),
        Id::from(MicrosoftTeamsUserIdentifier::new(
            TEAMS_USER,
            false,
            Cloud::Public
        ))
    );
    assert_eq!(
        Id::from_raw_id("8:acs:x"),
        Id::from(CommunicationUserIdentifier::new("8:acs:x"))
    );
    assert_eq!(acs_user("8:acs:x"), Id::from_raw_id("8:acs:x"));
}
