"""The user's web browser, as this tool meets it: opening a URL in it (`opener`), and the one
loopback listener it comes back to (`loopback`): the console's one-shot hop, the sign-in
callbacks of IAM Identity Center (and of AWS's own sign-in next).

A family of its own, below the ones that use it (`credentials/` for sign-ins, `console/`), so
that none of them has to import another for a browser; it uses nothing but the loose modules.
"""
