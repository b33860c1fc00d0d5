"""doctor: for each MFA profile, how its code is used (the shared MFA session or its own) and
which prompt would ask here, and whether anything would without a terminal; what each profile's
AssumeRole says about who is behind it."""

import os

from .check import OK, WARN, Check


def mfa_sharing(profiles) -> list[Check]:
    """Which MFA profiles share the MFA session of their device (one code for all of them,
    renewed for hours) and which take their own code on their AssumeRole, and why."""
    from ..credentials.providers import mfa_use

    shared: dict[tuple, list[str]] = {}
    out = []
    for p in profiles:
        use, why = mfa_use(p)
        if use == "shared":
            shared.setdefault((p.root_source, p.mfa_serial), []).append(p.name)
        elif use:
            out.append(Check(OK, f"MFA for '{p.name}': its own code on each AssumeRole ({why})"))
    for (source, serial), names in sorted(shared.items()):
        listed = ", ".join(f"'{n}'" for n in names)
        out.insert(0, Check(OK, f"MFA session of {serial} (source '{source}'): shared by "
                                f"{listed}: one code for all, renewed for up to 12 h"))
    return out


def attributions(profiles) -> list[Check]:
    """Per profile that sets SourceIdentity or session tags: what its AssumeRole says about who
    is behind the role, and what the trust policy must allow for it."""
    from ..credentials.providers import attribution

    return [Check(OK, f"attribution of '{p.name}': {attribution(p)}")
            for p in profiles if attribution(p)]


def mfa_prompts(profiles) -> list[Check]:
    """Per MFA profile: which prompt would be used right now, and whether anything would work
    without a terminal (an IDE or desktop app runs the helper with none)."""
    from ..prompt import dialog as prompt

    mfa = [p for p in profiles if p.mfa_serial]
    if not mfa:
        return [Check(OK, "MFA: no profile uses MFA")]
    try:
        os.close(os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY))
        terminal = True
    except OSError:
        terminal = False
    dialog = prompt.find_dialog()
    dialog_name = f"a {dialog.EXECUTABLE} dialog" if dialog else None
    out = []
    for p in mfa:
        if p.mfa_process:
            out.append(Check(OK, f"MFA for '{p.name}': mfa_process (no prompt needed)"))
            continue
        now = ("the terminal" if terminal and p.mfa_prompt != "dialog"
               else dialog_name if p.mfa_prompt != "terminal" else None)
        without = dialog_name if p.mfa_prompt != "terminal" else None
        if now is None:
            out.append(Check(WARN, f"MFA for '{p.name}': no prompt would work here (mfa_prompt "
                                   f"= \"{p.mfa_prompt}\", no terminal"
                                   f"{'' if dialog else ', no desktop dialog'})",
                             "set mfa_process, or run from a terminal or a desktop session "
                             "with zenity or kdialog"))
        elif without is None:
            out.append(Check(WARN, f"MFA for '{p.name}': {now} now, but nothing without a "
                                   "terminal (IDEs, desktop apps)",
                             "set mfa_process, or use a desktop session with zenity or kdialog "
                             "(mfa_prompt = \"auto\")"))
        else:
            out.append(Check(OK, f"MFA for '{p.name}': {now} now; {without} without a terminal"))
    return out
