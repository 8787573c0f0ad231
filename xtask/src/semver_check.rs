//! The semver check: the public API of a crate (its [listing](crate::public_api)) against the
//! listing of its last release, the release baseline checked in under [`BASELINE_DIR`].
//!
//! The two listings are compared line by line, as `cargo public-api diff` does: a line of the
//! baseline that is gone (an item removed, a signature or an impl changed) is **breaking**; a new
//! line is an **addition**. A breaking change of another workspace crate whose items this crate's
//! API names (its listing mentions `that_crate::`) breaks this crate too, since users see those
//! items through it. A breaking change needs the bump Cargo's semver rules call incompatible (the
//! major version; for `0.y.z` the minor; for `0.0.z` the patch), else the check fails. Additions
//! are reported, not failed, so that they can land between releases. Additions that break users
//! without removing a line (a variant of an exhaustive enum, a required trait method) are not
//! told apart from others: the review of the snapshot diff (`cargo xtask public-api`) sees them.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use semver::Version;

use crate::Result;
use crate::workspace::PublishedCrate;

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
                error!(
                    "the release baseline of {crate_name} does not start with \
                     `{HEADER_PREFIX}{crate_name} <version>{HEADER_SUFFIX}`"
                )
            })?;
        let version = Version::parse(version).map_err(|e| {
            error!("the release baseline of {crate_name} names version {version:?}: {e}")
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

/// The lines of the `old` listing missing from the `new` one, and the new lines (a listing may
/// hold the same line twice, e.g. two `fmt` methods: each copy counts).
pub fn diff(old: &str, new: &str) -> (Vec<String>, Vec<String>) {
    let counts = |listing: &str| {
        let mut counts = BTreeMap::new();
        for line in listing.lines().filter(|l| !l.trim().is_empty()) {
            *counts.entry(line.to_owned()).or_insert(0usize) += 1;
        }
        counts
    };
    let (old, new) = (counts(old), counts(new));
    let missing = |from: &BTreeMap<String, usize>, to: &BTreeMap<String, usize>| {
        from.iter()
            .flat_map(|(line, &n)| {
                std::iter::repeat_n(
                    line.clone(),
                    n.saturating_sub(to.get(line).copied().unwrap_or(0)),
                )
            })
            .collect()
    };
    (missing(&old, &new), missing(&new, &old))
}

/// The lowest version after `released` that may carry breaking changes.
pub fn next_incompatible(released: &Version) -> Version {
    match (released.major, released.minor) {
        (0, 0) => Version::new(0, 0, released.patch + 1),
        (0, minor) => Version::new(0, minor + 1, 0),
        (major, _) => Version::new(major + 1, 0, 0),
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
    /// Breaking changes: `removed or changed: <line>`, or the dependency that broke.
    pub breaking: Vec<String>,
    /// New lines of the listing.
    pub added: Vec<String>,
}

impl Verdict {
    /// The reason the check fails, if it does: a breaking change without an incompatible bump,
    /// or a version older than the release.
    pub fn failure(&self) -> Option<String> {
        let needed = next_incompatible(&self.released);
        if self.current < self.released {
            Some(format!(
                "{}: Cargo.toml says {}, older than the released {}",
                self.crate_name, self.current, self.released
            ))
        } else if !self.breaking.is_empty() && self.current < needed {
            Some(format!(
                "{}: {} breaking change(s) since the {} release, but Cargo.toml says {}: bump \
                 the version to at least {needed} (and add its CHANGELOG entry), or undo the change",
                self.crate_name,
                self.breaking.len(),
                self.released,
                self.current,
            ))
        } else {
            None
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} (released {}): {} breaking, {} added",
            self.crate_name,
            self.current,
            self.released,
            self.breaking.len(),
            self.added.len()
        )?;
        if !self.added.is_empty() && self.current == self.released {
            write!(f, " (bump the version before the next publish)")?;
        }
        for line in &self.breaking {
            write!(f, "\n  {line}")?;
        }
        for line in &self.added {
            write!(f, "\n  added: {line}")?;
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
    Ok(crate::public_api::listings(root, crates)?
        .into_iter()
        .map(|(krate, lib, listing)| CurrentApi {
            name: krate.name.clone(),
            version: krate.version.clone(),
            lib: lib.to_owned(),
            listing,
        })
        .collect())
}

/// Writes the release baseline of each of `apis` (the listing under its current version).
pub fn write_baselines(root: &Path, apis: &[CurrentApi]) -> Result<()> {
    crate::create_dir_all(&root.join(BASELINE_DIR))?;
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
        .map(|(api, baseline)| {
            let (removed, added) = diff(&baseline.listing, &api.listing);
            Verdict {
                crate_name: api.name.clone(),
                released: baseline.version.clone(),
                current: api.version.clone(),
                breaking: removed
                    .iter()
                    .map(|line| format!("removed or changed: {line}"))
                    .collect(),
                added,
            }
        })
        .collect();
    let broken: Vec<&CurrentApi> = released
        .iter()
        .zip(&verdicts)
        .filter(|(_, verdict)| !verdict.breaking.is_empty())
        .map(|((api, _), _)| *api)
        .collect();
    for ((api, _), verdict) in released.iter().zip(verdicts.iter_mut()) {
        for dependency in &broken {
            if dependency.name != api.name && api.listing.contains(&format!("{}::", dependency.lib))
            {
                verdict.breaking.push(format!(
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

    /// A synthetic listing in the format of `public_api` (see `xtask/public-api/*.txt`).
    const BASE: &str = "\
pub mod k
pub enum k::Kind
pub k::Kind::A
pub struct k::Client
impl k::Client
pub fn k::Client::get(&self) -> u8
impl core::marker::Send for k::Client
impl core::fmt::Debug for k::Client
pub fn k::Client::fmt(&self, &mut core::fmt::Formatter<'_>) -> core::fmt::Result
impl core::fmt::Display for k::Client
pub fn k::Client::fmt(&self, &mut core::fmt::Formatter<'_>) -> core::fmt::Result
";

    fn api(name: &str, version: &str, listing: &str) -> CurrentApi {
        CurrentApi {
            name: name.into(),
            version: Version::parse(version).unwrap(),
            lib: name.into(),
            listing: listing.into(),
        }
    }

    fn released(version: &str, listing: &str) -> Baseline {
        Baseline {
            version: Version::parse(version).unwrap(),
            listing: listing.into(),
        }
    }

    /// The verdict for crate `k` released as `was` with [`BASE`], now at `now` with `listing`.
    fn verdict(was: &str, now: &str, listing: &str) -> Verdict {
        verdicts(&[(&api("k", now, listing), released(was, BASE))]).remove(0)
    }

    #[test]
    fn the_same_listing_passes_and_additions_pass_without_a_bump() {
        assert_eq!(verdict("0.1.0", "0.1.0", BASE).failure(), None);
        let added = verdict(
            "0.1.0",
            "0.1.0",
            &format!("{BASE}pub fn k::Client::put(&self)\n"),
        );
        assert_eq!(added.failure(), None);
        assert_eq!(added.added, ["pub fn k::Client::put(&self)"]);
        assert!(
            added
                .to_string()
                .contains("bump the version before the next publish")
        );
    }

    #[test]
    fn a_breaking_change_fails_without_an_incompatible_bump_and_passes_with_it() {
        // A changed signature: the old line is gone (breaking), the new one added.
        let changed = BASE.replace("get(&self) -> u8", "get(&self) -> u16");
        let same = verdict("0.1.0", "0.1.0", &changed);
        assert_eq!(
            same.breaking,
            ["removed or changed: pub fn k::Client::get(&self) -> u8"]
        );
        assert_eq!(same.added, ["pub fn k::Client::get(&self) -> u16"]);
        let failure = same.failure().unwrap();
        assert!(
            failure.contains("bump the version to at least 0.2.0"),
            "{failure}"
        );
        assert!(verdict("0.1.0", "0.1.5", &changed).failure().is_some());
        assert_eq!(verdict("0.1.0", "0.2.0", &changed).failure(), None);
        assert_eq!(verdict("0.1.0", "1.0.0", &changed).failure(), None);
        assert!(verdict("1.2.3", "1.3.0", &changed).failure().is_some());
        assert_eq!(verdict("1.2.3", "2.0.0", &changed).failure(), None);
        assert!(verdict("0.0.3", "0.0.3", &changed).failure().is_some());
        assert_eq!(verdict("0.0.3", "0.0.4", &changed).failure(), None);
        // One of two identical `fmt` lines gone (the Display impl dropped) is still seen.
        let no_display = BASE
            .replace("impl core::fmt::Display for k::Client\n", "")
            .replacen("pub fn k::Client::fmt(&self, &mut core::fmt::Formatter<'_>) -> core::fmt::Result\n", "", 1);
        assert_eq!(verdict("0.1.0", "0.1.0", &no_display).breaking.len(), 2);
    }

    #[test]
    fn a_version_older_than_the_release_fails() {
        assert!(verdict("0.2.0", "0.1.9", BASE).failure().is_some());
    }

    #[test]
    fn a_dependency_breaking_change_breaks_the_crate_that_names_its_items() {
        let user_listing = "pub fn user::f() -> k::Kind\n";
        let other_listing = "pub fn other::f() -> u8\n";
        let k = api("k", "0.1.0", &BASE.replace("pub k::Kind::A\n", ""));
        let user = api("user", "0.1.0", user_listing);
        let other = api("other", "0.1.0", other_listing);
        let verdicts = verdicts(&[
            (&k, released("0.1.0", BASE)),
            (&user, released("0.1.0", user_listing)),
            (&other, released("0.1.0", other_listing)),
        ]);
        assert!(verdicts[0].failure().is_some());
        assert_eq!(
            verdicts[1].breaking,
            ["its API names items of k, which has breaking changes"]
        );
        assert!(verdicts[1].failure().is_some());
        assert_eq!(verdicts[2].failure(), None);
    }

    #[test]
    fn baselines_are_written_read_back_and_checked() {
        let root = tempfile::tempdir().unwrap();
        let k = api("k", "0.4.0", BASE);
        assert_eq!(read_baseline(root.path(), "k").unwrap(), None);
        assert_eq!(
            check(root.path(), std::slice::from_ref(&k)).unwrap(),
            Vec::new()
        );
        write_baselines(root.path(), std::slice::from_ref(&k)).unwrap();
        let text = std::fs::read_to_string(baseline_path(root.path(), "k")).unwrap();
        assert!(text.starts_with("# public API of k 0.4.0 as released\n"));
        let changed = api("k", "0.4.0", &BASE.replace("pub k::Kind::A\n", ""));
        let verdicts = check(root.path(), &[changed]).unwrap();
        assert!(verdicts[0].failure().unwrap().contains("at least 0.5.0"));
        let err = Baseline::parse("k", BASE).unwrap_err().to_string();
        assert!(err.contains("does not start with"), "{err}");
        let err = Baseline::parse("k", "# public API of k x.y as released\n").unwrap_err();
        assert!(err.to_string().contains("\"x.y\""), "{err}");
    }
}
