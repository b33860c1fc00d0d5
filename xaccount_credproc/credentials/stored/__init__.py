"""IAM users' long-term keys that this tool keeps, and the vault they may live in: one owner.

* `keys`: a stored source's key pair and its entry (`source/NAME`, `source/NAME/next`).
* `stores`: which store holds a source's keys (keyring_backend: the Secret Service, the vault,
  the kernel keyring, or "auto").
* `derived_key`: the vault's key, kept in the kernel keyring for the boot.
* `unlock`: unlocking the vault once per boot (one prompt for every caller), and moving keys
  an earlier version kept in the kernel keyring into it.
* `admin`: what the vault commands do (init, status, lock, passwd, reset, migrate).

The vault's file format and crypto are a backend (backends/vault.py); the passphrase prompt is
prompt/passphrase.py; the commands are cli/source.py and cli/vault.py; adding, importing and
rotating a source with AWS is sources/.
"""
