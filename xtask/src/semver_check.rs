//! The semver check: the public API of a crate (its [listing](crate::public_api)) against the
//! listing of its last release, the release baseline checked in under [`BASELINE_DIR`].
//!
//! Every difference is classified from the two listings:
//! - **breaking**: a line of the baseline is gone (an item removed, a signature or a trait impl
//!   changed: a changed line is a removed line plus an added one), and these additions, which
//!   break code that matches, builds or implements the type: a variant of an enum, or a field of
//!   a struct, that is not `#[non_exhaustive]`, and an item of an existing trait (the listing
//!   cannot tell a provided method from a required one, so every new trait item counts as
//!   breaking); and a breaking change of another workspace crate whose items this crate's API
//!   names (its listing mentions `that_crate::`), since users see those items through this crate;
//! - **addition**: every other new line (new items, new trait impls).
//!
//! The rule is conservative, never lenient: where the listing cannot tell, the change counts as
//! breaking. A breaking change needs the version bump Cargo's semver rules call incompatible (the
//! major version, or for `0.y.z` the minor, or for `0.0.z` the patch); without it the check
//! fails. Additions need some bump before the next publish; they are reported, not failed, so
//! that they can land between releases.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use semver::Version;

use crate::workspace::PublishedCrate;
use crate::{Error, Result};

/// Directory of the release baselines, relative to the workspace root: one `<crate>.txt` per
/// released crate, the listing of its last release under a header line naming the version.
pub const BASELINE_DIR: &str = "xtask/release-baselines";

const HEADER_PREFIX: &str = "# public API of ";
const HEADER_SUFFIX: &str = " as released";

/// The listing of a crate's last release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Baseline {
    /// Version of that release.
    pub version: Version,
    /// Its public API listing.
    pub listing: String,
}

impl Baseline {
    /// The baseline file's text: the header line, then the listing.
    pub fn to_text(&self, crate_name: &str) -> String {
        format!(
            "{HEADER_PREFIX}{crate_name} {}{HEADER_SUFFIX}\n{}",
            self.version, self.listing
        )
    }

    /// Reads a baseline file's text (see [`Baseline::to_text`]).
    pub fn parse(crate_name: &str, text: &str) -> Result<Self> {
        let (header, listing) = text.split_once('\n').unwrap_or((text, ""));
        let version = header
            .strip_prefix(HEADER_PREFIX)
            .and_then(|rest| rest.strip_suffix(HEADER_SUFFIX))
            .and_then(|rest| rest.strip_prefix(crate_name))
            .and_then(|rest| rest.strip_prefix(' '))
            .ok_or_else(|| {
                Error::new(format!(
                    "the release baseline of {crate_name} does not start with \
                     `{HEADER_PREFIX}{crate_name} <version>{HEADER_SUFFIX}`"
                ))
            })?;
        let version = Version::parse(version).map_err(|e| {
            Error::new(format!(
                "the release baseline of {crate_name} names version {version:?}: {e}"
            ))
        })?;
        Ok(Self {
            version,
            listing: listing.to_owned(),
        })
    }
}

/// Path of `crate_name`'s release baseline under the workspace `root`.
pub fn baseline_path(root: &Path, crate_name: &str) -> PathBuf {
    root.join(BASELINE_DIR).join(format!("{crate_name}.txt"))
}

/// The release baseline of `crate_name`, or `None` if it was never released.
pub fn read_baseline(root: &Path, crate_name: &str) -> Result<Option<Baseline>> {
    let path = baseline_path(root, crate_name);
    if !path.exists() {
        return Ok(None);
    }
    Baseline::parse(crate_name, &crate::read_to_string(&path)?).map(Some)
}

/// The differences between a baseline listing and the current one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Classification {
    /// Breaking changes, each a line saying what and why.
    pub breaking: Vec<String>,
    /// Compatible additions (the new lines).
    pub additions: Vec<String>,
}

impl Classification {
    /// No difference at all.
    pub fn is_empty(&self) -> bool {
        self.breaking.is_empty() && self.additions.is_empty()
    }
}

/// What kind of item a listing line declares, for the lines that own items.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Owner {
    /// An enum or a struct; `true` when `#[non_exhaustive]`.
    Type {
        non_exhaustive: bool,
    },
    Trait,
}

