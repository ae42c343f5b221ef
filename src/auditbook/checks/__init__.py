"""Checks, one module per AWS service, declared in the registry."""

from auditbook.checks.registry import REGISTRY, CheckSpec, Scope, check, load_checks

__all__ = ["REGISTRY", "CheckSpec", "Scope", "check", "load_checks"]
