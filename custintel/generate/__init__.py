"""Sample source generator: simulates a subscription telco and writes the landing contract.

`generate_landing(out_dir, customers, months, start_date, seed, defect_rate)` is the entry point;
see README.md for the simulation, the planted churn causes and the planted defects.
"""

from custintel.generate.report import GenerationReport
from custintel.generate.runner import generate_landing

__all__ = ["GenerationReport", "generate_landing"]
