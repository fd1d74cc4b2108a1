"""The team config: our canonical, versioned format (pydantic v2, one source of truth).

Every model forbids unknown fields so a typo is an error, not a silently ignored
setting. `validate_team_config` turns pydantic errors into `TeamConfigError`
whose entries name the JSON path of the bad field (``participants[0].model.provider``).
The JSON Schema served to editors is `team_config_schema()`.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    field_validator,
    model_validator,
)

from agents_app.text import NUL_REFUSED, nul_path
from webhooks.urlsafety import url_problem

SCHEMA_VERSION = 1
NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$"
# A stored model provider's name (providers.services checks the same pattern when one is saved).
PROVIDER_REF_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
# Key values AutoGen writes when it redacts a SecretStr; treated as "no key given".
REDACTED_KEY = "**********"
# A config names the environment variable holding its key; only *_API_KEY names are allowed so an
# uploaded config cannot make the server send, say, DATABASE_URL as a bearer token to its base_url.
API_KEY_ENV_PATTERN = r"^[A-Z][A-Z0-9_]*_API_KEY$"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ConfigErrorItem(Strict):
    path: str
    message: str


class TeamConfigError(ValueError):
    """A team config (ours or AutoGen's) that cannot be used; `errors` name JSON paths."""

    def __init__(self, errors: list[ConfigErrorItem] | list[dict[str, str]]) -> None:
        self.errors = [e if isinstance(e, ConfigErrorItem) else ConfigErrorItem(**e) for e in errors]
        super().__init__("; ".join(f"{e.path or '$'}: {e.message}" for e in self.errors))


# ---------------------------------------------------------------- models


class ModelInfo(Strict):
    vision: bool = False
    function_calling: bool = True
    json_output: bool = False
    family: str = "unknown"
    structured_output: bool = False
    multiple_system_messages: bool | None = None


class ScriptedToolCall(Strict):
    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)


class ScriptedReply(Strict):
    """One model reply: text, tool calls, or a hand-off (Swarm) by target name."""

    content: str = ""
    tool_calls: list[ScriptedToolCall] = Field(default_factory=list)
    handoff: str | None = None


class ScriptedModel(Strict):
    """Deterministic offline model: the n-th call returns replies[n] (cycling when `loop`)."""

    provider: Literal["scripted"]
    model: str = "scripted"
    replies: list[ScriptedReply | str] = Field(
        min_length=1, description="a reply's text may contain {task}: the user's latest message, quoted short"
    )
    tokens_per_second: float = Field(default=40.0, ge=0, description="0 = unpaced")
    loop: bool = True


# Headers that carry credentials. A config is stored, exported and shown to its owner,
# so a secret in it would leak; keys belong in the server's environment (api_key_env).
SECRET_HEADERS = frozenset({"authorization", "api-key", "x-api-key", "openai-api-key", "proxy-authorization"})


def check_endpoint(url: str | None) -> str | None:
    """A model endpoint is an http(s) URL with a host and no credentials in it: anything else would
    pass here and only fail once a run calls it (`http://a@b/` did)."""
    problem = None if url is None else url_problem(url, allow_private=True)
    if problem is not None:
        raise ValueError(problem)
    return url


def check_headers(headers: dict[str, str]) -> dict[str, str]:
    secret = sorted(name for name in headers if name.lower() in SECRET_HEADERS)
    if secret:
        raise ValueError(
            f"header {secret[0]!r} would store a credential in the config; "
            "put the key in an environment variable and name it in api_key_env"
        )
    return headers


