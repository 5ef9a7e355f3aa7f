# ruff: noqa: E501  (the reference solutions are program text, kept one statement per line)
"""Our own LiveCodeBench-format problems with reference solutions, and the results upstream's grader gives them.

Expected outputs come from plain Python reference functions here (never from running the candidate
solutions). `python -m tests.lcb_problems` rewrites `tests/data/livecodebench/problems.jsonl` in the hub
row format (public tests as JSON, private tests as base64(zlib(pickle(JSON)))); a test checks that the
committed file matches this module.
"""

from __future__ import annotations

import base64
import json
import pickle
import sys
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

DATA_FILE = Path(__file__).resolve().parent / "data" / "livecodebench" / "problems.jsonl"

INFINITE_LOOP = "while True:\n    pass\n"


@dataclass
class Problem:
    question_id: str
    title: str
    content: str
    platform: str
    difficulty: str
    contest_date: str
    inputs: list[Any]
    reference: Callable[..., Any]
    solutions: dict[str, str]
    starter_code: str = ""
    func_name: str | None = None
    public: int = 1
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def functional(self) -> bool:
        return self.func_name is not None

    def tests(self) -> list[dict[str, str]]:
        # Expected outputs may hold integers past Python's default digit limit (upstream reads 50,000).
        limit = sys.get_int_max_str_digits()
        sys.set_int_max_str_digits(0)
        try:
            return self._tests()
        finally:
            sys.set_int_max_str_digits(limit)

    def _tests(self) -> list[dict[str, str]]:
        tests = []
        for given in self.inputs:
            if self.functional:
                text_in = "\n".join(json.dumps(arg) for arg in given)
                text_out = json.dumps(self.reference(*given))
            else:
                text_in = given
                text_out = self.reference(given)
            tests.append(
                {
                    "input": text_in,
                    "output": text_out,
                    "testtype": "functional" if self.functional else "stdin",
                }
            )
        return tests

    def row(self) -> dict[str, Any]:
        tests = self.tests()
        private = json.dumps(tests[self.public :])
        encoded = base64.b64encode(zlib.compress(pickle.dumps(private, protocol=4))).decode("ascii")
        metadata = {"func_name": self.func_name} if self.functional else {}
        return {
            "question_title": self.title,
            "question_content": self.content,
            "platform": self.platform,
            "question_id": self.question_id,
            "contest_id": self.question_id.split("_")[0],
            "contest_date": self.contest_date,
            "starter_code": self.starter_code,
            "difficulty": self.difficulty,
            "public_test_cases": json.dumps(tests[: self.public]),
            "private_test_cases": encoded,
            "metadata": json.dumps(metadata),
        }


# Reference functions (the ground truth the expected outputs are computed from) -------------------------


def _sum_two(text: str) -> str:
    a, b = map(int, text.split())
    return f"{a + b}\n"


def _max_list(text: str) -> str:
    lines = text.split("\n")
    return f"{max(map(int, lines[1].split()))}\n"


def _vowels(text: str) -> str:
    return f"{sum(ch in 'aeiou' for ch in text.strip())}\n"


def _average(text: str) -> str:
    values = list(map(int, text.split()[1:]))
    return f"{sum(values) / len(values):.6f}\n"


def _abc_swap(text: str) -> str:
    lines = text.split()
    out = []
    for word in lines[1:]:
        differing = sum(a != b for a, b in zip(word, "abc", strict=True))
        out.append("YES" if differing in (0, 2) else "NO")
    return "\n".join(out) + "\n"


def _fib_mod(text: str) -> str:
    n = int(text)
    a, b = 0, 1
    for _ in range(n):
        a, b = b, (a + b) % 1_000_000_007
    return f"{a}\n"


def _grid_paths(text: str) -> str:
    lines = text.split("\n")
    h, w = map(int, lines[0].split())
    grid = lines[1 : 1 + h]
    ways = [[0] * w for _ in range(h)]
    for i in range(h):
        for j in range(w):
            if grid[i][j] == "#":
                continue
            if i == 0 and j == 0:
                ways[i][j] = 1
                continue
            ways[i][j] = ((ways[i - 1][j] if i else 0) + (ways[i][j - 1] if j else 0)) % 1_000_000_007
    return f"{ways[h - 1][w - 1]}\n"


def _reverse_words(text: str) -> str:
    return " ".join(reversed(text.split())) + "\n"


