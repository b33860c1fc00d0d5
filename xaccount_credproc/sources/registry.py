"""The declared sources as a whole: `source remove` and `source list`."""

import time

from ..backends import StoreError
from ..credentials.stored import keys as sources
from ..credentials.stored.stores import source_store
from ..errors import ConfigError
from .rotate import stored


def remove(config_path: str, name: str) -> bool:
    """Forget source `name`: its keys and its [sources.NAME] table. Whether keys were stored.
    Raises ConfigError while a profile still uses it."""
    from ..config import loader, model, toml_edit

    loaded = loader.load(config_path, lenient=True)
    source = model.source(loaded, name)
    # Broken profiles count too: their own table says which source they use.
    users = sorted({n for n in loaded.names() if loaded.resolve(n).chain[0].source_profile == name}
                   | {n for n in loaded.broken if loaded.profiles[n].get('source_profile') == name})
    if users:
        raise ConfigError(f"source '{name}' is used by {', '.join(users)}",
                          "change or remove those profiles first")
    store = source_store(source, loaded.vault_settings())
    try:
        removed = sources.delete(store, name) + sources.delete(store, name, pending=True)
    except StoreError as e:
        raise sources.store_error(e, "cannot remove the stored keys") from None
    toml_edit.remove_source(config_path, name)
    return bool(removed)


def rows(config_path: str) -> list[tuple[str, ...]]:
    """`source list`'s table, header first: no secrets, the key's last 4 characters."""
    from ..config import loader, model

    loaded = loader.load(config_path, lenient=True)
    out: list[tuple[str, ...]] = [("SOURCE", "KEY", "IAM USER", "AGE", "AWS PROFILE")]
    now = time.time()
    for name in sorted(loaded.sources):
        source = model.source(loaded, name)
        keys = stored(source_store(source, loaded.vault_settings()), name)
        if keys is None:
            out.append((name, "-", "(no keys stored)", "-", "yes" if source.aws_profile else "no"))
            continue
        out.append((name, sources.mask(keys.access_key_id), keys.user_arn,
                    f"{int((now - keys.created) // 86400)}d",
                    "yes" if source.aws_profile else "no"))
    return out
