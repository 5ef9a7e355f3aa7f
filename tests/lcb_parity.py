# ruff: noqa: E501  (program text is kept one statement per line)
"""The parity suite: common competitive-programming idioms, each with the results upstream's grader gives.

Expected outputs come from plain reference functions (tests/lcb_problems.py style). The upstream results
(`UPSTREAM`) are upstream's own per-test result lists (True, -1 process lost or global time-out, -2 wrong
answer, -3 time limit, -4 runtime or load error), derived by running `codegen_metrics` of
LiveCodeBench/LiveCodeBench at commit 28fef95ea8c9f7a547c8329f2cd3d32b92c1fa24 on exactly these programs
and problems, outside this project: a checkout of that commit in a scratch folder, Debian's Python 3.11.2
in a virtual environment holding what its grading code imports (numpy 2.4.6, tqdm 4.70.1), `timeout=2`,
`num_process_evaluate=2`. Programs and problems were exported with `python -m tests.lcb_parity`.
"""

from __future__ import annotations

import decimal
import json
import sys
from collections import Counter
from typing import Any

from tests.lcb_problems import PROBLEMS, Problem

TIMEOUT_S = 2.0


def _max_of_list(text: str) -> str:
    lines = text.split("\n")
    return f"{max(map(int, lines[1].split()))}\n"


def _pair_sums(text: str) -> str:
    lines = text.split("\n")
    count = int(lines[0])
    return "".join(f"{sum(map(int, lines[1 + i].split()))}\n" for i in range(count))


def _mean_six(text: str) -> str:
    values = list(map(int, text.split()[1:]))
    return f"{sum(values) / len(values):.6f}\n"


def _power_of_two(text: str) -> str:
    # Through Decimal: no digit limit applies, whatever the test process's setting.
    return f"{decimal.Decimal(2 ** int(text)):f}\n"


def _pair_indices(nums: list[int], target: int) -> list[int]:
    seen: dict[int, int] = {}
    for index, value in enumerate(nums):
        if target - value in seen:
            return [seen[target - value], index]
        seen[value] = index
    return []


def _halves(nums: list[int]) -> float:
    return sum(nums) / 2


def _power(base: int, exponent: int) -> int:
    return int(base**exponent)


def _counts(words: list[str]) -> dict[str, int]:
    return dict(Counter(words))


PARITY_PROBLEMS: list[Problem] = [
    Problem(
        "parity_max",
        "Maximum",
        "N, then N integers on the next line. Print the largest.",
        "atcoder",
        "easy",
        "2024-08-03T12:00:00",
        ["3\n1 5 2\n", "1\n-7\n", "5\n4 4 9 4 4\n"],
        _max_of_list,
        {},
    ),
    Problem(
        "parity_lines",
        "Pair Sums",
        "T, then T lines of two integers. Print each line's sum on a line of its own.",
        "codeforces",
        "easy",
        "2024-08-10T00:00:00",
        ["3\n1 2\n3 4\n5 6\n", "1\n-5 5\n", "2\n100 1\n7 7\n"],
        _pair_sums,
        {},
    ),
    Problem(
        "parity_mean",
        "Mean",
        "N, then N integers. Print their mean with six decimals.",
        "atcoder",
        "medium",
        "2024-08-17T12:00:00",
        ["2\n2 3\n", "3\n1 1 2\n", "1\n10\n"],
        _mean_six,
        {},
    ),
    Problem(
        "parity_power",
        "Power of Two",
        "Print 2 to the power N (N up to 20000).",
        "atcoder",
        "medium",
        "2024-08-24T12:00:00",
        ["10\n", "20000\n"],
        _power_of_two,
        {},
    ),
    Problem(
        "parity_huge_power",
        "Huge Power of Two",
        "Print 2 to the power N (N up to 180000).",
        "atcoder",
        "hard",
        "2024-08-31T12:00:00",
        ["180000\n"],
        _power_of_two,
        {},
    ),
    Problem(
        "parity_pair",
        "Pair Indices",
        "Return the indices of the two numbers in nums that add up to target.",
        "leetcode",
        "easy",
        "2024-09-01T02:30:00",
        [([2, 7, 11, 15], 9), ([3, 2, 4], 6), ([1, 5, 5], 10)],
        _pair_indices,
        {},
        starter_code="class Solution:\n    def pairIndices(self, nums: List[int], target: int) -> List[int]:\n        ",
        func_name="pairIndices",
    ),
    Problem(
        "parity_halves",
        "Half Sum",
        "Return half the sum of nums.",
        "leetcode",
        "easy",
        "2024-09-08T02:30:00",
        [([1, 2],), ([4],), ([1, 2, 3, 4],)],
        _halves,
        {},
        starter_code="class Solution:\n    def halfSum(self, nums: List[int]) -> float:\n        ",
        func_name="halfSum",
    ),
    Problem(
        "parity_power_call",
        "Power",
        "Return base to the power exponent.",
        "leetcode",
        "medium",
        "2024-09-15T02:30:00",
        [(3, 5), (2, 20000)],
        _power,
        {},
        starter_code="class Solution:\n    def power(self, base: int, exponent: int) -> int:\n        ",
        func_name="power",
    ),
    Problem(
        "parity_counts",
        "Word Counts",
        "Return how often each word occurs.",
        "leetcode",
        "medium",
        "2024-09-22T02:30:00",
        [(["a", "b", "a"],), (["x"],)],
        _counts,
        {},
        starter_code="class Solution:\n    def wordCounts(self, words: List[str]) -> Dict[str, int]:\n        ",
        func_name="wordCounts",
    ),
]