def _matrix(text: str) -> str:
    n = int(text)
    return "".join(" ".join(str(i * j) for j in range(1, n + 1)) + "\n" for i in range(1, n + 1))


def _is_even(text: str) -> str:
    return "YES\n" if int(text) % 2 == 0 else "NO\n"


def _digit_sum(text: str) -> str:
    return f"{sum(int(ch) for ch in text.strip())}\n"


def _count_subsets(text: str) -> str:
    lines = text.split("\n")
    _, target = map(int, lines[0].split())
    values = list(map(int, lines[1].split()))
    counts = [0] * (target + 1)
    counts[0] = 1
    for v in values:
        for s in range(target, v - 1, -1):
            counts[s] += counts[s - v]
    return f"{counts[target]}\n"


def _two_sum(nums: list[int], target: int) -> list[int]:
    seen: dict[int, int] = {}
    for i, v in enumerate(nums):
        if target - v in seen:
            return [seen[target - v], i]
        seen[v] = i
    return []


def _is_palindrome(s: str) -> bool:
    return s == s[::-1]


def _merge(intervals: list[list[int]]) -> list[list[int]]:
    merged: list[list[int]] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return merged


def _lis(nums: list[int]) -> int:
    import bisect

    tails: list[int] = []
    for v in nums:
        i = bisect.bisect_left(tails, v)
        if i == len(tails):
            tails.append(v)
        else:
            tails[i] = v
    return len(tails)


def _islands(grid: list[list[str]]) -> int:
    h, w = len(grid), len(grid[0])
    seen = set()
    count = 0
    for i in range(h):
        for j in range(w):
            if grid[i][j] == "1" and (i, j) not in seen:
                count += 1
                stack = [(i, j)]
                seen.add((i, j))
                while stack:
                    a, b = stack.pop()
                    for x, y in ((a + 1, b), (a - 1, b), (a, b + 1), (a, b - 1)):
                        if 0 <= x < h and 0 <= y < w and grid[x][y] == "1" and (x, y) not in seen:
                            seen.add((x, y))
                            stack.append((x, y))
    return count


def _edit_distance(a: str, b: str) -> int:
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        previous, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (ca != cb))
    return row[-1]