/// The enums, structs and traits a listing declares, by path.
fn owners(listing: &str) -> BTreeMap<String, Owner> {
    let mut owners = BTreeMap::new();
    for line in listing.lines() {
        let (non_exhaustive, rest) = match line.strip_prefix("#[non_exhaustive] ") {
            Some(rest) => (true, rest),
            None => (false, line),
        };
        let (owner, declared) = if let Some(path) = rest
            .strip_prefix("pub enum ")
            .or_else(|| rest.strip_prefix("pub struct "))
        {
            (Owner::Type { non_exhaustive }, path)
        } else if let Some(path) = rest.strip_prefix("pub trait ") {
            (Owner::Trait, path)
        } else {
            continue;
        };
        owners.insert(item_path(declared).to_owned(), owner);
    }
    owners
}

/// The path of the item a line declares: up to its generic list, tuple fields, signature, bounds
/// or type (the first `<`, `(`, `{`, space, or `:` that is not half of a `::`).
fn item_path(declared: &str) -> &str {
    let bytes = declared.as_bytes();
    let mut end = 0;
    while end < bytes.len() {
        match bytes[end] {
            b':' if bytes.get(end + 1) == Some(&b':') => end += 2,
            b'<' | b'(' | b'{' | b' ' | b':' => break,
            _ => end += 1,
        }
    }
    &declared[..end]
}

/// A line that declares a member of an enum, struct or trait.
struct Member<'a> {
    /// Path of the enum, struct or trait.
    parent: &'a str,
    /// A variant or a field (`pub a::E::Variant`, `pub a::S::field: T`), not a function, type
    /// or constant.
    variant_or_field: bool,
}

/// The member a line declares, if it declares one.
fn member(line: &str) -> Option<Member<'_>> {
    let rest = line.strip_prefix("pub ")?;
    let keyword_free = [
        "fn ",
        "async fn ",
        "const fn ",
        "unsafe fn ",
        "type ",
        "const ",
    ]
    .iter()
    .find_map(|keyword| rest.strip_prefix(keyword));
    let path = item_path(keyword_free.unwrap_or(rest));
    let parent = &path[..path.rfind("::")?];
    Some(Member {
        parent,
        variant_or_field: keyword_free.is_none(),
    })
}

/// Counts of each line (a listing may hold the same line twice, e.g. two `fmt` methods).
fn line_counts(listing: &str) -> BTreeMap<&str, usize> {
    let mut counts = BTreeMap::new();
    for line in listing.lines().filter(|l| !l.trim().is_empty()) {
        *counts.entry(line).or_insert(0) += 1;
    }
    counts
}

/// Classifies every difference between the `baseline` listing and the `current` one.
pub fn classify(baseline: &str, current: &str) -> Classification {
    let old = line_counts(baseline);
    let new = line_counts(current);
    let old_owners = owners(baseline);
    let mut classification = Classification::default();
    for (line, &count) in &old {
        let kept = new.get(line).copied().unwrap_or(0);
        for _ in kept..count {
            classification
                .breaking
                .push(format!("removed or changed: {line}"));
        }
    }
    for (line, &count) in &new {
        let had = old.get(line).copied().unwrap_or(0);
        for _ in had..count {
            let reason = member(line).and_then(|m| match old_owners.get(m.parent) {
                Some(Owner::Type {
                    non_exhaustive: false,
                }) if m.variant_or_field => Some(format!(
                    "added to {}, which is not #[non_exhaustive] (breaks exhaustive \
                     matches and struct literals): {line}",
                    m.parent
                )),
                Some(Owner::Trait) => Some(format!(
                    "added to trait {} (breaks its implementors unless provided): {line}",
                    m.parent
                )),
                _ => None,
            });
            match reason {
                Some(reason) => classification.breaking.push(reason),
                None => classification.additions.push(format!("added: {line}")),
            }
        }
    }
    classification
}

/// Whether going from `released` to `current` is a bump that Cargo treats as incompatible (may
/// carry breaking changes).
pub fn is_incompatible_bump(released: &Version, current: &Version) -> bool {
    if released.major > 0 {
        current.major > released.major
    } else if released.minor > 0 {
        current.major > 0 || current.minor > released.minor
    } else {
        current.major > 0 || current.minor > 0 || current.patch > released.patch
    }
}

/// The verdict of the semver check for one crate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// Crate name.
    pub crate_name: String,
    /// Version of its last release.
    pub released: Version,
    /// Version in its `Cargo.toml`.
    pub current: Version,
    /// The differences.
    pub classification: Classification,
}