MAX_READ_FIRST = "n = int(input())\n"
PAIR = "class Solution:\n    def pairIndices(self, nums, target):\n"
HALF = "class Solution:\n    def halfSum(self, nums):\n"
POWER = "class Solution:\n    def power(self, base, exponent):\n"
COUNTS = "class Solution:\n    def wordCounts(self, words):\n"

# (problem, idiom, program)
PARITY: list[tuple[str, str, str]] = [
    # Reading the input.
    ("parity_max", "input_split", MAX_READ_FIRST + "print(max(map(int, input().split())))\n"),
    (
        "parity_max",
        "sys_stdin_readline",
        "import sys\ninput = sys.stdin.readline\nn = int(input())\nprint(max(map(int, input().split())))\n",
    ),
    (
        "parity_max",
        "readline_rstrip_lambda",
        "import sys\ninput = lambda: sys.stdin.readline().rstrip()\nn = int(input())\nprint(max(map(int, input().split())))\n",
    ),
    (
        "parity_max",
        "from_sys_import_stdin",
        "from sys import stdin\nn = int(stdin.readline())\nprint(max(map(int, stdin.readline().split())))\n",
    ),
    (
        "parity_max",
        "from_sys_import_stdin_read",
        "from sys import stdin\ndata = stdin.read().split()\nprint(max(map(int, data[1:])))\n",
    ),
    (
        "parity_max",
        "stdin_read_split",
        "import sys\ndata = sys.stdin.read().split()\nprint(max(map(int, data[1:])))\n",
    ),
    (
        "parity_max",
        "stdin_read_twice",
        "import sys\nsys.stdin.read()\ndata = sys.stdin.read().split()\nprint(max(map(int, data[1:])))\n",
    ),
    (
        "parity_max",
        "stdin_buffer_read",
        "import sys\ndata = sys.stdin.buffer.read().split()\nprint(max(map(int, data[1:])))\n",
    ),
    (
        "parity_max",
        "stdin_buffer_read_decode",
        "import sys\ndata = sys.stdin.buffer.read().decode().split()\nprint(max(map(int, data[1:])))\n",
    ),
    (
        "parity_max",
        "stdin_buffer_readline",
        "import sys\ninput = sys.stdin.buffer.readline\nn = int(input())\nprint(max(map(int, input().split())))\n",
    ),
    (
        "parity_max",
        "stdin_readlines",
        "import sys\nlines = sys.stdin.readlines()\nprint(max(map(int, lines[1].split())))\n",
    ),
    (
        "parity_max",
        "for_line_in_stdin",
        "import sys\nlines = [line for line in sys.stdin]\nprint(max(map(int, lines[1].split())))\n",
    ),
    ("parity_max", "open_zero", "data = open(0).read().split()\nprint(max(map(int, data[1:])))\n"),
    (
        "parity_max",
        "builtins_open_zero",
        "import builtins\ndata = builtins.open(0).read().split()\nprint(max(map(int, data[1:])))\n",
    ),
    (
        "parity_max",
        "os_read_fd0",
        "import os\ndata = os.read(0, 1 << 20).split()\nprint(max(map(int, data[1:])))\n",
    ),
    (
        "parity_max",
        "fast_io_bytesio",
        "import io, os\ninput = io.BytesIO(os.read(0, os.fstat(0).st_size)).readline\nn = int(input())\nprint(max(map(int, input().split())))\n",
    ),
    ("parity_max", "read_past_the_end", MAX_READ_FIRST + "print(max(map(int, input().split())))\ninput()\n"),
    (
        "parity_lines",
        "readline_loop",
        "import sys\nt = int(sys.stdin.readline())\nfor _ in range(t):\n    a, b = map(int, sys.stdin.readline().split())\n    print(a + b)\n",
    ),
    (
        "parity_lines",
        "stdin_iteration",
        "import sys\nnext(sys.stdin)\nfor line in sys.stdin:\n    print(sum(map(int, line.split())))\n",
    ),
    (
        "parity_lines",
        "readlines_slice",
        "import sys\nfor line in sys.stdin.readlines()[1:]:\n    if line:\n        print(sum(map(int, line.split())))\n",
    ),
    (
        "parity_lines",
        "read_splitlines",
        "import sys\nfor line in sys.stdin.read().splitlines()[1:]:\n    print(sum(map(int, line.split())))\n",
    ),
    (
        "parity_lines",
        "input_loop",
        "for _ in range(int(input())):\n    print(sum(map(int, input().split())))\n",
    ),
    # Exiting.
    ("parity_max", "print_then_exit", MAX_READ_FIRST + "print(max(map(int, input().split())))\nexit()\n"),
    (
        "parity_max",
        "print_then_sys_exit",
        "import sys\n" + MAX_READ_FIRST + "print(max(map(int, input().split())))\nsys.exit(0)\n",
    ),
    ("parity_max", "print_then_quit", MAX_READ_FIRST + "print(max(map(int, input().split())))\nquit()\n"),
    (
        "parity_max",
        "raise_system_exit",
        MAX_READ_FIRST + "print(max(map(int, input().split())))\nraise SystemExit\n",
    ),
    (
        "parity_max",
        "exit_inside_main",
        "def main():\n    n = int(input())\n    print(max(map(int, input().split())))\n    exit(0)\n\nmain()\n",
    ),
    (
        "parity_max",
        "sys_exit_main",
        "import sys\n\ndef main():\n    n = int(input())\n    print(max(map(int, input().split())))\n    return 0\n\nif __name__ == '__main__':\n    sys.exit(main())\n",
    ),
    (
        "parity_max",
        "os_exit",
        "import os\n" + MAX_READ_FIRST + "print(max(map(int, input().split())))\nos._exit(0)\n",
    ),
    (
        "parity_max",
        "exit_before_printing",
        MAX_READ_FIRST + "exit()\nprint(max(map(int, input().split())))\n",
    ),
    # Printing.
    (
        "parity_lines",
        "print_sep_newline",
        "t = int(input())\nout = [sum(map(int, input().split())) for _ in range(t)]\nprint(*out, sep='\\n')\n",
    ),
    (
        "parity_lines",
        "stdout_write_join",
        "import sys\nt = int(input())\nsys.stdout.write('\\n'.join(str(sum(map(int, input().split()))) for _ in range(t)) + '\\n')\n",
    ),
    (
        "parity_lines",
        "stdout_buffer_write",
        "import sys\nt = int(input())\nsys.stdout.buffer.write(''.join(f'{sum(map(int, input().split()))}\\n' for _ in range(t)).encode())\n",
    ),
    (
        "parity_lines",
        "os_write_fd1",
        "import os\nt = int(input())\nos.write(1, ''.join(f'{sum(map(int, input().split()))}\\n' for _ in range(t)).encode())\n",
    ),
    (
        "parity_lines",
        "from_sys_import_stdout",
        "from sys import stdout\nt = int(input())\nfor _ in range(t):\n    stdout.write(f'{sum(map(int, input().split()))}\\n')\n",
    ),
    (
        "parity_lines",
        "print_flush_end",
        "t = int(input())\nfor _ in range(t):\n    print(sum(map(int, input().split())), end='\\n', flush=True)\n",
    ),
    (
        "parity_lines",
        "blank_line_between",
        "t = int(input())\nfor _ in range(t):\n    print(sum(map(int, input().split())))\n    print()\n",
    ),
    (
        "parity_lines",
        "stderr_debugging",
        "import sys\nt = int(input())\nfor _ in range(t):\n    s = sum(map(int, input().split()))\n    print('debug', s, file=sys.stderr)\n    print(s)\n",
    ),
    (
        "parity_mean",
        "six_decimals",
        "n = int(input())\nv = list(map(int, input().split()))\nprint(f'{sum(v) / n:.6f}')\n",
    ),
    (
        "parity_mean",
        "plain_float",
        "n = int(input())\nv = list(map(int, input().split()))\nprint(sum(v) / n)\n",
    ),
    (
        "parity_mean",
        "exponent_notation",
        "n = int(input())\nv = list(map(int, input().split()))\nprint(f'{sum(v) / n:.6e}')\n",
    ),
    (
        "parity_mean",
        "twelve_decimals",
        "n = int(input())\nv = list(map(int, input().split()))\nprint(f'{sum(v) / n:.12f}')\n",
    ),
    # Big integers.
    ("parity_power", "print_big_int", "print(2 ** int(input()))\n"),
    ("parity_power", "str_big_int", "import sys\nsys.stdout.write(str(1 << int(input())) + '\\n')\n"),
    ("parity_huge_power", "print_huge_int", "print(2 ** int(input()))\n"),
    (
        "parity_huge_power",
        "lifts_the_limit",
        "import sys\nsys.set_int_max_str_digits(0)\nprint(2 ** int(input()))\n",
    ),
    ("parity_power_call", "returns_big_int", POWER + "        return base ** exponent\n"),
    (
        "parity_power_call",
        "returns_float",
        POWER + "        return float(base ** exponent) if exponent < 100 else base ** exponent\n",
    ),
    (
        "parity_power_call",
        "lifts_limit_returns_bigger",
        POWER + "        import sys\n        sys.set_int_max_str_digits(0)\n        return 10 ** 5000\n",
    ),
    # Returning values.
    (
        "parity_pair",
        "returns_list",
        PAIR
        + "        seen = {}\n        for i, v in enumerate(nums):\n            if target - v in seen:\n                return [seen[target - v], i]\n            seen[v] = i\n",
    ),
    (
        "parity_pair",
        "returns_tuple",
        PAIR
        + "        seen = {}\n        for i, v in enumerate(nums):\n            if target - v in seen:\n                return seen[target - v], i\n            seen[v] = i\n",
    ),
    (
        "parity_pair",
        "returns_list_of_one_tuple",
        PAIR
        + "        seen = {}\n        for i, v in enumerate(nums):\n            if target - v in seen:\n                return [(seen[target - v], i)][0:1]\n            seen[v] = i\n",
    ),
    ("parity_pair", "returns_generator", PAIR + "        return (i for i in range(2))\n"),
    (
        "parity_pair",
        "returns_sorted_set",
        PAIR
        + "        for i in range(len(nums)):\n            for j in range(i + 1, len(nums)):\n                if nums[i] + nums[j] == target:\n                    return sorted({i, j})\n",
    ),
    (
        "parity_pair",
        "returns_set",
        PAIR
        + "        for i in range(len(nums)):\n            for j in range(i + 1, len(nums)):\n                if nums[i] + nums[j] == target:\n                    return {i, j}\n",
    ),
    (
        "parity_pair",
        "top_level_function",
        "def pairIndices(nums, target):\n    for i in range(len(nums)):\n        for j in range(i + 1, len(nums)):\n            if nums[i] + nums[j] == target:\n                return [i, j]\n",
    ),
    (
        "parity_pair",
        "prints_and_returns",
        PAIR
        + "        print('searching', nums)\n        for i in range(len(nums)):\n            for j in range(i + 1, len(nums)):\n                if nums[i] + nums[j] == target:\n                    return [i, j]\n",
    ),
    ("parity_pair", "exit_in_method", PAIR + "        exit()\n"),
    (
        "parity_pair",
        "state_across_tests",
        "class Solution:\n    calls = 0\n\n    def pairIndices(self, nums, target):\n        Solution.calls += 1\n        if Solution.calls > 2:\n            return []\n        for i in range(len(nums)):\n            for j in range(i + 1, len(nums)):\n                if nums[i] + nums[j] == target:\n                    return [i, j]\n",
    ),
    ("parity_halves", "returns_float", HALF + "        return sum(nums) / 2\n"),
    (
        "parity_halves",
        "returns_int_when_whole",
        HALF + "        s = sum(nums)\n        return s // 2 if s % 2 == 0 else s / 2\n",
    ),
    ("parity_halves", "returns_string", HALF + "        return str(sum(nums) / 2)\n"),
    ("parity_halves", "returns_rounded", HALF + "        return round(sum(nums) / 2)\n"),
    ("parity_halves", "float_error", HALF + "        return sum(x * 0.1 for x in nums) * 5\n"),
    (
        "parity_counts",
        "returns_counter",
        "from collections import Counter\n\n" + COUNTS + "        return Counter(words)\n",
    ),
    (
        "parity_counts",
        "returns_defaultdict",
        COUNTS
        + "        d = defaultdict(int)\n        for w in words:\n            d[w] += 1\n        return d\n",
    ),
    ("parity_counts", "returns_pairs", COUNTS + "        return sorted(Counter(words).items())\n"),
    # Third-party and standard-library imports.
    (
        "parity_max",
        "numpy_max",
        "import numpy as np\nn = int(input())\nprint(np.array(input().split(), dtype=np.int64).max())\n",
    ),
    (
        "parity_max",
        "numpy_loadtxt_stdin",
        "import numpy as np\nimport sys\nn = int(sys.stdin.readline())\nprint(int(np.fromstring(sys.stdin.readline(), dtype=np.int64, sep=' ').max()))\n",
    ),
    (
        "parity_pair",
        "numpy_scalars",
        "import numpy as np\n\n"
        + PAIR
        + "        a = np.array(nums)\n        for i in range(len(a)):\n            for j in range(i + 1, len(a)):\n                if a[i] + a[j] == target:\n                    return [np.int64(i), np.int64(j)]\n",
    ),
    (
        "parity_halves",
        "numpy_float",
        "import numpy as np\n\n" + HALF + "        return np.float64(np.sum(nums)) / 2\n",
    ),
    (
        "parity_max",
        "atcoder_library",
        "from atcoder.dsu import DSU\n" + MAX_READ_FIRST + "print(max(map(int, input().split())))\n",
    ),
    (
        "parity_max",
        "sortedcontainers_absent",
        "from sortedcontainers import SortedList\n"
        + MAX_READ_FIRST
        + "print(SortedList(map(int, input().split()))[-1])\n",
    ),
    # Program structure.
    (
        "parity_max",
        "main_guard",
        "def main():\n    n = int(input())\n    print(max(map(int, input().split())))\n\nif __name__ == '__main__':\n    main()\n",
    ),
    (
        "parity_max",
        "class_solution_in_stdin",
        "class Solution:\n    def solve(self):\n        n = int(input())\n        print(max(map(int, input().split())))\n\nSolution().solve()\n",
    ),
    (
        "parity_max",
        "threading_with_join",
        "import threading, sys\nsys.setrecursionlimit(10 ** 6)\nthreading.stack_size(1 << 26)\n\ndef main():\n    n = int(input())\n    print(max(map(int, input().split())))\n\nt = threading.Thread(target=main)\nt.start()\nt.join()\n",
    ),
    (
        "parity_max",
        "deep_recursion",
        "import sys\nsys.setrecursionlimit(10 ** 6)\n\ndef depth(k):\n    return 0 if k == 0 else 1 + depth(k - 1)\n\nn = int(input())\nvalues = list(map(int, input().split()))\nprint(max(values) + depth(20000) - 20000)\n",
    ),
    ("parity_max", "syntax_error", "n = int(input()\nprint(n)\n"),
    ("parity_max", "name_error", MAX_READ_FIRST + "print(maximum(map(int, input().split())))\n"),
    ("parity_max", "infinite_loop", "while True:\n    pass\n"),
    (
        "parity_max",
        "alarm_disarmed",
        "import signal\nsignal.signal(signal.SIGALRM, signal.SIG_IGN)\nwhile True:\n    pass\n",
    ),
    ("parity_pair", "loop_at_load", "while True:\n    pass\n\n" + PAIR + "        return [0, 1]\n"),
    (
        "parity_pair",
        "wrong_method_name",
        "class Solution:\n    def pair_indices(self, nums, target):\n        return [0, 1]\n",
    ),
    (
        "parity_pair",
        "raises_own_timeout",
        PAIR
        + "        class TimeoutException(Exception):\n            pass\n        raise TimeoutException()\n",
    ),
]

