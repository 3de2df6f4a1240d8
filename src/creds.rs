//! Tekton's creds-init flags (`-basic-git`, `-ssh-git`, `-basic-docker`,
//! `-docker-config`, `-docker-cfg`). Tekton's controller gives every step of a
//! `TaskRun` one such flag per annotated secret of its service account, mounts
//! each secret at `/tekton/creds-secrets/<name>`, and relies on its entrypoint
//! to turn them into the files git, ssh and docker read: first under
//! `/tekton/creds` (what `$(credentials.path)` names), then copied into the
//! step's `$HOME`. A drop-in for that entrypoint that ignored the flags would
//! leave every such Task without its credentials, so baton writes the same
//! files, byte for byte and with the same modes.
//!
//! The facts are tektoncd/pipeline's: `cmd/entrypoint/main.go` (the order:
//! the Docker builder, the Git builder, then the copy; every error logged,
//! none fatal) and `pkg/credentials/` (`gitcreds`, `dockercreds`, `writer`,
//! `matcher`, `common`). What of Go the bytes depend on (`net/url`'s `Parse`
//! and `String`, `encoding/json`, `strconv.Quote`, `path/filepath.Clean`)
//! is in `go`, below. docs/tekton.md has the layout; where baton departs
//! from Tekton is said there and in the functions that do.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::{ErrorKind, Write as _};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context, Result};
use base64::Engine as _;

use crate::settings::Tekton;

/// What Tekton's creds-init writes under `/tekton/creds`, and copies to
/// `$HOME`, in the order it copies them.
const HOME_CREDENTIALS: [&str; 4] = [".docker", ".gitconfig", ".git-credentials", ".ssh"];

/// Every credential file Tekton writes, and copies.
const FILE_MODE: u32 = 0o600;
/// `.ssh` and `.docker` under `/tekton/creds` (`os.ModePerm`, less the umask).
const DIR_MODE: u32 = 0o777;
/// The directories of the copy in `$HOME`.
const HOME_DIR_MODE: u32 = 0o700;

/// Writes the credentials that the creds-init flags name into `ROOT/creds`
/// (`ROOT` is `crate::tekton::root()`), from the secrets in
/// `ROOT/creds-secrets`, then copies them into `$HOME`, as Tekton's
/// entrypoint does. With no flag it does nothing and touches no file.
///
/// Like Tekton, it goes on past every failure (the Git credentials are
/// written when the Docker ones could not be, the copy is made whatever
/// failed before it) and the error names them all, for the caller to log.
/// Where Tekton would not start at all, baton goes on too: a `SECRET=URL`
/// whose secret cannot be read, that is not of that form, or whose URL is
/// taken or does not parse, is left out (Tekton's flag parsing fails and its
/// entrypoint exits 2 before anything runs) and the rest are written.
pub fn install(tekton: &Tekton) -> Result<()> {
    if !tekton.creds_requested() {
        return Ok(());
    }
    let root = crate::tekton::root();
    let secrets = Secrets(root.join("creds-secrets"));
    let creds = root.join("creds");
    let mut problems = Vec::new();

    let docker = Docker::read(tekton, &secrets, &mut problems);
    let basic = BasicGit::read(&tekton.basic_git, &secrets, &mut problems);
    let ssh = SshGit::read(&tekton.ssh_git, &secrets, &mut problems);

    if let Err(err) = docker.write(&creds) {
        problems.push(err.context("writing the Docker credentials"));
    }
    let git = basic.write(&creds).and_then(|()| ssh.write(&creds));
    if let Err(err) = git {
        problems.push(err.context("writing the Git credentials"));
    }
    copy_to_home(&creds, &mut problems);

    if problems.is_empty() {
        tracing::info!(dir = %creds.display(), "credentials written");
        return Ok(());
    }
    let all: Vec<String> = problems.iter().map(|e| format!("{e:#}")).collect();
    Err(anyhow!("credentials (creds-init): {}", all.join("; ")))
}

/// `ROOT/creds-secrets`: secret NAME's key KEY is the file `NAME/KEY`.
struct Secrets(PathBuf);

impl Secrets {
    fn path(&self, secret: &str, key: &str) -> PathBuf {
        join(&self.0, &[secret.as_bytes(), key.as_bytes()])
    }

    fn read(&self, secret: &str, key: &str) -> Result<Vec<u8>> {
        let path = self.path(secret, key);
        fs::read(&path).with_context(|| format!("reading {}", path.display()))
    }
}

/// A `SECRET=URL` value, split as Tekton splits it: exactly one `=`.
fn secret_and_url(value: &str) -> Result<(&str, &str)> {
    match value.split_once('=') {
        Some((secret, url)) if !url.contains('=') => Ok((secret, url)),
        _ => Err(anyhow!(
            "expect entries of the form secret=url, got: {value}"
        )),
    }
}

/// `-basic-git`: `.gitconfig` and `.git-credentials`.
struct BasicGit(Vec<BasicEntry>);

struct BasicEntry {
    /// The URL as given.
    url: String,
    username: Vec<u8>,
    /// The URL with `username:password@` (Go's `URL.String`).
    auth_url: Vec<u8>,
    /// Whether the URL has a path other than `/`: git then matches it by path.
    has_path: bool,
}

impl BasicGit {
    fn read(values: &[String], secrets: &Secrets, problems: &mut Vec<anyhow::Error>) -> Self {
        let mut entries: Vec<BasicEntry> = Vec::new();
        for value in values {
            let entry = secret_and_url(value).and_then(|(secret, url)| {
                if entries.iter().any(|e| e.url == url) {
                    return Err(anyhow!("multiple entries for url: {url}"));
                }
                BasicEntry::read(secret, url, secrets)
            });
            match entry {
                Ok(entry) => entries.push(entry),
                Err(err) => problems.push(err.context(format!("-basic-git={value}: left out"))),
            }
        }
        Self(entries)
    }

    /// Writes `DIR/.gitconfig` (the store helper, then a section per URL in
    /// the order given) and `DIR/.git-credentials` (host-wide URLs first, as
    /// fallbacks, then those with a path). Nothing without entries.
    fn write(&self, dir: &Path) -> Result<()> {
        if self.0.is_empty() {
            return Ok(());
        }
        let mut config = b"[credential]\n\thelper = store\n".to_vec();
        for entry in &self.0 {
            config.extend_from_slice(b"[credential ");
            config.extend_from_slice(go::quote(&entry.url).as_bytes());
            config.extend_from_slice(b"]\n\tusername = ");
            for &b in &entry.username {
                if b == b'\\' {
                    config.push(b'\\');
                }
                config.push(b);
            }
            config.push(b'\n');
            if entry.has_path {
                config.extend_from_slice(b"\tuseHttpPath = true\n");
            }
        }
        write_file(&join(dir, &[b".gitconfig"]), &config)?;

        let mut credentials = Vec::new();
        let host_wide = self.0.iter().filter(|e| !e.has_path);
        for entry in host_wide.chain(self.0.iter().filter(|e| e.has_path)) {
            credentials.extend_from_slice(&entry.auth_url);
            credentials.push(b'\n');
        }
        write_file(&join(dir, &[b".git-credentials"]), &credentials)
    }
}

impl BasicEntry {
    fn read(secret: &str, url: &str, secrets: &Secrets) -> Result<Self> {
        let username = secrets.read(secret, "username")?;
        let password = secrets.read(secret, "password")?;
        let mut parsed = go::url::parse(url.as_bytes()).map_err(|why| anyhow!("{why}"))?;
        let has_path = !parsed.path.is_empty() && parsed.path != b"/";
        parsed.user = Some((username.clone(), Some(password)));
        Ok(Self {
            url: url.to_owned(),
            username,
            auth_url: parsed.to_bytes(),
            has_path,
        })
    }
}

