"""`--shard i/n`: a deterministic split of a run's planned (sample, epoch) items.

An item belongs to shard `1 + h mod n`, where `h` is a hash of its sample id and epoch alone, so the
split depends on neither the order of the data nor the subset's size, and a resumed shard covers
exactly what it covered before. The shard is part of the run's identity (the `shard` parameter in
`task_params`): a shard never shares a directory or a board cell with the whole run, and
`harness.runner.merge` puts the shards back together.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from harness.errors import ConfigError

SHARD_PARAM = "shard"
_SHARD = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


@dataclass(frozen=True)
class Shard:
    """Shard `index` (1-based) of `count`."""

    index: int
    count: int

    @classmethod
    def parse(cls, text: str) -> Shard:
        match = _SHARD.match(text)
        if match is None or not 1 <= int(match.group(1)) <= int(match.group(2)):
            raise ConfigError(f"--shard {text!r}: give i/n with 1 <= i <= n, e.g. --shard 2/4.")
        return cls(int(match.group(1)), int(match.group(2)))

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def holds(self, sample_id: str, epoch: int) -> bool:
        return shard_of(sample_id, epoch, self.count) == self.index


def shard_of(sample_id: str, epoch: int, count: int) -> int:
    digest = hashlib.sha256(f"shard/{sample_id}/{epoch}".encode()).digest()
    return 1 + int.from_bytes(digest[:8], "big") % count


class Keyed(Protocol):
    @property
    def key(self) -> tuple[str, int]: ...


ItemT = TypeVar("ItemT", bound=Keyed)


def shard_items(items: Sequence[ItemT], shard: Shard | None) -> tuple[list[ItemT], dict[str, str]]:
    """The items of one shard, and the run-identity parameter that says so."""
    if shard is None:
        return list(items), {}
    return [item for item in items if shard.holds(*item.key)], {SHARD_PARAM: str(shard)}
