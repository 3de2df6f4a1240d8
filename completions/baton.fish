# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_baton_global_optspecs
    string join \n wait-file= wait-file-content= cancel-file= post-file= termination-path= step-metadata-dir= results= results-dir= rerun= timeout= grace-period= success-exit-codes= no-kill-group= on-error= retries= retry-delay= exit-code-for= env-file= ready-file= ready-probe= ready-interval= ready-timeout= stop-file= stop-when-all= stop-keeps-exit-code= stdout-path= stderr-path= mode= step-results= when-expressions= result-from= compress-termination-message= enable-spire= breakpoint-on-failure= debug-before-step= basic-git= ssh-git= basic-docker= docker-config= docker-cfg= entrypoint= log-level= log-format= h/help V/version
end

function __fish_baton_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_baton_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_baton_using_subcommand
    set -l cmd (__fish_baton_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c baton -n "__fish_baton_needs_command" -l wait-file -d 'Wait until PATH exists before running (repeatable, comma-separated; all must exist). If PATH.err appears, the step is skipped' -r -F
complete -c baton -n "__fish_baton_needs_command" -l wait-file-content -d 'A wait file only counts once it is non-empty' -r
complete -c baton -n "__fish_baton_needs_command" -l cancel-file -d 'Cancel when PATH appears (non-empty with --wait-file-content): stop the command, or stop waiting; write POST.err; exit 123' -r -F
complete -c baton -n "__fish_baton_needs_command" -l post-file -d 'On success write PATH; on failure write PATH.err (both hold the exit code)' -r -F
complete -c baton -n "__fish_baton_needs_command" -l termination-path -d 'Write the termination message (Tekton\'s JSON format) to PATH' -r -F
complete -c baton -n "__fish_baton_needs_command" -l step-metadata-dir -d 'Write DIR/exitCode with the command\'s exit code, like Tekton' -r -F
complete -c baton -n "__fish_baton_needs_command" -l results -d 'Result names (comma-separated): each DIR/NAME that exists after the command goes into the termination message' -r
complete -c baton -n "__fish_baton_needs_command" -l results-dir -d 'Where the results are' -r -F
complete -c baton -n "__fish_baton_needs_command" -l rerun -d 'Run even if the success marker POST exists from an earlier run' -r
complete -c baton -n "__fish_baton_needs_command" -l timeout -d 'Limit on the command\'s run time (Go duration: 90s, 1m30s, 250ms); 0 means none' -r
complete -c baton -n "__fish_baton_needs_command" -l grace-period -d 'Time between SIGTERM and SIGKILL whenever baton itself stops the command' -r
complete -c baton -n "__fish_baton_needs_command" -l success-exit-codes -d 'Exit codes that count as success (comma-separated, e.g. 143,137)' -r
complete -c baton -n "__fish_baton_needs_command" -l no-kill-group -d 'When the command exits, leave what is left of its process group alone' -r
complete -c baton -n "__fish_baton_needs_command" -l on-error -d 'What a failing command means for the chain: stopAndFail, or continue (write POST, record the real exit code, exit 0)' -r -f -a "stopAndFail\t'The step fails: `POST.err`, the command\'s code'
continue\t'The step counts as a success for the chain; the real code is recorded'"
complete -c baton -n "__fish_baton_needs_command" -l retries -d 'Rerun a failed command up to N more times before the step fails' -r
complete -c baton -n "__fish_baton_needs_command" -l retry-delay -d 'Delay before the first retry; doubles each time, capped at 1m' -r
complete -c baton -n "__fish_baton_needs_command" -l exit-code-for -d 'The exit code of one of baton\'s own outcomes, REASON=CODE (repeatable, comma-separated), e.g. Skipped=3, so that a Job\'s podFailurePolicy can tell them apart; the verdict marker is as without it' -r
complete -c baton -n "__fish_baton_needs_command" -l env-file -d 'KEY=VALUE lines added to the command\'s environment (repeatable)' -r -F
complete -c baton -n "__fish_baton_needs_command" -l ready-file -d 'Sidecars: write PATH once the command is ready (every probe passes, or at once with no probe); PATH.err if it never gets there' -r -F
complete -c baton -n "__fish_baton_needs_command" -l ready-probe -d 'A readiness probe (repeatable): tcp:HOST:PORT, http://HOST:PORT/PATH, exec:COMMAND ARG... (split on spaces), exec-json:["COMMAND","ARG"...] (the exact words), file:PATH; HOST is an IP address or localhost' -r
complete -c baton -n "__fish_baton_needs_command" -l ready-interval -d 'Time between probe rounds' -r
complete -c baton -n "__fish_baton_needs_command" -l ready-timeout -d 'Not ready in time: stop the command, write READY.err, exit 1; 0 means no limit' -r
complete -c baton -n "__fish_baton_needs_command" -l stop-file -d 'Stop the command as soon as PATH or PATH.err appears (repeatable, comma-separated); a stop asked for is a success' -r -F
complete -c baton -n "__fish_baton_needs_command" -l stop-when-all -d 'Stop only once every stop file says so (the ends of a DAG), not at the first' -r
complete -c baton -n "__fish_baton_needs_command" -l stop-keeps-exit-code -d 'After a stop asked for by a stop file, exit with the command\'s own code' -r
complete -c baton -n "__fish_baton_needs_command" -l stdout-path -d 'Also copy the command\'s stdout to PATH (appended; parent directories created)' -r -F
complete -c baton -n "__fish_baton_needs_command" -l stderr-path -d 'Also copy the command\'s stderr to PATH (may be the same file as --stdout-path)' -r -F
complete -c baton -n "__fish_baton_needs_command" -l mode -d 'Behave as Tekton\'s entrypoint (markers, exitCode files, termination keys, exit codes) or as baton [default: tekton when run as `entrypoint`, else baton]' -r -f -a "baton\t'baton\'s own documented behaviour'
tekton\t'Tekton\'s entrypoint\'s, wherever its controller or a Task can see it'"
complete -c baton -n "__fish_baton_needs_command" -l step-results -d 'Step result names (comma-separated): each DIR/results/NAME of --step-metadata-dir goes into the termination message' -r
complete -c baton -n "__fish_baton_needs_command" -l when-expressions -d 'The step\'s `when` expressions, as the controller writes them (JSON); the command runs only if all allow it' -r
complete -c baton -n "__fish_baton_needs_command" -l result-from -d 'Where the results go: termination-message, or sidecar-logs (left in their files for Tekton\'s sidecar)' -r -f -a "termination-message\t'Into the termination message'
sidecar-logs\t'Left in their files, for Tekton\'s results sidecar to read'"
complete -c baton -n "__fish_baton_needs_command" -l compress-termination-message -d 'Compress the termination message (`tknz:` and base64 of raw deflate) when that makes it shorter' -r
complete -c baton -n "__fish_baton_needs_command" -l enable-spire -d 'SPIRE signing of results: not in this build; true fails the step (exit 1)' -r
complete -c baton -n "__fish_baton_needs_command" -l breakpoint-on-failure -d 'Debugging: on failure, leave no verdict and wait for POST.breakpointexit, then exit with the code it holds' -r
complete -c baton -n "__fish_baton_needs_command" -l debug-before-step -d 'Debugging: before running, wait for POST.beforestepexit (run) or POST.beforestepexit.err (fail)' -r
complete -c baton -n "__fish_baton_needs_command" -l basic-git -d 'creds-init: a basic-auth Git secret, SECRET=URL (repeatable), from /tekton/creds-secrets/SECRET' -r
complete -c baton -n "__fish_baton_needs_command" -l ssh-git -d 'creds-init: an SSH Git secret, SECRET=URL (repeatable)' -r
complete -c baton -n "__fish_baton_needs_command" -l basic-docker -d 'creds-init: a basic-auth Docker registry secret, SECRET=URL (repeatable)' -r
complete -c baton -n "__fish_baton_needs_command" -l docker-config -d 'creds-init: a `kubernetes.io/dockerconfigjson` secret (repeatable)' -r
complete -c baton -n "__fish_baton_needs_command" -l docker-cfg -d 'creds-init: a `kubernetes.io/dockercfg` secret (repeatable)' -r
complete -c baton -n "__fish_baton_needs_command" -l entrypoint -d 'The command to run; its arguments follow `--`' -r
complete -c baton -n "__fish_baton_needs_command" -l log-level -d 'baton\'s own diagnostics on stderr: off, error, warn, info, debug, trace, or directives such as `baton::wait=debug,warn` [default: $BATON_LOG, else error]' -r
complete -c baton -n "__fish_baton_needs_command" -l log-format -d 'Format of baton\'s own diagnostics: text or JSON lines' -r -f -a "text\t'One line of text per event'
json\t'One JSON object per line'"
complete -c baton -n "__fish_baton_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c baton -n "__fish_baton_needs_command" -s V -l version -d 'Print version'
complete -c baton -n "__fish_baton_needs_command" -a "install" -d 'Copy this binary to DEST (a file path; a directory, or a path ending in /, means DEST/baton)'
complete -c baton -n "__fish_baton_needs_command" -a "cp" -d 'Tekton spelling of install, mode 0311 (SRC is ignored: the running binary is copied)'
complete -c baton -n "__fish_baton_needs_command" -a "init" -d 'Tekton spelling of install, mode 0311 (SRC is ignored), then step-init STEP...'
complete -c baton -n "__fish_baton_needs_command" -a "step-init" -d 'Tekton: make /tekton/steps/STEP and /tekton/steps/I links to /tekton/run/I/status'
complete -c baton -n "__fish_baton_needs_command" -a "decode-script" -d 'Tekton\'s place-scripts: replace the base64 text in FILE with the script it encodes'
complete -c baton -n "__fish_baton_using_subcommand install" -s h -l help -d 'Print help'
complete -c baton -n "__fish_baton_using_subcommand cp" -s h -l help -d 'Print help'
complete -c baton -n "__fish_baton_using_subcommand init" -s h -l help -d 'Print help'
complete -c baton -n "__fish_baton_using_subcommand step-init" -s h -l help -d 'Print help'
complete -c baton -n "__fish_baton_using_subcommand decode-script" -s h -l help -d 'Print help'
