"""Predictive models: LightGBM estimators with scikit-learn conventions, calibrated and explained.

`risk.ChangeRiskModel` scores a change's failure risk from just-in-time change metrics and
delivery context; `evaluation` holds the effort-aware metrics and evaluation protocols;
`baselines` the published comparison models (LR-JIT, LApredict). The package does no I/O.
"""
