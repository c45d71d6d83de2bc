"""Policy as data: the model, the loader and the JSON Schema."""

from unsnag.policy.loader import json_schema, load_policy, policy_from_mapping
from unsnag.policy.model import Policy, Rule, TypePolicy

__all__ = ["Policy", "Rule", "TypePolicy", "json_schema", "load_policy", "policy_from_mapping"]