impl Verdict {
    /// The reason the check fails, if it does: a breaking change without an incompatible bump,
    /// or a version older than the release.
    pub fn failure(&self) -> Option<String> {
        if self.current < self.released {
            return Some(format!(
                "{}: Cargo.toml says {}, older than the released {}",
                self.crate_name, self.current, self.released
            ));
        }
        if !self.classification.breaking.is_empty()
            && !is_incompatible_bump(&self.released, &self.current)
        {
            return Some(format!(
                "{}: {} breaking change(s) since the {} release, but Cargo.toml says {}: bump \
                 the version to at least {} (and add its CHANGELOG entry), or undo the change",
                self.crate_name,
                self.classification.breaking.len(),
                self.released,
                self.current,
                next_incompatible(&self.released)
            ));
        }
        None
    }
}

/// The lowest version after `released` that may carry breaking changes.
pub fn next_incompatible(released: &Version) -> Version {
    if released.major > 0 {
        Version::new(released.major + 1, 0, 0)
    } else if released.minor > 0 {
        Version::new(0, released.minor + 1, 0)
    } else {
        Version::new(0, 0, released.patch + 1)
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.classification;
        write!(
            f,
            "{} {} (released {}): {} breaking, {} added",
            self.crate_name,
            self.current,
            self.released,
            c.breaking.len(),
            c.additions.len()
        )?;
        if !c.additions.is_empty() && self.current == self.released {
            write!(f, " (bump the version before the next publish)")?;
        }
        for line in c.breaking.iter().chain(&c.additions) {
            write!(f, "\n  {line}")?;
        }
        Ok(())
    }
}

/// A crate's current public API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrentApi {
    /// Crate name.
    pub name: String,
    /// Version in its `Cargo.toml`.
    pub version: Version,
    /// Name of its library target.
    pub lib: String,
    /// Its listing.
    pub listing: String,
}

/// The current API of every crate of `crates` that has a library, from its rustdoc JSON.
pub fn current_apis(root: &Path, crates: &[PublishedCrate]) -> Result<Vec<CurrentApi>> {
    let mut apis = Vec::new();
    for krate in crates {
        let (Some(lib), Some(listing)) = (&krate.lib, crate::public_api::listing(root, krate)?)
        else {
            continue;
        };
        apis.push(CurrentApi {
            name: krate.name.clone(),
            version: krate.version.clone(),
            lib: lib.clone(),
            listing,
        });
    }
    Ok(apis)
}

/// Writes the release baseline of each of `apis` (the listing under its current version).
pub fn write_baselines(root: &Path, apis: &[CurrentApi]) -> Result<()> {
    let dir = root.join(BASELINE_DIR);
    std::fs::create_dir_all(&dir)
        .map_err(|e| Error::new(format!("cannot create {}: {e}", dir.display())))?;
    for api in apis {
        let baseline = Baseline {
            version: api.version.clone(),
            listing: api.listing.clone(),
        };
        crate::write(
            &baseline_path(root, &api.name),
            &baseline.to_text(&api.name),
        )?;
    }
    Ok(())
}

/// Checks every crate of `apis` that has a release baseline under `root`.
pub fn check(root: &Path, apis: &[CurrentApi]) -> Result<Vec<Verdict>> {
    let mut released = Vec::new();
    for api in apis {
        if let Some(baseline) = read_baseline(root, &api.name)? {
            released.push((api, baseline));
        }
    }
    Ok(verdicts(&released))
}

