"""The state store and its ledger: the only memory between runs, and its one writer.

- :mod:`.store`: the SQLite file (what was exported, runs, parts, pending articles);
- :mod:`.ledger`: the one writer: a lake part's records are committed once the part is stored;
- :mod:`.spool`: lake parts waiting to be stored (or committed), kept on local disk between runs;
- :mod:`.rebuild`: a state store rebuilt from the lake alone (``stdcrawl state rebuild``).
"""

from stdcrawl.state.store import Export, Known, Part, Run, Seen, StateError, StateStore

__all__ = ["Export", "Known", "Part", "Run", "Seen", "StateError", "StateStore"]