def _word_count(words: list[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for word in words:
        counts[word] = counts.get(word, 0) + 1
    return counts


def _mean(nums: list[int]) -> float:
    return sum(nums) / len(nums)


def _sort_desc(nums: list[int]) -> list[int]:
    return sorted(nums, reverse=True)


def _coin_change(coins: list[int], amount: int) -> int:
    best = [0] + [amount + 1] * amount
    for total in range(1, amount + 1):
        for coin in coins:
            if coin <= total:
                best[total] = min(best[total], best[total - coin] + 1)
    return best[amount] if best[amount] <= amount else -1


# The problems ------------------------------------------------------------------------------------------

SUM_READ = "a, b = map(int, input().split())\n"

PROBLEMS: list[Problem] = [
    Problem(
        "own001_A",
        "A. Sum of Two",
        "Read two integers A and B and print A + B.",
        "atcoder",
        "easy",
        "2023-05-06T12:00:00",
        ["1 2\n", "-5 5\n", "1000000000000 1\n"],
        _sum_two,
        {
            "correct": (SUM_READ + "print(a + b)\n"),
            "wrong": (SUM_READ + "print(a - b)\n"),
            "crash": ("values = input().split()\nprint(int(values[0]) + int(values[5]))\n"),
            "slow": (INFINITE_LOOP),
            "syntax": ("print(int(input() +\n"),
            "exit_call": (SUM_READ + "print(a + b)\nexit()\n"),
            "sys_exit": ("import sys\n" + SUM_READ + "print(a + b)\nsys.exit(0)\n"),
            # Upstream instantiates `Solution` for any program whose text defines it; in a stdin program
            # the class is inside the wrapper function, so loading fails there as here.
            "leetcode_habit": (
                "class Solution:\n    def solve(self):\n        "
                + SUM_READ
                + "        print(a + b)\n\nSolution().solve()\n"
            ),
            "main_guard": (
                "def main():\n    "
                + SUM_READ
                + "    print(a + b)\n\nif __name__ == '__main__':\n    main()\n"
            ),
        },
    ),
    Problem(
        "own002_B",
        "B. Maximum",
        "The first line holds N, the second N integers. Print the largest.",
        "codeforces",
        "easy",
        "2023-06-10T00:00:00",
        ["3\n1 5 2\n", "1\n-7\n", "5\n4 4 4 4 4\n"],
        _max_list,
        {
            "correct": ("n = int(input())\nprint(max(map(int, input().split())))\n"),
            "wrong": ("n = int(input())\nprint(min(map(int, input().split())))\n"),
            "buffer": (
                "import sys\ndata = sys.stdin.buffer.read().split()\nprint(max(map(int, data[1:])))\n"
            ),
            # Upstream's prelude (`from io import *`) binds the real open(), which reads the grader's own
            # empty stdin, not the test input: this fails there as it does here.
            "open_zero": ("data = open(0).read().split()\nprint(max(map(int, data[1:])))\n"),
        },
    ),
    Problem(
        "own003_A",
        "A. Vowels",
        "Print how many of the characters of the lowercase string S are vowels (a, e, i, o, u).",
        "atcoder",
        "easy",
        "2023-07-01T12:00:00",
        ["hello\n", "rhythm\n", "aeiouaeiou\n", "queue\n"],
        _vowels,
        {
            "correct": ("s = input()\nprint(sum(c in 'aeiou' for c in s))\n"),
            "wrong": ("s = input()\nprint(sum(c in 'aeio' for c in s))\n"),
        },
        public=2,
    ),
    Problem(
        "own004_C",
        "C. Average",
        "The first line holds N, the second N integers. Print their average with six decimals.",
        "atcoder",
        "medium",
        "2023-08-05T12:00:00",
        ["2\n2 3\n", "3\n1 1 2\n", "1\n10\n"],
        _average,
        {
            "correct": ("n = int(input())\nv = list(map(int, input().split()))\nprint(f'{sum(v)/n:.6f}')\n"),
            "short_decimals": ("n = int(input())\nv = list(map(int, input().split()))\nprint(sum(v)/n)\n"),
            "off": ("n = int(input())\nv = list(map(int, input().split()))\nprint(sum(v)/n + 0.001)\n"),
        },
    ),
    Problem(
        "own005_A",
        "A. Short Sort Again",
        "The first line holds t; each of the next t lines holds a permutation of 'abc'. Print YES if at "
        "most one swap makes it 'abc', else NO.",
        "codeforces",
        "easy",
        "2023-08-21T00:00:00",
        ["3\nabc\nbca\nacb\n", "2\ncab\ncba\n"],
        _abc_swap,
        {
            "correct": (
                "t = int(input())\nfor _ in range(t):\n    s = input().strip()\n"
                "    d = sum(x != y for x, y in zip(s, 'abc'))\n    print('YES' if d in (0, 2) else 'NO')\n"
            ),
            "lowercase": (
                "t = int(input())\nfor _ in range(t):\n    s = input().strip()\n"
                "    d = sum(x != y for x, y in zip(s, 'abc'))\n    print('yes' if d in (0, 2) else 'no')\n"
            ),
            "missing_line": (
                "t = int(input())\nfor _ in range(t - 1):\n    s = input().strip()\n"
                "    d = sum(x != y for x, y in zip(s, 'abc'))\n    print('YES' if d in (0, 2) else 'NO')\n"
            ),
        },
    ),
    Problem(
        "own006_D",
        "D. Fibonacci Modulo",
        "Print the N-th Fibonacci number modulo 1000000007 (F0 = 0, F1 = 1).",
        "atcoder",
        "medium",
        "2023-10-14T12:00:00",
        ["10\n", "1\n", "90\n"],
        _fib_mod,
        {
            "correct": (
                "n = int(input())\na, b = 0, 1\nfor _ in range(n):\n    a, b = b, (a + b) % 1000000007\nprint(a)\n"
            ),
            "slow": (
                "def f(n):\n    return n if n < 2 else f(n - 1) + f(n - 2)\nprint(f(int(input())) % 1000000007)\n"
            ),
            "no_mod": ("n = int(input())\na, b = 0, 1\nfor _ in range(n):\n    a, b = b, a + b\nprint(a)\n"),
        },
    ),
    Problem(
        "own007_E",
        "E. Grid Paths",
        "H W, then H rows of '.' and '#'. Count right/down paths from the top-left to the bottom-right "
        "avoiding '#', modulo 1000000007.",
        "atcoder",
        "hard",
        "2023-12-02T12:00:00",
        ["2 2\n..\n..\n", "3 3\n...\n.#.\n...\n", "20 20\n" + ("." * 20 + "\n") * 20],
        _grid_paths,
        {
            "correct": (
                "h, w = map(int, input().split())\ng = [input() for _ in range(h)]\nM = 10**9 + 7\n"
                "dp = [[0] * w for _ in range(h)]\nfor i in range(h):\n    for j in range(w):\n"
                "        if g[i][j] == '#':\n            continue\n        if i == 0 and j == 0:\n"
                "            dp[i][j] = 1\n            continue\n"
                "        dp[i][j] = ((dp[i-1][j] if i else 0) + (dp[i][j-1] if j else 0)) % M\n"
                "print(dp[h-1][w-1])\n"
            ),
            "no_mod": (
                "h, w = map(int, input().split())\ng = [input() for _ in range(h)]\n"
                "dp = [[0] * w for _ in range(h)]\nfor i in range(h):\n    for j in range(w):\n"
                "        if g[i][j] == '#':\n            continue\n        if i == 0 and j == 0:\n"
                "            dp[i][j] = 1\n            continue\n"
                "        dp[i][j] = (dp[i-1][j] if i else 0) + (dp[i][j-1] if j else 0)\n"
                "print(dp[h-1][w-1])\n"
            ),
        },
    ),
    Problem(
        "own008_A",
        "A. Reverse Words",
        "Print the words of the line in reverse order, separated by single spaces.",
        "codeforces",
        "easy",
        "2024-01-20T00:00:00",
        ["a b c\n", "hello world\n", "one\n"],
        _reverse_words,
        {
            "correct": ("print(' '.join(input().split()[::-1]))\n"),
            "trailing_space": ("print(' '.join(input().split()[::-1]) + '   ')\n"),
            "not_reversed": ("print(' '.join(input().split()))\n"),
        },
    ),
    Problem(
        "own009_B",
        "B. Multiplication Table",
        "Print the N by N multiplication table, one row per line.",
        "atcoder",
        "medium",
        "2024-02-17T12:00:00",
        ["1\n", "3\n", "5\n"],
        _matrix,
        {
            "correct": (
                "n = int(input())\nfor i in range(1, n + 1):\n    print(*[i * j for j in range(1, n + 1)])\n"
            ),
            "double_spaces_and_blank_line": (
                "n = int(input())\nfor i in range(1, n + 1):\n    print('  '.join(str(i * j) for j in range(1, n + 1)))\nprint()\n"
            ),
            "transposed_wrong": (
                "n = int(input())\nfor i in range(1, n + 1):\n    print(*[i + j for j in range(1, n + 1)])\n"
            ),
        },
    ),
    Problem(
        "own010_A",
        "A. Even or Odd",
        "Print YES if N is even, otherwise NO.",
        "codeforces",
        "easy",
        "2024-04-06T00:00:00",
        ["4\n", "7\n", "0\n"],
        _is_even,
        {
            "correct": ("print('YES' if int(input()) % 2 == 0 else 'NO')\n"),
            "crash_on_zero": ("n = int(input())\nprint('YES' if (n // n) and n % 2 == 0 else 'NO')\n"),
        },
    ),
    Problem(
        "own011_B",
        "B. Digit Sum",
        "Print the sum of the decimal digits of N (up to 100000 digits).",
        "atcoder",
        "easy",
        "2024-06-01T12:00:00",
        ["123\n", "9\n", "9" * 1000 + "\n"],
        _digit_sum,
        {
            "correct": ("print(sum(map(int, input().strip())))\n"),
            "memory_hog": ("buffer = bytearray(10**11)\nprint(sum(map(int, input().strip())))\n"),
        },
    ),
    Problem(
        "own012_F",
        "F. Subset Sums",
        "N T, then N positive integers. Count the subsets summing to exactly T.",
        "atcoder",
        "hard",
        "2024-09-14T12:00:00",
        ["3 3\n1 2 3\n", "4 5\n1 1 1 1\n", "40 20\n" + " ".join(["1"] * 40) + "\n"],
        _count_subsets,
        {
            "correct": (
                "n, t = map(int, input().split())\nv = list(map(int, input().split()))\nc = [1] + [0] * t\n"
                "for x in v:\n    for s in range(t, x - 1, -1):\n        c[s] += c[s - x]\nprint(c[t])\n"
            ),
            "brute_force_slow": (
                "from itertools import combinations\nn, t = map(int, input().split())\n"
                "v = list(map(int, input().split()))\n"
                "print(sum(1 for r in range(n + 1) for c in combinations(v, r) if sum(c) == t))\n"
            ),
        },
    ),
    Problem(
        "own013_G",
        "G. Digit Sum (reading the whole input)",
        "Print the sum of the decimal digits of N.",
        "codeforces",
        "medium",
        "2025-02-08T00:00:00",
        ["5\n", "1234\n"],
        _digit_sum,
        {
            "correct_read": ("import sys\nprint(sum(map(int, sys.stdin.read().strip())))\n"),
            "prints_nothing": ("s = input()\n"),
        },
    ),
    # Functional (LeetCode-style) problems.
    Problem(
        "two-sum-own",
        "Two Sum",
        "Return the indices of the two numbers in nums that add up to target.",
        "leetcode",
        "easy",
        "2023-05-14T02:30:00",
        [([2, 7, 11, 15], 9), ([3, 2, 4], 6), ([3, 3], 6)],
        _two_sum,
        {
            "correct": (
                "class Solution:\n    def twoSum(self, nums: List[int], target: int) -> List[int]:\n"
                "        seen = {}\n        for i, v in enumerate(nums):\n            if target - v in seen:\n"
                "                return [seen[target - v], i]\n            seen[v] = i\n"
            ),
            "tuple_result": (
                "class Solution:\n    def twoSum(self, nums, target):\n        seen = {}\n"
                "        for i, v in enumerate(nums):\n            if target - v in seen:\n"
                "                return (seen[target - v], i)\n            seen[v] = i\n"
            ),
            "wrong_order": (
                "class Solution:\n    def twoSum(self, nums, target):\n        seen = {}\n"
                "        for i, v in enumerate(nums):\n            if target - v in seen:\n"
                "                return [i, seen[target - v]]\n            seen[v] = i\n"
            ),
            "wrong_name": ("class Solution:\n    def two_sum(self, nums, target):\n        return [0, 1]\n"),
        },
        starter_code="class Solution:\n    def twoSum(self, nums: List[int], target: int) -> List[int]:\n        ",
        func_name="twoSum",
    ),
    Problem(
        "valid-palindrome-own",
        "Valid Palindrome",
        "Return true if s reads the same backwards.",
        "leetcode",
        "easy",
        "2023-09-10T02:30:00",
        [("racecar",), ("ab",), ("",)],
        _is_palindrome,
        {
            "correct": (
                "class Solution:\n    def isPalindrome(self, s: str) -> bool:\n        return s == s[::-1]\n"
            ),
            "int_result": (
                "class Solution:\n    def isPalindrome(self, s: str) -> bool:\n        return int(s == s[::-1])\n"
            ),
            "string_result": (
                "class Solution:\n    def isPalindrome(self, s: str) -> bool:\n        return str(s == s[::-1]).lower()\n"
            ),
            "always_equal_object": (
                "class Yes:\n    def __eq__(self, other):\n        return True\n\n"
                "class Solution:\n    def isPalindrome(self, s: str) -> bool:\n        return Yes()\n"
            ),
        },
        starter_code="class Solution:\n    def isPalindrome(self, s: str) -> bool:\n        ",
        func_name="isPalindrome",
    ),
    Problem(
        "merge-intervals-own",
        "Merge Intervals",
        "Merge all overlapping intervals and return them sorted.",
        "leetcode",
        "medium",
        "2023-11-19T02:30:00",
        [([[1, 3], [2, 6], [8, 10]],), ([[1, 4], [4, 5]],), ([[5, 6]],)],
        _merge,
        {
            "correct": (
                "class Solution:\n    def merge(self, intervals: List[List[int]]) -> List[List[int]]:\n"
                "        out = []\n        for s, e in sorted(intervals):\n"
                "            if out and s <= out[-1][1]:\n                out[-1][1] = max(out[-1][1], e)\n"
                "            else:\n                out.append([s, e])\n        return out\n"
            ),
            "nested_tuples": (
                "class Solution:\n    def merge(self, intervals):\n        out = []\n"
                "        for s, e in sorted(intervals):\n            if out and s <= out[-1][1]:\n"
                "                out[-1] = (out[-1][0], max(out[-1][1], e))\n            else:\n"
                "                out.append((s, e))\n        return out\n"
            ),
        },
        starter_code="class Solution:\n    def merge(self, intervals: List[List[int]]) -> List[List[int]]:\n        ",
        func_name="merge",
    ),
    Problem(
        "longest-increasing-subsequence-own",
        "Longest Increasing Subsequence",
        "Return the length of the longest strictly increasing subsequence.",
        "leetcode",
        "medium",
        "2024-03-03T02:30:00",
        [([10, 9, 2, 5, 3, 7, 101, 18],), ([0, 1, 0, 3, 2, 3],), (list(range(60)),)],
        _lis,
        {
            "correct": (
                "import bisect\n\nclass Solution:\n    def lengthOfLIS(self, nums: List[int]) -> int:\n"
                "        tails = []\n        for v in nums:\n            i = bisect.bisect_left(tails, v)\n"
                "            if i == len(tails):\n                tails.append(v)\n            else:\n"
                "                tails[i] = v\n        return len(tails)\n"
            ),
            "exponential": (
                "class Solution:\n    def lengthOfLIS(self, nums: List[int]) -> int:\n"
                "        def best(i, last):\n            if i == len(nums):\n                return 0\n"
                "            skip = best(i + 1, last)\n"
                "            return max(skip, 1 + best(i + 1, nums[i])) if nums[i] > last else skip\n"
                "        return best(0, float('-inf'))\n"
            ),
        },
        starter_code="class Solution:\n    def lengthOfLIS(self, nums: List[int]) -> int:\n        ",
        func_name="lengthOfLIS",
    ),
    Problem(
        "number-of-islands-own",
        "Number of Islands",
        "Count the islands of '1's (4-connected) in the grid.",
        "leetcode",
        "medium",
        "2024-05-12T02:30:00",
        [([["1", "1", "0"], ["0", "1", "0"], ["0", "0", "1"]],), ([["0"]],), ([["1", "0", "1", "0", "1"]],)],
        _islands,
        {
            "correct": (
                "class Solution:\n    def numIslands(self, grid: List[List[str]]) -> int:\n"
                "        h, w = len(grid), len(grid[0])\n        seen = set()\n        n = 0\n"
                "        for i in range(h):\n            for j in range(w):\n"
                "                if grid[i][j] == '1' and (i, j) not in seen:\n                    n += 1\n"
                "                    stack = [(i, j)]\n                    seen.add((i, j))\n"
                "                    while stack:\n                        a, b = stack.pop()\n"
                "                        for x, y in ((a+1, b), (a-1, b), (a, b+1), (a, b-1)):\n"
                "                            if 0 <= x < h and 0 <= y < w and grid[x][y] == '1' and (x, y) not in seen:\n"
                "                                seen.add((x, y))\n                                stack.append((x, y))\n"
                "        return n\n"
            ),
            "key_error": (
                "class Solution:\n    def numIslands(self, grid: List[List[str]]) -> int:\n"
                "        counts = {}\n        return counts['island']\n"
            ),
        },
        starter_code="class Solution:\n    def numIslands(self, grid: List[List[str]]) -> int:\n        ",
        func_name="numIslands",
    ),
    Problem(
        "edit-distance-own",
        "Edit Distance",
        "Return the minimum number of insertions, deletions and substitutions turning word1 into word2.",
        "leetcode",
        "hard",
        "2024-07-21T02:30:00",
        [("horse", "ros"), ("intention", "execution"), ("", "abc")],
        _edit_distance,
        {
            "correct": (
                "class Solution:\n    def minDistance(self, word1: str, word2: str) -> int:\n"
                "        row = list(range(len(word2) + 1))\n        for i, a in enumerate(word1, 1):\n"
                "            prev, row[0] = row[0], i\n            for j, b in enumerate(word2, 1):\n"
                "                prev, row[j] = row[j], min(row[j] + 1, row[j-1] + 1, prev + (a != b))\n"
                "        return row[-1]\n"
            ),
            "length_difference": (
                "class Solution:\n    def minDistance(self, word1: str, word2: str) -> int:\n"
                "        return abs(len(word1) - len(word2))\n"
            ),
        },
        starter_code="class Solution:\n    def minDistance(self, word1: str, word2: str) -> int:\n        ",
        func_name="minDistance",
    ),
    Problem(
        "word-frequency-own",
        "Word Frequency",
        "Return a dictionary mapping each word to how often it occurs.",
        "leetcode",
        "medium",
        "2024-10-06T02:30:00",
        [(["a", "b", "a"],), ([],), (["x"],)],
        _word_count,
        {
            "correct": (
                "from collections import Counter\n\nclass Solution:\n"
                "    def wordCount(self, words: List[str]) -> Dict[str, int]:\n        return dict(Counter(words))\n"
            ),
            "counter_object": (
                "class Solution:\n    def wordCount(self, words: List[str]) -> Dict[str, int]:\n"
                "        return Counter(words)\n"
            ),
            "keys_as_tuples": (
                "class Solution:\n    def wordCount(self, words: List[str]) -> Dict[str, int]:\n"
                "        return {(w,): words.count(w) for w in words}\n"
            ),
        },
        starter_code="class Solution:\n    def wordCount(self, words: List[str]) -> Dict[str, int]:\n        ",
        func_name="wordCount",
    ),
    Problem(
        "mean-value-own",
        "Mean Value",
        "Return the mean of nums.",
        "leetcode",
        "easy",
        "2024-12-01T02:30:00",
        [([1, 2],), ([5],), ([1, 2, 3, 4],)],
        _mean,
        {
            "correct": (
                "class Solution:\n    def meanValue(self, nums: List[int]) -> float:\n        return sum(nums) / len(nums)\n"
            ),
            "rounded": (
                "class Solution:\n    def meanValue(self, nums: List[int]) -> float:\n        return sum(nums) // len(nums)\n"
            ),
            "loop_at_load": (
                INFINITE_LOOP + "class Solution:\n    def meanValue(self, nums):\n        return 0\n"
            ),
        },
        starter_code="class Solution:\n    def meanValue(self, nums: List[int]) -> float:\n        ",
        func_name="meanValue",
    ),
    Problem(
        "sort-descending-own",
        "Sort Descending",
        "Return nums sorted in non-increasing order.",
        "leetcode",
        "easy",
        "2025-01-12T02:30:00",
        [([3, 1, 2],), ([],), ([5, 5, 1],)],
        _sort_desc,
        {
            "correct": (
                "class Solution:\n    def sortDesc(self, nums: List[int]) -> List[int]:\n        return sorted(nums)[::-1]\n"
            ),
            "in_place_none": (
                "class Solution:\n    def sortDesc(self, nums: List[int]) -> List[int]:\n        nums.sort(reverse=True)\n"
            ),
        },
        starter_code="class Solution:\n    def sortDesc(self, nums: List[int]) -> List[int]:\n        ",
        func_name="sortDesc",
    ),
    Problem(
        "coin-change-own",
        "Coin Change",
        "Return the fewest coins that make up amount, or -1.",
        "leetcode",
        "hard",
        "2025-03-16T02:30:00",
        [([1, 2, 5], 11), ([2], 3), ([1], 0)],
        _coin_change,
        {
            "correct": (
                "class Solution:\n    def coinChange(self, coins: List[int], amount: int) -> int:\n"
                "        best = [0] + [amount + 1] * amount\n        for t in range(1, amount + 1):\n"
                "            for c in coins:\n                if c <= t:\n"
                "                    best[t] = min(best[t], best[t - c] + 1)\n"
                "        return best[amount] if best[amount] <= amount else -1\n"
            ),
            "greedy": (
                "class Solution:\n    def coinChange(self, coins: List[int], amount: int) -> int:\n"
                "        n = 0\n        for c in sorted(coins, reverse=True):\n            n += amount // c\n"
                "            amount %= c\n        return n if amount == 0 else -1\n"
            ),
            "recursion_error": (
                "class Solution:\n    def coinChange(self, coins: List[int], amount: int) -> int:\n"
                "        return self.coinChange(coins, amount)\n"
            ),
        },
        starter_code="class Solution:\n    def coinChange(self, coins: List[int], amount: int) -> int:\n        ",
        func_name="coinChange",
    ),
]


@cache
def by_id() -> dict[str, Problem]:
    return {problem.question_id: problem for problem in PROBLEMS}


def jsonl_text() -> str:
    return "".join(json.dumps(problem.row()) + "\n" for problem in PROBLEMS)


# Upstream's per-test results for every reference solution (True, -2 wrong answer on stdin, False wrong
# answer on a functional test, -3 time limit, -4 runtime or load error, [-2] when the grading process was
# lost), derived with the parity suite's run: see tests/lcb_parity.py.
UPSTREAM_RESULTS: dict[tuple[str, str], list[bool | int]] = {
    ("own001_A", "correct"): [True, True, True],
    ("own001_A", "wrong"): [-2],
    ("own001_A", "crash"): [-4],
    ("own001_A", "slow"): [-3],
    ("own001_A", "syntax"): [-4],
    ("own001_A", "exit_call"): [True, True, True],
    ("own001_A", "sys_exit"): [True, True, True],
    ("own001_A", "leetcode_habit"): [-4],
    ("own001_A", "main_guard"): [True, True, True],
    ("own002_B", "correct"): [True, True, True],
    ("own002_B", "wrong"): [-2],
    ("own002_B", "buffer"): [True, True, True],
    ("own002_B", "open_zero"): [-4],
    ("own003_A", "correct"): [True, True, True, True],
    ("own003_A", "wrong"): [True, True, -2],
    ("own004_C", "correct"): [True, True, True],
    ("own004_C", "short_decimals"): [True, -2],
    ("own004_C", "off"): [-2],
    ("own005_A", "correct"): [True, True],
    ("own005_A", "lowercase"): [-2],
    ("own005_A", "missing_line"): [-2],
    ("own006_D", "correct"): [True, True, True],
    ("own006_D", "slow"): [True, True, -3],
    ("own006_D", "no_mod"): [True, True, -2],
    ("own007_E", "correct"): [True, True, True],
    ("own007_E", "no_mod"): [True, True, -2],
    ("own008_A", "correct"): [True, True, True],
    ("own008_A", "trailing_space"): [True, True, True],
    ("own008_A", "not_reversed"): [-2],
    ("own009_B", "correct"): [True, True, True],
    ("own009_B", "double_spaces_and_blank_line"): [True, True, True],
    ("own009_B", "transposed_wrong"): [-2],
    ("own010_A", "correct"): [True, True, True],
    ("own010_A", "crash_on_zero"): [True, True, -4],
    ("own011_B", "correct"): [True, True, True],
    ("own011_B", "memory_hog"): [-4],
    ("own012_F", "correct"): [True, True, True],
    ("own012_F", "brute_force_slow"): [True, True, -3],
    ("own013_G", "correct_read"): [True, True],
    ("own013_G", "prints_nothing"): [-2],
    ("two-sum-own", "correct"): [True, True, True],
    ("two-sum-own", "tuple_result"): [True, True, True],
    ("two-sum-own", "wrong_order"): [False],
    ("two-sum-own", "wrong_name"): [-4],
    ("valid-palindrome-own", "correct"): [True, True, True],
    ("valid-palindrome-own", "int_result"): [True, True, True],
    ("valid-palindrome-own", "string_result"): [False],
    ("valid-palindrome-own", "always_equal_object"): [True, True, True],
    ("merge-intervals-own", "correct"): [True, True, True],
    ("merge-intervals-own", "nested_tuples"): [False],
    ("longest-increasing-subsequence-own", "correct"): [True, True, True],
    ("longest-increasing-subsequence-own", "exponential"): [True, True, -3],
    ("number-of-islands-own", "correct"): [True, True, True],
    ("number-of-islands-own", "key_error"): [-4],
    ("edit-distance-own", "correct"): [True, True, True],
    ("edit-distance-own", "length_difference"): [False],
    ("word-frequency-own", "correct"): [True, True, True],
    ("word-frequency-own", "counter_object"): [True, True, True],
    ("word-frequency-own", "keys_as_tuples"): [False],
    ("mean-value-own", "correct"): [True, True, True],
    ("mean-value-own", "rounded"): [False],
    ("mean-value-own", "loop_at_load"): [-4],
    ("sort-descending-own", "correct"): [True, True, True],
    ("sort-descending-own", "in_place_none"): [False],
    ("coin-change-own", "correct"): [True, True, True],
    ("coin-change-own", "greedy"): [True, True, True],
    ("coin-change-own", "recursion_error"): [-4],
}
# Where this harness deliberately differs from upstream, the results it gives instead, and why.
DELIBERATE: dict[tuple[str, str], tuple[list[bool | int], str]] = {
    ("valid-palindrome-own", "always_equal_object"): (
        [False],
        "returned values are compared by the harness after serialisation, so an object whose __eq__ "
        "always answers True cannot pass",
    ),
}


def known_results() -> list[tuple[str, str, str, list[bool | int]]]:
    """(question_id, solution name, code, the results we must give) for every reference solution."""
    return [
        (
            problem.question_id,
            name,
            code,
            DELIBERATE.get((problem.question_id, name), (UPSTREAM_RESULTS[problem.question_id, name], ""))[0],
        )
        for problem in PROBLEMS
        for name, code in problem.solutions.items()
    ]


if __name__ == "__main__":
    DATA_FILE.parent.mkdir(parents=True, exist_ok=True)
    DATA_FILE.write_text(jsonl_text(), encoding="utf-8")
    print(f"wrote {len(PROBLEMS)} problems to {DATA_FILE}")
