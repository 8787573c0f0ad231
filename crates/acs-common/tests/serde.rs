//! The `serde` feature: identifiers as raw ids, `AccessToken` without its token unless revealed,
//! `expiresOn` as RFC 3339. (`cargo test -p acs-common --features serde`; `cargo test
//! --workspace` enables the feature through the CLI's token_service example.)

use acs_common::{
    AccessToken, CommunicationCloudEnvironment, CommunicationIdentifier,
    CommunicationUserIdentifier, MicrosoftTeamsUserIdentifier, PhoneNumberIdentifier,
};
use time::macros::datetime;

const ACS_USER: &str =
    "8:acs:00000000-0000-0000-0000-000000000000_00000000-1111-2222-3333-444444444444";
const JWT: &str = "eyJhbGciOiJSUzI1NiJ9.eyJza3lwZWlkIjoiYWNzOngifQ.c2lnbmF0dXJl";

#[test]
fn identifiers_are_their_raw_ids() {
    let user = CommunicationUserIdentifier::new(ACS_USER);
    assert_eq!(
        serde_json::to_string(&user).unwrap(),
        format!("\"{ACS_USER}\"")
    );
    let back: CommunicationUserIdentifier =
        serde_json::from_str(&format!("\"{ACS_USER}\"")).unwrap();
    assert_eq!(back, user);

    let ids = [
        CommunicationIdentifier::from(user.clone()),
        CommunicationIdentifier::from(PhoneNumberIdentifier::new("+14255550123")),
        CommunicationIdentifier::from(MicrosoftTeamsUserIdentifier::new(
            "45ab2481-1c1c-4005-be24-0ffb879b1130",
            false,
            CommunicationCloudEnvironment::Gcch,
        )),
        CommunicationIdentifier::from_raw_id("28:orgid:45ab2481-1c1c-4005-be24-0ffb879b1130"),
        CommunicationIdentifier::from_raw_id("future:kind"),
    ];
    let text = serde_json::to_string(&ids).unwrap();
    assert_eq!(
        text,
        format!(
            r#"["{ACS_USER}","4:+14255550123","8:gcch:45ab2481-1c1c-4005-be24-0ffb879b1130","28:orgid:45ab2481-1c1c-4005-be24-0ffb879b1130","future:kind"]"#
        )
    );
    let back: Vec<CommunicationIdentifier> = serde_json::from_str(&text).unwrap();
    assert_eq!(back, ids);

    let phone: PhoneNumberIdentifier = serde_json::from_str(r#""4:+14255550123""#).unwrap();
    assert_eq!(phone.phone_number, "+14255550123");
    let wrong = serde_json::from_str::<PhoneNumberIdentifier>(&format!("\"{ACS_USER}\""))
        .unwrap_err()
        .to_string();
    assert!(
        wrong.contains("is not the raw id of a phone number"),
        "{wrong}"
    );
    assert!(serde_json::from_str::<CommunicationIdentifier>("42").is_err());
}

#[test]
fn an_access_token_keeps_its_token_out_unless_revealed() {
    let token = AccessToken::new(JWT, datetime!(2026-12-01 12:30:00.25 UTC));
    let plain = serde_json::to_string(&token).unwrap();
    assert_eq!(plain, r#"{"expiresOn":"2026-12-01T12:30:00.25Z"}"#);
    assert!(!plain.contains("eyJ"));

    let revealed = serde_json::to_string(&token.revealed()).unwrap();
    assert_eq!(
        revealed,
        format!(r#"{{"token":"{JWT}","expiresOn":"2026-12-01T12:30:00.25Z"}}"#)
    );
    assert!(
        !format!("{:?}", token.revealed()).contains("eyJ"),
        "Debug hides it"
    );
    let back: AccessToken = serde_json::from_str(&revealed).unwrap();
    assert_eq!(back, token);

    // The service's own form, with its offset and seven fractional digits.
    let service: AccessToken = serde_json::from_str(&format!(
        r#"{{"token":"{JWT}","expiresOn":"2022-08-26T20:03:35.4402106+00:00","extra":1}}"#
    ))
    .unwrap();
    assert_eq!(
        service.expires_on,
        datetime!(2022-08-26 20:03:35.4402106 UTC)
    );

    let without = serde_json::from_str::<AccessToken>(&plain)
        .unwrap_err()
        .to_string();
    assert!(without.contains("AccessToken::revealed"), "{without}");
    let bad_date = serde_json::from_str::<AccessToken>(r#"{"token":"t","expiresOn":"tomorrow"}"#)
        .unwrap_err()
        .to_string();
    assert!(
        bad_date.contains("expiresOn `tomorrow` is not an RFC 3339"),
        "{bad_date}"
    );
}