class OpenAIModel(Strict):
    provider: Literal["openai"] = "openai"
    model: str = Field(min_length=1)
    provider_ref: str | None = Field(
        default=None,
        pattern=PROVIDER_REF_PATTERN,
        description="a stored provider (yours or a shared one) by name: it gives the endpoint and key "
        "(an Azure one too), so base_url and api_key_env are not given with it; 'provider' may be omitted",
    )
    base_url: str | None = None
    api_key_env: str = Field(default="OPENAI_API_KEY", pattern=API_KEY_ENV_PATTERN)
    organization: str | None = None
    temperature: float | None = Field(default=None, ge=0, le=2)
    max_tokens: int | None = Field(default=None, gt=0)
    timeout: float = Field(default=60.0, gt=0)
    max_retries: int = Field(default=2, ge=0, le=10)
    default_headers: dict[str, str] = Field(default_factory=dict)
    model_info: ModelInfo | None = None

    _headers = field_validator("default_headers")(check_headers)
    _endpoint = field_validator("base_url", "azure_endpoint", check_fields=False)(check_endpoint)

    @model_validator(mode="after")
    def _ref_alone(self) -> OpenAIModel:
        if self.provider_ref is not None:
            # By value, not by fields set: a stored config is a dump, with every default written out.
            given = [n for n in ("base_url", "organization") if getattr(self, n) is not None]
            if self.api_key_env != "OPENAI_API_KEY":
                given.append("api_key_env")
            if given:
                raise ValueError(
                    f"{given[0]} is not given with provider_ref: the provider {self.provider_ref!r} "
                    "supplies the endpoint and the key"
                )
        return self


class AzureOpenAIModel(Strict):
    provider: Literal["azure_openai"]
    model: str = Field(min_length=1)
    azure_endpoint: str = Field(min_length=1)
    azure_deployment: str | None = None
    api_version: str = Field(min_length=1)
    api_key_env: str = Field(default="AZURE_OPENAI_API_KEY", pattern=API_KEY_ENV_PATTERN)
    temperature: float | None = Field(default=None, ge=0, le=2)
    max_tokens: int | None = Field(default=None, gt=0)
    timeout: float = Field(default=60.0, gt=0)
    max_retries: int = Field(default=2, ge=0, le=10)
    default_headers: dict[str, str] = Field(default_factory=dict)
    model_info: ModelInfo | None = None

    _headers = field_validator("default_headers")(check_headers)
    _endpoint = field_validator("base_url", "azure_endpoint", check_fields=False)(check_endpoint)


def _model_tag(value: Any) -> str | None:
    """`provider` picks the model's kind; a model that names only a provider_ref is an OpenAI-style one
    (the stored provider decides at run start whether it is really Azure)."""
    if isinstance(value, dict):
        if "provider" not in value and "provider_ref" in value:
            return "openai"
        tag = value.get("provider")
        return tag if isinstance(tag, str) else None
    return getattr(value, "provider", None)


ModelConfig = Annotated[
    Annotated[ScriptedModel, Tag("scripted")]
    | Annotated[OpenAIModel, Tag("openai")]
    | Annotated[AzureOpenAIModel, Tag("azure_openai")],
    Discriminator(
        _model_tag,
        custom_error_type="model_provider",
        custom_error_message="give provider ('scripted', 'openai' or 'azure_openai') or provider_ref",
    ),
]


# ---------------------------------------------------------------- agents


class Handoff(Strict):
    target: str = Field(pattern=NAME_PATTERN, description="an agent name, or 'user'")
    description: str = ""
    name: str = ""  # tool name the model calls; default transfer_to_<target>
    message: str = ""

    @model_validator(mode="after")
    def _defaults(self) -> Handoff:
        if not self.name:
            self.name = f"transfer_to_{self.target.lower()}"
        if not self.description:
            self.description = f"Handoff to {self.target}."
        if not self.message:
            self.message = f"Transferred to {self.target}, adopting the role of {self.target} immediately."
        return self


class AssistantAgentConfig(Strict):
    kind: Literal["assistant"]
    name: str = Field(pattern=NAME_PATTERN)
    description: str = "An agent that provides assistance with ability to use tools."
    system_message: str = (
        "You are a helpful AI assistant. Solve tasks using your tools. "
        "Reply with TERMINATE when the task has been completed."
    )
    model: ModelConfig
    tools: list[str] = Field(default_factory=list, description="names of registered server-side tools")
    mcp_servers: list[Annotated[str, Field(pattern=NAME_PATTERN)]] = Field(
        default_factory=list,
        description="names of MCP servers an operator registered; the agent gets every tool they expose",
    )
    tool_approval: Literal["never", "always"] | list[str] | None = Field(
        default=None,
        description="which tool calls wait for a person's approval: never, always, or these tools;"
        " unset: each MCP server's default (registered tools run unasked)",
    )
    handoffs: list[Handoff] = Field(default_factory=list)
    model_client_stream: bool = True
    reflect_on_tool_use: bool = False
    tool_call_summary_format: str = "{result}"
    max_tool_iterations: int = Field(default=1, ge=1, le=20)


