"""Several sequences decoded together by the embedded llama.cpp model (continuous batching).

Decoding one sequence on a CPU reads every weight of the model for each token; a batch of sequences
reads them once per step for all of them, so a small model generates several times more tokens per
second on the same cores. Each request gets a slot: its prompt is evaluated in chunks beside the
tokens the other slots are generating, and when it finishes (end of generation, a stop string, its
token limit) the next request takes the slot.

Every request is handled as `Llama.create_chat_completion` handles it (llama-cpp-python 0.3): the
GGUF's chat template formats the messages, the same sampler chain picks each token (greedy at
temperature 0; otherwise top-p, min-p and temperature with the request's seed), and the same rules
stop it and build its text, finish reason and token counts. The sequences live in separate KV-cache
streams, each laid out as if it were decoded alone. The logits are not always bit-identical to a lone
sequence's (the matrix products sum in another order for a batch), so at a near tie greedy decoding
can pick another token: rare, and the reason `parallel: 1` exists for runs that must match a server or
an earlier sequential run token for token.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from harness.backends.base import Admit
from harness.types import Completion, GenerationRequest, Usage


@dataclass
class _Slot:
    index: int
    request: GenerationRequest
    prompt: list[int]
    max_tokens: int
    stop: list[bytes]
    sampler: Any
    started: float
    fed: int = 0
    completion: list[int] = field(default_factory=list)
    multibyte_fix: int = 0

    @property
    def prefilled(self) -> bool:
        return self.fed == len(self.prompt)


class BatchedLlama:
    """Continuous batching over `parallel` slots of `n_ctx` tokens each, on the model of `llm`."""

    def __init__(self, llm: Any, *, parallel: int, n_ctx: int, n_batch: int, model_name: str) -> None:
        import llama_cpp
        from llama_cpp import _internals, llama_chat_format

        # llama-cpp-python's internals are only partly annotated.
        self._llama_cpp: Any = llama_cpp
        self._internals: Any = _internals
        self._llm = llm
        self._model_name = model_name
        self.parallel = parallel
        self.n_ctx = n_ctx
        self.n_batch = n_batch
        params: Any = llama_cpp.llama_context_default_params()
        # Thread counts, attention and cache types as the single-sequence context has them.
        for name, *_ in llama_cpp.llama_context_params._fields_:
            setattr(params, name, getattr(llm.context_params, name))
        params.n_ctx = parallel * n_ctx
        params.n_seq_max = parallel
        params.n_batch = n_batch
        params.n_ubatch = n_batch
        params.kv_unified = False
        self._ctx: Any = self._internals.LlamaContext(model=llm._model, params=params, verbose=False)
        self._batch: Any = self._internals.LlamaBatch(n_tokens=n_batch, embd=0, n_seq_max=1, verbose=False)
        eos, bos = llm.token_eos(), llm.token_bos()
        self._formatter: Any = llama_chat_format.Jinja2ChatFormatter(
            template=llm.metadata["tokenizer.chat_template"],
            eos_token=llm._model.token_get_text(eos) if eos != -1 else "",
            bos_token=llm._model.token_get_text(bos) if bos != -1 else "",
            stop_token_ids=[eos],
        )

    def close(self) -> None:
        self._batch.close()
        self._ctx.close()

    def _sampler(self, request: GenerationRequest) -> Any:
        """The chain `Llama._init_sampler` builds for a chat completion with top_k=0 and min_p=0."""
        config = request.config
        sampler = self._internals.LlamaSampler()
        sampler.add_penalties(
            n_vocab=self._llm.n_vocab(),
            penalty_last_n=self._llm.last_n_tokens_size,
            penalty_repeat=1.0,
            penalty_freq=0.0,
            penalty_present=0.0,
        )
        if config.temperature == 0.0:
            sampler.add_greedy()
        else:
            sampler.add_top_k(0)
            sampler.add_typical(1.0, 1)
            sampler.add_top_p(config.top_p, 1)
            sampler.add_min_p(0.0, 1)
            sampler.add_temp(config.temperature)
            seed = config.seed if config.seed is not None else self._llama_cpp.LLAMA_DEFAULT_SEED
            sampler.add_dist(seed)
        return sampler

    def _open(self, index: int, request: GenerationRequest) -> _Slot | Completion:
        started = time.perf_counter()
        template_stops: list[str] = []
        if request.raw_text:
            # Plain text continued as it is (as `Llama.create_completion` does): no chat template.
            prompt = self._llm.tokenize(request.text.encode("utf-8"), add_bos=True, special=True)
        else:
            formatted = self._formatter(messages=[m.model_dump() for m in request.messages])
            prompt = self._llm.tokenize(
                formatted.prompt.encode("utf-8"), add_bos=not formatted.added_special, special=True
            )
            template_stops = (
                [formatted.stop] if isinstance(formatted.stop, str) else list(formatted.stop or [])
            )
        if len(prompt) >= self.n_ctx:
            return Completion(
                text="",
                error=f"llamacpp: Requested tokens ({len(prompt)}) exceed context window of {self.n_ctx}",
                latency_s=time.perf_counter() - started,
                model=self._model_name,
            )
        stops = list(request.config.stop) + template_stops
        max_tokens = request.config.max_tokens
        if max_tokens <= 0 or max_tokens + len(prompt) >= self.n_ctx:
            max_tokens = self.n_ctx - len(prompt)
        return _Slot(
            index=index,
            request=request,
            prompt=prompt,
            max_tokens=max_tokens,
            stop=[s.encode("utf-8") for s in stops],
            sampler=self._sampler(request),
            started=started,
        )

    def _finish(self, slot: _Slot, text: bytes, reason: str) -> Completion:
        return Completion(
            text=text.decode("utf-8", errors="ignore"),
            finish_reason=reason,
            usage=Usage(input_tokens=len(slot.prompt), output_tokens=len(slot.completion)),
            latency_s=time.perf_counter() - slot.started,
            model=self._model_name,
        )

    def _accept(self, slot: _Slot, token: int) -> Completion | None:
        """Take one sampled token; the completion once the sequence is done (as `Llama` decides it)."""
        detokenize = self._llm.detokenize
        if self._llama_cpp.llama_vocab_is_eog(self._llm._model.vocab, token):
            return self._finish(slot, detokenize(slot.completion, prev_tokens=slot.prompt), "stop")
        slot.completion.append(token)
        text = detokenize(slot.completion, prev_tokens=slot.prompt)
        for k, char in enumerate(text[-3:]):
            k = 3 - k
            for num, pattern in ((2, 192), (3, 224), (4, 240)):
                if num > k and pattern & char == pattern:
                    slot.multibyte_fix = num - k
        if slot.multibyte_fix > 0:
            # An incomplete UTF-8 character: wait for its remaining bytes before looking for stops.
            slot.multibyte_fix -= 1
            return None
        stops = [s for s in slot.stop if s in text]
        if stops:
            return self._finish(slot, text[: text.index(stops[0])], "stop")
        if len(slot.completion) >= slot.max_tokens:
            return self._finish(slot, text, "length")
        return None

    def generate(
        self, requests: Sequence[GenerationRequest], admit: Admit | None = None
    ) -> Iterator[tuple[int, Completion]]:
        waiting = deque(enumerate(requests))
        slots: list[_Slot | None] = [None] * self.parallel
        memory = self._ctx
        try:
            while waiting or any(slots):
                for number, slot in enumerate(slots):
                    while slot is None and waiting:
                        index, request = waiting.popleft()
                        if admit is not None and not admit([index]):
                            waiting.clear()
                            break
                        opened = self._open(index, request)
                        if isinstance(opened, Completion):
                            yield index, opened
                            continue
                        slot = slots[number] = opened
                if not any(slots):
                    return
                for index, completion in self._step(slots):
                    number = next(n for n, s in enumerate(slots) if s is not None and s.index == index)
                    memory.kv_cache_seq_rm(number, -1, -1)
                    slots[number] = None
                    yield index, completion
        finally:
            for number, slot in enumerate(slots):
                if slot is not None:
                    memory.kv_cache_seq_rm(number, -1, -1)

    def _step(self, slots: list[_Slot | None]) -> list[tuple[int, Completion]]:
        """One decode call: the next token of every generating slot, then prompt chunks of the others."""
        batch = self._batch.batch
        count = 0
        sampled: list[tuple[_Slot, int]] = []

        def add(token: int, position: int, sequence: int, logits: bool) -> None:
            nonlocal count
            batch.token[count] = token
            batch.pos[count] = position
            batch.seq_id[count][0] = sequence
            batch.n_seq_id[count] = 1
            batch.logits[count] = logits
            count += 1

        for number, slot in enumerate(slots):
            if slot is not None and slot.prefilled:
                add(slot.completion[-1], len(slot.prompt) + len(slot.completion) - 1, number, True)
                sampled.append((slot, count - 1))
        for number, slot in enumerate(slots):
            if slot is None or slot.prefilled or count >= self.n_batch:
                continue
            chunk = min(self.n_batch - count, len(slot.prompt) - slot.fed)
            for offset in range(chunk):
                position = slot.fed + offset
                last = position == len(slot.prompt) - 1
                add(slot.prompt[position], position, number, last)
                if last:
                    sampled.append((slot, count - 1))
            slot.fed += chunk
        batch.n_tokens = count
        self._ctx.decode(self._batch)
        done = []
        for slot, row in sampled:
            token = slot.sampler.sample(self._ctx, row)
            slot.sampler.accept(token)
            finished = self._accept(slot, token)
            if finished is not None:
                done.append((slot.index, finished))
        return done
