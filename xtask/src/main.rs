//! `cargo xtask <task>`: see the library docs (`xtask/src/lib.rs`) for the tasks.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use xtask::codegen::{self, CheckOutcome};
use xtask::{
    Error, Result, import_spec, public_api, release_check, semver_check, workspace, workspace_root,
};

/// Maintainer tasks of the acs-identity workspace.
#[derive(Parser)]
#[command(name = "cargo xtask", bin_name = "cargo xtask")]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Convert a published Swagger 2.0 document into the OpenAPI 3.0 document.
    ///
    /// The default output is spec/CommunicationIdentity.json for a stable api-version,
    /// spec/preview/CommunicationIdentity.json for a preview. External $refs are resolved next to
    /// the file. Changes to the operations the facade calls that would break it are refused,
    /// each named, unless --allow-breaking.
    ImportSpec {
        /// The Swagger 2.0 document.
        file: PathBuf,
        /// Where to write the OpenAPI 3.0 document.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Import even when the facade's operations change incompatibly.
        #[arg(long)]
        allow_breaking: bool,
    },
    /// Generate the client code of acs-identity-rest from the documents under spec/.
    ///
    /// crates/acs-identity-rest/src/generated.rs from spec/CommunicationIdentity.json, and
    /// crates/acs-identity-rest/src/preview.rs from spec/preview/CommunicationIdentity.json.
    Codegen {
        /// Write nothing: exit 1 and print a diff if a checked-in file differs.
        #[arg(long)]
        check: bool,
    },
    /// Compare the public API of every published library with its snapshot.
    ///
    /// Lists it from rustdoc JSON (snapshots in xtask/public-api/<crate>.txt), checks that every
    /// type it names is reachable from the crate root, and runs the semver check against the
    /// release baselines.
    PublicApi {
        /// Write the snapshots instead of comparing.
        #[arg(long)]
        bless: bool,
    },
    /// Check every published crate before a release; exit 1 listing every problem.
    ///
    /// cargo package (each crate built from its .crate), README and license inside, path
    /// dependencies versioned, docs with warnings denied, CHANGELOG entries, MSRV declared once,
    /// generated code marked, and public-api.
    ReleaseCheck,
    /// Record the current public API of published libraries as their release baselines.
    ///
    /// Writes xtask/release-baselines/<crate>.txt for the current version of each named crate.
    ReleaseBaseline {
        /// The crates (default: every published library).
        crates: Vec<String>,
    },
}