/// `-ssh-git`: `.ssh/id_SECRET`, `.ssh/config`, `.ssh/known_hosts`, and
/// `insteadOf` sections in `.gitconfig` for URLs with a repository path.
struct SshGit(Vec<(String, Vec<SshEntry>)>);

struct SshEntry {
    secret: String,
    private_key: Vec<u8>,
    /// Empty when the secret has no `known_hosts` (or it cannot be read).
    known_hosts: Vec<u8>,
}

impl SshGit {
    fn read(values: &[String], secrets: &Secrets, problems: &mut Vec<anyhow::Error>) -> Self {
        let mut urls: Vec<(String, Vec<SshEntry>)> = Vec::new();
        for value in values {
            let read = secret_and_url(value).and_then(|(secret, url)| {
                let private_key = secrets.read(secret, "ssh-privatekey")?;
                let known_hosts = fs::read(secrets.path(secret, "known_hosts")).unwrap_or_default();
                let entry = SshEntry {
                    secret: secret.to_owned(),
                    private_key,
                    known_hosts,
                };
                Ok((url, entry))
            });
            match read {
                // Several secrets for one URL: one Host, an IdentityFile each.
                Ok((url, entry)) => match urls.iter_mut().find(|(u, _)| u == url) {
                    Some((_, entries)) => entries.push(entry),
                    None => urls.push((url.to_owned(), vec![entry])),
                },
                Err(err) => problems.push(err.context(format!("-ssh-git={value}: left out"))),
            }
        }
        Self(urls)
    }

    /// Writes `DIR/.ssh` (the keys, `config`, `known_hosts` when any secret
    /// has one) and appends the `insteadOf` sections to `DIR/.gitconfig`.
    /// Host-wide URLs come first (fallbacks), then those with a path, each
    /// under a `Host` alias of its own. Nothing without entries.
    fn write(&self, dir: &Path) -> Result<()> {
        if self.0.is_empty() {
            return Ok(());
        }
        let ssh_dir = join(dir, &[b".ssh"]);
        make_dirs(&ssh_dir, DIR_MODE)?;
        let (host_wide, with_path): (Vec<_>, Vec<_>) = self
            .0
            .iter()
            .partition(|(url, _)| go::parse_ssh_url(url).2.is_empty());
        let mut config = Vec::new();
        let mut known_hosts: Vec<&[u8]> = Vec::new();
        let mut instead_of = String::new();
        for (url, entries) in host_wide.into_iter().chain(with_path) {
            let (host, port, repo) = go::parse_ssh_url(url);
            let alias = if repo.is_empty() {
                host.to_owned()
            } else {
                let alias = format!("{host}--{}", repo[1..].replace('/', "--"));
                instead_of.push_str(&instead_of_sections(&alias, host, port, &repo[1..]));
                alias
            };
            config.extend_from_slice(
                format!("Host {alias}\n    HostName {host}\n    Port {port}\n").as_bytes(),
            );
            for entry in entries {
                let key = join(&ssh_dir, &[format!("id_{}", entry.secret).as_bytes()]);
                write_file(&key, &entry.private_key)?;
                config.extend_from_slice(b"    IdentityFile ");
                config.extend_from_slice(key.as_os_str().as_bytes());
                config.push(b'\n');
                if !entry.known_hosts.is_empty() {
                    known_hosts.push(&entry.known_hosts);
                }
            }
        }
        write_file(&join(&ssh_dir, &[b"config"]), &config)?;
        if !known_hosts.is_empty() {
            write_file(
                &join(&ssh_dir, &[b"known_hosts"]),
                &known_hosts.join(&b'\n'),
            )?;
        }
        if !instead_of.is_empty() {
            append_file(&join(dir, &[b".gitconfig"]), instead_of.as_bytes())?;
        }
        Ok(())
    }
}

/// The `.gitconfig` sections that send a repository's SSH URLs (scp-like
/// and `ssh://`) through its `Host` alias; `.git` ends each, so that
/// `org/repo` does not also catch `org/repo-other`.
fn instead_of_sections(alias: &str, host: &str, port: &str, path: &str) -> String {
    let ssh_host = if port == "22" {
        host.to_owned()
    } else {
        format!("{host}:{port}")
    };
    format!(
        "[url \"git@{alias}:{path}.git\"]\n\tinsteadOf = git@{host}:{path}.git\n\
         [url \"ssh://{alias}/{path}.git\"]\n\tinsteadOf = ssh://{ssh_host}/{path}.git\n"
    )
}

/// `-basic-docker`, `-docker-config`, `-docker-cfg`: `.docker/config.json`.
struct Docker<'a> {
    /// `-basic-docker`: registry URL → entry.
    basic: BTreeMap<String, go::json::Entry>,
    /// `-docker-config`: `kubernetes.io/dockerconfigjson` secrets.
    config: &'a [String],
    /// `-docker-cfg`: `kubernetes.io/dockercfg` secrets.
    cfg: &'a [String],
    secrets: &'a Secrets,
}

impl<'a> Docker<'a> {
    fn read(tekton: &'a Tekton, secrets: &'a Secrets, problems: &mut Vec<anyhow::Error>) -> Self {
        let mut basic = BTreeMap::new();
        for value in &tekton.basic_docker {
            let entry = secret_and_url(value).and_then(|(secret, url)| {
                if basic.contains_key(url) {
                    return Err(anyhow!("multiple entries for url: {url}"));
                }
                let username = secrets.read(secret, "username")?;
                let password = secrets.read(secret, "password")?;
                let auth = base64::engine::general_purpose::STANDARD
                    .encode([username.as_slice(), b":", &password].concat());
                let entry = go::json::Entry {
                    username,
                    password,
                    auth: auth.into_bytes(),
                    email: b"not@val.id".to_vec(),
                };
                Ok((url.to_owned(), entry))
            });
            match entry {
                Ok((url, entry)) => {
                    basic.insert(url, entry);
                }
                Err(err) => problems.push(err.context(format!("-basic-docker={value}: left out"))),
            }
        }
        Self {
            basic,
            config: &tekton.docker_config,
            cfg: &tekton.docker_cfg,
            secrets,
        }
    }

    /// Writes `DIR/.docker/config.json`: the registries of the dockercfg
    /// secrets, then of the dockerconfigjson ones, then the basic-auth
    /// entries, each later one replacing an earlier one for the same
    /// registry. As Tekton's, a secret that cannot be read or parsed fails it
    /// all: nothing is written. Nothing when no registry is left.
    fn write(&self, dir: &Path) -> Result<()> {
        let mut auths = BTreeMap::new();
        for secret in self.cfg {
            let path = self.secrets.path(secret, ".dockercfg");
            let text = fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
            let parsed = go::json::dockercfg(&text);
            auths.extend(parsed.with_context(|| format!("parsing {}", path.display()))?);
        }
        for secret in self.config {
            let path = self.secrets.path(secret, ".dockerconfigjson");
            let text = fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
            let parsed = go::json::dockerconfigjson(&text);
            auths.extend(parsed.with_context(|| format!("parsing {}", path.display()))?);
        }
        auths.extend(self.basic.iter().map(|(k, v)| (k.clone(), v.clone())));
        if auths.is_empty() {
            return Ok(());
        }
        let docker_dir = join(dir, &[b".docker"]);
        make_dirs(&docker_dir, DIR_MODE)?;
        write_file(
            &join(&docker_dir, &[b"config.json"]),
            &go::json::config_file(&auths),
        )
    }
}

