"""doctor: the browser each profile's console opens in is there (console/browsers.py)."""

from .check import FAIL, OK, Check


def configured(profiles) -> list[Check]:
    from ..console import browsers
    from ..errors import UserError

    seen: dict[tuple, Check] = {}
    for profile in profiles:
        if not profile.console.browser or profile.console.browser == "default":
            continue
        key = (profile.console.browser, profile.console.browser_family)
        if key not in seen:
            try:
                browser = browsers.choose(profile.console.browser, profile.console.browser_family)
                seen[key] = Check(OK, f"console browser {profile.console.browser}: "
                                      f"{browser.executable} ({browser.family})")
            except UserError as e:
                seen[key] = Check(FAIL, f"console browser of profile '{profile.name}': "
                                        f"{e.what}", e.fix)
    return list(seen.values())