# Upstream's per-test results for each (problem, idiom), from the run described in the module docstring.
UPSTREAM: dict[tuple[str, str], list[bool | int]] = {
    ("parity_max", "input_split"): [True, True, True],
    ("parity_max", "sys_stdin_readline"): [True, True, True],
    ("parity_max", "readline_rstrip_lambda"): [True, True, True],
    ("parity_max", "from_sys_import_stdin"): [True, True, True],
    ("parity_max", "from_sys_import_stdin_read"): [True, True, True],
    ("parity_max", "stdin_read_split"): [True, True, True],
    ("parity_max", "stdin_read_twice"): [True, True, True],
    ("parity_max", "stdin_buffer_read"): [True, True, True],
    ("parity_max", "stdin_buffer_read_decode"): [True, True, True],
    ("parity_max", "stdin_buffer_readline"): [-2],
    ("parity_max", "stdin_readlines"): [True, True, True],
    ("parity_max", "for_line_in_stdin"): [-4],
    ("parity_max", "open_zero"): [-4],
    ("parity_max", "builtins_open_zero"): [True, True, True],
    ("parity_max", "os_read_fd0"): [-4],
    ("parity_max", "fast_io_bytesio"): [-4],
    ("parity_max", "read_past_the_end"): [-4],
    ("parity_max", "print_then_exit"): [True, True, True],
    ("parity_max", "print_then_sys_exit"): [True, True, True],
    ("parity_max", "print_then_quit"): [-4],
    ("parity_max", "raise_system_exit"): [True, True, True],
    ("parity_max", "exit_inside_main"): [True, True, True],
    ("parity_max", "sys_exit_main"): [True, True, True],
    ("parity_max", "os_exit"): [-2],
    ("parity_max", "exit_before_printing"): [-2],
    ("parity_max", "numpy_max"): [True, True, True],
    ("parity_max", "numpy_loadtxt_stdin"): [True, True, True],
    ("parity_max", "atcoder_library"): [-4],
    ("parity_max", "sortedcontainers_absent"): [-4],
    ("parity_max", "main_guard"): [True, True, True],
    ("parity_max", "class_solution_in_stdin"): [-4],
    ("parity_max", "threading_with_join"): [True, True, True],
    ("parity_max", "deep_recursion"): [True, True, True],
    ("parity_max", "syntax_error"): [-4],
    ("parity_max", "name_error"): [-4],
    ("parity_max", "infinite_loop"): [-3],
    ("parity_max", "alarm_disarmed"): [-2],
    ("parity_lines", "readline_loop"): [True, True, True],
    ("parity_lines", "stdin_iteration"): [-4],
    ("parity_lines", "readlines_slice"): [True, True, True],
    ("parity_lines", "read_splitlines"): [True, True, True],
    ("parity_lines", "input_loop"): [True, True, True],
    ("parity_lines", "print_sep_newline"): [True, True, True],
    ("parity_lines", "stdout_write_join"): [True, True, True],
    ("parity_lines", "stdout_buffer_write"): [-4],
    ("parity_lines", "os_write_fd1"): [-2],
    ("parity_lines", "from_sys_import_stdout"): [-2],
    ("parity_lines", "print_flush_end"): [True, True, True],
    ("parity_lines", "blank_line_between"): [-2],
    ("parity_lines", "stderr_debugging"): [True, True, True],
    ("parity_mean", "six_decimals"): [True, True, True],
    ("parity_mean", "plain_float"): [True, -2],
    ("parity_mean", "exponent_notation"): [True, True, True],
    ("parity_mean", "twelve_decimals"): [True, -2],
    ("parity_power", "print_big_int"): [True, True],
    ("parity_power", "str_big_int"): [True, True],
    ("parity_huge_power", "print_huge_int"): [-4],
    ("parity_huge_power", "lifts_the_limit"): [True],
    ("parity_power_call", "returns_big_int"): [True, True],
    ("parity_power_call", "returns_float"): [True, True],
    ("parity_power_call", "lifts_limit_returns_bigger"): [False],
    ("parity_pair", "returns_list"): [True, True, True],
    ("parity_pair", "returns_tuple"): [True, True, True],
    ("parity_pair", "returns_list_of_one_tuple"): [False],
    ("parity_pair", "returns_generator"): [False],
    ("parity_pair", "returns_sorted_set"): [True, True, True],
    ("parity_pair", "returns_set"): [False],
    ("parity_pair", "top_level_function"): [True, True, True],
    ("parity_pair", "prints_and_returns"): [True, True, True],
    ("parity_pair", "exit_in_method"): [-2],
    ("parity_pair", "state_across_tests"): [True, True, False],
    ("parity_pair", "numpy_scalars"): [True, True, True],
    ("parity_pair", "loop_at_load"): [-4],
    ("parity_pair", "wrong_method_name"): [-4],
    ("parity_pair", "raises_own_timeout"): [-3],
    ("parity_halves", "returns_float"): [True, True, True],
    ("parity_halves", "returns_int_when_whole"): [True, True, True],
    ("parity_halves", "returns_string"): [False],
    ("parity_halves", "returns_rounded"): [False],
    ("parity_halves", "float_error"): [False],
    ("parity_halves", "numpy_float"): [True, True, True],
    ("parity_counts", "returns_counter"): [True, True],
    ("parity_counts", "returns_defaultdict"): [True, True],
    ("parity_counts", "returns_pairs"): [False],
}


def parity_problem(question_id: str) -> Problem:
    return {problem.question_id: problem for problem in PARITY_PROBLEMS + PROBLEMS}[question_id]


def export() -> dict[str, Any]:
    """Every problem and program of the fixtures and this suite in upstream's sample format, for the
    run that derives `UPSTREAM` (and the results of tests/lcb_problems.py)."""
    problems = {}
    for problem in PARITY_PROBLEMS + PROBLEMS:
        tests = problem.tests()
        problems[problem.question_id] = {
            "input_output": json.dumps(
                {
                    "inputs": [test["input"] for test in tests],
                    "outputs": [test["output"] for test in tests],
                    "fn_name": problem.func_name,
                }
            )
        }
    programs = [{"question_id": q, "name": n, "code": c} for q, n, c in PARITY]
    programs += [
        {"question_id": problem.question_id, "name": name, "code": code}
        for problem in PROBLEMS
        for name, code in problem.solutions.items()
    ]
    return {"problems": problems, "programs": programs}


if __name__ == "__main__":
    json.dump(export(), sys.stdout)
