"""Where evaluations are read from and written to.

``reading`` (forecasts from the distributions table), ``table`` (the ``forecast_metrics``
table), ``tracking`` (the MLflow evaluation run), ``recording`` (write an evaluation:
files, table rows, MLflow run).
"""