/// Copies what is in `creds` (`.docker`, `.gitconfig`, `.git-credentials`,
/// `.ssh`) into `$HOME`, as Tekton does for every step: directories made
/// 0700, files 0600 when new (an existing file is truncated and keeps its
/// mode). No `creds` directory, nothing to do; a missing entry is skipped.
fn copy_to_home(creds: &Path, problems: &mut Vec<anyhow::Error>) {
    if !fs::metadata(creds).is_ok_and(|m| m.is_dir()) {
        return;
    }
    // Go's os.UserHomeDir: $HOME, which must not be empty.
    let Some(home) = std::env::var_os("HOME").filter(|h| !h.is_empty()) else {
        problems.push(anyhow!(
            "copying the credentials to $HOME: $HOME is not defined"
        ));
        return;
    };
    let home = PathBuf::from(home);
    for name in HOME_CREDENTIALS {
        let (from, to) = (
            join(creds, &[name.as_bytes()]),
            join(&home, &[name.as_bytes()]),
        );
        if let Err(err) = copy_tree(&from, &to) {
            problems.push(err.context(format!(
                "copying {name} from {} to {}",
                creds.display(),
                home.display()
            )));
        }
    }
}

/// Copies the file or directory tree `from` to `to`, following links as
/// Tekton does (a link is copied as the file it names); a `from` that does
/// not exist, or a dangling link, is no error. The first failure stops it.
fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    let meta = match fs::symlink_metadata(from) {
        Err(err) if err.kind() == ErrorKind::NotFound => return Ok(()),
        other => other.with_context(|| format!("reading {}", from.display()))?,
    };
    let mut source = match File::open(from) {
        Err(err) if err.kind() == ErrorKind::NotFound => return Ok(()),
        other => other.with_context(|| format!("opening {}", from.display()))?,
    };
    if meta.is_dir() {
        make_dirs(to, HOME_DIR_MODE)?;
        let entries = fs::read_dir(from).with_context(|| format!("listing {}", from.display()))?;
        for entry in entries {
            let name = entry
                .with_context(|| format!("listing {}", from.display()))?
                .file_name();
            copy_tree(&from.join(&name), &to.join(&name))?;
        }
        return Ok(());
    }
    let mut target = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .mode(FILE_MODE)
        .open(to)
        .with_context(|| format!("opening {}", to.display()))?;
    std::io::copy(&mut source, &mut target)
        .with_context(|| format!("copying {} to {}", from.display(), to.display()))?;
    Ok(())
}

/// Go's `filepath.Join(dir, names...)`: cleaned, as the paths Tekton writes
/// (and prints, in `.ssh/config`) are.
fn join(dir: &Path, names: &[&[u8]]) -> PathBuf {
    let mut path = dir.as_os_str().as_bytes().to_vec();
    for name in names {
        path.push(b'/');
        path.extend_from_slice(name);
    }
    PathBuf::from(OsString::from_vec(go::clean(&path)))
}

/// Creates, or truncates, `path` with Tekton's mode for a new file.
fn write_file(path: &Path, contents: &[u8]) -> Result<()> {
    OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(FILE_MODE)
        .open(path)
        .and_then(|mut file| file.write_all(contents))
        .with_context(|| format!("writing {}", path.display()))
}

fn append_file(path: &Path, contents: &[u8]) -> Result<()> {
    OpenOptions::new()
        .append(true)
        .create(true)
        .mode(FILE_MODE)
        .open(path)
        .and_then(|mut file| file.write_all(contents))
        .with_context(|| format!("appending to {}", path.display()))
}

fn make_dirs(path: &Path, mode: u32) -> Result<()> {
    DirBuilder::new()
        .recursive(true)
        .mode(mode)
        .create(path)
        .with_context(|| format!("creating directory {}", path.display()))
}

/// What of Go's standard library the files depend on, as Go 1.26 (the
/// version of Tekton's `go.mod`) behaves.
mod go {
    /// `path/filepath.Clean` on Unix: no empty or `.` elements, `..`
    /// resolved lexically, no trailing slash; `.` for nothing.
    pub fn clean(path: &[u8]) -> Vec<u8> {
        let rooted = path.first() == Some(&b'/');
        let mut parts: Vec<&[u8]> = Vec::new();
        for part in path.split(|&b| b == b'/') {
            match part {
                b"" | b"." => {}
                b".." => {
                    if parts.last().is_some_and(|last| *last != b"..") {
                        parts.pop();
                    } else if !rooted {
                        parts.push(part);
                    }
                }
                _ => parts.push(part),
            }
        }
        let joined = parts.join(&b'/');
        match (rooted, joined.is_empty()) {
            (true, _) => [b"/".as_slice(), &joined].concat(),
            (false, true) => b".".to_vec(),
            (false, false) => joined,
        }
    }

    /// Tekton's split of an `-ssh-git` URL: the path from the first `/`,
    /// then `net.SplitHostPort` of the rest, else the rest and port 22.
    pub fn parse_ssh_url(raw: &str) -> (&str, &str, &str) {
        let (hostport, path) = raw.find('/').map_or((raw, ""), |i| raw.split_at(i));
        match split_host_port(hostport) {
            Some((host, port)) => (host, port, path),
            None => (hostport, "22", path),
        }
    }

    /// `net.SplitHostPort`: `host:port` or `[host]:port`; `None` where Go
    /// gives an error.
    fn split_host_port(hostport: &str) -> Option<(&str, &str)> {
        let colon = hostport.rfind(':')?;
        let (host, after_host) = if hostport.starts_with('[') {
            let end = hostport.find(']')?;
            if end + 1 != colon {
                return None;
            }
            (&hostport[1..end], end + 1)
        } else {
            let host = &hostport[..colon];
            if host.contains(':') {
                return None;
            }
            (host, 0)
        };
        let opening = usize::from(after_host != 0);
        if hostport[opening..].contains('[') || hostport[after_host..].contains(']') {
            return None;
        }
        Some((host, &hostport[colon + 1..]))
    }

