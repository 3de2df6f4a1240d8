//! Keeps the man pages and completions in the repository in step with
//! baton's command line: the first test fails, naming the file and saying
//! "run scripts/generate", as soon as one of them is stale. The others check
//! the checker and the generator themselves, away from the repository.

use std::fs;

use clap::CommandFactory;

#[test]
fn committed_files_are_up_to_date() {
    let problems = xtask::stale(&xtask::repo_root()).unwrap();
    assert!(
        problems.is_empty(),
        "generated files out of date:\n  {}",
        problems.join("\n  ")
    );
}

#[test]
fn a_stale_missing_or_extra_file_is_named_and_generate_mends_it() {
    let root = tempfile::tempdir().unwrap();
    let root = root.path();
    assert_eq!(xtask::generate(root).unwrap().len(), xtask::render().len());
    assert_eq!(xtask::stale(root).unwrap(), Vec::<String>::new());
    assert_eq!(xtask::generate(root).unwrap(), Vec::<String>::new());

    let mut page = fs::read_to_string(root.join("docs/man/baton.1")).unwrap();
    page.push_str(".\\\" edited by hand\n");
    fs::write(root.join("docs/man/baton.1"), page).unwrap();
    fs::remove_file(root.join("completions/_baton")).unwrap();
    fs::write(root.join("completions/baton.old"), "").unwrap();
    assert_eq!(
        xtask::stale(root).unwrap(),
        [
            "docs/man/baton.1 is stale: run scripts/generate",
            "completions/_baton is missing: run scripts/generate",
            "completions/baton.old is no longer generated: run scripts/generate (it removes the file)",
        ]
    );

    assert_eq!(
        xtask::generate(root).unwrap(),
        [
            "wrote docs/man/baton.1",
            "wrote completions/_baton",
            "removed completions/baton.old",
        ]
    );
    assert_eq!(xtask::stale(root).unwrap(), Vec::<String>::new());
}

#[test]
fn the_output_is_deterministic_and_names_no_local_path() {
    let files = xtask::render();
    assert_eq!(files, xtask::render());
    let root = xtask::repo_root();
    let root = root.to_string_lossy();
    for file in &files {
        let text = String::from_utf8(file.contents.clone()).unwrap();
        assert!(!text.contains(&*root), "{} names {root}", file.path);
    }
}

#[test]
fn every_subcommand_has_a_page_and_every_option_is_in_every_file() {
    let files = xtask::render();
    let text = |path: &str| {
        let file = files.iter().find(|f| f.path == path).unwrap_or_else(|| {
            panic!("{path} is not generated");
        });
        String::from_utf8(file.contents.clone()).unwrap()
    };
    let command = baton::cli::Cli::command();
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        text(&format!("docs/man/baton-{}.1", sub.get_name()));
    }
    let longs = command
        .get_arguments()
        .filter(|a| !a.is_hide_set())
        .filter_map(clap::Arg::get_long);
    for long in longs {
        // roff spells a hyphen `\-`.
        let roff = format!("\\-\\-{}", long.replace('-', "\\-"));
        assert!(
            text("docs/man/baton.1").contains(&roff),
            "baton.1 lacks --{long}"
        );
        assert!(
            text(xtask::OPTIONS)
                .lines()
                .any(|l| l.split_once(' ').is_some_and(|(name, _)| name == long)),
            "{} lacks {long}",
            xtask::OPTIONS
        );
        for shell in xtask::SHELLS {
            let path = format!(
                "completions/{}",
                clap_complete::Generator::file_name(&shell, "baton")
            );
            assert!(text(&path).contains(long), "{path} lacks --{long}");
        }
    }
}
