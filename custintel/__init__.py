"""custintel: customer intelligence as code (warehouse, semantic layer, churn model, reports)."""

__version__ = "0.1.0"