    /// `strconv.Quote` (what `%q` writes): `"`, `\` and what is not
    /// printable escaped. Printable is Go's `unicode.IsPrint` (letters,
    /// marks, numbers, punctuation, symbols, the ASCII space) as far as the
    /// standard library can tell it: controls, spaces other than U+0020,
    /// format characters, private use and noncharacters are escaped;
    /// unassigned code points (Go escapes them too) are not.
    pub fn quote(s: &str) -> String {
        use std::fmt::Write as _;
        let mut out = String::with_capacity(s.len() + 2);
        out.push('"');
        for c in s.chars() {
            match c {
                '"' | '\\' => {
                    out.push('\\');
                    out.push(c);
                }
                c if is_print(c) => out.push(c),
                '\x07' => out.push_str("\\a"),
                '\x08' => out.push_str("\\b"),
                '\x0c' => out.push_str("\\f"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                '\x0b' => out.push_str("\\v"),
                c if c < ' ' || c == '\x7f' => {
                    let _ = write!(out, "\\x{:02x}", u32::from(c));
                }
                c if u32::from(c) < 0x1_0000 => {
                    let _ = write!(out, "\\u{:04x}", u32::from(c));
                }
                c => {
                    let _ = write!(out, "\\U{:08x}", u32::from(c));
                }
            }
        }
        out.push('"');
        out
    }

    fn is_print(c: char) -> bool {
        if c.is_ascii() {
            return (' '..='~').contains(&c);
        }
        let n = u32::from(c);
        let format = matches!(
            n,
            0xAD | 0x600..=0x605
                | 0x61C
                | 0x6DD
                | 0x70F
                | 0x890..=0x891
                | 0x8E2
                | 0x180E
                | 0x200B..=0x200F
                | 0x202A..=0x202E
                | 0x2060..=0x2064
                | 0x2066..=0x206F
                | 0xFEFF
                | 0xFFF9..=0xFFFB
                | 0x110BD
                | 0x110CD
                | 0x13430..=0x1343F
                | 0x1BCA0..=0x1BCA3
                | 0x1D173..=0x1D17A
                | 0xE0001
                | 0xE0020..=0xE007F
        );
        let private_use = matches!(n, 0xE000..=0xF8FF | 0xF_0000..=0x10_FFFF);
        let noncharacter = matches!(n, 0xFDD0..=0xFDEF) || n & 0xFFFE == 0xFFFE;
        !(c.is_control() || c.is_whitespace() || format || private_use || noncharacter)
    }

    /// The first character of `s` when it starts with valid UTF-8 (as Go's
    /// `utf8.DecodeRune` takes it: no surrogates, nothing overlong).
    fn decode_rune(s: &[u8]) -> Option<char> {
        let head = &s[..s.len().min(4)];
        let valid = match std::str::from_utf8(head) {
            Ok(text) => text,
            Err(err) => std::str::from_utf8(&head[..err.valid_up_to()]).ok()?,
        };
        valid.chars().next()
    }

    /// `net/url`: `Parse` and `URL.String`, for the `-basic-git` URLs.
    pub mod url {
        use std::net::{Ipv4Addr, Ipv6Addr};

        /// `url.URL`, its fields as bytes.
        #[derive(Debug, Default, PartialEq, Eq)]
        pub struct Url {
            pub scheme: Vec<u8>,
            pub opaque: Vec<u8>,
            /// The user name, and the password if one is set.
            pub user: Option<(Vec<u8>, Option<Vec<u8>>)>,
            pub host: Vec<u8>,
            pub path: Vec<u8>,
            pub raw_path: Vec<u8>,
            pub omit_host: bool,
            pub force_query: bool,
            pub raw_query: Vec<u8>,
            pub fragment: Vec<u8>,
            pub raw_fragment: Vec<u8>,
        }

        #[derive(Clone, Copy, PartialEq, Eq)]
        enum Mode {
            Path,
            Host,
            Zone,
            UserPassword,
            Fragment,
        }

        /// `shouldEscape`.
        fn should_escape(c: u8, mode: Mode) -> bool {
            if c.is_ascii_alphanumeric() {
                return false;
            }
            if matches!(mode, Mode::Host | Mode::Zone) && b"!$&'()*+,;=:[]<>\"".contains(&c) {
                return false;
            }
            match c {
                b'-' | b'_' | b'.' | b'~' => return false,
                b'$' | b'&' | b'+' | b',' | b'/' | b':' | b';' | b'=' | b'?' | b'@' => match mode {
                    Mode::Path => return c == b'?',
                    Mode::UserPassword => return matches!(c, b'@' | b'/' | b'?' | b':'),
                    Mode::Fragment => return false,
                    Mode::Host | Mode::Zone => {}
                },
                _ => {}
            }
            !(mode == Mode::Fragment && matches!(c, b'!' | b'(' | b')' | b'*'))
        }

        fn unhex(c: u8) -> u8 {
            match c {
                b'0'..=b'9' => c - b'0',
                b'a'..=b'f' => c - b'a' + 10,
                b'A'..=b'F' => c - b'A' + 10,
                _ => 0,
            }
        }

        /// `unescape` (without the query's `+`, which no mode here has).
        fn unescape(s: &[u8], mode: Mode) -> Result<Vec<u8>, String> {
            let mut out = Vec::with_capacity(s.len());
            let mut i = 0;
            while i < s.len() {
                let c = s[i];
                if c == b'%' {
                    if i + 2 >= s.len()
                        || !s[i + 1].is_ascii_hexdigit()
                        || !s[i + 2].is_ascii_hexdigit()
                    {
                        let bad = &s[i..s.len().min(i + 3)];
                        return Err(format!(
                            "invalid URL escape {:?}",
                            String::from_utf8_lossy(bad)
                        ));
                    }
                    let three = &s[i..i + 3];
                    let v = (unhex(s[i + 1]) << 4) | unhex(s[i + 2]);
                    let bad_host = mode == Mode::Host && unhex(s[i + 1]) < 8 && three != b"%25";
                    let bad_zone = mode == Mode::Zone
                        && three != b"%25"
                        && v != b' '
                        && should_escape(v, Mode::Host);
                    if bad_host || bad_zone {
                        return Err(format!(
                            "invalid URL escape {:?}",
                            String::from_utf8_lossy(three)
                        ));
                    }
                    out.push(v);
                    i += 3;
                } else {
                    if matches!(mode, Mode::Host | Mode::Zone) && c < 0x80 && should_escape(c, mode)
                    {
                        return Err(format!(
                            "invalid character {:?} in host name",
                            char::from(c)
                        ));
                    }
                    out.push(c);
                    i += 1;
                }
            }
            Ok(out)
        }

        /// `escape`.
        fn escape(s: &[u8], mode: Mode) -> Vec<u8> {
            const HEX: &[u8; 16] = b"0123456789ABCDEF";
            let mut out = Vec::with_capacity(s.len());
            for &c in s {
                if should_escape(c, mode) {
                    out.extend_from_slice(&[
                        b'%',
                        HEX[usize::from(c >> 4)],
                        HEX[usize::from(c & 15)],
                    ]);
                } else {
                    out.push(c);
                }
            }
            out
        }

        /// `Parse`.
        pub fn parse(raw: &[u8]) -> Result<Url, String> {
            let (before, fragment) = match raw.iter().position(|&b| b == b'#') {
                Some(i) => (&raw[..i], &raw[i + 1..]),
                None => (raw, &b""[..]),
            };
            let mut url = parse_before_fragment(before)
                .map_err(|why| format!("parse {:?}: {why}", String::from_utf8_lossy(before)))?;
            if !fragment.is_empty() {
                let unescaped = unescape(fragment, Mode::Fragment)
                    .map_err(|why| format!("parse {:?}: {why}", String::from_utf8_lossy(raw)))?;
                if escape(&unescaped, Mode::Fragment) != fragment {
                    url.raw_fragment = fragment.to_vec();
                }
                url.fragment = unescaped;
            }
            Ok(url)
        }

        /// `getScheme`: the scheme and the rest, or no scheme.
        fn scheme(raw: &[u8]) -> Result<(&[u8], &[u8]), String> {
            for (i, &c) in raw.iter().enumerate() {
                match c {
                    b'a'..=b'z' | b'A'..=b'Z' => {}
                    b'0'..=b'9' | b'+' | b'-' | b'.' if i > 0 => {}
                    b':' if i == 0 => return Err("missing protocol scheme".into()),
                    b':' => return Ok((&raw[..i], &raw[i + 1..])),
                    _ => break,
                }
            }
            Ok((b"", raw))
        }

        fn parse_before_fragment(raw: &[u8]) -> Result<Url, String> {
            if raw.iter().any(|&b| b < b' ' || b == 0x7f) {
                return Err("net/url: invalid control character in URL".into());
            }
            let mut url = Url::default();
            if raw == b"*" {
                url.path = b"*".to_vec();
                return Ok(url);
            }
            let (scheme, mut rest) = scheme(raw)?;
            url.scheme = scheme.to_ascii_lowercase();
            let first_query = rest.iter().position(|&b| b == b'?');
            if first_query.is_some() && first_query == rest.len().checked_sub(1) {
                url.force_query = true;
                rest = &rest[..rest.len() - 1];
            } else if let Some(i) = rest.iter().position(|&b| b == b'?') {
                url.raw_query = rest[i + 1..].to_vec();
                rest = &rest[..i];
            }
            if !rest.starts_with(b"/") {
                if !url.scheme.is_empty() {
                    url.opaque = rest.to_vec();
                    return Ok(url);
                }
                let segment = rest.split(|&b| b == b'/').next().unwrap_or_default();
                if segment.contains(&b':') {
                    return Err("first path segment in URL cannot contain colon".into());
                }
            }
            if (!url.scheme.is_empty() || !rest.starts_with(b"///")) && rest.starts_with(b"//") {
                let authority = &rest[2..];
                let (authority, path) = match authority.iter().position(|&b| b == b'/') {
                    Some(i) => authority.split_at(i),
                    None => (authority, &b""[..]),
                };
                parse_authority(&mut url, authority)?;
                rest = path;
            } else if !url.scheme.is_empty() && rest.starts_with(b"/") {
                url.omit_host = true;
            }
            let path = unescape(rest, Mode::Path)?;
            if escape(&path, Mode::Path) != rest {
                url.raw_path = rest.to_vec();
            }
            url.path = path;
            Ok(url)
        }

        fn parse_authority(url: &mut Url, authority: &[u8]) -> Result<(), String> {
            let at = authority.iter().rposition(|&b| b == b'@');
            let host = at.map_or(authority, |i| &authority[i + 1..]);
            url.host = parse_host(&url.scheme, host)?;
            let Some(at) = at else { return Ok(()) };
            let userinfo = &authority[..at];
            let valid = userinfo
                .iter()
                .all(|&c| c.is_ascii_alphanumeric() || b"-._:~!$&'()*+,;=%@".contains(&c));
            if !valid {
                return Err("net/url: invalid userinfo".into());
            }
            url.user = Some(match userinfo.iter().position(|&b| b == b':') {
                None => (unescape(userinfo, Mode::UserPassword)?, None),
                Some(i) => (
                    unescape(&userinfo[..i], Mode::UserPassword)?,
                    Some(unescape(&userinfo[i + 1..], Mode::UserPassword)?),
                ),
            });
            Ok(())
        }

        fn valid_optional_port(port: &[u8]) -> bool {
            match port.split_first() {
                None => true,
                Some((&b':', digits)) => digits.iter().all(u8::is_ascii_digit),
                Some(_) => false,
            }
        }

        /// `parseHost`, Go 1.26's: an IP literal only at the start, in
        /// brackets, and an IPv6 address; the first colon of an http(s) host
        /// starts its port (`urlstrictcolons=1`), the last one of another's.
        fn parse_host(scheme: &[u8], host: &[u8]) -> Result<Vec<u8>, String> {
            let invalid_port =
                |p: &[u8]| format!("invalid port {:?} after host", String::from_utf8_lossy(p));
            match host.iter().rposition(|&b| b == b'[') {
                Some(0) => {
                    let close = host
                        .iter()
                        .rposition(|&b| b == b']')
                        .ok_or("missing ']' in host")?;
                    let port = &host[close + 1..];
                    if !valid_optional_port(port) {
                        return Err(invalid_port(port));
                    }
                    let inside = &host[1..close];
                    let zone = inside.windows(3).position(|w| w == b"%25");
                    let mut address =
                        unescape(&inside[..zone.unwrap_or(inside.len())], Mode::Host)?;
                    if let Some(zone) = zone {
                        address.extend(unescape(&inside[zone..], Mode::Zone)?);
                    }
                    check_ip_literal(&address)?;
                    Ok([b"[".as_slice(), &address, b"]", port].concat())
                }
                Some(_) => Err("invalid IP-literal".into()),
                None => {
                    if let Some(first) = host.iter().position(|&b| b == b':') {
                        let strict = scheme == b"http" || scheme == b"https";
                        let last = host.iter().rposition(|&b| b == b':').unwrap_or(first);
                        let port = &host[if strict { first } else { last }..];
                        if !valid_optional_port(port) {
                            return Err(invalid_port(port));
                        }
                    }
                    unescape(host, Mode::Host)
                }
            }
        }

        /// What `netip.ParseAddr` accepts in brackets: IPv6, with a zone
        /// (`%` and at least one character) or without.
        fn check_ip_literal(address: &[u8]) -> Result<(), String> {
            let text = String::from_utf8_lossy(address);
            let invalid = || format!("invalid host: ParseAddr({text:?})");
            match address.iter().find(|&&b| matches!(b, b'.' | b':' | b'%')) {
                Some(b'.') if text.parse::<Ipv4Addr>().is_ok() => Err("invalid IP-literal".into()),
                Some(b':') => {
                    let (ip, zone) = text.split_once('%').unwrap_or((&text, "-"));
                    if zone.is_empty() || ip.parse::<Ipv6Addr>().is_err() {
                        return Err(invalid());
                    }
                    Ok(())
                }
                _ => Err(invalid()),
            }
        }

        impl Url {
            /// `EscapedPath`.
            fn escaped_path(&self) -> Vec<u8> {
                if !self.raw_path.is_empty()
                    && valid_encoded(&self.raw_path, Mode::Path)
                    && unescape(&self.raw_path, Mode::Path).is_ok_and(|p| p == self.path)
                {
                    return self.raw_path.clone();
                }
                if self.path == b"*" {
                    return self.path.clone();
                }
                escape(&self.path, Mode::Path)
            }

            /// `EscapedFragment`.
            fn escaped_fragment(&self) -> Vec<u8> {
                if !self.raw_fragment.is_empty()
                    && valid_encoded(&self.raw_fragment, Mode::Fragment)
                    && unescape(&self.raw_fragment, Mode::Fragment)
                        .is_ok_and(|f| f == self.fragment)
                {
                    return self.raw_fragment.clone();
                }
                escape(&self.fragment, Mode::Fragment)
            }

            /// `String`.
            pub fn to_bytes(&self) -> Vec<u8> {
                let mut out = Vec::new();
                if !self.scheme.is_empty() {
                    out.extend_from_slice(&self.scheme);
                    out.push(b':');
                }
                if self.opaque.is_empty() {
                    let authority =
                        !self.scheme.is_empty() || !self.host.is_empty() || self.user.is_some();
                    let omitted = self.omit_host && self.host.is_empty() && self.user.is_none();
                    if authority && !omitted {
                        if !self.host.is_empty() || !self.path.is_empty() || self.user.is_some() {
                            out.extend_from_slice(b"//");
                        }
                        if let Some((name, password)) = &self.user {
                            out.extend(escape(name, Mode::UserPassword));
                            if let Some(password) = password {
                                out.push(b':');
                                out.extend(escape(password, Mode::UserPassword));
                            }
                            out.push(b'@');
                        }
                        out.extend(escape(&self.host, Mode::Host));
                    }
                    let path = self.escaped_path();
                    if path.first().is_some_and(|&b| b != b'/') && !self.host.is_empty() {
                        out.push(b'/');
                    }
                    if out.is_empty() {
                        let segment = path.split(|&b| b == b'/').next().unwrap_or_default();
                        if segment.contains(&b':') {
                            out.extend_from_slice(b"./");
                        }
                    }
                    out.extend(path);
                } else {
                    out.extend_from_slice(&self.opaque);
                }
                if self.force_query || !self.raw_query.is_empty() {
                    out.push(b'?');
                    out.extend_from_slice(&self.raw_query);
                }
                if !self.fragment.is_empty() {
                    out.push(b'#');
                    out.extend(self.escaped_fragment());
                }
                out
            }
        }

        /// `validEncoded`.
        fn valid_encoded(s: &[u8], mode: Mode) -> bool {
            s.iter()
                .all(|&c| b"!$&'()*+,;=:@[]%".contains(&c) || !should_escape(c, mode))
        }
    }

    /// `encoding/json` (v1), as far as the Docker files need it: the reading
    /// of a dockercfg map or a config.json's `auths` into Tekton's entry
    /// type, and the writing of its `configFile`.
    pub mod json {
        use std::collections::BTreeMap;

        /// Tekton's Docker `entry`: `username`, `password` and `email` left
        /// out when empty, `auth` always written.
        #[derive(Debug, Clone, Default, PartialEq, Eq)]
        pub struct Entry {
            pub username: Vec<u8>,
            pub password: Vec<u8>,
            pub auth: Vec<u8>,
            pub email: Vec<u8>,
        }

        /// Go's limit on nesting.
        const MAX_DEPTH: usize = 10_000;

        /// A parsed JSON value, keeping each object's members in order,
        /// repeated names included (Go's decoder assigns each in turn).
        enum Value {
            Null,
            String(String),
            Object(Vec<(String, Value)>),
            /// A number, a boolean or an array: never a string field's value.
            Other(&'static str),
        }

        /// A `kubernetes.io/dockercfg` secret's `.dockercfg`: registry → entry.
        pub fn dockercfg(text: &[u8]) -> anyhow::Result<BTreeMap<String, Entry>> {
            auths(parse(text)?, "map[string]entry")
        }

        /// A `kubernetes.io/dockerconfigjson` secret's `.dockerconfigjson`:
        /// its `auths`. A repeated `auths` adds to the one before, `null`
        /// empties it; the other members are ignored.
        pub fn dockerconfigjson(text: &[u8]) -> anyhow::Result<BTreeMap<String, Entry>> {
            let members = match parse(text)? {
                Value::Null => return Ok(BTreeMap::new()),
                Value::Object(members) => members,
                other => return Err(type_error(&other, "configFile")),
            };
            let mut all = BTreeMap::new();
            for (name, value) in members {
                if !same_field(&name, "auths") {
                    continue;
                }
                match value {
                    Value::Null => all.clear(),
                    value => all.extend(auths(value, "configFile.auths")?),
                }
            }
            Ok(all)
        }

        fn auths(value: Value, what: &str) -> anyhow::Result<BTreeMap<String, Entry>> {
            let members = match value {
                Value::Null => return Ok(BTreeMap::new()),
                Value::Object(members) => members,
                other => return Err(type_error(&other, what)),
            };
            let mut map = BTreeMap::new();
            for (registry, value) in members {
                let entry = entry(value, &format!("{what}[{registry:?}]"))?;
                map.insert(registry, entry);
            }
            Ok(map)
        }

        fn entry(value: Value, what: &str) -> anyhow::Result<Entry> {
            let mut entry = Entry::default();
            let members = match value {
                Value::Null => return Ok(entry),
                Value::Object(members) => members,
                other => return Err(type_error(&other, what)),
            };
            for (name, value) in members {
                let field = match ["username", "password", "auth", "email"]
                    .into_iter()
                    .find(|field| same_field(&name, field))
                {
                    Some("username") => &mut entry.username,
                    Some("password") => &mut entry.password,
                    Some("auth") => &mut entry.auth,
                    Some(_) => &mut entry.email,
                    None => continue,
                };
                match value {
                    Value::Null => {}
                    Value::String(text) => *field = text.into_bytes(),
                    other => return Err(type_error(&other, &format!("{what}.{name}"))),
                }
            }
            Ok(entry)
        }

        fn type_error(value: &Value, what: &str) -> anyhow::Error {
            let kind = match value {
                Value::String(_) => "string",
                Value::Object(_) => "object",
                Value::Other(kind) => kind,
                Value::Null => "null",
            };
            anyhow::anyhow!("json: cannot unmarshal {kind} into {what}")
        }

        /// Whether member `name` is `field` as Go matches them: exactly, else
        /// under Unicode simple case folding, where the only letters outside
        /// ASCII that fold to an ASCII one are U+017F (s) and U+212A (k).
        fn same_field(name: &str, field: &str) -> bool {
            let fold = |c: char| match c {
                '\u{17F}' => 'S',
                '\u{212A}' => 'K',
                c => c.to_ascii_uppercase(),
            };
            name.chars().map(fold).eq(field.chars().map(fold))
        }

        fn parse(text: &[u8]) -> anyhow::Result<Value> {
            let mut parser = Parser {
                s: text,
                i: 0,
                depth: 0,
            };
            let value = parser.skip_space().value()?;
            if parser.skip_space().i < text.len() {
                return Err(parser.error("after top-level value"));
            }
            Ok(value)
        }

        struct Parser<'a> {
            s: &'a [u8],
            i: usize,
            depth: usize,
        }

        impl Parser<'_> {
            fn peek(&self) -> Option<u8> {
                self.s.get(self.i).copied()
            }

            fn skip_space(&mut self) -> &mut Self {
                while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
                    self.i += 1;
                }
                self
            }

            fn error(&self, context: &str) -> anyhow::Error {
                match self.peek() {
                    None => anyhow::anyhow!("unexpected end of JSON input"),
                    Some(c) => anyhow::anyhow!(
                        "invalid character {:?} {context} (offset {})",
                        char::from(c),
                        self.i
                    ),
                }
            }

            fn expect(&mut self, c: u8, context: &str) -> anyhow::Result<()> {
                if self.skip_space().peek() != Some(c) {
                    return Err(self.error(context));
                }
                self.i += 1;
                Ok(())
            }

            fn value(&mut self) -> anyhow::Result<Value> {
                match self.peek() {
                    Some(b'{') => self.object(),
                    Some(b'[') => self.array(),
                    Some(b'"') => self.string().map(Value::String),
                    Some(b't') => self.literal(b"true").map(|()| Value::Other("bool")),
                    Some(b'f') => self.literal(b"false").map(|()| Value::Other("bool")),
                    Some(b'n') => self.literal(b"null").map(|()| Value::Null),
                    Some(b'-' | b'0'..=b'9') => self.number().map(|()| Value::Other("number")),
                    _ => Err(self.error("looking for beginning of value")),
                }
            }

            fn nest(&mut self) -> anyhow::Result<()> {
                self.depth += 1;
                if self.depth > MAX_DEPTH {
                    return Err(anyhow::anyhow!("exceeded max depth"));
                }
                self.i += 1;
                Ok(())
            }

            fn object(&mut self) -> anyhow::Result<Value> {
                self.nest()?;
                let mut members = Vec::new();
                if self.skip_space().peek() == Some(b'}') {
                    self.i += 1;
                } else {
                    loop {
                        if self.skip_space().peek() != Some(b'"') {
                            return Err(self.error("looking for beginning of object key string"));
                        }
                        let name = self.string()?;
                        self.expect(b':', "after object key")?;
                        let value = self.skip_space().value()?;
                        members.push((name, value));
                        match self.skip_space().peek() {
                            Some(b',') => self.i += 1,
                            Some(b'}') => {
                                self.i += 1;
                                break;
                            }
                            _ => return Err(self.error("after object key:value pair")),
                        }
                    }
                }
                self.depth -= 1;
                Ok(Value::Object(members))
            }

            fn array(&mut self) -> anyhow::Result<Value> {
                self.nest()?;
                if self.skip_space().peek() == Some(b']') {
                    self.i += 1;
                } else {
                    loop {
                        self.skip_space().value()?;
                        match self.skip_space().peek() {
                            Some(b',') => self.i += 1,
                            Some(b']') => {
                                self.i += 1;
                                break;
                            }
                            _ => return Err(self.error("after array element")),
                        }
                    }
                }
                self.depth -= 1;
                Ok(Value::Other("array"))
            }

            fn literal(&mut self, word: &[u8]) -> anyhow::Result<()> {
                for &c in word {
                    if self.peek() != Some(c) {
                        return Err(self.error("in literal"));
                    }
                    self.i += 1;
                }
                Ok(())
            }

            fn digits(&mut self, context: &str) -> anyhow::Result<()> {
                if !self.peek().is_some_and(|c| c.is_ascii_digit()) {
                    return Err(self.error(context));
                }
                while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                    self.i += 1;
                }
                Ok(())
            }

