"""The compliance frameworks that control documents map to, and their clauses.

Each framework lists the clause ids a control may cite. Titles are given for
the clauses the control library maps; the others carry the bare id so that a
valid but unmapped clause is still accepted.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Framework:
    """A compliance framework and its clauses, in the framework's own order."""

    key: str
    title: str
    clauses: dict[str, str]

    def clause_title(self, clause: str) -> str:
        """Return the clause title, or an empty string when not recorded."""
        return self.clauses.get(clause, "")


def _ids(prefix: str, count: int, start: int = 1) -> list[str]:
    return [f"{prefix}{n}" for n in range(start, start + count)]


# CIS Amazon Web Services Foundations Benchmark v3.0.0 recommendation numbers.
_CIS_TITLES = {
    "1.4": "Ensure no 'root' user account access key exists",
    "1.5": "Ensure MFA is enabled for the 'root' user account",
    "1.6": "Ensure hardware MFA is enabled for the 'root' user account",
    "1.7": "Eliminate use of the 'root' user for administrative and daily tasks",
    "1.8": "Ensure IAM password policy requires minimum length of 14 or greater",
    "1.9": "Ensure IAM password policy prevents password reuse",
    "1.10": "Ensure MFA is enabled for all IAM users that have a console password",
    "1.12": "Ensure credentials unused for 45 days or greater are disabled",
    "1.14": "Ensure access keys are rotated every 90 days or less",
    "1.16": "Ensure IAM policies that allow full '*:*' administrative privileges "
    "are not attached",
    "1.20": "Ensure that IAM Access Analyzer is enabled for all regions",
    "2.1.1": "Ensure S3 Bucket Policy is set to deny HTTP requests",
    "2.1.3": "Ensure all data in Amazon S3 has been discovered, classified and "
    "secured when required",
    "2.1.4": "Ensure that S3 Buckets are configured with 'Block public access'",
    "2.2.1": "Ensure EBS volume encryption is enabled in all regions",
    "2.3.1": "Ensure that encryption-at-rest is enabled for RDS Instances",
    "2.3.3": "Ensure that public access is not given to RDS Instance",
    "3.1": "Ensure CloudTrail is enabled in all regions",
    "3.2": "Ensure CloudTrail log file validation is enabled",
    "3.3": "Ensure AWS Config is enabled in all regions",
    "3.5": "Ensure CloudTrail logs are encrypted at rest using KMS CMKs",
    "3.6": "Ensure rotation for customer-created symmetric CMKs is enabled",
    "3.7": "Ensure VPC flow logging is enabled in all VPCs",
    "4.3": "Ensure usage of the 'root' account is monitored",
    "4.4": "Ensure IAM policy changes are monitored",
    "4.6": "Ensure AWS Management Console authentication failures are monitored",
    "4.10": "Ensure security group changes are monitored",
    "4.16": "Ensure AWS Security Hub is enabled",
    "5.2": "Ensure no security groups allow ingress from 0.0.0.0/0 to remote "
    "server administration ports",
    "5.3": "Ensure no security groups allow ingress from ::/0 to remote server "
    "administration ports",
    "5.4": "Ensure the default security group of every VPC restricts all traffic",
}
_CIS_IDS = (
    _ids("1.", 22)
    + _ids("2.1.", 4)
    + ["2.2.1"]
    + _ids("2.3.", 3)
    + ["2.4.1"]
    + _ids("3.", 9)
    + _ids("4.", 16)
    + _ids("5.", 6)
)

