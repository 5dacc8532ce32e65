"""route: send every prompt to the cheapest LLM able to do it well, and prove it did."""

__version__ = "0.1.0"
