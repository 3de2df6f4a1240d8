//! The one place both sides agree: every command render writes must parse in
//! the in-pod binary (`baton::cli::try_parse`, after the binary's path) and
//! give exactly the settings render meant (its `pod::plan` of the input),
//! nothing more; the installer's command must be baton's `install`.

mod common;

use std::ffi::OsString;
use std::path::PathBuf;

use baton::cli::{try_parse, Sub};
use baton::settings::{Mode, Step};
use kubectl_baton::pod::{self, Planned, Role};
use kubectl_baton::podman::Target;
use kubectl_baton::value::{Map, Value};
use kubectl_baton::{input, objects, Options};

/// The objects of a rendered file, List items included.
fn objects_of(text: &str) -> Vec<Value> {
    let docs = input::parse(&input::Source("t".into()), text, false).expect("valid");
    let mut out = Vec::new();
    for doc in docs {
        match doc.value.get("items").and_then(Value::as_seq) {
            Some(items) if doc.value.str_at("kind") == Some("List") => out.extend(items.clone()),
            _ => out.push(doc.value),
        }
    }
    out
}

fn options_of(args: &[String]) -> Options {
    let mut options = Options::default();
    for pair in args.windows(2) {
        match pair[0].as_str() {
            "--image" => options.image.clone_from(&pair[1]),
            "--command" => options
                .commands
                .push(kubectl_baton::parse_command(&pair[1]).unwrap()),
            "--for" if pair[1] == "podman" => options.target = Target::Podman,
            _ => {}
        }
    }
    options
}

/// The strings of the list at `key` of `container`.
fn strings(container: &Value, key: &str) -> Vec<String> {
    container
        .items_at(key)
        .map(|w| w.as_str().expect("a string").to_owned())
        .collect()
}

/// The settings `planned` means, as baton holds them: those of the flags of
/// its `baton.dev/flags.<container>` alone, with render's own added.
fn intended(planned: &Planned, args: &[String]) -> Step {
    // A --ready-probe needs its --ready-file, render's own.
    let ready = planned.ready_file().map(|r| format!("--ready-file={r}"));
    let alone: Vec<OsString> = [pod::BIN.to_owned()]
        .into_iter()
        .chain(ready)
        .chain(planned.extra.iter().cloned())
        .chain(["--".to_owned(), "true".to_owned()])
        .map(OsString::from)
        .collect();
    let mut step = try_parse(&alone)
        .unwrap_or_else(|stop| panic!("{}: its flags alone: {stop:?}", planned.name))
        .step;
    step.tekton.mode = Some(Mode::Baton);
    step.marking.post_file = Some(planned.post_file().into());
    step.marking.termination_path = Some(planned.termination_path.clone().into());
    match &planned.role {
        Role::Step { waits } => {
            let own = std::mem::take(&mut step.waiting.wait_file);
            step.waiting.wait_file = waits.iter().map(PathBuf::from).chain(own).collect();
        }
        Role::Sidecar { probe, stops } => {
            step.sidecar.ready_file = planned.ready_file().map(PathBuf::from);
            if probe.is_some() {
                step.sidecar.ready_probe = probe
                    .iter()
                    .map(|p| baton::ready::parse_probe(p).expect("a probe baton reads"))
                    .collect();
            }
            step.sidecar.stop_file = stops.iter().map(PathBuf::from).collect();
            step.sidecar.stop_when_all = stops.len() > 1;
        }
    }
    step.argv.command = planned
        .command
        .iter()
        .chain(args)
        .map(OsString::from)
        .collect();
    step
}

/// Checks one rendered pod against the plan of its input; the number of
/// commands checked.
fn check_pod(case: &str, input: &Value, output: &Value, options: &Options) -> usize {
    let (Some(before), Some(after)) = (objects::pod(input), objects::pod(output)) else {
        return 0;
    };
    let rendered = |holder: &Map| {
        holder
            .get("metadata")
            .and_then(|m| m.get("annotations"))
            .and_then(|a| a.get(pod::RENDERED))
            .is_some()
    };
    if !rendered(after) {
        return 0; // passed through (wired by hand)
    }
    let mut before = before.clone();
    if rendered(&before) {
        pod::strip(&mut before);
    }
    let plan = pod::plan(&before, options).expect("the input plans");
    let spec = after.get("spec").expect("a spec");
    let inits = spec
        .get("initContainers")
        .and_then(Value::as_seq)
        .expect("initContainers");
    let installer = &inits[0];
    assert_eq!(installer.str_at("name"), Some(pod::INSTALLER), "{case}");
    assert_eq!(
        installer.str_at("image"),
        Some(options.image.as_str()),
        "{case}"
    );
    let argv: Vec<OsString> = strings(installer, "command")
        .into_iter()
        .map(OsString::from)
        .collect();
    match try_parse(&argv) {
        Ok(cli) => assert!(
            matches!(&cli.sub, Some(Sub::Install { dest }) if dest == &PathBuf::from("/baton-bin/")),
            "{case}: {cli:?}"
        ),
        Err(stop) => panic!("{case}: the installer's command: {stop:?}"),
    }
    let containers = spec
        .get("containers")
        .and_then(Value::as_seq)
        .expect("containers");
    assert_eq!(containers.len(), plan.containers.len(), "{case}");
    for (container, planned) in containers.iter().zip(&plan.containers) {
        let command = strings(container, "command");
        let args = strings(container, "args");
        assert_eq!(command[0], pod::BIN, "{case}: {}", planned.name);
        // What the kubelet runs: command, then args; argv[0] is the binary.
        let argv: Vec<OsString> = command.iter().chain(&args).map(OsString::from).collect();
        let cli =
            try_parse(&argv).unwrap_or_else(|stop| panic!("{case}: {}: {stop:?}", planned.name));
        assert!(cli.sub.is_none(), "{case}: {}", planned.name);
        let mut meant = intended(planned, &args);
        if options.target == Target::Podman {
            // podman reads no termination message: render drops the option.
            meant.marking.termination_path = None;
        }
        assert_eq!(cli.step, meant, "{case}: {}", planned.name);
    }
    plan.containers.len()
}

