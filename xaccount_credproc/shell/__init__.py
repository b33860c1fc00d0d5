"""The shell family: `xcp`, one word to switch a shell's profile.

`scripts` (the `xcp` function for bash, zsh and fish, which `shell-init` prints for an rc file
to `eval`), `picker` (type to filter, arrows, Enter or Esc: on the terminal itself), `status`
(what `xcp use` checks before it switches, and the line `xcp prompt` prints for PS1 or
starship: from the cache alone, at a cache hit's cost). No key ever enters the shell's
environment: `AWS_PROFILE` names a profile whose `credential_process` keeps them fresh.
"""
