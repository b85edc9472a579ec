"""Churn model package: load a customer-level table, split it, train CatBoost against
baselines, evaluate, version in a registry, explain and score.

Modules (each one job): `dataset` (load + column roles + fingerprint), `features` (model input
encoding), `split` (out-of-time or stratified split), `baselines` (rule, logistic regression,
random forest, prior), `train` (CatBoost + baselines in one run), `evaluate` (metrics),
`registry` (versioned model folders), `model_card` (markdown card), `explain` (SHAP reasons),
`score` (apply a registered model), `risk_bands`, `health`, `clv`, `segmentation`,
`writeback` (ml.* tables), `pipeline` (the build's ML step), `cli` (`custintel ml`).
"""
