//! The dependency rules of `docs/ARCHITECTURE.md`, read from its crate table and checked on the
//! workspace's manifests (`cargo metadata`); the table lists every crate, and its xtask row every
//! command `cargo xtask help` prints. The table is the only copy of the rules.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;

use serde_json::Value;
use xtask::workspace_root;

/// One row of the crate table: its directory, and the project crates it may depend on (`None`:
/// any).
#[derive(Debug, PartialEq)]
struct Row {
    dir: String,
    allowed: Option<Vec<String>>,
    text: String,
}

/// The rows of the table under `## Crates`. The third column names the allowed project crates in
/// backticks (other backticked words, such as type names, are not crate names and are ignored by
/// the caller), or says `none` or `any`.
fn crate_table(doc: &str) -> Vec<Row> {
    let section = doc
        .split("\n## Crates\n")
        .nth(1)
        .expect("docs/ARCHITECTURE.md has no `## Crates` section");
    section
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .skip(2) // the header and the separator
        .map(|line| {
            let cells: Vec<&str> = line.split(" | ").collect();
            assert!(cells.len() >= 4, "not a four-column row: {line}");
            let dir = cells[0]
                .trim_start_matches("| ")
                .trim_matches('`')
                .to_owned();
            let may = cells[2].trim();
            let allowed = match may {
                "any" => None,
                "none" => Some(Vec::new()),
                _ => Some(
                    may.split('`')
                        .skip(1)
                        .step_by(2)
                        .map(str::to_owned)
                        .collect(),
                ),
            };
            Row {
                dir,
                allowed,
                text: line.to_owned(),
            }
        })
        .collect()
}

/// Workspace package name → (manifest directory relative to the root, project dependencies).
fn workspace() -> BTreeMap<String, (String, Vec<String>)> {
    let text = xtask::workspace::metadata(&workspace_root()).unwrap();
    let metadata: Value = serde_json::from_str(&text).unwrap();
    let root = workspace_root();
    let packages = metadata["packages"].as_array().unwrap();
    let names: Vec<&str> = packages
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    packages
        .iter()
        .map(|p| {
            let manifest = std::path::Path::new(p["manifest_path"].as_str().unwrap());
            let dir = manifest
                .parent()
                .unwrap()
                .strip_prefix(&root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            let mut deps: Vec<String> = p["dependencies"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d["name"].as_str().unwrap().to_owned())
                .filter(|d| names.contains(&d.as_str()))
                .collect();
            deps.sort();
            deps.dedup();
            (p["name"].as_str().unwrap().to_owned(), (dir, deps))
        })
        .collect()
}

/// Every dependency that `rows` does not allow, and every crate without a row, as messages.
fn violations(workspace: &BTreeMap<String, (String, Vec<String>)>, rows: &[Row]) -> Vec<String> {
    let mut found = Vec::new();
    for (name, (dir, deps)) in workspace {
        let Some(row) = rows.iter().find(|r| r.dir == *dir) else {
            found.push(format!(
                "docs/ARCHITECTURE.md has no row for {name} (`{dir}`)"
            ));
            continue;
        };
        let Some(allowed) = &row.allowed else {
            continue;
        };
        for dep in deps.iter().filter(|d| !allowed.contains(d)) {
            found.push(format!(
                "{name} depends on {dep}, which docs/ARCHITECTURE.md does not allow"
            ));
        }
    }
    for row in rows {
        if !workspace.values().any(|(dir, _)| *dir == row.dir) {
            found.push(format!(
                "docs/ARCHITECTURE.md has a row for `{}`, which is no crate",
                row.dir
            ));
        }
    }
    found
}

fn architecture_doc() -> String {
    std::fs::read_to_string(workspace_root().join("docs/ARCHITECTURE.md")).unwrap()
}

#[test]
fn crates_depend_only_on_what_the_architecture_table_allows() {
    let workspace = workspace();
    let rows = crate_table(&architecture_doc());
    let found = violations(&workspace, &rows);
    assert!(found.is_empty(), "{}", found.join("\n"));
    // The rules that matter most hold by name, whatever the table says.
    let emulator = &workspace["acs-identity-emulator"].1;
    assert!(
        !emulator
            .iter()
            .any(|d| d == "acs-identity" || d == "acs-identity-rest")
    );
    assert!(workspace["acs-auth"].1.is_empty());
}

#[test]
fn the_table_is_read_as_written() {
    let doc = "# A\n\n## Crates\n\n| crate | what | may depend on | must not |\n|---|---|---|---|\n\
               | `crates/a` | a `Thing` | none | |\n\
               | `crates/b` | b | `a` (its `Clock` only) | |\n\
               | `tests` | t | any | |\n\n## Next\n| `x` | y | any | |\n";
    let rows = crate_table(doc);
    let allowed: Vec<_> = rows
        .iter()
        .map(|r| (r.dir.as_str(), r.allowed.clone()))
        .collect();
    assert_eq!(
        allowed,
        [
            ("crates/a", Some(vec![])),
            ("crates/b", Some(vec!["a".to_owned(), "Clock".to_owned()])),
            ("tests", None),
        ]
    );
    let crate_at =
        |dir: &str, deps: &[&str]| (dir.to_owned(), deps.iter().map(|d| d.to_string()).collect());
    let mut workspace = BTreeMap::from([
        ("a".to_owned(), crate_at("crates/a", &[])),
        ("b".to_owned(), crate_at("crates/b", &["a"])),
        ("t".to_owned(), crate_at("tests", &["a", "b"])),
    ]);
    assert_eq!(violations(&workspace, &rows), Vec::<String>::new());
    // A dependency the table does not allow, and a crate without a row, are found.
    workspace.insert("a".to_owned(), crate_at("crates/a", &["b"]));
    workspace.insert("c".to_owned(), crate_at("crates/c", &[]));
    assert_eq!(
        violations(&workspace, &rows),
        [
            "a depends on b, which docs/ARCHITECTURE.md does not allow",
            "docs/ARCHITECTURE.md has no row for c (`crates/c`)",
        ]
    );
}

#[test]
fn the_xtask_row_names_every_command() {
    let help = std::process::Command::new(env!("CARGO_BIN_EXE_xtask"))
        .arg("help")
        .output()
        .unwrap();
    assert!(help.status.success());
    let help = String::from_utf8(help.stdout).unwrap();
    // clap's listing: the lines after `Commands:` up to the blank line, a command's name first.
    let commands: Vec<&str> = help
        .lines()
        .skip_while(|l| l.trim() != "Commands:")
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter_map(|l| l.split_whitespace().next())
        .filter(|command| *command != "help")
        .collect();
    assert!(commands.contains(&"codegen"), "{help}");
    let doc = architecture_doc();
    let row = crate_table(&doc)
        .into_iter()
        .find(|r| r.dir == "xtask")
        .unwrap();
    for command in commands {
        assert!(
            row.text.contains(&format!("`cargo xtask {command}")),
            "the xtask row of docs/ARCHITECTURE.md does not name `cargo xtask {command}`"
        );
    }
}
