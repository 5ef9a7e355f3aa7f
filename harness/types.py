"""Core value types shared by tasks, backends, the runner, the store and the site.

Everything here is a pydantic model so that `run.json` and `samples.jsonl` are validated on the way in
and out, and so that pandas users see the same field names the code uses.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import date
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    field_validator,
    model_serializer,
    model_validator,
)

Role = Literal["system", "user", "assistant"]
RunStatus = Literal["complete", "partial", "failed"]
# Where a run's numbers come from: generated and scored here, published outputs scored here, or
# per-sample results reported by others (nothing here to score).
Provenance = Literal["run", "imported", "reported"]

# 2: `provenance` is stored; `backend_info` is typed; judge usage is counted apart from the entry's.
SCHEMA_VERSION = 2


# A link a page may offer: http(s) only, with no whitespace or control character a browser would strip
# or reinterpret (`java\tscript:` is `javascript:` to a browser).
_HTTP_URL = re.compile(r"https?://[^\s\x00-\x1f\x7f-\x9f]+", re.IGNORECASE)


def is_http_url(value: object) -> bool:
    if not isinstance(value, str) or _HTTP_URL.fullmatch(value) is None:
        return False
    try:
        return bool(urlsplit(value).netloc)
    except ValueError:  # e.g. an unclosed IPv6 bracket
        return False


def check_http_url(value: str) -> str:
    if not is_http_url(value):
        raise ValueError(f"{value!r} is not an http:// or https:// link (no other kind of link is allowed)")
    return value


HttpUrl = Annotated[str, AfterValidator(check_http_url)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Message(_Strict):
    role: Role
    content: str


class GenerationConfig(_Strict):
    """Decoding parameters. `None` means "the backend's own default" and is never sent."""

    temperature: float = 0.0
    top_p: float = 1.0
    max_tokens: int = 2048
    stop: list[str] = Field(default_factory=list)
    seed: int | None = 0
    system_prompt: str | None = None
    reasoning_effort: Literal["low", "medium", "high"] | None = None
    thinking_budget_tokens: int | None = None

    def merged(self, overrides: dict[str, Any]) -> GenerationConfig:
        """A copy with the non-None `overrides` applied and validated."""
        data = self.model_dump()
        data.update({k: v for k, v in overrides.items() if v is not None})
        return GenerationConfig.model_validate(data)


def _omit_unset_raw_text(value: BaseModel, handler: SerializerFunctionWrapHandler) -> Any:
    """`raw_text` is written only when set, so records and hashes of chat prompts are unchanged."""
    dumped = handler(value)
    if isinstance(dumped, dict) and not dumped.get("raw_text"):
        dumped.pop("raw_text", None)
    return dumped


class GenerationRequest(BaseModel):
    """One chat request. The seed in `config` is already specific to its (sample, epoch).

    `raw_text`: the request is one user message whose content is sent as plain text for the model to
    continue (a completion: no chat template, no special tokens around it), as official scripts that
    prompt base models do. Backends that can take raw text (llama.cpp and vLLM in-process, an
    OpenAI-compatible server's `/completions`) send it so; the others refuse it as an error."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    messages: list[Message]
    config: GenerationConfig
    raw_text: bool = False

    @model_validator(mode="after")
    def _one_user_message(self) -> GenerationRequest:
        if self.raw_text and [m.role for m in self.messages] != ["user"]:
            raise ValueError("a raw-text request is exactly one user message (its text)")
        return self

    @model_serializer(mode="wrap")
    def _serialize(self, handler: SerializerFunctionWrapHandler) -> Any:
        return _omit_unset_raw_text(self, handler)

    @property
    def text(self) -> str:
        """The plain text of a raw-text request."""
        return self.messages[0].content


def check_date_window(start: date | None, end: date | None, *, what: str = "date window") -> None:
    """The one rule for a date window: either bound may be open; the start is not after the end."""
    if start is not None and end is not None and start > end:
        raise ValueError(f"{what}: start {start} is after end {end}")


class Usage(_Strict):
    input_tokens: int = 0
    output_tokens: int = 0
    cached_input_tokens: int = 0
    reasoning_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            cached_input_tokens=self.cached_input_tokens + other.cached_input_tokens,
            reasoning_tokens=self.reasoning_tokens + other.reasoning_tokens,
        )


class Completion(_Strict):
    """One model answer. `text` is the final answer with any reasoning split off into `reasoning`."""

    text: str
    reasoning: str | None = None
    finish_reason: str | None = None
    usage: Usage = Field(default_factory=Usage)
    latency_s: float = 0.0
    model: str | None = None
    error: str | None = None
    error_retryable: bool = False
    cost_usd: float | None = None
    cached: bool = False
    # The response carried no readable token counts, so its cost is unknown (`cost_usd` stays None).
    usage_missing: bool = False


