//! Tekton's creds-init flags, run as Tekton's controller writes them: a fake
//! Tekton root (`Sandbox::baton_in_tekton`'s) with the secrets mounted as the kubelet
//! mounts them, a fake `$HOME`, and the files checked byte for byte, with
//! their modes, against what Tekton's `pkg/credentials` writes (its own
//! tests' cases where there are some).

use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};

use crate::harness::{Output, Sandbox};

/// A pod's view: `ROOT/creds` (the emptyDir Tekton mounts for every step),
/// `ROOT/creds-secrets/NAME`, and an empty home.
struct Pod {
    sb: Sandbox,
    root: PathBuf,
    home: PathBuf,
}

impl Pod {
    fn new() -> Self {
        let sb = Sandbox::new();
        let root = sb.path("tekton");
        let home = sb.path("home");
        fs::create_dir_all(root.join("creds")).unwrap();
        fs::create_dir_all(&home).unwrap();
        Self { sb, root, home }
    }

    fn creds(&self, name: &str) -> PathBuf {
        self.root.join("creds").join(name)
    }

    fn home(&self, name: &str) -> PathBuf {
        self.home.join(name)
    }

    /// A secret volume as the kubelet writes one: each key a link to
    /// `..data/KEY`, `..data` a link to the timestamped directory.
    fn secret(&self, name: &str, keys: &[(&str, &str)]) {
        let dir = self.root.join("creds-secrets").join(name);
        let stamp = "..2026_01_02_03_04_05.000000001";
        fs::create_dir_all(dir.join(stamp)).unwrap();
        for (key, value) in keys {
            fs::write(dir.join(stamp).join(key), value).unwrap();
            symlink(format!("..data/{key}"), dir.join(key)).unwrap();
        }
        symlink(stamp, dir.join("..data")).unwrap();
    }

    /// Runs a step in Tekton's mode with these arguments, under umask 022
    /// (so that the modes of the directories Tekton makes with 0777 are
    /// known), warnings shown.
    fn step(&self, args: &[&str]) -> Output {
        let mut step = self
            .sb
            .baton_in_tekton(["--mode", "tekton"].iter().chain(args));
        step.env("HOME", &self.home).env("BATON_LOG", "warn");
        // SAFETY: the closure runs in the child between fork and exec, and
        // calls only umask(2), which is async-signal-safe and cannot fail.
        unsafe {
            step.pre_exec(|| {
                nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o022));
                Ok(())
            });
        }
        self.sb.start(step).finish()
    }
}

fn mode(path: &Path) -> u32 {
    fs::symlink_metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o7777
}

/// A regular file holding exactly `want`, with `want_mode`.
#[track_caller]
fn assert_file(path: &Path, want: &str, want_mode: u32) {
    let meta = fs::symlink_metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(meta.is_file(), "{} is not a regular file", path.display());
    assert_eq!(
        String::from_utf8(fs::read(path).unwrap()).unwrap(),
        want,
        "{}",
        path.display()
    );
    assert_eq!(mode(path), want_mode, "mode of {}", path.display());
}

#[track_caller]
fn assert_dir(path: &Path, want_mode: u32) {
    assert!(path.is_dir(), "{} is not a directory", path.display());
    assert_eq!(mode(path), want_mode, "mode of {}", path.display());
}

/// The names in a directory, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn basic_git_writes_gitconfig_and_git_credentials_then_copies_them_home() {
    let pod = Pod::new();
    pod.secret("github", &[("username", "bar"), ("password", "baz")]);
    // A .gitconfig already in $HOME is overwritten, and keeps its mode.
    fs::write(
        pod.home(".gitconfig"),
        "[user]\n\tname = someone with a long name\n",
    )
    .unwrap();
    fs::set_permissions(pod.home(".gitconfig"), fs::Permissions::from_mode(0o644)).unwrap();
    let home_credentials = pod.home(".git-credentials");
    let out = pod.step(&[
        "-basic-git=github=https://github.com",
        "--",
        "cat",
        home_credentials.to_str().unwrap(),
    ]);
    out.expect_code(0);

    let gitconfig =
        "[credential]\n\thelper = store\n[credential \"https://github.com\"]\n\tusername = bar\n";
    let credentials = "https://bar:baz@github.com\n";
    assert_eq!(out.stdout, credentials, "the command sees them in $HOME");
    assert_file(&pod.creds(".gitconfig"), gitconfig, 0o600);
    assert_file(&pod.creds(".git-credentials"), credentials, 0o600);
    assert_eq!(
        names(&pod.root.join("creds")),
        [".git-credentials", ".gitconfig"]
    );
    assert_file(&pod.home(".gitconfig"), gitconfig, 0o644);
    assert_file(&pod.home(".git-credentials"), credentials, 0o600);
    assert_eq!(names(&pod.home), [".git-credentials", ".gitconfig"]);
    assert!(!out.stderr.contains("WARN"), "{}", out.stderr);
}