/// The verdict for each released crate; a crate's breaking changes also count for every other
/// crate whose listing names its library (`acs_auth::` in `acs-identity`'s listing).
pub fn verdicts(released: &[(&CurrentApi, Baseline)]) -> Vec<Verdict> {
    let mut verdicts: Vec<Verdict> = released
        .iter()
        .map(|(api, baseline)| Verdict {
            crate_name: api.name.clone(),
            released: baseline.version.clone(),
            current: api.version.clone(),
            classification: classify(&baseline.listing, &api.listing),
        })
        .collect();
    let broken: Vec<&CurrentApi> = released
        .iter()
        .zip(&verdicts)
        .filter(|(_, verdict)| !verdict.classification.breaking.is_empty())
        .map(|((api, _), _)| *api)
        .collect();
    for ((api, _), verdict) in released.iter().zip(verdicts.iter_mut()) {
        for dependency in &broken {
            if dependency.name != api.name && api.listing.contains(&format!("{}::", dependency.lib))
            {
                verdict.classification.breaking.push(format!(
                    "its API names items of {}, which has breaking changes",
                    dependency.name
                ));
            }
        }
    }
    verdicts
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "\
pub mod k
pub enum k::Open
pub k::Open::A
#[non_exhaustive] pub enum k::Kind
pub k::Kind::A
pub struct k::Plain
pub k::Plain::x: u8
#[non_exhaustive] pub struct k::Options
pub k::Options::x: u8
pub struct k::Client
impl k::Client
pub fn k::Client::get(&self) -> u8
impl core::marker::Send for k::Client
impl core::fmt::Debug for k::Client
pub fn k::Client::fmt(&self, &mut core::fmt::Formatter<'_>) -> core::fmt::Result
impl core::fmt::Display for k::Client
pub fn k::Client::fmt(&self, &mut core::fmt::Formatter<'_>) -> core::fmt::Result
pub trait k::Hook: core::marker::Send
pub fn k::Hook::call(&self)
";

    fn with(extra: &str) -> String {
        format!("{BASE}{extra}\n")
    }

    fn without(line: &str) -> String {
        let mut text = String::new();
        let mut dropped = false;
        for l in BASE.lines() {
            if l == line && !dropped {
                dropped = true;
            } else {
                text.push_str(l);
                text.push('\n');
            }
        }
        assert!(dropped, "{line} is not in the base listing");
        text
    }

    fn verdict(released: &str, current: &str, listing: &str) -> Verdict {
        Verdict {
            crate_name: "k".into(),
            released: Version::parse(released).unwrap(),
            current: Version::parse(current).unwrap(),
            classification: classify(BASE, listing),
        }
    }

    #[test]
    fn the_same_listing_has_no_change() {
        assert!(classify(BASE, BASE).is_empty());
        assert_eq!(verdict("0.1.0", "0.1.0", BASE).failure(), None);
    }

    #[test]
    fn new_items_and_impls_are_additions() {
        for extra in [
            "pub fn k::Client::put(&self)",
            "impl core::marker::Sync for k::Client",
            "pub k::Kind::B",
            "pub k::Options::y: u8",
            "pub struct k::New",
            "pub k::New::x: u8",
        ] {
            let c = classify(BASE, &with(extra));
            assert_eq!(c.breaking, Vec::<String>::new(), "{extra}");
            assert_eq!(c.additions, vec![format!("added: {extra}")]);
        }
    }

    #[test]
    fn removed_or_changed_lines_are_breaking() {
        let removed_send = without("impl core::marker::Send for k::Client");
        assert_eq!(
            classify(BASE, &removed_send).breaking,
            vec!["removed or changed: impl core::marker::Send for k::Client"]
        );
        // One of two identical `fmt` lines gone (the Display impl dropped) is still seen.
        let dropped_display = without("impl core::fmt::Display for k::Client").replacen(
            "pub fn k::Client::fmt(&self, &mut core::fmt::Formatter<'_>) -> core::fmt::Result\n",
            "",
            1,
        );
        assert_eq!(classify(BASE, &dropped_display).breaking.len(), 2);
        // A changed signature: the old line is gone, the new one added.
        let changed =
            without("pub fn k::Client::get(&self) -> u8") + "pub fn k::Client::get(&self) -> u16\n";
        let c = classify(BASE, &changed);
        assert_eq!(
            c.breaking,
            vec!["removed or changed: pub fn k::Client::get(&self) -> u8"]
        );
        assert_eq!(
            c.additions,
            vec!["added: pub fn k::Client::get(&self) -> u16"]
        );
    }

    #[test]
    fn additions_that_break_users_are_breaking() {
        for (extra, owner) in [
            ("pub k::Open::B", "k::Open"),
            ("pub k::Plain::y: u8", "k::Plain"),
            ("pub fn k::Hook::other(&self)", "trait k::Hook"),
        ] {
            let c = classify(BASE, &with(extra));
            assert_eq!(c.additions, Vec::<String>::new(), "{extra}");
            assert_eq!(c.breaking.len(), 1, "{extra}");
            assert!(c.breaking[0].contains(owner), "{}", c.breaking[0]);
        }
    }

    #[test]
    fn a_breaking_change_without_an_incompatible_bump_fails() {
        let listing = without("pub k::Open::A");
        let same = verdict("0.1.0", "0.1.0", &listing).failure().unwrap();
        assert!(
            same.contains("bump the version to at least 0.2.0"),
            "{same}"
        );
        assert!(verdict("0.1.0", "0.1.5", &listing).failure().is_some());
        assert_eq!(verdict("0.1.0", "0.2.0", &listing).failure(), None);
        assert_eq!(verdict("0.1.0", "1.0.0", &listing).failure(), None);
        assert!(verdict("1.2.3", "1.3.0", &listing).failure().is_some());
        assert_eq!(verdict("1.2.3", "2.0.0", &listing).failure(), None);
        assert!(verdict("0.0.3", "0.0.3", &listing).failure().is_some());
        assert_eq!(verdict("0.0.3", "0.0.4", &listing).failure(), None);
    }

    #[test]
    fn additions_pass_without_a_bump_and_say_one_is_due() {
        let v = verdict("0.1.0", "0.1.0", &with("pub fn k::Client::put(&self)"));
        assert_eq!(v.failure(), None);
        assert!(
            v.to_string()
                .contains("bump the version before the next publish")
        );
    }

    #[test]
    fn a_version_older_than_the_release_fails() {
        assert!(verdict("0.2.0", "0.1.9", BASE).failure().is_some());
    }

    #[test]
    fn a_dependency_breaking_change_breaks_the_crate_that_names_its_items() {
        let api = |name: &str, listing: String| CurrentApi {
            name: name.into(),
            version: Version::new(0, 1, 0),
            lib: name.into(),
            listing,
        };
        let baseline = |listing: &str| Baseline {
            version: Version::new(0, 1, 0),
            listing: listing.into(),
        };
        let user_listing = "pub fn user::f() -> k::Open\n";
        let other_listing = "pub fn other::f() -> u8\n";
        let k = api("k", without("pub k::Open::A"));
        let user = api("user", user_listing.into());
        let other = api("other", other_listing.into());
        let verdicts = verdicts(&[
            (&k, baseline(BASE)),
            (&user, baseline(user_listing)),
            (&other, baseline(other_listing)),
        ]);
        assert!(verdicts[0].failure().is_some());
        let user_failure = verdicts[1].failure().unwrap();
        assert!(user_failure.contains("user: 1 breaking"), "{user_failure}");
        assert_eq!(
            verdicts[1].classification.breaking,
            vec!["its API names items of k, which has breaking changes"]
        );
        assert_eq!(verdicts[2].failure(), None);
    }

    #[test]
    fn baseline_files_round_trip_and_bad_headers_are_named() {
        let baseline = Baseline {
            version: Version::new(0, 3, 1),
            listing: BASE.to_owned(),
        };
        let text = baseline.to_text("k");
        assert!(text.starts_with("# public API of k 0.3.1 as released\n"));
        assert_eq!(Baseline::parse("k", &text).unwrap(), baseline);
        let err = Baseline::parse("k", BASE).unwrap_err().to_string();
        assert!(err.contains("does not start with"), "{err}");
        let err = Baseline::parse("k", "# public API of k x.y as released\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("\"x.y\""), "{err}");
    }

    #[test]
    fn written_baselines_are_read_back_and_checked() {
        let root = tempfile::tempdir().unwrap();
        let api = CurrentApi {
            name: "k".into(),
            version: Version::new(0, 4, 0),
            lib: "k".into(),
            listing: BASE.into(),
        };
        assert_eq!(read_baseline(root.path(), "k").unwrap(), None);
        assert_eq!(
            check(root.path(), std::slice::from_ref(&api)).unwrap(),
            Vec::new()
        );
        write_baselines(root.path(), std::slice::from_ref(&api)).unwrap();
        let text = std::fs::read_to_string(root.path().join(BASELINE_DIR).join("k.txt")).unwrap();
        assert!(text.starts_with("# public API of k 0.4.0 as released\n"));
        let changed = CurrentApi {
            listing: without("pub k::Kind::A"),
            ..api
        };
        let verdicts = check(root.path(), &[changed]).unwrap();
        assert_eq!(verdicts.len(), 1);
        assert!(verdicts[0].failure().unwrap().contains("at least 0.5.0"));
    }

    #[test]
    fn item_paths_end_before_generics_bounds_and_signatures() {
        assert_eq!(item_path("a::S<'a>"), "a::S");
        assert_eq!(item_path("a::S(pub u8)"), "a::S");
        assert_eq!(item_path("a::Tr: core::marker::Send"), "a::Tr");
        assert_eq!(item_path("a::S::field: &'a str"), "a::S::field");
        let parent = |line| member(line).map(|m| (m.parent, m.variant_or_field));
        assert_eq!(parent("pub a::S::field: &'a str"), Some(("a::S", true)));
        assert_eq!(parent("pub a::E::V(a::X)"), Some(("a::E", true)));
        assert_eq!(parent("pub fn a::Tr::call(&self)"), Some(("a::Tr", false)));
        assert_eq!(
            parent("pub async fn a::C::get(&self)"),
            Some(("a::C", false))
        );
        assert_eq!(parent("pub const a::C::MAX: u8"), Some(("a::C", false)));
        assert_eq!(parent("impl core::marker::Send for a::C"), None);
    }
}
