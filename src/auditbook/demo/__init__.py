"""The built-in demo account: a moto server on 127.0.0.1, seeded realistically.

Two simulated accounts are seeded: ``production`` (moto's default account,
mostly compliant at account level, with compliant and non-compliant
resources) and ``sandbox`` (reached by assuming a role, non-compliant at
account level). Collection reaches them over HTTP through the normal code
path, exactly as it would reach AWS.
"""

from auditbook.demo.environment import (
    DEMO_ACCOUNTS,
    DEMO_REGIONS,
    demo_environment,
)

__all__ = ["DEMO_ACCOUNTS", "DEMO_REGIONS", "demo_environment"]
