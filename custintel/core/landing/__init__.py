"""The landing contract (what each source system exports) and the loader that enforces it."""

from custintel.core.landing.contract import Column, Contract, Table, load_contract

__all__ = ["Column", "Contract", "Table", "load_contract"]
