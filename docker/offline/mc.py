#!/opt/venv/bin/python
"""`mc`: the MinIO-client subcommands that docker-compose.yml runs, over boto3.

For an S3 server that is not MinIO (docker/offline/s3.Dockerfile: moto's server).

Subcommands, with the MinIO client's syntax:
  mc ready ALIAS                                  exit 0 when ALIAS's server answers S3 requests
  mc alias set ALIAS URL ACCESS_KEY SECRET_KEY    store ALIAS (checked first with ListBuckets)
  mc mb [--ignore-existing] ALIAS/BUCKET          create the bucket
  mc anonymous set none ALIAS/BUCKET              no anonymous access: bucket policy deleted,
                                                  canned ACL `private`
  mc admin user add ALIAS ACCESS_KEY SECRET_KEY   an IAM user named ACCESS_KEY
  mc admin user info ALIAS ACCESS_KEY             the user and its policies (PolicyName: ...)
  mc admin policy attach ALIAS POLICY --user U    attach POLICY (`readwrite`: s3:* on every
                                                  bucket, as MinIO's built-in one) to U

What it cannot do against moto, and so does not pretend to: moto's IAM generates access keys
itself, so `admin user add` records the user (and `policy attach` its policy) in moto's IAM but
cannot make ACCESS_KEY/SECRET_KEY a key pair that the server checks; moto's server accepts any
credentials for S3 requests. The alias `local` is predefined (http://127.0.0.1:9000 with
MINIO_ROOT_USER/MINIO_ROOT_PASSWORD), as in the MinIO server image. Aliases are kept in
$MC_CONFIG_DIR/config.json (default ~/.mc). Errors go to stderr as `mc: <ERROR> ...`, exit 1.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

REGION = "us-east-1"
READWRITE_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": ["s3:*"], "Resource": ["arn:aws:s3:::*"]}],
}


class McError(Exception):
    """A failed command; the message is what `mc` prints."""


def _config_path() -> Path:
    return Path(os.environ.get("MC_CONFIG_DIR", Path.home() / ".mc")) / "config.json"


def _aliases() -> dict[str, dict[str, str]]:
    path = _config_path()
    aliases = json.loads(path.read_text())["aliases"] if path.is_file() else {}
    aliases.setdefault(
        "local",
        {
            "url": "http://127.0.0.1:9000",
            "accessKey": os.environ.get("MINIO_ROOT_USER", ""),
            "secretKey": os.environ.get("MINIO_ROOT_PASSWORD", ""),
        },
    )
    return dict(aliases)


def _client(service: str, alias: str, timeout: float = 10.0) -> Any:
    import boto3
    from botocore.config import Config

    aliases = _aliases()
    if alias not in aliases:
        raise McError(f"Unable to find alias `{alias}`")
    entry = aliases[alias]
    return boto3.client(
        service,
        endpoint_url=entry["url"],
        aws_access_key_id=entry["accessKey"] or "unset",
        aws_secret_access_key=entry["secretKey"] or "unset",
        region_name=REGION,
        config=Config(
            s3={"addressing_style": "path"},
            connect_timeout=timeout,
            read_timeout=timeout,
            retries={"max_attempts": 1},
        ),
    )


def _target(arg: str) -> tuple[str, str]:
    alias, _, bucket = arg.partition("/")
    if not bucket:
        raise McError(f"`{arg}` names no bucket (ALIAS/BUCKET)")
    return alias, bucket.strip("/")


def _error_code(exc: Exception) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def ready(alias: str) -> str:
    """`mc ready ALIAS`: ListBuckets answers within 3 s; raise McError otherwise."""
    try:
        _client("s3", alias, timeout=3.0).list_buckets()
    except Exception as exc:
        raise McError(f"`{alias}` is not ready: {exc}") from exc
    return f"The cluster `{alias}` is ready"


def alias_set(name: str, url: str, access_key: str, secret_key: str) -> str:
    """`mc alias set`: store the alias (file mode 0600), then check it with ListBuckets."""
    path = _config_path()
    aliases = json.loads(path.read_text())["aliases"] if path.is_file() else {}
    aliases[name] = {"url": url.rstrip("/"), "accessKey": access_key, "secretKey": secret_key}
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump({"version": "10", "aliases": aliases}, handle, indent=1)
    try:
        _client("s3", name).list_buckets()
    except Exception as exc:
        raise McError(
            f"Unable to initialize new alias from the provided credentials: {exc}"
        ) from exc
    return f"Added `{name}` successfully."


def make_bucket(target: str, ignore_existing: bool) -> str:
    """`mc mb [--ignore-existing] ALIAS/BUCKET`: CreateBucket (existing: ok if ignored)."""
    alias, bucket = _target(target)
    s3 = _client("s3", alias)
    try:
        # In us-east-1, S3 (and moto) answers CreateBucket on a bucket you own with 200; MinIO's
        # client reports it as an error unless --ignore-existing, so ask first.
        existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
        if bucket in existing:
            if ignore_existing:
                return f"Bucket created successfully `{target}`."
            raise McError(
                f"Unable to make bucket `{target}`. Your previous request to create "
                "the named bucket succeeded and you already own it."
            )
        s3.create_bucket(Bucket=bucket)
    except McError:
        raise
    except Exception as exc:
        exists = _error_code(exc) in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists")
        if not (exists and ignore_existing):
            raise McError(f"Unable to make bucket `{target}`: {exc}") from exc
    return f"Bucket created successfully `{target}`."


def anonymous_none(target: str) -> str:
    """`mc anonymous set none ALIAS/BUCKET`: delete the bucket policy, set the ACL `private`."""
    alias, bucket = _target(target)
    s3 = _client("s3", alias)
    try:
        s3.delete_bucket_policy(Bucket=bucket)
        s3.put_bucket_acl(Bucket=bucket, ACL="private")
    except Exception as exc:
        raise McError(f"Unable to set anonymous `none` for `{target}`: {exc}") from exc
    return f"Access permission for `{target}` is set to `private`"


def user_add(alias: str, access_key: str, secret_key: str) -> str:
    """`mc admin user add`: an IAM user named ACCESS_KEY (existing: kept).

    The secret is checked for MinIO's minimum length (8) and not stored: moto cannot bind it.
    """
    if len(secret_key) < 8:
        raise McError("secret key must be at least 8 characters long")
    iam = _client("iam", alias)
    try:
        iam.create_user(UserName=access_key)
    except Exception as exc:
        if _error_code(exc) != "EntityAlreadyExists":
            raise McError(f"Unable to add new user: {exc}") from exc
    return f"Added user `{access_key}` successfully."


def user_info(alias: str, access_key: str) -> str:
    """`mc admin user info`: the user's attached policies as `PolicyName: a,b`."""
    iam = _client("iam", alias)
    try:
        iam.get_user(UserName=access_key)
        attached = iam.list_attached_user_policies(UserName=access_key)["AttachedPolicies"]
    except Exception as exc:
        raise McError(f"Unable to get user info: {exc}") from exc
    names = ",".join(policy["PolicyName"] for policy in attached)
    return f"AccessKey: {access_key}\nStatus: enabled\nPolicyName: {names}"


