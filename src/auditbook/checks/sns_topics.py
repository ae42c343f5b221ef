"""Amazon SNS topics as alert destinations: who, if anyone, receives them.

Evidence records the protocols and counts of a topic's subscriptions, never
their endpoints, because an endpoint can be an e-mail address or a phone
number.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from auditbook.checks.context import CheckContext

SNS_PERMISSIONS = ["sns:ListSubscriptionsByTopic"]

# SubscriptionArn values that stand in for the ARN of a subscription that
# cannot deliver: PendingConfirmation is documented for ListSubscriptionsByTopic,
# and Deleted is what SNS has been seen to return after an endpoint unsubscribes.
UNCONFIRMED_SUBSCRIPTION_ARNS = frozenset({"PendingConfirmation", "Deleted"})


@dataclass(frozen=True)
class TopicSubscribers:
    """The subscriptions of one SNS topic, without their endpoints.

    Attributes:
        topic_arn: the topic.
        confirmed: confirmed subscriptions by protocol, for example
            ``{"email": 1, "sqs": 1}``.
        unconfirmed: the number of subscriptions pending confirmation or
            deleted, which deliver nothing.
    """

    topic_arn: str
    confirmed: dict[str, int] = field(default_factory=dict)
    unconfirmed: int = 0

    @property
    def confirmed_count(self) -> int:
        """Return the number of confirmed subscriptions."""
        return sum(self.confirmed.values())

    def to_evidence(self) -> dict[str, Any]:
        """Return the topic's subscriptions as JSON-compatible evidence."""
        return {
            "topic_arn": self.topic_arn,
            "confirmed_subscriptions": self.confirmed_count,
            "confirmed_protocols": dict(sorted(self.confirmed.items())),
            "unconfirmed_subscriptions": self.unconfirmed,
        }


def subscription_count(count: int) -> str:
    """Return a count in words, such as "1 confirmed subscription"."""
    noun = "subscription" if count == 1 else "subscriptions"
    return f"{count} confirmed {noun}"


def is_topic_arn(arn: str) -> bool:
    """Return whether an ARN names an SNS topic."""
    parts = arn.split(":")
    return len(parts) == 6 and parts[0] == "arn" and parts[2] == "sns"


def topic_subscribers(ctx: CheckContext, topic_arn: str) -> TopicSubscribers:
    """List a topic's subscriptions in the topic's own region.

    Raises:
        AwsCallError: ListSubscriptionsByTopic failed.
    """
    region = topic_arn.split(":")[3]
    subscriptions = ctx.call_in(
        region, "sns", "list_subscriptions_by_topic", TopicArn=topic_arn
    ).get("Subscriptions", [])

    confirmed: Counter[str] = Counter()
    unconfirmed = 0
    for subscription in subscriptions:
        if subscription.get("SubscriptionArn") in UNCONFIRMED_SUBSCRIPTION_ARNS:
            unconfirmed += 1
        else:
            confirmed[subscription.get("Protocol", "unknown")] += 1
    return TopicSubscribers(topic_arn, dict(confirmed), unconfirmed)