#[test]
fn ssh_git_with_known_hosts_writes_the_key_config_and_known_hosts() {
    let pod = Pod::new();
    let key = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk=\n-----END OPENSSH PRIVATE KEY-----\n";
    let known = "github.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n";
    pod.secret("deploy", &[("ssh-privatekey", key), ("known_hosts", known)]);
    let out = pod.step(&["-ssh-git=deploy=github.com", "--", "ls", "-A"]);
    out.expect_code(0);

    let ssh = pod.creds(".ssh");
    let config = format!(
        "Host github.com\n    HostName github.com\n    Port 22\n    IdentityFile {}/id_deploy\n",
        ssh.display()
    );
    assert_dir(&ssh, 0o755);
    assert_file(&ssh.join("id_deploy"), key, 0o600);
    assert_file(&ssh.join("config"), &config, 0o600);
    assert_file(&ssh.join("known_hosts"), known, 0o600);
    assert_eq!(names(&ssh), ["config", "id_deploy", "known_hosts"]);
    assert_eq!(
        names(&pod.root.join("creds")),
        [".ssh"],
        "no .gitconfig without a repository path"
    );

    // The copy; its config still names the key under /tekton/creds, as Tekton's does.
    let home_ssh = pod.home(".ssh");
    assert_dir(&home_ssh, 0o700);
    assert_file(&home_ssh.join("id_deploy"), key, 0o600);
    assert_file(&home_ssh.join("config"), &config, 0o600);
    assert_file(&home_ssh.join("known_hosts"), known, 0o600);
    assert_eq!(names(&pod.home), [".ssh"]);
}

#[test]
fn ssh_git_without_known_hosts_and_with_a_repository_path() {
    let pod = Pod::new();
    pod.secret("myrepo", &[("ssh-privatekey", "custom-port-key")]);
    let out = pod.step(&[
        "--ssh-git",
        "myrepo=gitlab.example.com:2222/team/project",
        "--",
        "true",
    ]);
    out.expect_code(0);

    let ssh = pod.creds(".ssh");
    let config = format!(
        "Host gitlab.example.com--team--project\n    HostName gitlab.example.com\n    Port 2222\n    IdentityFile {}/id_myrepo\n",
        ssh.display()
    );
    let gitconfig = "[url \"git@gitlab.example.com--team--project:team/project.git\"]\n\
                     \tinsteadOf = git@gitlab.example.com:team/project.git\n\
                     [url \"ssh://gitlab.example.com--team--project/team/project.git\"]\n\
                     \tinsteadOf = ssh://gitlab.example.com:2222/team/project.git\n";
    assert_file(&ssh.join("id_myrepo"), "custom-port-key", 0o600);
    assert_file(&ssh.join("config"), &config, 0o600);
    assert_eq!(names(&ssh), ["config", "id_myrepo"], "no known_hosts");
    assert_file(&pod.creds(".gitconfig"), gitconfig, 0o600);
    assert_file(&pod.home(".gitconfig"), gitconfig, 0o600);
    assert_eq!(names(&pod.home(".ssh")), ["config", "id_myrepo"]);
}

#[test]
fn basic_docker_writes_config_json() {
    let pod = Pod::new();
    pod.secret("registry", &[("username", "user"), ("password", "pass")]);
    let out = pod.step(&[
        "-basic-docker=registry=https://index.docker.io/v1/",
        "--",
        "true",
    ]);
    out.expect_code(0);
    let json = r#"{"auths":{"https://index.docker.io/v1/":{"username":"user","password":"pass","auth":"dXNlcjpwYXNz","email":"not@val.id"}}}"#;
    assert_dir(&pod.creds(".docker"), 0o755);
    assert_file(&pod.creds(".docker/config.json"), json, 0o600);
    assert_dir(&pod.home(".docker"), 0o700);
    assert_file(&pod.home(".docker/config.json"), json, 0o600);
    assert_eq!(names(&pod.home), [".docker"]);
}

