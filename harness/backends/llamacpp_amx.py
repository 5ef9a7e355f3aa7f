"""Keep GGUF weights out of llama.cpp's AMX buffers.

On CPUs with AMX (Intel Sapphire Rapids and later) a llama.cpp build compiled for the host repacks
quantised weights into AMX tiles at load time, and the first batch of more than one token then crashes
the process in `ggml_backend_amx_mul_mat` (ggml-org/llama.cpp#20824, seen with llama-cpp-python 0.3.36
on the SmolLM2 Q4_1 model). Loading with `use_extra_bufts` off keeps the weights in the plain CPU buffer,
where the same model runs; llama-cpp-python has no argument for it, so the default model parameters it
starts from are wrapped. Builds without AMX keep their repacked layouts (which speed up Q4_0 on AVX2 and
ARM), since they are not affected.

`python -m harness.backends.llamacpp_amx ARGS` runs llama-cpp-python's server (`llama_cpp.server`) with
the same setting.
"""

from __future__ import annotations

import runpy
from typing import Any


def keep_weights_off_amx() -> bool:
    """Make every later model load in this process skip AMX repacking; True where that was needed."""
    import llama_cpp
    from llama_cpp import llama_cpp as bindings

    if b"AMX_INT8 = 1" not in llama_cpp.llama_print_system_info():
        return False
    fields = {name for name, *_ in bindings.llama_model_params._fields_}
    if "use_extra_bufts" not in fields:
        return False
    defaults = bindings.llama_model_default_params
    if getattr(defaults, "keeps_weights_off_amx", False):
        return True

    def plain_cpu_params() -> Any:
        params = defaults()
        params.use_extra_bufts = False
        return params

    plain_cpu_params.keeps_weights_off_amx = True  # type: ignore[attr-defined]
    bindings.llama_model_default_params = plain_cpu_params
    return True


if __name__ == "__main__":
    keep_weights_off_amx()
    runpy.run_module("llama_cpp.server", run_name="__main__", alter_sys=True)
