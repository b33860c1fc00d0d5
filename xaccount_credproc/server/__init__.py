"""The credential server family: a profile's credentials over the container credentials protocol
(the HTTP endpoint ECS provides, which every AWS SDK reads), for programs that outlive an hour,
containers, and tools that read no config.

The modules: `state` (the server's directory under the runtime dir: where it listens, and the
clients allowed to ask, each with a token scoped to its profiles), `supply` (credentials per
profile: kept warm in memory, fetched through `credentials.provider` so the server shares the
cache, the locks and the MFA prompt with `credential-process`, refreshed in the background),
`http` (the listener: the protocol, who may ask, the bounds), `daemon` (`serve`: listeners,
signals, the refresher), `setup` (one-time steps for containers), `client` (what `server-env`,
`exec --server`, `doctor` and `list` ask of a running server).

Nothing here is on the `credential-process` path.
"""

# Never served with less than this left: botocore fetches again on every call below 15 minutes,
# and blocks each call ~3.5 s when that fetch fails. A minute of slack for clocks and transit.
SERVE_MIN = 15 * 60 + 60
# From this much left, credentials are renewed in the background when no person is needed.
REFRESH_AT = 20 * 60
# How long a request waits for credentials that are being fetched (STS, another caller's lock)
# before it is answered 503 CredentialsPending: within botocore's 2 s read time-out (Go has none;
# Ruby and JS give up after 1 s and ask again, finding the same fetch). A fetch that needs an MFA
# code is answered MfaRequired at once.
REQUEST_WAIT = 1.8
# How long a request waits for an MFA code (an mfa_process that answers at once) before it is
# answered 503 MfaRequired: the promise is "within 1 s".
MFA_WAIT = 0.8

PROTOCOL_PATH = "/v1/credentials/"  # + profile name: FULL_URI with a token
CONTAINER_PATH = "/v1/container/"  # + a client's path secret: RELATIVE_URI
HEALTH_PATH = "/v1/health"
CONTAINER_ADDRESS = "169.254.170.2"  # what RELATIVE_URI means, on port 80
