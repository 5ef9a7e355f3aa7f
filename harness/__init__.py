"""leaderboard-harness: faithful LLM benchmark runs, resumable results, and a static leaderboard."""

__version__ = "0.1.0"