            fn number(&mut self) -> anyhow::Result<()> {
                if self.peek() == Some(b'-') {
                    self.i += 1;
                }
                if self.peek() == Some(b'0') {
                    self.i += 1;
                } else {
                    self.digits("in numeric literal")?;
                }
                if self.peek() == Some(b'.') {
                    self.i += 1;
                    self.digits("after decimal point in numeric literal")?;
                }
                if matches!(self.peek(), Some(b'e' | b'E')) {
                    self.i += 1;
                    if matches!(self.peek(), Some(b'+' | b'-')) {
                        self.i += 1;
                    }
                    self.digits("in exponent of numeric literal")?;
                }
                Ok(())
            }

            /// Four hex digits after `\u`, at `self.i`.
            fn hex4(&self, at: usize) -> Option<u32> {
                let digits = std::str::from_utf8(self.s.get(at..at + 4)?).ok()?;
                if !digits.bytes().all(|c| c.is_ascii_hexdigit()) {
                    return None;
                }
                u32::from_str_radix(digits, 16).ok()
            }

            /// A string, unquoted as Go does: each byte of invalid UTF-8, and
            /// each `\u` escape of a surrogate that is not half of a pair,
            /// becomes U+FFFD.
            fn string(&mut self) -> anyhow::Result<String> {
                self.i += 1;
                let mut out = String::new();
                loop {
                    let Some(c) = self.peek() else {
                        return Err(self.error("in string literal"));
                    };
                    match c {
                        b'"' => {
                            self.i += 1;
                            return Ok(out);
                        }
                        b'\\' => {
                            self.i += 1;
                            let simple = match self.peek() {
                                Some(b'"') => Some('"'),
                                Some(b'\\') => Some('\\'),
                                Some(b'/') => Some('/'),
                                Some(b'b') => Some('\x08'),
                                Some(b'f') => Some('\x0c'),
                                Some(b'n') => Some('\n'),
                                Some(b'r') => Some('\r'),
                                Some(b't') => Some('\t'),
                                Some(b'u') => None,
                                _ => return Err(self.error("in string escape code")),
                            };
                            if let Some(simple) = simple {
                                out.push(simple);
                                self.i += 1;
                                continue;
                            }
                            let Some(first) = self.hex4(self.i + 1) else {
                                self.i += 1;
                                return Err(self.error("in \\u hexadecimal character escape"));
                            };
                            self.i += 5;
                            let mut rune = char::from_u32(first);
                            if (0xD800..0xDC00).contains(&first)
                                && self.s.get(self.i..self.i + 2) == Some(b"\\u")
                            {
                                if let Some(second) = self.hex4(self.i + 2) {
                                    if (0xDC00..0xE000).contains(&second) {
                                        let pair =
                                            0x1_0000 + ((first - 0xD800) << 10) + (second - 0xDC00);
                                        rune = char::from_u32(pair);
                                        self.i += 6;
                                    }
                                }
                            }
                            out.push(rune.unwrap_or('\u{FFFD}'));
                        }
                        c if c < 0x20 => return Err(self.error("in string literal")),
                        c if c < 0x80 => {
                            out.push(char::from(c));
                            self.i += 1;
                        }
                        _ => {
                            let rune = super::decode_rune(&self.s[self.i..]);
                            out.push(rune.unwrap_or('\u{FFFD}'));
                            self.i += rune.map_or(1, char::len_utf8);
                        }
                    }
                }
            }
        }

        /// `json.Marshal` of Tekton's `configFile`: `{"auths":{…}}`, the
        /// registries sorted, no space.
        pub fn config_file(auths: &BTreeMap<String, Entry>) -> Vec<u8> {
            let mut out = b"{\"auths\":{".to_vec();
            for (i, (registry, entry)) in auths.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                string(&mut out, registry.as_bytes());
                out.extend_from_slice(b":{");
                let fields = [
                    ("username", &entry.username, true),
                    ("password", &entry.password, true),
                    ("auth", &entry.auth, false),
                    ("email", &entry.email, true),
                ];
                let mut first = true;
                for (name, value, omit_empty) in fields {
                    if omit_empty && value.is_empty() {
                        continue;
                    }
                    if !first {
                        out.push(b',');
                    }
                    first = false;
                    string(&mut out, name.as_bytes());
                    out.push(b':');
                    string(&mut out, value);
                }
                out.push(b'}');
            }
            out.extend_from_slice(b"}}");
            out
        }

        /// A JSON string as Go writes one (HTML-safe): `<`, `>`, `&`,
        /// U+2028 and U+2029 escaped too, and each byte of invalid UTF-8
        /// written as `\ufffd`.
        fn string(out: &mut Vec<u8>, s: &[u8]) {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.push(b'"');
            let mut i = 0;
            while i < s.len() {
                let c = s[i];
                if c < 0x80 {
                    match c {
                        b'"' | b'\\' => out.extend_from_slice(&[b'\\', c]),
                        0x08 => out.extend_from_slice(b"\\b"),
                        0x0c => out.extend_from_slice(b"\\f"),
                        b'\n' => out.extend_from_slice(b"\\n"),
                        b'\r' => out.extend_from_slice(b"\\r"),
                        b'\t' => out.extend_from_slice(b"\\t"),
                        c if c < 0x20 || matches!(c, b'<' | b'>' | b'&') => {
                            out.extend_from_slice(&[
                                b'\\',
                                b'u',
                                b'0',
                                b'0',
                                HEX[usize::from(c >> 4)],
                                HEX[usize::from(c & 15)],
                            ]);
                        }
                        c => out.push(c),
                    }
                    i += 1;
                    continue;
                }
                match super::decode_rune(&s[i..]) {
                    None => {
                        out.extend_from_slice(b"\\ufffd");
                        i += 1;
                    }
                    Some(c @ ('\u{2028}' | '\u{2029}')) => {
                        out.extend_from_slice(format!("\\u{:04x}", u32::from(c)).as_bytes());
                        i += 3;
                    }
                    Some(c) => {
                        out.extend_from_slice(&s[i..i + c.len_utf8()]);
                        i += c.len_utf8();
                    }
                }
            }
            out.push(b'"');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::go;
    use super::go::json::Entry;

    fn auth_url(url: &str, user: &str, password: &str) -> String {
        let mut parsed = go::url::parse(url.as_bytes()).unwrap();
        parsed.user = Some((user.into(), Some(password.into())));
        String::from_utf8(parsed.to_bytes()).unwrap()
    }

    /// What Go's `url.Parse`, then `User = url.UserPassword(u, p)`, then
    /// `String()` give.
    #[test]
    fn urls_with_credentials_as_go_writes_them() {
        let cases = [
            ("https://github.com", "https://bar:baz@github.com"),
            (
                "https://github.com/org/repo",
                "https://bar:baz@github.com/org/repo",
            ),
            (
                "https://old:secret@github.com:8443/a%2Fb?q=1#frag",
                "https://bar:baz@github.com:8443/a%2Fb?q=1#frag",
            ),
            (
                "HTTPS://Example.COM/a b",
                "https://bar:baz@Example.COM/a%20b",
            ),
            ("github.com", "//bar:baz@github.com"),
            (
                "https://b\u{fc}cher.de/\u{e9}",
                "https://bar:baz@b%C3%BCcher.de/%C3%A9",
            ),
            (
                "https://[fe80::1%25eth0]:8080/x",
                "https://bar:baz@[fe80::1%25eth0]:8080/x",
            ),
            ("mailto:x@y", "mailto:x@y"),
            ("file:///etc", "file://bar:baz@/etc"),
            ("https://x.io?", "https://bar:baz@x.io?"),
            ("https://x.io/a?b?", "https://bar:baz@x.io/a?b?"),
            ("", "//bar:baz@"),
            ("*", "//bar:baz@*"),
        ];
        for (url, want) in cases {
            assert_eq!(auth_url(url, "bar", "baz"), want, "{url}");
        }
        assert_eq!(
            auth_url("https://github.com", "foo\\bar\\banana", "p@ss:w/rd?"),
            "https://foo%5Cbar%5Cbanana:p%40ss%3Aw%2Frd%3F@github.com"
        );
    }

    #[test]
    fn urls_go_refuses() {
        for url in [
            "https://a b.com",
            "https://github.com:80:80",
            "https://github.com:x",
            "https://[1.2.3.4]/",
            "https://x[::1]/",
            "https://[::1/",
            "https://github.com/%zz",
            "https://%41.com",
            ":github.com",
            "git_hub:443",
            "https://git\thub.com",
            "https://us er@github.com",
        ] {
            assert!(go::url::parse(url.as_bytes()).is_err(), "{url}");
        }
        // Lax colons, but for http(s).
        assert!(go::url::parse(b"mongodb://a:1,b:2/x").is_ok());
    }

    #[test]
    fn paths_of_urls() {
        let path = |u: &str| go::url::parse(u.as_bytes()).unwrap().path;
        assert_eq!(path("https://github.com"), b"");
        assert_eq!(path("https://github.com/"), b"/");
        assert_eq!(path("https://github.com/a%2Fb"), b"/a/b");
        assert_eq!(path("github.com/org"), b"github.com/org");
    }

    #[test]
    fn quotes_as_go_s_q() {
        assert_eq!(go::quote("https://github.com"), "\"https://github.com\"");
        assert_eq!(go::quote("a\"b\\c"), "\"a\\\"b\\\\c\"");
        assert_eq!(go::quote("\u{e9}\u{4e16}"), "\"\u{e9}\u{4e16}\"");
        assert_eq!(
            go::quote("\u{a0}\u{200b}\u{7f}\x01\u{85}"),
            "\"\\u00a0\\u200b\\x7f\\x01\\u0085\""
        );
        assert_eq!(go::quote("\u{f0000}\u{1f600}"), "\"\\U000f0000\u{1f600}\"");
    }

    #[test]
    fn cleans_as_filepath_clean() {
        for (path, want) in [
            ("/tekton/creds/.ssh/id_a", "/tekton/creds/.ssh/id_a"),
            ("/tekton//creds/./x/", "/tekton/creds/x"),
            ("/tekton/creds-secrets/../a", "/tekton/a"),
            ("/../a", "/a"),
            ("a/../../b", "../b"),
            ("", "."),
            ("/", "/"),
        ] {
            assert_eq!(go::clean(path.as_bytes()), want.as_bytes(), "{path}");
        }
    }

    #[test]
    fn splits_ssh_urls_as_tekton() {
        for (url, want) in [
            ("github.com", ("github.com", "22", "")),
            ("github.com:2222", ("github.com", "2222", "")),
            ("github.com/org/repo", ("github.com", "22", "/org/repo")),
            (
                "github.com:2222/org/repo",
                ("github.com", "2222", "/org/repo"),
            ),
            ("[::1]:2222", ("::1", "2222", "")),
            ("[::1]", ("[::1]", "22", "")),
            ("a:b:c", ("a:b:c", "22", "")),
            ("host:", ("host", "", "")),
        ] {
            assert_eq!(go::parse_ssh_url(url), want, "{url}");
        }
    }

    fn entry(username: &str, password: &str, auth: &str, email: &str) -> Entry {
        Entry {
            username: username.into(),
            password: password.into(),
            auth: auth.into(),
            email: email.into(),
        }
    }

    #[test]
    fn reads_docker_json_as_go_into_tekton_s_entry() {
        let cfg = br#"{"b.io": {"Username": "u", "PASSWORD": "p", "auth": "x", "identitytoken": 5, "email": null},
                       "a.io": {"auth": "1"}, "a.io": {"u\u017Fername": "s\ud83d\ude00\ud800"}, "c.io": null}"#;
        let map = go::json::dockercfg(cfg).unwrap();
        assert_eq!(map["b.io"], entry("u", "p", "x", ""));
        assert_eq!(
            map["a.io"],
            entry("s\u{1f600}\u{fffd}", "", "", ""),
            "the last one, whole"
        );
        assert_eq!(map["c.io"], Entry::default());

        let config = br#"{"auths": {"a": {"auth": "1"}}, "credHelpers": {"x": "y"}, "AUTHS": {"b": {"auth": "2"}}}"#;
        let map = go::json::dockerconfigjson(config).unwrap();
        assert_eq!(map.keys().collect::<Vec<_>>(), ["a", "b"]);
        let reset = br#"{"auths": {"a": {}}, "auths": null, "auths": {"b": {}}}"#;
        assert_eq!(
            go::json::dockerconfigjson(reset)
                .unwrap()
                .keys()
                .collect::<Vec<_>>(),
            ["b"]
        );
        assert!(go::json::dockerconfigjson(b"null").unwrap().is_empty());

        for bad in [
            &b""[..],
            b"{",
            b"{\"a\": {\"auth\": 1}}",
            b"[]",
            b"{\"a\": \"x\"}",
            b"{\"a\": {}} x",
            b"{\"a\": {\"auth\": \"\x01\"}}",
            b"{\"a\": 01}",
        ] {
            assert!(
                go::json::dockercfg(bad).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        let invalid_utf8 = b"{\"a\": {\"auth\": \"\xe2\x82x\xff\"}}";
        assert_eq!(
            go::json::dockercfg(invalid_utf8).unwrap()["a"].auth,
            "\u{fffd}\u{fffd}x\u{fffd}".as_bytes()
        );
    }

    #[test]
    fn writes_docker_json_as_go_s_marshal() {
        let mut auths = std::collections::BTreeMap::new();
        auths.insert(
            "https://b.io".to_owned(),
            entry("u", "p", "dTpw", "not@val.id"),
        );
        auths.insert("a<&>".to_owned(), entry("", "", "", ""));
        auths.insert(
            "c".to_owned(),
            Entry {
                username: b"\xff\"\\\x08\x0c\n\r\t\x01\x7f\xe2\x80\xa8\xc3\xa9".to_vec(),
                ..Entry::default()
            },
        );
        assert_eq!(
            String::from_utf8(go::json::config_file(&auths)).unwrap(),
            "{\"auths\":{\"a\\u003c\\u0026\\u003e\":{\"auth\":\"\"},\
             \"c\":{\"username\":\"\\ufffd\\\"\\\\\\b\\f\\n\\r\\t\\u0001\u{7f}\\u2028\u{e9}\",\"auth\":\"\"},\
             \"https://b.io\":{\"username\":\"u\",\"password\":\"p\",\"auth\":\"dTpw\",\"email\":\"not@val.id\"}}}"
        );
    }
}