class UserProxyAgentConfig(Strict):
    kind: Literal["user_proxy"]
    name: str = Field(pattern=NAME_PATTERN)
    description: str = "A human user"
    input_prompt: str = "Enter your response: "


AgentConfig = Annotated[AssistantAgentConfig | UserProxyAgentConfig, Field(discriminator="kind")]


# ---------------------------------------------------------------- terminations


class MaxMessageTermination(Strict):
    type: Literal["max_message"]
    max_messages: int = Field(ge=1)
    include_agent_event: bool = False


class TextMentionTermination(Strict):
    type: Literal["text_mention"]
    text: str = Field(min_length=1)
    sources: list[str] | None = None


class StopMessageTermination(Strict):
    type: Literal["stop_message"]


class TokenUsageTermination(Strict):
    type: Literal["token_usage"]
    max_total_token: int | None = Field(default=None, ge=1)
    max_prompt_token: int | None = Field(default=None, ge=1)
    max_completion_token: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _one_limit(self) -> TokenUsageTermination:
        if self.max_total_token is None and self.max_prompt_token is None and self.max_completion_token is None:
            raise ValueError("set at least one of max_total_token, max_prompt_token, max_completion_token")
        return self


class TimeoutTermination(Strict):
    type: Literal["timeout"]
    timeout_seconds: float = Field(gt=0)


class HandoffTermination(Strict):
    type: Literal["handoff"]
    target: str = Field(min_length=1)


class SourceMatchTermination(Strict):
    type: Literal["source_match"]
    sources: list[str] = Field(min_length=1)


class TextMessageTermination(Strict):
    type: Literal["text_message"]
    source: str | None = None


class FunctionCallTermination(Strict):
    type: Literal["function_call"]
    function_name: str = Field(min_length=1)


class ExternalTermination(Strict):
    type: Literal["external"]


class CostTermination(Strict):
    """Stop once the run's model calls have cost `max_cost` US dollars or more (checked after each call)."""

    type: Literal["cost"]
    max_cost: float = Field(gt=0, description="US dollars")


class AndTermination(Strict):
    type: Literal["and"]
    conditions: list[TerminationConfig] = Field(min_length=2)


class OrTermination(Strict):
    type: Literal["or"]
    conditions: list[TerminationConfig] = Field(min_length=2)


TerminationConfig = Annotated[
    MaxMessageTermination
    | TextMentionTermination
    | StopMessageTermination
    | TokenUsageTermination
    | TimeoutTermination
    | HandoffTermination
    | SourceMatchTermination
    | TextMessageTermination
    | FunctionCallTermination
    | ExternalTermination
    | CostTermination
    | AndTermination
    | OrTermination,
    Field(discriminator="type"),
]
AndTermination.model_rebuild()
OrTermination.model_rebuild()


# ---------------------------------------------------------------- team


class SelectorSettings(Strict):
    model: ModelConfig
    selector_prompt: str = (
        "You are in a role play game. The following roles are available:\n{roles}.\n"
        "Read the following conversation. Then select the next role from {participants} to play. "
        "Only return the role.\n\n{history}\n\nRead the above conversation. Then select the next role "
        "from {participants} to play. Only return the role."
    )
    allow_repeated_speaker: bool = False
    max_selector_attempts: int = Field(default=3, ge=1, le=10)


class HumanInputSettings(Strict):
    """Server-side deadline for a pending input request, and what happens when it passes."""

    deadline_seconds: float | None = Field(default=None, gt=0)
    on_deadline: Literal["stop", "default_response"] = "stop"
    default_response: str = ""