#[test]
fn docker_config_keeps_the_auths_in_tekton_s_entry_fields() {
    let pod = Pod::new();
    pod.secret(
        "pull",
        &[(
            ".dockerconfigjson",
            r#"{"auths": {"quay.io": {"auth": "cTpx", "identitytoken": "tok"},
                          "ghcr.io": {"Username": "u", "password": "p", "auth": "dTpw"}},
                "credHelpers": {"gcr.io": "gcloud"}}"#,
        )],
    );
    pod.step(&["-docker-config=pull", "--", "true"])
        .expect_code(0);
    let json = r#"{"auths":{"ghcr.io":{"username":"u","password":"p","auth":"dTpw"},"quay.io":{"auth":"cTpx"}}}"#;
    assert_file(&pod.creds(".docker/config.json"), json, 0o600);
    assert_file(&pod.home(".docker/config.json"), json, 0o600);
}

#[test]
fn docker_cfg_becomes_auths() {
    let pod = Pod::new();
    pod.secret(
        "legacy",
        &[(
            ".dockercfg",
            r#"{"https://index.docker.io/v1/": {"auth": "YTpi", "email": "a@b.c"}}"#,
        )],
    );
    pod.step(&["-docker-cfg=legacy", "--", "true"])
        .expect_code(0);
    let json = r#"{"auths":{"https://index.docker.io/v1/":{"auth":"YTpi","email":"a@b.c"}}}"#;
    assert_file(&pod.creds(".docker/config.json"), json, 0o600);
    assert_file(&pod.home(".docker/config.json"), json, 0o600);
}