#[test]
fn every_rendered_command_parses_in_baton_as_meant() {
    let mut checked = 0;
    for case in common::cases() {
        let run = common::render_case(&case);
        if run.code != 0 {
            continue;
        }
        let text =
            std::fs::read_to_string(common::golden_dir().join(format!("{case}.in.yaml"))).unwrap();
        let options = options_of(&common::case_args(&text));
        let inputs = objects_of(&text);
        let outputs = objects_of(&run.stdout);
        assert_eq!(inputs.len(), outputs.len(), "{case}");
        for (input, output) in inputs.iter().zip(&outputs) {
            checked += check_pod(&case, input, output, &options);
        }
    }
    assert!(checked >= 20, "only {checked} commands checked");
}

/// The same, with the settings written out by hand: a DAG and sidecars.
#[test]
fn a_dag_and_sidecars_as_written_by_hand() {
    let parse = |case: &str, container: &str| {
        let run = common::render_case(case);
        let out = objects_of(&run.stdout);
        let holder = objects::pod(&out[0]).unwrap();
        let c = holder
            .get("spec")
            .and_then(|s| s.get("containers"))
            .and_then(Value::as_seq)
            .unwrap()
            .iter()
            .find(|c| c.str_at("name") == Some(container))
            .unwrap()
            .clone();
        let argv: Vec<OsString> = strings(&c, "command")
            .into_iter()
            .chain(strings(&c, "args"))
            .map(OsString::from)
            .collect();
        try_parse(&argv).unwrap().step
    };
    let paths = |p: &[&str]| p.iter().map(PathBuf::from).collect::<Vec<_>>();
    let join = parse("dag", "join");
    assert_eq!(
        join.waiting.wait_file,
        paths(&[
            "/baton-run/left/post",
            "/baton-run/right/post",
            "/baton-run/lint/post"
        ])
    );
    assert_eq!(join.marking.post_file, Some("/baton-run/join/post".into()));
    assert!(parse("dag", "lint").waiting.wait_file.is_empty());
    assert_eq!(
        parse("dag", "right").waiting.wait_file,
        paths(&["/baton-run/fetch/post"])
    );

    let test = parse("sidecar-probes", "test");
    assert_eq!(test.waiting.wait_file.len(), 5);
    assert_eq!(
        test.waiting.wait_file[0],
        PathBuf::from("/baton-run/tcp/ready")
    );
    let https = parse("sidecar-probes", "https");
    assert_eq!(
        https.sidecar.ready_file,
        Some("/baton-run/https/ready".into())
    );
    assert_eq!(
        https.sidecar.ready_probe[0].to_string(),
        "tcp:127.0.0.1:8443"
    );
    assert_eq!(https.sidecar.stop_file, paths(&["/baton-run/test/post"]));
    assert_eq!(
        https.argv.command,
        ["nginx", "-g", "daemon off;"].map(OsString::from)
    );
    let exec = parse("sidecar-probes", "exec");
    assert_eq!(
        exec.sidecar.ready_probe[0].to_string(),
        "exec:test -e /tmp/ready"
    );
    assert!(parse("sidecar-probes", "plain")
        .sidecar
        .ready_probe
        .is_empty());

    let server = parse("job-sidecar", "server");
    assert_eq!(
        server.sidecar.ready_probe[0].to_string(),
        "http://127.0.0.1:8080/index.html"
    );
    let publish = parse("pod-chain", "publish");
    assert_eq!(
        publish.marking.termination_path,
        Some("/tmp/termination".into())
    );
    let run = parse("command-flag", "run");
    assert_eq!(
        run.argv.command,
        ["/usr/bin/tool", "--verbose", "process", "/data"].map(OsString::from)
    );
}

/// Booleans are read alike by render (`flags::boolean`) and by baton.
#[test]
fn booleans_are_read_as_baton_reads_them() {
    for word in [
        "1", "t", "T", "true", "TRUE", "True", "0", "f", "F", "false", "FALSE", "False", "yes",
        "no", "on", "", "tRUE", "2",
    ] {
        assert_eq!(
            kubectl_baton::flags::boolean(word),
            baton::settings::go_bool(word).ok(),
            "{word:?}"
        );
    }
}

/// Every flag render writes itself is one a user may not give, but the two
/// a user may add to: `--wait-file` (a wait of its own) and `--ready-probe`
/// (a sidecar's probe, replacing render's).
#[test]
fn the_flags_render_sets_are_refused_in_the_annotation() {
    let mut seen = 0;
    for case in common::cases() {
        let run = common::render_case(&case);
        let Some(planned) = run.stdout.find("/baton-bin/baton\n") else {
            continue;
        };
        for line in run.stdout[planned..].lines() {
            let Some(flag) = line.trim().strip_prefix("- --") else {
                continue;
            };
            let name = flag.split('=').next().unwrap_or_default();
            let render_s = flag.contains("/baton-run/")
                || name == "stop-when-all"
                || name == "termination-path";
            if render_s && name != "wait-file" && name != "ready-probe" {
                let refused = kubectl_baton::flags::parse("k", &format!("--{flag}"));
                assert!(
                    refused.is_err(),
                    "{case}: --{flag} is render's, but accepted"
                );
                seen += 1;
            }
        }
    }
    assert!(seen > 20, "only {seen} of render's flags seen");
}
