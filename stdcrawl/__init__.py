"""stdcrawl: a production crawler for the English edition of Science and Technology Daily."""

__version__ = "0.1.0"
