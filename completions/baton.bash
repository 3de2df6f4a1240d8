_baton() {
    local i cur prev opts cmd
    COMPREPLY=()
    if [[ "${BASH_VERSINFO[0]}" -ge 4 ]]; then
        cur="$2"
    else
        cur="${COMP_WORDS[COMP_CWORD]}"
    fi
    prev="$3"
    cmd=""
    opts=""

    for i in "${COMP_WORDS[@]:0:COMP_CWORD}"
    do
        case "${cmd},${i}" in
            ",$1")
                cmd="baton"
                ;;
            baton,cp)
                cmd="baton__subcmd__cp"
                ;;
            baton,decode-script)
                cmd="baton__subcmd__decode__subcmd__script"
                ;;
            baton,init)
                cmd="baton__subcmd__init"
                ;;
            baton,install)
                cmd="baton__subcmd__install"
                ;;
            baton,step-init)
                cmd="baton__subcmd__step__subcmd__init"
                ;;
            *)
                ;;
        esac
    done

    case "${cmd}" in
        baton)
            opts="-h -V --wait-file --wait-file-content --cancel-file --post-file --termination-path --step-metadata-dir --results --results-dir --rerun --timeout --grace-period --success-exit-codes --no-kill-group --on-error --retries --retry-delay --exit-code-for --env-file --ready-file --ready-probe --ready-interval --ready-timeout --stop-file --stop-when-all --stop-keeps-exit-code --stdout-path --stderr-path --mode --step-results --when-expressions --result-from --compress-termination-message --enable-spire --breakpoint-on-failure --debug-before-step --basic-git --ssh-git --basic-docker --docker-config --docker-cfg --entrypoint --log-level --log-format --help --version install cp init step-init decode-script"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 1 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --wait-file)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --wait-file-content)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --cancel-file)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --post-file)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --termination-path)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --step-metadata-dir)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --results)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --results-dir)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --rerun)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --timeout)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --grace-period)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --success-exit-codes)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --no-kill-group)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --on-error)
                    COMPREPLY=($(compgen -W "stopAndFail continue" -- "${cur}"))
                    return 0
                    ;;
                --retries)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --retry-delay)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --exit-code-for)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --env-file)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --ready-file)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --ready-probe)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --ready-interval)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --ready-timeout)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --stop-file)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --stop-when-all)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --stop-keeps-exit-code)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --stdout-path)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --stderr-path)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --mode)
                    COMPREPLY=($(compgen -W "baton tekton" -- "${cur}"))
                    return 0
                    ;;
                --step-results)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --when-expressions)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --result-from)
                    COMPREPLY=($(compgen -W "termination-message sidecar-logs" -- "${cur}"))
                    return 0
                    ;;
                --compress-termination-message)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --enable-spire)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --breakpoint-on-failure)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --debug-before-step)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --basic-git)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --ssh-git)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --basic-docker)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --docker-config)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --docker-cfg)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --entrypoint)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --log-level)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --log-format)
                    COMPREPLY=($(compgen -W "text json" -- "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        baton__subcmd__cp)
            opts="-h --help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        baton__subcmd__decode__subcmd__script)
            opts="-h --help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        baton__subcmd__init)
            opts="-h --help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        baton__subcmd__install)
            opts="-h --help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        baton__subcmd__step__subcmd__init)
            opts="-h --help"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
    esac
}

if [[ "${BASH_VERSINFO[0]}" -eq 4 && "${BASH_VERSINFO[1]}" -ge 4 || "${BASH_VERSINFO[0]}" -gt 4 ]]; then
    complete -F _baton -o nosort -o bashdefault -o default baton
else
    complete -F _baton -o bashdefault -o default baton
fi