class Sample(_Strict):
    """One benchmark item as loaded from its dataset; `data` keeps the fields the task's prompt needs."""

    id: str
    category: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)


class Prompt(_Strict):
    """What is sent to the model for one (sample, epoch), plus what scoring needs to judge the answer.

    Long shared prefixes (few-shot exemplars) are stored once per run in `run.json` under
    `prompt_prefixes`; `prefix_key` names the prefix that precedes the content of the last user message.
    """

    messages: list[Message]
    target: str
    choices: list[str] = Field(default_factory=list)
    prefix_key: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    # True: the (single, user) message is sent as plain text for the model to continue, with no chat
    # template, where the backend can (see `GenerationRequest.raw_text`). Omitted from records when unset.
    raw_text: bool = False

    @model_serializer(mode="wrap")
    def _serialize(self, handler: SerializerFunctionWrapHandler) -> Any:
        return _omit_unset_raw_text(self, handler)

    def render(self, prefixes: dict[str, str]) -> list[Message]:
        """The full messages with the shared prefix restored."""
        if self.prefix_key is None:
            return list(self.messages)
        prefix = prefixes[self.prefix_key]
        last_user = max(i for i, m in enumerate(self.messages) if m.role == "user")
        rendered = list(self.messages)
        rendered[last_user] = Message(role="user", content=prefix + self.messages[last_user].content)
        return rendered


class Score(_Strict):
    """How one completion scored. `judge_usage` / `judge_cost_usd` count the calls a judge made to
    score it (None when no judge was asked); they are never part of the entry's own usage."""

    value: float
    extracted: str | None = None
    parsed: bool = True
    details: dict[str, Any] = Field(default_factory=dict)
    judge_usage: Usage | None = None
    judge_cost_usd: float | None = None


class SampleRecord(_Strict):
    """One line of `samples.jsonl`: everything about one (sample, epoch)."""

    sample_id: str
    epoch: int = 0
    category: str | None = None
    prompt: Prompt
    completion: Completion
    score: Score | None = None

    @property
    def key(self) -> tuple[str, int]:
        return (self.sample_id, self.epoch)


class Metric(_Strict):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    value: float
    ci_low: float | None = None
    ci_high: float | None = None
    n: int
    # The interval's confidence level when it is not the usual 0.95.
    ci_level: float | None = None


class DataRef(_Strict):
    """Which data a run used: identity (dataset, fingerprint) and where it was read from (source, path)."""

    dataset: str
    revision: str | None = None
    source: Literal["hub", "local", "import"] = "hub"
    path: str | None = None
    fingerprint: str = ""
    # The --data-dir it was read from, so that the command completing an interrupted run can be shown.
    data_dir: str | None = None


class ReportedModel(_Strict):
    """How the source of reported results names and describes the model."""

    display_name: str
    model_name: str | None = None
    style: str | None = None
    release_date: str | None = None
    link: str | None = None


class ImportInfo(_Strict):
    source_file: str
    source_sha256: str
    records_read: int
    records_imported: int
    skipped_malformed: int = 0
    skipped_unknown_id: int = 0
    skipped_duplicate: int = 0
    reported_model: ReportedModel | None = None


class RunSpec(_Strict):
    """The identity of a run. Two runs with equal specs are the same run; its hash names the directory."""

    task: str
    task_version: str
    entry: str
    model: str
    backend: str
    generation: GenerationConfig | None
    epochs: int = 1
    seed: int = 0
    limit: int | None = None
    task_params: dict[str, Any] = Field(default_factory=dict)
    data: DataRef
    imported_from_sha256: str | None = None

    def spec_hash(self) -> str:
        identity = self.model_dump(mode="json")
        # Where the data was read from does not change what was evaluated; its fingerprint does.
        identity["data"] = {"dataset": self.data.dataset, "fingerprint": self.data.fingerprint}
        canonical = json.dumps(identity, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:12]


class Counts(_Strict):
    """`generated` counts every model call made for this run, across resumed invocations; `cached`
    counts the planned samples whose completion came from the request cache."""

    planned: int = 0
    scored: int = 0
    errors: int = 0
    generated: int = 0
    cached: int = 0


class Timings(_Strict):
    """Cumulative over the invocations that generated something. `model_s` is time spent waiting for
    the backend; everything else in `total_s` is the harness's own overhead (data, prompts, scoring)."""

    started_at: str | None = None
    finished_at: str | None = None
    total_s: float = 0.0
    plan_s: float = 0.0
    model_load_s: float = 0.0
    model_s: float = 0.0
    scoring_s: float = 0.0


class ManagedServerInfo(_Strict):
    kind: str
    port: int
    command: list[str]
    startup_s: float


SettingValue = str | int | float | bool | None


