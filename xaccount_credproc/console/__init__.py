"""The AWS console: signing in to it as a profile's role, and where that sign-in opens.

* `signin`: the federation endpoint's sign-in URL for role credentials (a credential for 15
  minutes), the console destinations of every partition, and switch-role links.
* `browsers`: one browser identity per profile (a Chromium profile, a Firefox container) and
  the hand-off of the sign-in URL to it through the one loopback listener (`web.loopback`), so
  that the URL never sits on a command line.

The role credentials come from `credentials/` exactly as `credential-process` gets them (the
same cache and locks); nothing here keeps or fetches credentials of its own.
"""
