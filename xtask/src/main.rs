//! `cargo xtask <task>`: see the library docs (`xtask/src/lib.rs`) for the tasks.

use std::path::PathBuf;
use std::process::ExitCode;

use xtask::codegen::{self, CheckOutcome};
use xtask::{Error, Result, SPEC_PATH, import_spec, workspace_root};

const USAGE: &str = "\
usage:
  cargo xtask import-spec <swagger-2.0 file> [--out <file>]
      Convert a published Swagger 2.0 document into the OpenAPI 3.0 document (default output:
      spec/CommunicationIdentity.json). External $refs are resolved next to the file.
  cargo xtask codegen [--check]
      Generate crates/acs-identity-rest/src/generated.rs from spec/CommunicationIdentity.json.
      With --check, write nothing: exit 1 and print a diff if the checked-in file differs.";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

fn run(args: &[String]) -> Result<ExitCode> {
    let root = workspace_root();
    match args.first().map(String::as_str) {
        Some("codegen") => {
            let check = match &args[1..] {
                [] => false,
                [flag] if flag == "--check" => true,
                _ => return Err(Error::new(format!("unexpected arguments\n{USAGE}"))),
            };
            if check {
                match codegen::check(&root)? {
                    CheckOutcome::UpToDate => {
                        println!("{} is up to date with {SPEC_PATH}", xtask::GENERATED_PATH);
                        Ok(ExitCode::SUCCESS)
                    }
                    CheckOutcome::Differs(diff) => {
                        print!("{diff}");
                        eprintln!(
                            "error: {} differs from what {SPEC_PATH} generates; run `cargo xtask codegen`",
                            xtask::GENERATED_PATH
                        );
                        Ok(ExitCode::FAILURE)
                    }
                }
            } else {
                let changed = codegen::write(&root)?;
                println!(
                    "{} {}",
                    xtask::GENERATED_PATH,
                    if changed { "written" } else { "unchanged" }
                );
                Ok(ExitCode::SUCCESS)
            }
        }
        Some("import-spec") => {
            let (input, out) = match &args[1..] {
                [input] => (PathBuf::from(input), root.join(SPEC_PATH)),
                [input, flag, out] if flag == "--out" => (PathBuf::from(input), PathBuf::from(out)),
                _ => return Err(Error::new(format!("unexpected arguments\n{USAGE}"))),
            };
            let converted = import_spec::convert_file(&input)?;
            xtask::write(&out, &converted.to_text())?;
            println!("wrote {} from {}", out.display(), input.display());
            if !converted.missing_descriptions.is_empty() {
                eprintln!(
                    "warning: no project description for these items (placeholders written; add them \
                     to xtask/src/descriptions.rs):"
                );
                for key in &converted.missing_descriptions {
                    eprintln!("  {key}");
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Some("help" | "--help" | "-h") => {
            println!("{USAGE}");
            Ok(ExitCode::SUCCESS)
        }
        _ => Err(Error::new(USAGE)),
    }
}