class BackendInfo(_Strict):
    """Facts about the backend that produced a run's completions, recorded in run.json.

    `settings` holds what is specific to one backend (context size, threads, parallelism); the named
    fields are shared by several."""

    backend: str
    library: str | None = None
    library_version: str | None = None
    transport: str | None = None
    endpoint: str | None = None
    model_file: str | None = None
    concurrency: int | None = None
    requests_per_minute: float | None = None
    tokens_per_minute: float | None = None
    request_timeout_s: float | None = None
    max_retries: int | None = None
    sampling: str | None = None
    managed_server: ManagedServerInfo | None = None
    settings: dict[str, SettingValue] = Field(default_factory=dict)


# Keys of schema-1 `backend_info` dicts and where they live now.
_V1_LIBRARIES = {"llama_cpp_python": "llama-cpp-python", "anthropic": "anthropic"}
_V1_REPORTED = ("display_name", "model_name", "model_style", "release_date", "link", "source")


def _backend_info_v1(info: dict[str, Any]) -> dict[str, Any]:
    named = set(BackendInfo.model_fields) - {"library", "library_version", "settings"}
    upgraded: dict[str, Any] = {"backend": info.get("backend", "unknown"), "settings": {}}
    for key, value in info.items():
        if key in _V1_LIBRARIES:
            upgraded["library"], upgraded["library_version"] = _V1_LIBRARIES[key], value
        elif key in named:
            upgraded[key] = value
        elif key in _V1_REPORTED:
            continue
        elif isinstance(value, (str, int, float, bool)) or value is None:
            upgraded["settings"][key] = value
        else:
            upgraded["settings"][key] = json.dumps(value, sort_keys=True)
    return upgraded


class GradingInfo(_Strict):
    """How a run's answers were graded by executing them: the isolation in force, workers, limits, and
    the answers that could not be graded."""

    isolation: str
    mechanism: str = ""
    python: str = ""
    workers: int = 1
    timeout_s: float | None = None
    limits: dict[str, int] = Field(default_factory=dict)
    protections: list[str] = Field(default_factory=list)
    namespaces: list[str] = Field(default_factory=list)
    seccomp: bool | None = None
    memory_cap: str | None = None
    importable: list[str] = Field(default_factory=list)
    failed: int = 0
    failures: list[str] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _from_older_runs(cls, data: Any) -> Any:
        # Older run.json files hold a plain dict with a subset of these keys (and perhaps others).
        if isinstance(data, dict):
            return {key: value for key, value in data.items() if key in cls.model_fields}
        return data


class RunResult(_Strict):
    """The content of `run.json`. `usage` and `cost_usd` are the entry's; a judge's calls are counted
    in `judge_usage` and `judge_cost_usd`."""

    schema_version: int = SCHEMA_VERSION
    spec: RunSpec
    spec_hash: str
    provenance: Provenance = "run"
    status: RunStatus
    headline: str = "accuracy"
    metrics: dict[str, Metric] = Field(default_factory=dict)
    categories: dict[str, dict[str, Metric]] = Field(default_factory=dict)
    counts: Counts = Field(default_factory=Counts)
    usage: Usage = Field(default_factory=Usage)
    cost_usd: float | None = None
    judge_usage: Usage | None = None
    judge_cost_usd: float | None = None
    timings: Timings = Field(default_factory=Timings)
    prompt_prefixes: dict[str, str] = Field(default_factory=dict)
    backend_info: BackendInfo | None = None
    # How answers were graded when grading executes them; None when they were not executed.
    grading: GradingInfo | None = None
    imported: ImportInfo | None = None
    notes: list[str] = Field(default_factory=list)
    harness_version: str = ""

    @model_validator(mode="before")
    @classmethod
    def _upgrade(cls, data: Any) -> Any:
        """Read run.json files written with schema 1 (no provenance, untyped backend info)."""
        if not isinstance(data, dict) or data.get("schema_version", SCHEMA_VERSION) >= SCHEMA_VERSION:
            return data
        data = dict(data)
        imported = data.get("imported")
        info = data.get("backend_info") or None
        if "provenance" not in data:
            backend = (data.get("spec") or {}).get("backend")
            data["provenance"] = "reported" if backend == "external" else "imported" if imported else "run"
        if isinstance(imported, dict) and isinstance(info, dict) and "display_name" in info:
            release = info.get("release_date")
            data["imported"] = {
                **imported,
                "reported_model": {
                    "display_name": str(info["display_name"]),
                    "model_name": info.get("model_name"),
                    "style": info.get("model_style"),
                    "release_date": str(release) if release is not None else None,
                    "link": info.get("link"),
                },
            }
        data["backend_info"] = _backend_info_v1(info) if isinstance(info, dict) else None
        data["schema_version"] = SCHEMA_VERSION
        return data

    @field_validator("grading", mode="before")
    @classmethod
    def _no_grading(cls, value: Any) -> Any:
        # Older run.json files hold {} for runs that were not graded by execution.
        return value or None