def policy_attach(alias: str, policy: str, user: str) -> str:
    """`mc admin policy attach ALIAS POLICY --user U`: `readwrite` is created on first use."""
    iam = _client("iam", alias)
    try:
        arns = {p["PolicyName"]: p["Arn"] for p in iam.list_policies(Scope="Local")["Policies"]}
        if policy not in arns:
            if policy != "readwrite":
                raise McError(f"Unable to attach policy: no policy `{policy}`")
            arns[policy] = iam.create_policy(
                PolicyName=policy, PolicyDocument=json.dumps(READWRITE_POLICY)
            )["Policy"]["Arn"]
        iam.attach_user_policy(UserName=user, PolicyArn=arns[policy])
    except McError:
        raise
    except Exception as exc:
        raise McError(f"Unable to attach policy: {exc}") from exc
    return f"Attached Policies: [{policy}]\nTo User: {user}"


USAGE = next(part for part in __doc__.split("\n\n") if part.startswith("Subcommands"))


def main(argv: list[str]) -> str:
    """Run one subcommand; return what it prints; raise McError on failure or bad usage."""
    args = list(argv)
    ignore_existing = "--ignore-existing" in args or "-p" in args
    args = [a for a in args if a not in ("--ignore-existing", "-p")]
    match args:
        case ["ready", alias]:
            return ready(alias)
        case ["alias", "set", name, url, access_key, secret_key]:
            return alias_set(name, url, access_key, secret_key)
        case ["mb", target]:
            return make_bucket(target, ignore_existing)
        case ["anonymous", "set", "none", target]:
            return anonymous_none(target)
        case ["admin", "user", "add", alias, access_key, secret_key]:
            return user_add(alias, access_key, secret_key)
        case ["admin", "user", "info", alias, access_key]:
            return user_info(alias, access_key)
        case ["admin", "policy", "attach", alias, policy, "--user", user]:
            return policy_attach(alias, policy, user)
    raise McError(f"unsupported command `mc {' '.join(argv)}`; this mc knows:\n{USAGE}")


if __name__ == "__main__":
    try:
        print(main(sys.argv[1:]))
    except McError as error:
        print(f"mc: <ERROR> {error}", file=sys.stderr)
        sys.exit(1)
