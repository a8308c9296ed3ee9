"""Where evaluations are read from and written to.

``reading`` (forecasts from the distributions table), ``table`` (the ``forecast_metrics``
table). The MLflow evaluation run is ``registry.evaluation_runs``.
"""