fn main() -> ExitCode {
    // Run by cargo as its rustdoc for the public-API listing (see xtask/src/public_api.rs).
    if let Some(rustdoc) = std::env::var_os(public_api::RUSTDOC_ENV) {
        return match std::process::Command::new(&rustdoc)
            .args(std::env::args_os().skip(1))
            .env("RUSTC_BOOTSTRAP", "1")
            .status()
        {
            Ok(status) if status.success() => ExitCode::SUCCESS,
            Ok(_) => ExitCode::FAILURE,
            Err(e) => {
                eprintln!("error: cannot run {}: {e}", rustdoc.to_string_lossy());
                ExitCode::FAILURE
            }
        };
    }
    match run(Cli::parse().task) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

fn run(task: Task) -> Result<ExitCode> {
    let root = workspace_root();
    match task {
        Task::Codegen { check: true } => match codegen::check(&root)? {
            CheckOutcome::UpToDate => {
                for document in xtask::DOCUMENTS {
                    println!(
                        "{} is up to date with {}",
                        document.generated_path, document.spec_path
                    );
                }
                Ok(ExitCode::SUCCESS)
            }
            CheckOutcome::Differs(diff) => {
                print!("{diff}");
                eprintln!(
                    "error: the generated code differs from what spec/ generates; run `cargo \
                     xtask codegen`"
                );
                Ok(ExitCode::FAILURE)
            }
        },
        Task::Codegen { check: false } => {
            let written = codegen::write(&root)?;
            for document in xtask::DOCUMENTS {
                let state = if written.contains(&document.generated_path) {
                    "written"
                } else {
                    "unchanged"
                };
                println!("{} {state}", document.generated_path);
            }
            Ok(ExitCode::SUCCESS)
        }
        Task::ImportSpec {
            file,
            out,
            allow_breaking,
        } => {
            let converted = import_spec::convert_file(&file)?;
            // A stable document replaces the stable one, a preview the preview.
            let out = out.unwrap_or_else(|| root.join(converted.place().spec_path));
            if let Some(dir) = out.parent() {
                xtask::create_dir_all(dir)?;
            }
            if !allow_breaking {
                import_spec::refuse_breaking_changes(&converted, &out)?;
            }
            xtask::write(&out, &converted.to_text())?;
            println!("wrote {} from {}", out.display(), file.display());
            Ok(ExitCode::SUCCESS)
        }
        Task::PublicApi { bless } => {
            let crates = workspace::published_crates(&root)?;
            let problems = check_public_api(&root, &crates, bless)?;
            for problem in &problems {
                println!("  {problem}");
            }
            Ok(outcome("public-api", &problems))
        }
        Task::ReleaseCheck => release_check(&root),
        Task::ReleaseBaseline { crates: named } => {
            let crates = workspace::published_crates(&root)?;
            if let Some(unknown) = named.iter().find(|n| !crates.iter().any(|c| c.name == **n)) {
                return Err(Error::new(format!("{unknown} is not a published crate")));
            }
            let chosen: Vec<_> = crates
                .into_iter()
                .filter(|c| named.is_empty() || named.contains(&c.name))
                .collect();
            let apis = semver_check::current_apis(&root, &chosen)?;
            semver_check::write_baselines(&root, &apis)?;
            for api in &apis {
                println!(
                    "{} written for {} {}",
                    semver_check::baseline_path(&root, &api.name).display(),
                    api.name,
                    api.version
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Runs every check of `cargo xtask release-check`, printing each step and what it found.
fn release_check(root: &Path) -> Result<ExitCode> {
    let crates = workspace::published_crates(root)?;
    let names: Vec<&str> = crates.iter().map(|c| c.name.as_str()).collect();
    println!("published crates: {}", names.join(", "));
    let mut problems = Vec::new();
    let mut step = |name: &str, found: Vec<String>| {
        let verdict = if found.is_empty() { "ok" } else { "FAILED" };
        println!("{name}: {verdict}");
        for problem in &found {
            println!("  {problem}");
        }
        problems.extend(found);
    };
    let clippy_toml = xtask::read_to_string(&root.join("clippy.toml"))?;
    step(
        "manifests (metadata, rust-version = clippy msrv, versioned path dependencies)",
        release_check::manifests(&crates, &clippy_toml),
    );
    step("changelogs", release_check::changelogs(&crates));
    step(
        "generated code marked",
        release_check::generated_code(root)?,
    );
    step(
        "public API: snapshots, nameable types, semver against the release baselines",
        check_public_api(root, &crates, false)?,
    );
    step("docs (warnings denied)", release_check::docs(root, &crates));
    let target_dir = workspace::target_directory(root)?;
    step(
        "cargo package (each crate built from its .crate file; README and license inside)",
        release_check::packages(root, &target_dir, &crates),
    );
    Ok(outcome("release-check", &problems))
}

/// `<task>: ok` and success without problems, else the number of problems and failure.
fn outcome(task: &str, problems: &[String]) -> ExitCode {
    if problems.is_empty() {
        println!("{task}: ok");
        ExitCode::SUCCESS
    } else {
        eprintln!("error: {task} found {} problem(s)", problems.len());
        ExitCode::FAILURE
    }
}

/// `cargo xtask public-api`: each published library's listing against its snapshot (written
/// instead with `bless`), its unnameable types, and the semver verdicts (printed); the problems.
fn check_public_api(
    root: &Path,
    crates: &[workspace::PublishedCrate],
    bless: bool,
) -> Result<Vec<String>> {
    let apis = semver_check::current_apis(root, crates)?;
    let libs: Vec<&str> = apis.iter().map(|api| api.lib.as_str()).collect();
    let mut problems = Vec::new();
    for api in &apis {
        let path = public_api::snapshot_path(root, &api.name);
        let snapshot = std::fs::read_to_string(&path).unwrap_or_default();
        if bless && snapshot != api.listing {
            if let Some(dir) = path.parent() {
                xtask::create_dir_all(dir)?;
            }
            xtask::write(&path, &api.listing)?;
            println!("{} written", path.display());
        } else if snapshot != api.listing {
            let diff = similar::TextDiff::from_lines(&snapshot, &api.listing);
            print!("{}", diff.unified_diff().header("snapshot", "current"));
            problems.push(format!(
                "{}: the public API differs from {} (review the diff; accept it with `cargo xtask \
                 public-api --bless`)",
                api.name,
                path.display()
            ));
        }
        let others: Vec<&str> = libs.iter().copied().filter(|l| *l != api.lib).collect();
        for path in public_api::unnameable(&api.lib, &others, &api.listing) {
            problems.push(format!(
                "{}: its API names {path}, which users cannot name (re-export it)",
                api.name
            ));
        }
    }
    let verdicts = semver_check::check(root, &apis)?;
    for api in &apis {
        match verdicts.iter().find(|v| v.crate_name == api.name) {
            Some(verdict) => println!("{verdict}"),
            None => println!("{} {}: no release baseline yet", api.name, api.version),
        }
    }
    problems.extend(verdicts.iter().filter_map(semver_check::Verdict::failure));
    Ok(problems)
}
