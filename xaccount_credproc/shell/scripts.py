"""The `xcp` shell function, for bash, zsh and fish (`shell-init SHELL` prints it for the rc
file to `eval`):

    xcp use NAME    check the profile (credentials fetched, MFA asked now), then AWS_PROFILE=NAME
                    and no AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN or
                    AWS_DEFAULT_PROFILE in the shell
    xcp use         the picker; Esc leaves everything as it was
    xcp use -       the profile before; xcp off: none
    xcp prompt      the profile and its cached credentials' time left, for PS1 or starship
    xcp ANYTHING    xaccount-credproc ANYTHING

A failed check (an unknown or broken profile, a failed MFA) leaves the shell's variables as they
were. The helper is named by absolute paths, as `init` names it for the AWS config: the fast
start, so that `xcp prompt` costs what a cache hit costs.
"""

import shlex

# What a switch removes: keys in the environment would win over AWS_PROFILE in every SDK.
KEY_VARIABLES = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                 "AWS_SECURITY_TOKEN", "AWS_CREDENTIAL_EXPIRATION", "AWS_DEFAULT_PROFILE")
SHELLS = ("bash", "zsh", "fish")

POSIX = """\
# xcp: switch this shell's AWS profile (xaccount-credproc shell-init {shell})
_xcp_helper() {{ {helper} "$@"; }}
_xcp_switch() {{
  export _XCP_PREVIOUS="${{AWS_PROFILE-}}"
  unset {keys}
  if [ -n "$1" ]; then export AWS_PROFILE="$1"; else unset AWS_PROFILE; fi
}}
xcp() {{
  case "${{1-}}" in
    use)
      local _xcp_target
      if [ "$#" -lt 2 ]; then
        _xcp_target=$(_xcp_helper shell pick) || return $?
      elif [ "$2" = "-" ]; then
        if [ -z "${{_XCP_PREVIOUS+x}}" ]; then
          echo "xcp: no profile to return to" >&2
          return 1
        fi
        _xcp_target=$_XCP_PREVIOUS
      else
        _xcp_target=$2
      fi
      if [ -n "$_xcp_target" ]; then
        _xcp_helper shell check --profile "$_xcp_target" || return $?
      fi
      _xcp_switch "$_xcp_target" ;;
    off) _xcp_switch "" ;;
    prompt) if [ -n "${{AWS_PROFILE-}}" ]; then _xcp_helper shell prompt --profile "$AWS_PROFILE"; fi ;;
    *) _xcp_helper "$@" ;;
  esac
}}
"""

BASH_COMPLETION = """\
_xcp_complete() {
  local cur=${COMP_WORDS[COMP_CWORD]}
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=($(compgen -W "use off prompt" -- "$cur"))
  elif [ "$COMP_CWORD" -eq 2 ] && [ "${COMP_WORDS[1]}" = use ]; then
    COMPREPLY=($(compgen -W "- $(_xcp_helper shell names 2>/dev/null)" -- "$cur"))
  fi
}
complete -F _xcp_complete xcp
"""

ZSH_COMPLETION = """\
_xcp_zsh() {
  if (( CURRENT == 2 )); then
    compadd use off prompt
  elif (( CURRENT == 3 )) && [[ ${words[2]} == use ]]; then
    compadd -- - ${(f)"$(_xcp_helper shell names 2>/dev/null)"}
  fi
}
if (( $+functions[compdef] )); then compdef _xcp_zsh xcp; fi
"""

FISH = """\
# xcp: switch this shell's AWS profile (xaccount-credproc shell-init fish)
function _xcp_helper
    {helper} $argv
end
function _xcp_switch
    set -gx _XCP_PREVIOUS "$AWS_PROFILE"
    for name in {keys}
        set -e $name
    end
    if test -n "$argv[1]"
        set -gx AWS_PROFILE $argv[1]
    else
        set -e AWS_PROFILE
    end
end
function xcp
    switch "$argv[1]"
        case use
            if test (count $argv) -lt 2
                set -l target (_xcp_helper shell pick)
                or return $status
                _xcp_helper shell check --profile $target; or return $status
                _xcp_switch $target
            else if test "$argv[2]" = -
                if not set -q _XCP_PREVIOUS
                    echo "xcp: no profile to return to" >&2
                    return 1
                end
                set -l target $_XCP_PREVIOUS
                if test -n "$target"
                    _xcp_helper shell check --profile $target; or return $status
                end
                _xcp_switch $target
            else
                _xcp_helper shell check --profile $argv[2]; or return $status
                _xcp_switch $argv[2]
            end
        case off
            _xcp_switch ""
        case prompt
            if test -n "$AWS_PROFILE"
                _xcp_helper shell prompt --profile $AWS_PROFILE
            end
        case '*'
            _xcp_helper $argv
    end
end
complete -c xcp -f -n __fish_use_subcommand -a 'use off prompt'
complete -c xcp -f -n '__fish_seen_subcommand_from use' -a '- (_xcp_helper shell names 2>/dev/null)'
"""


def fish_quote(word: str) -> str:
    return "'" + word.replace("\\", "\\\\").replace("'", "\\'") + "'"


def script(shell: str, helper: list[str]) -> str:
    """The function for `shell`, calling `helper` (an absolute command line)."""
    if shell == "fish":
        return FISH.format(helper=" ".join(fish_quote(w) for w in helper),
                           keys=" ".join(KEY_VARIABLES))
    text = POSIX.format(shell=shell, helper=shlex.join(helper), keys=" ".join(KEY_VARIABLES))
    return text + (BASH_COMPLETION if shell == "bash" else ZSH_COMPLETION)