# AICPA Trust Services Criteria (2017), common criteria and additional criteria.
_SOC2_TITLES = {
    "CC6.1": "Logical access security software, infrastructure and architectures",
    "CC6.2": "Registration and authorisation of users before access is granted",
    "CC6.3": "Role-based access and least privilege",
    "CC6.6": "Logical access security measures against threats from outside "
    "system boundaries",
    "CC6.7": "Restriction of the transmission, movement and removal of information",
    "CC6.8": "Prevention or detection of unauthorised or malicious software",
    "CC7.1": "Detection of configuration changes that introduce vulnerabilities",
    "CC7.2": "Monitoring of system components for anomalies",
    "CC7.3": "Evaluation of security events",
    "CC7.4": "Response to identified security incidents",
    "CC8.1": "Authorisation, testing and approval of changes",
    "CC9.2": "Assessment and management of vendor and business partner risk",
    "A1.1": "Capacity management to meet availability objectives",
    "C1.1": "Identification and maintenance of confidential information",
    "P4.2": "Retention of personal information",
    "P4.3": "Secure disposal of personal information",
    "P5.1": "Access by data subjects to their personal information",
}
_SOC2_IDS = (
    _ids("CC1.", 5)
    + _ids("CC2.", 3)
    + _ids("CC3.", 4)
    + _ids("CC4.", 2)
    + _ids("CC5.", 3)
    + _ids("CC6.", 8)
    + _ids("CC7.", 5)
    + ["CC8.1"]
    + _ids("CC9.", 2)
    + _ids("A1.", 3)
    + _ids("C1.", 2)
    + _ids("PI1.", 5)
    + ["P1.1"]
    + _ids("P2.", 1)
    + _ids("P3.", 2)
    + _ids("P4.", 3)
    + _ids("P5.", 2)
    + _ids("P6.", 7)
    + _ids("P7.", 1)
    + _ids("P8.", 1)
)

# ISO/IEC 27001:2022 Annex A controls.
_ISO_TITLES = {
    "5.15": "Access control",
    "5.16": "Identity management",
    "5.17": "Authentication information",
    "5.18": "Access rights",
    "5.19": "Information security in supplier relationships",
    "5.20": "Addressing information security within supplier agreements",
    "5.23": "Information security for use of cloud services",
    "5.31": "Legal, statutory, regulatory and contractual requirements",
    "5.34": "Privacy and protection of PII",
    "8.2": "Privileged access rights",
    "8.3": "Information access restriction",
    "8.5": "Secure authentication",
    "8.6": "Capacity management",
    "8.7": "Protection against malware",
    "8.8": "Management of technical vulnerabilities",
    "8.9": "Configuration management",
    "8.12": "Data leakage prevention",
    "8.15": "Logging",
    "8.16": "Monitoring activities",
    "8.20": "Networks security",
    "8.21": "Security of network services",
    "8.22": "Segregation of networks",
    "8.24": "Use of cryptography",
    "8.25": "Secure development life cycle",
    "8.29": "Security testing in development and acceptance",
}
_ISO_IDS = _ids("5.", 37) + _ids("6.", 8) + _ids("7.", 14) + _ids("8.", 34)

# UK GDPR articles cited by the library.
_GDPR_TITLES = {
    "5(1)(f)": "Integrity and confidentiality",
    "5(2)": "Accountability",
    "15": "Right of access by the data subject",
    "17": "Right to erasure",
    "25": "Data protection by design and by default",
    "28": "Processor",
    "32": "Security of processing",
    "44": "General principle for transfers",
    "45": "Transfers on the basis of adequacy regulations",
    "46": "Transfers subject to appropriate safeguards",
}


def _framework(
    key: str, title: str, ids: list[str], titles: dict[str, str]
) -> Framework:
    clauses = {clause: titles.get(clause, "") for clause in ids}
    for clause, clause_title in titles.items():
        clauses.setdefault(clause, clause_title)
    return Framework(key=key, title=title, clauses=clauses)


FRAMEWORKS: dict[str, Framework] = {
    f.key: f
    for f in (
        _framework(
            "cis-aws-3.0.0",
            "CIS AWS Foundations Benchmark v3.0.0",
            _CIS_IDS,
            _CIS_TITLES,
        ),
        _framework(
            "soc2-2017",
            "SOC 2 Trust Services Criteria (2017)",
            _SOC2_IDS,
            _SOC2_TITLES,
        ),
        _framework(
            "iso27001-2022",
            "ISO/IEC 27001:2022 Annex A",
            _ISO_IDS,
            _ISO_TITLES,
        ),
        _framework("uk-gdpr", "UK GDPR", list(_GDPR_TITLES), _GDPR_TITLES),
    )
}