class TeamConfig(Strict):
    version: Literal[1] = 1
    kind: Literal["round_robin", "selector", "swarm"]
    name: str = Field(default="team", min_length=1, max_length=200)
    description: str = ""
    participants: list[AgentConfig] = Field(min_length=1)
    termination: TerminationConfig | None = None
    max_turns: int | None = Field(default=None, ge=1)
    selector: SelectorSettings | None = Field(default=None, description="required when kind is 'selector'")
    human_input: HumanInputSettings = Field(default_factory=HumanInputSettings)
    emit_team_events: bool = False

    @model_validator(mode="after")
    def _coherent(self) -> TeamConfig:
        names = [p.name for p in self.participants]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"participant names must be unique; repeated: {', '.join(dupes)}")
        if self.kind == "selector" and self.selector is None:
            raise ValueError("a selector team needs 'selector' settings (its model and prompt)")
        if self.kind != "selector" and self.selector is not None:
            raise ValueError(f"'selector' settings only apply to kind 'selector', not {self.kind!r}")
        for p in self.participants:
            if isinstance(p, AssistantAgentConfig):
                for h in p.handoffs:
                    if h.target != "user" and h.target not in names:
                        raise ValueError(f"agent {p.name!r} hands off to unknown agent {h.target!r}")
        return self

    def agent(self, name: str) -> AgentConfig:
        for p in self.participants:
            if p.name == name:
                return p
        raise KeyError(name)


# ---------------------------------------------------------------- helpers


def _format_loc(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif re.fullmatch(r"function-after\[.*\]|tagged-union\[.*\]", part):
            continue
        else:
            out += f".{part}" if out else part
    return out


def errors_from_validation(exc: ValidationError, prefix: str = "") -> list[ConfigErrorItem]:
    items = []
    for err in exc.errors():
        # Discriminated unions insert the tag value into the location; drop it so the
        # path is the JSON path of the document, not pydantic's internal route.
        loc = list(err["loc"])
        cleaned: list[int | str] = []
        for i, part in enumerate(loc):
            if isinstance(part, str) and i > 0 and _is_union_tag(part, loc[i - 1]):
                continue
            cleaned.append(part)
        path = _format_loc(tuple(cleaned))
        if prefix:
            path = f"{prefix}.{path}" if path and not path.startswith("[") else f"{prefix}{path}"
        msg = err["msg"]
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, ") :]
        items.append(ConfigErrorItem(path=path, message=msg))
    return items


_UNION_TAGS = {
    "scripted",
    "openai",
    "azure_openai",
    "assistant",
    "user_proxy",
    "max_message",
    "text_mention",
    "stop_message",
    "token_usage",
    "timeout",
    "handoff",
    "source_match",
    "text_message",
    "function_call",
    "external",
    "cost",
    "and",
    "or",
}


_UNION_FIELDS = {"model", "termination", "participants", "conditions", "replies"}


def _is_union_tag(part: str, previous: int | str) -> bool:
    """True for the tag or member-type name pydantic adds after a union-typed field."""
    if not (isinstance(previous, int) or previous in _UNION_FIELDS):
        return False
    return part in _UNION_TAGS or part in {"str", "ScriptedReply"}


def validate_team_config(data: Any) -> TeamConfig:
    """Parse our canonical format; raise TeamConfigError naming the JSON path of each problem."""
    if not isinstance(data, dict):
        raise TeamConfigError([{"path": "", "message": "a team config must be a JSON object"}])
    refuse_nul_in_document(data)
    try:
        config = TeamConfig.model_validate(data)
    except ValidationError as exc:
        raise TeamConfigError(errors_from_validation(exc)) from None
    _check_tools(config)
    return config


def refuse_nul_in_document(data: Any) -> None:
    """A config is stored as JSON: a NUL in any string or key of it is an error at its path."""
    where = nul_path(data)
    if where is not None:
        raise TeamConfigError([{"path": where, "message": NUL_REFUSED}])


def _check_tools(config: TeamConfig) -> None:
    from agents_app.engine.tools import registry  # registry is Django-free

    errors = []
    for i, p in enumerate(config.participants):
        if isinstance(p, AssistantAgentConfig):
            for j, tool in enumerate(p.tools):
                if registry.get(tool) is None:
                    errors.append(
                        ConfigErrorItem(
                            path=f"participants[{i}].tools[{j}]",
                            message=f"unknown tool {tool!r}; registered tools: {', '.join(registry.names()) or 'none'}",
                        )
                    )
    if errors:
        raise TeamConfigError(errors)


def team_config_schema() -> dict[str, Any]:
    return TeamConfig.model_json_schema()
