"""Load, validate and compile a policy file.

Validation happens in two passes: the Pydantic models check shape and cross references,
then every CEL expression of every rule is compiled, so a typo in a rule is reported at
load time with the rule id, never at the first matching event.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import cel
import yaml
from pydantic import ValidationError

from unsnag.errors import PolicyError
from unsnag.policy.model import Policy

DEFAULT_POLICY = "default.yaml"


def _format(exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        loc = ".".join(str(part) for part in err["loc"]) or "(top level)"
        lines.append(f"{loc}: {err['msg'].removeprefix('Value error, ')}")
    return "; ".join(lines)


def check_cel(policy: Policy) -> None:
    """Compile every CEL expression of the policy; raise PolicyError naming the rule."""
    for index, rule in enumerate(policy.rules):
        for name in ("when", "key", "resolve_when"):
            source = getattr(rule, name)
            if source is None:
                continue
            try:
                cel.compile(source)
            except Exception as exc:
                raise PolicyError(
                    f"rules.{index} ({rule.id}).{name}: CEL does not compile: {exc}"
                ) from None


def policy_from_mapping(data: Any, origin: str = "policy") -> Policy:
    if not isinstance(data, dict):
        raise PolicyError(f"{origin}: a policy is a mapping at the top level")
    try:
        policy = Policy.model_validate(data)
    except ValidationError as exc:
        raise PolicyError(f"{origin}: {_format(exc)}") from None
    check_cel(policy)
    return policy


def load_policy(path: str | Path | None = None) -> Policy:
    """Load a policy YAML file, or the default policy shipped in the package."""
    if path is None:
        text = resources.files("unsnag.policy").joinpath(DEFAULT_POLICY).read_text("utf-8")
        origin = "default policy"
    else:
        try:
            text = Path(path).read_text("utf-8")
        except OSError as exc:
            raise PolicyError(f"{path}: cannot read: {exc.strerror}") from None
        origin = str(path)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PolicyError(f"{origin}: not valid YAML: {exc}") from None
    return policy_from_mapping(data, origin)


def json_schema() -> str:
    """The JSON Schema of a policy file, for editors and `unsnag policy schema`."""
    schema = Policy.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "unsnag policy"
    return json.dumps(schema, indent=2, sort_keys=True)
