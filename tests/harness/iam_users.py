"""IAM users for the tests: made through moto's IAM behind the STS emulator (which then
accepts their keys for as long as IAM has them). The `alice` fixture is in conftest.py."""

import boto3

USER = "alice-iam"
ADMIN = "AKIAADMIN00000000000"  # the test's own IAM calls (setting the user up)
CREDENTIALS = ("# alice's keys (keep this comment)\r\n[dev]\r\naws_access_key_id = {key}\r\n"
               "aws_secret_access_key = {secret}\r\nregion = eu-west-1\r\n\r\n"
               "[other]\r\n; another profile, left alone\r\naws_access_key_id = AKIAOTHER0000000TEST"
               "\r\naws_secret_access_key = otherSECRETotherSECRETotherSECRET0000001\r\n")


def iam(world):
    return boto3.client("iam", region_name="us-east-1", endpoint_url=world.sts.url,
                        aws_access_key_id=ADMIN, aws_secret_access_key="x" * 40)


def iam_user(world) -> tuple[str, str, str]:
    """(access key ID, secret, user ARN) of a new IAM user in moto's IAM."""
    client = iam(world)
    arn = client.create_user(UserName=USER)["User"]["Arn"]
    key = client.create_access_key(UserName=USER)["AccessKey"]
    return key["AccessKeyId"], key["SecretAccessKey"], arn


def keys_in_iam(world) -> list[str]:
    return [k["AccessKeyId"] for k in
            iam(world).list_access_keys(UserName=USER)["AccessKeyMetadata"]]
