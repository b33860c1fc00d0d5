"""`add NAME`: add a profile to the TOML config (creating the file from a template)."""

from ._common import PROG, UsageError, config_path, then_init
from .parser import seconds

NAME = "add"
SUMMARY = "add a profile to the TOML config (creating it from a template)"


def add_arguments(parser) -> None:
    parser.add_argument("name", metavar="NAME", help="the new profile's name")
    parser.add_argument("--role-arn", metavar="ARN", help="the role to assume")
    parser.add_argument("--account-id", metavar="ID",
                        help="instead of --role-arn: the account ...")
    parser.add_argument("--role-name", metavar="ROLE", help="... and the role's name")
    parser.add_argument("--external-id", metavar="ID", help="ExternalId the role requires")
    parser.add_argument("--mfa-serial", metavar="ARN", help="MFA device (if not in [defaults])")
    parser.add_argument("--source-profile", metavar="PROFILE",
                        help="profile whose credentials call STS")
    parser.add_argument("--region", metavar="REGION", help="STS and AWS profile region")
    parser.add_argument("--duration-seconds", metavar="SECONDS", type=seconds,
                        help="role session length")
    parser.add_argument("--init", action="store_true", help="then run init")


def run(args) -> int:
    from ..config import toml_edit

    if bool(args.role_arn) == bool(args.account_id or args.role_name):
        raise UsageError("give either --role-arn, or --account-id and --role-name",
                         f"e.g. '{PROG} add prod --role-arn arn:aws:iam::123456789012:role/R'")
    path = config_path(args)
    values = {"role_arn": args.role_arn, "account_id": args.account_id,
              "role_name": args.role_name, "external_id": args.external_id,
              "mfa_serial": args.mfa_serial, "source_profile": args.source_profile,
              "region": args.region, "duration_seconds": args.duration_seconds}
    created = toml_edit.add_profile(path, args.name, values)
    print(f"{'created' if created else 'updated'} {path}: added profile '{args.name}'")
    return then_init(args, path)
