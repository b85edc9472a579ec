"""The model card's reliability diagram: an SVG drawn with matplotlib from metrics.json.

Observed churn rate against mean predicted probability in the ten quantile bins of the test set
(`probability_calibration.reliability_test`, sklearn's `calibration_curve`), before and after
calibration, with the diagonal a calibrated model follows and the test ECE / Brier of both in
the legend. The registry writes it as `reliability.svg` next to model_card.md, which shows it;
the Churn Model page draws the same points from the same file (registry table `reliability`).

The SVG is byte-for-byte reproducible: no creation date, fixed element ids (`svg.hashsalt`).
"""

from __future__ import annotations

import io
from typing import Any

from custintel.core.model_registry import RELIABILITY_CHART_FILE

CHART_FILE = RELIABILITY_CHART_FILE
STAGES = {"before": "before calibration (raw)", "after": "after calibration"}


def reliability_svg(metrics: dict[str, Any]) -> str | None:
    """The diagram as SVG text; None when the metrics hold no calibration."""
    calibration = metrics.get("probability_calibration")
    if not calibration:
        return None
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    with matplotlib.rc_context({"svg.hashsalt": "custintel-reliability", "font.size": 9}):
        figure, axes = plt.subplots(figsize=(5.0, 4.2))
        try:
            highest = 0.0
            for stage, label in STAGES.items():
                points = calibration["reliability_test"][stage]
                x = [p["mean_predicted"] for p in points]
                y = [p["observed_rate"] for p in points]
                highest = max(highest, *x, *y)
                test = calibration["test"][stage]
                axes.plot(
                    x,
                    y,
                    marker="o",
                    label=f"{label}: ECE {test['ece']:.4f}, Brier {test['brier']:.4f}",
                )
            axes.plot(
                [0, highest],
                [0, highest],
                linestyle="--",
                color="grey",
                label="perfectly calibrated",
            )
            axes.set_xlabel("mean predicted churn probability (test bin)")
            axes.set_ylabel("observed churn rate")
            axes.set_title("Reliability diagram, test months (10 quantile bins)")
            axes.legend(loc="upper left", fontsize=7)
            figure.tight_layout()
            buffer = io.StringIO()
            figure.savefig(buffer, format="svg", metadata={"Date": None})
        finally:
            plt.close(figure)
    return buffer.getvalue()