/// Every kind at once, as a service account with several annotated secrets
/// gives them: the Git files merged (the SSH `insteadOf` sections after the
/// basic-auth ones in `.gitconfig`; host-wide URLs first in
/// `.git-credentials` and `.ssh/config`), and one `config.json` where a
/// dockerconfigjson registry wins over a dockercfg one, a basic-auth one
/// over both.
#[test]
fn several_secrets_are_merged() {
    let pod = Pod::new();
    pod.secret(
        "repo-specific-creds",
        &[("username", "foo"), ("password", "repo-token")],
    );
    pod.secret(
        "host-wide-creds",
        &[("username", "myorguser"), ("password", "host-token")],
    );
    pod.secret(
        "repo-specific",
        &[
            ("ssh-privatekey", "repo-key"),
            ("known_hosts", "ssh-rsa repo-known"),
        ],
    );
    pod.secret(
        "host-wide",
        &[
            ("ssh-privatekey", "host-key"),
            ("known_hosts", "ssh-rsa host-known"),
        ],
    );
    pod.secret("hub", &[("username", "hubuser"), ("password", "hubpass")]);
    pod.secret(
        "cfg",
        &[(".dockercfg", r#"{"a.io": {"auth": "from-cfg"}, "b.io": {"auth": "from-cfg"}, "c.io": {"auth": "from-cfg"}}"#)],
    );
    pod.secret(
        "config",
        &[(
            ".dockerconfigjson",
            r#"{"auths": {"b.io": {"auth": "from-config"}, "c.io": {"auth": "from-config"}}}"#,
        )],
    );
    let out = pod.step(&[
        "-basic-git=repo-specific-creds=https://github.com/secret-org/private-repo",
        "-basic-git=host-wide-creds=https://github.com",
        "-ssh-git=repo-specific=github.com/org/private-repo",
        "-ssh-git=host-wide=github.com",
        "-basic-docker=hub=c.io",
        "-docker-config=config",
        "-docker-cfg=cfg",
        "--",
        "true",
    ]);
    out.expect_code(0);

    let gitconfig = "[credential]\n\thelper = store\n\
                     [credential \"https://github.com/secret-org/private-repo\"]\n\tusername = foo\n\tuseHttpPath = true\n\
                     [credential \"https://github.com\"]\n\tusername = myorguser\n\
                     [url \"git@github.com--org--private-repo:org/private-repo.git\"]\n\tinsteadOf = git@github.com:org/private-repo.git\n\
                     [url \"ssh://github.com--org--private-repo/org/private-repo.git\"]\n\tinsteadOf = ssh://github.com/org/private-repo.git\n";
    let credentials = "https://myorguser:host-token@github.com\nhttps://foo:repo-token@github.com/secret-org/private-repo\n";
    let ssh = pod.creds(".ssh");
    let config = format!(
        "Host github.com\n    HostName github.com\n    Port 22\n    IdentityFile {0}/id_host-wide\n\
         Host github.com--org--private-repo\n    HostName github.com\n    Port 22\n    IdentityFile {0}/id_repo-specific\n",
        ssh.display()
    );
    let json = r#"{"auths":{"a.io":{"auth":"from-cfg"},"b.io":{"auth":"from-config"},"c.io":{"username":"hubuser","password":"hubpass","auth":"aHVidXNlcjpodWJwYXNz","email":"not@val.id"}}}"#;
    for (dir, dir_mode) in [(pod.root.join("creds"), 0o755), (pod.home.clone(), 0o700)] {
        assert_file(&dir.join(".gitconfig"), gitconfig, 0o600);
        assert_file(&dir.join(".git-credentials"), credentials, 0o600);
        assert_file(&dir.join(".ssh/config"), &config, 0o600);
        assert_file(
            &dir.join(".ssh/known_hosts"),
            "ssh-rsa host-known\nssh-rsa repo-known",
            0o600,
        );
        assert_file(&dir.join(".ssh/id_host-wide"), "host-key", 0o600);
        assert_file(&dir.join(".ssh/id_repo-specific"), "repo-key", 0o600);
        assert_dir(&dir.join(".ssh"), dir_mode);
        assert_file(&dir.join(".docker/config.json"), json, 0o600);
        assert_dir(&dir.join(".docker"), dir_mode);
    }
    assert!(!out.stderr.contains("WARN"), "{}", out.stderr);
}

/// A secret that is not mounted: logged, and the step runs, with what could
/// be written. Tekton's entrypoint would exit 2 at once for the `-basic-git`
/// one (its flag parsing reads the secret); a dockerconfigjson secret that
/// cannot be read fails the whole of `config.json`, as in Tekton.
#[test]
fn a_missing_secret_is_logged_and_the_step_still_runs() {
    let pod = Pod::new();
    pod.secret("deploy", &[("ssh-privatekey", "key")]);
    pod.secret("registry", &[("username", "user"), ("password", "pass")]);
    let post = pod.sb.path("post");
    let out = pod.step(&[
        "-post_file",
        post.to_str().unwrap(),
        "-basic-git=absent=https://github.com",
        "-ssh-git=deploy=github.com",
        "-basic-docker=registry=https://index.docker.io/v1/",
        "-docker-config=gone",
        "--",
        "echo",
        "ran",
    ]);
    out.expect_code(0);
    assert_eq!(out.stdout, "ran\n");
    assert!(post.exists(), "the step succeeded");
    let secrets = pod.root.join("creds-secrets");
    for missing in ["absent/username", "gone/.dockerconfigjson"] {
        let path = secrets.join(missing);
        assert!(
            out.stderr.contains("WARN") && out.stderr.contains(&path.display().to_string()),
            "{missing} not named in:\n{}",
            out.stderr
        );
    }
    assert_eq!(out.stderr.lines().count(), 1, "one warning: {}", out.stderr);
    assert_eq!(names(&pod.root.join("creds")), [".ssh"]);
    assert_eq!(names(&pod.home), [".ssh"]);
    assert_file(&pod.home(".ssh/id_deploy"), "key", 0o600);
}

#[test]
fn no_credential_flag_touches_no_file() {
    let pod = Pod::new();
    // Even with something in ROOT/creds (Tekton's emptyDir is empty here).
    fs::write(pod.creds(".gitconfig"), "[user]\n").unwrap();
    pod.step(&["--", "true"]).expect_code(0);
    assert!(names(&pod.home).is_empty());
    assert_eq!(names(&pod.root.join("creds")), [".gitconfig"]);
}
