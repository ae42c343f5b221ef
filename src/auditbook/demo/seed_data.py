"""Seed the demo account's data layer: S3, KMS, RDS, DynamoDB, ElastiCache, secrets.

Both accounts contain the same stores, with the mistakes an audit typically
finds beside correct configuration:

- S3, with bucket names that end in the account id:

  - ``northwind-payments-statements`` is confidential and uses SSE-KMS.
  - ``northwind-customer-exports`` is confidential but uses SSE-S3.
  - ``northwind-web-assets`` has a public-read bucket policy.
  - ``northwind-press-kit`` in eu-west-1 has a public-read ACL, which its
    own Block Public Access settings ignore.
  - ``northwind-legacy-reports`` in eu-west-1 is restricted and has no
    default encryption.
  - ``northwind-marketing-archive`` lies in us-east-1, outside the approved
    regions.

- KMS: the ledger key rotates, and so does the payments key in production.
  The orders key does not. A signing key and a disabled key are not judged.
- RDS: ``northwind-payments-db`` and ``northwind-ledger-dr`` are private and
  encrypted with customer-managed keys. The production
  ``northwind-reporting-db`` and the sandbox ``northwind-experiments-db`` are
  public, unencrypted and in subnets routed to the internet gateway.
- DynamoDB: ``payments`` and ``audit-events`` use customer-managed keys.
  ``sessions`` and, in us-east-1, ``marketing-events`` use the AWS-owned key.
- ElastiCache: ``sessions-cache`` encrypts at rest and requires TLS,
  ``rate-limiter`` encrypts nothing, and ``sessions-cache-dr`` still accepts
  plaintext connections.
- Secrets Manager: the database master secrets rotate, ``payments/stripe``
  does not.

Production turns on all four account-level S3 Block Public Access settings,
so its public web-assets policy has no effect. The sandbox turns none on.

The RDS instances use the subnets that ``seed_network`` creates, so it must
run first. Seeding calls mutating APIs, expects a fresh simulated account
such as a moto server, and is not idempotent. Every password is a placeholder.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import boto3

from auditbook.checks.context import route_s3control_to_ip_endpoint

logger = logging.getLogger(__name__)

PRIMARY_REGION = "eu-west-2"
RECOVERY_REGION = "eu-west-1"
# Marketing kept its archive in the default region, which is not approved.
UNAPPROVED_REGION = "us-east-1"
VARIANTS = ("production", "sandbox")

CLASSIFICATION_TAG = "data-classification"
PLACEHOLDER_PASSWORD = "demo-only-not-a-password"
ALL_PUBLIC_ACCESS_BLOCKED = {
    "BlockPublicAcls": True,
    "IgnorePublicAcls": True,
    "BlockPublicPolicy": True,
    "RestrictPublicBuckets": True,
}


def seed(session: boto3.Session, account_id: str, variant: str) -> None:
    """Create the demo data stores in eu-west-2, eu-west-1 and us-east-1.

    Args:
        session: the session whose endpoint and credentials reach the simulator.
        account_id: the simulated account, used in bucket names.
        variant: ``production`` or ``sandbox``. The sandbox leaves S3 Block
            Public Access off, does not rotate its payments key and runs a
            public experiments database.

    Raises:
        ValueError: the variant is not one of ``production`` or ``sandbox``.
        LookupError: the network that ``seed_network`` creates is missing.
    """
    if variant not in VARIANTS:
        raise ValueError(
            f"variant {variant!r} is invalid; expected one of {', '.join(VARIANTS)}"
        )

    keys = _seed_keys(session, variant)
    _seed_buckets(session, account_id, variant, keys)
    _seed_databases(session, variant, keys)
    _seed_tables(session, keys)
    _seed_caches(session, keys)
    _seed_secrets(session)
    logger.info("seeded the %s data stores of account %s", variant, account_id)


def _seed_keys(session: boto3.Session, variant: str) -> dict[str, str]:
    primary = session.client("kms", region_name=PRIMARY_REGION)
    recovery = session.client("kms", region_name=RECOVERY_REGION)
    keys = {
        "payments": _create_key(
            primary, "northwind-payments", rotate=variant == "production"
        ),
        "orders": _create_key(primary, "northwind-orders", rotate=False),
        "ledger": _create_key(recovery, "northwind-ledger-dr", rotate=True),
    }

    # Neither key can rotate automatically, so the rotation check skips both.
    _create_key(
        primary,
        "northwind-invoice-signing",
        rotate=False,
        KeySpec="RSA_2048",
        KeyUsage="SIGN_VERIFY",
    )
    retired = _create_key(primary, "northwind-retired-2022", rotate=False)
    primary.disable_key(KeyId=retired.rsplit("/", 1)[-1])
    return keys


def _create_key(client: Any, alias: str, rotate: bool, **kwargs: Any) -> str:
    """Create a key with an alias and return its ARN."""
    key = client.create_key(Description=f"{alias} data key", **kwargs)["KeyMetadata"]
    client.create_alias(AliasName=f"alias/{alias}", TargetKeyId=key["KeyId"])
    if rotate:
        client.enable_key_rotation(KeyId=key["KeyId"])
    return key["Arn"]


def _seed_buckets(
    session: boto3.Session, account_id: str, variant: str, keys: dict[str, str]
) -> None:
    primary = session.client("s3", region_name=PRIMARY_REGION)
    recovery = session.client("s3", region_name=RECOVERY_REGION)
    unapproved = session.client("s3", region_name=UNAPPROVED_REGION)

    # Amazon S3 applies SSE-S3 to every bucket without a configuration of its
    # own, but moto 5.2 does not, so the seed sets it where S3 would.
    statements = _create_bucket(
        primary, f"northwind-payments-statements-{account_id}", "confidential"
    )
    _encrypt(primary, statements, keys["payments"])
    primary.put_public_access_block(
        Bucket=statements, PublicAccessBlockConfiguration=ALL_PUBLIC_ACCESS_BLOCKED
    )

    exports = _create_bucket(
        primary, f"northwind-customer-exports-{account_id}", "confidential"
    )
    _encrypt(primary, exports)

    assets = _create_bucket(primary, f"northwind-web-assets-{account_id}", "public")
    _encrypt(primary, assets)
    primary.put_bucket_policy(Bucket=assets, Policy=json.dumps(_public_read(assets)))

    press_kit = _create_bucket(
        recovery,
        f"northwind-press-kit-{account_id}",
        "public",
        ObjectOwnership="ObjectWriter",
    )
    _encrypt(recovery, press_kit)
    recovery.put_bucket_acl(Bucket=press_kit, ACL="public-read")
    recovery.put_public_access_block(
        Bucket=press_kit,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
        },
    )

    _create_bucket(recovery, f"northwind-legacy-reports-{account_id}", "restricted")

    archive = _create_bucket(
        unapproved, f"northwind-marketing-archive-{account_id}", "internal"
    )
    _encrypt(unapproved, archive)

    # Turned on last: BlockPublicPolicy would reject the web-assets policy.
    if variant == "production":
        control = session.client("s3control", region_name=PRIMARY_REGION)
        route_s3control_to_ip_endpoint(control)
        control.put_public_access_block(
            AccountId=account_id,
            PublicAccessBlockConfiguration=ALL_PUBLIC_ACCESS_BLOCKED,
        )


def _create_bucket(client: Any, name: str, classification: str, **kwargs: Any) -> str:
    region = client.meta.region_name
    if region != "us-east-1":
        kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
    client.create_bucket(Bucket=name, **kwargs)
    client.put_bucket_tagging(
        Bucket=name,
        Tagging={"TagSet": [{"Key": CLASSIFICATION_TAG, "Value": classification}]},
    )
    return name


def _encrypt(client: Any, bucket: str, key_arn: str | None = None) -> None:
    if key_arn:
        default = {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key_arn}
    else:
        default = {"SSEAlgorithm": "AES256"}
    client.put_bucket_encryption(
        Bucket=bucket,
        ServerSideEncryptionConfiguration={
            "Rules": [
                {
                    "ApplyServerSideEncryptionByDefault": default,
                    "BucketKeyEnabled": key_arn is not None,
                }
            ]
        },
    )


def _public_read(bucket: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "PublicWebsiteRead",
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{bucket}/*",
            }
        ],
    }


def _seed_databases(session: boto3.Session, variant: str, keys: dict[str, str]) -> None:
    primary = session.client("rds", region_name=PRIMARY_REGION)
    primary_subnets = _subnets(
        session.client("ec2", region_name=PRIMARY_REGION), f"{variant}-main"
    )
    primary.create_db_subnet_group(
        DBSubnetGroupName="northwind-db-private",
        DBSubnetGroupDescription="Database tier, no internet route",
        SubnetIds=[primary_subnets["db-a"], primary_subnets["db-b"]],
    )
    primary.create_db_subnet_group(
        DBSubnetGroupName="northwind-db-public",
        DBSubnetGroupDescription="Web tier subnets, routed to the internet gateway",
        SubnetIds=[primary_subnets["web-a"], primary_subnets["web-b"]],
    )
    _create_instance(
        primary,
        "northwind-payments-db",
        "postgres",
        "northwind-db-private",
        StorageEncrypted=True,
        KmsKeyId=keys["payments"],
        PubliclyAccessible=False,
    )
    if variant == "production":
        exposed = "northwind-reporting-db"
    else:
        exposed = "northwind-experiments-db"
    _create_instance(
        primary,
        exposed,
        "mysql",
        "northwind-db-public",
        StorageEncrypted=False,
        PubliclyAccessible=True,
    )

    recovery = session.client("rds", region_name=RECOVERY_REGION)
    recovery_subnets = _subnets(
        session.client("ec2", region_name=RECOVERY_REGION), f"{variant}-recovery"
    )
    recovery.create_db_subnet_group(
        DBSubnetGroupName="northwind-dr-private",
        DBSubnetGroupDescription="Recovery database tier",
        SubnetIds=[recovery_subnets["db-a"]],
    )
    _create_instance(
        recovery,
        "northwind-ledger-dr",
        "postgres",
        "northwind-dr-private",
        StorageEncrypted=True,
        KmsKeyId=keys["ledger"],
        PubliclyAccessible=False,
    )


def _subnets(ec2: Any, vpc_name: str) -> dict[str, str]:
    vpcs = ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": [vpc_name]}])
    if not vpcs["Vpcs"]:
        raise LookupError(
            f"VPC {vpc_name!r} not found in {ec2.meta.region_name}; run "
            "seed_network before seed_data"
        )
    subnets = ec2.describe_subnets(
        Filters=[{"Name": "vpc-id", "Values": [vpcs["Vpcs"][0]["VpcId"]]}]
    )["Subnets"]
    by_name = {}
    for subnet in subnets:
        tags = {tag["Key"]: tag["Value"] for tag in subnet.get("Tags", [])}
        by_name[tags.get("Name", subnet["SubnetId"])] = subnet["SubnetId"]
    return by_name


def _create_instance(
    client: Any, name: str, engine: str, subnet_group: str, **kwargs: Any
) -> None:
    # moto 5.2 reports an encrypted instance without a KmsKeyId under a key
    # id that DescribeKey cannot find, so every encrypted instance names one.
    client.create_db_instance(
        DBInstanceIdentifier=name,
        DBInstanceClass="db.t3.medium",
        Engine=engine,
        MasterUsername="northwind_admin",
        MasterUserPassword=PLACEHOLDER_PASSWORD,
        AllocatedStorage=50,
        DBSubnetGroupName=subnet_group,
        **kwargs,
    )


def _seed_tables(session: boto3.Session, keys: dict[str, str]) -> None:
    # A table given SSEType KMS without a key makes moto 5.2 create a
    # "default" key that it reports as customer-managed, where AWS would use
    # its AWS-managed aws/dynamodb key. The seed names a key for each.
    _create_table(session, PRIMARY_REGION, "payments", keys["orders"])
    _create_table(session, PRIMARY_REGION, "sessions")
    _create_table(session, RECOVERY_REGION, "audit-events", keys["ledger"])
    _create_table(session, UNAPPROVED_REGION, "marketing-events")


def _create_table(
    session: boto3.Session, region: str, name: str, key_arn: str | None = None
) -> None:
    kwargs: dict[str, Any] = {}
    if key_arn:
        kwargs["SSESpecification"] = {
            "Enabled": True,
            "SSEType": "KMS",
            "KMSMasterKeyId": key_arn,
        }
    session.client("dynamodb", region_name=region).create_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
        **kwargs,
    )


def _seed_caches(session: boto3.Session, keys: dict[str, str]) -> None:
    primary = session.client("elasticache", region_name=PRIMARY_REGION)
    _create_cache(
        primary,
        "sessions-cache",
        AtRestEncryptionEnabled=True,
        KmsKeyId=keys["payments"],
        TransitEncryptionEnabled=True,
        TransitEncryptionMode="required",
    )
    _create_cache(primary, "rate-limiter")

    # Half-way through a migration to TLS: "preferred" still accepts plaintext.
    _create_cache(
        session.client("elasticache", region_name=RECOVERY_REGION),
        "sessions-cache-dr",
        AtRestEncryptionEnabled=True,
        TransitEncryptionEnabled=True,
        TransitEncryptionMode="preferred",
    )


def _create_cache(client: Any, name: str, **kwargs: Any) -> None:
    client.create_replication_group(
        ReplicationGroupId=name,
        ReplicationGroupDescription=f"{name} (Redis OSS)",
        Engine="redis",
        CacheNodeType="cache.t3.small",
        NumCacheClusters=2,
        **kwargs,
    )


def _seed_secrets(session: boto3.Session) -> None:
    primary = session.client("secretsmanager", region_name=PRIMARY_REGION)
    _create_secret(primary, "payments/db-master", rotate_days=30)
    _create_secret(primary, "payments/stripe")
    _create_secret(
        session.client("secretsmanager", region_name=RECOVERY_REGION),
        "ledger/db-master",
        rotate_days=30,
    )


def _create_secret(client: Any, name: str, rotate_days: int | None = None) -> None:
    value = {"username": "northwind_admin", "password": PLACEHOLDER_PASSWORD}
    client.create_secret(Name=name, SecretString=json.dumps(value))
    if rotate_days is None:
        return
    # AWS needs a rotation function here. moto 5.2 completes the rotation
    # without one and records it as the last rotation, which is all the
    # demo needs.
    client.rotate_secret(
        SecretId=name, RotationRules={"AutomaticallyAfterDays": rotate_days}
    )
