"""Where secrets are kept, one module per kind of store.

* `keyctl`: the Linux kernel key retention service through direct system calls (the user
  keyring, shared by every session of the user; nothing on disk). Used where no Secret Service
  answers: SSH sessions, WSL2, servers, CI runners.
* `kernel_keyring`: the same store as a `keyring` backend, registered through keyring's
  `keyring.backends` entry point so that keyring (and its `keyring` command) can use it too.

The Secret Service read-only fast path lives in ../secret_service.py; every other OS keyring is
reached through keyring (see ../store.py, which chooses between them).
"""
