"""Everything MLflow: the model store, the lifecycle, the served model and the runs we log.

``naming`` (every tag, alias, model and experiment name, defined once), ``versions`` (the
one record of a registered version and which version serves a date; no MLflow),
``tracking_server`` (is a URI a server, does it answer; no MLflow), ``client`` (MLflow's
client: searches, aliases, errors), ``store`` (the pipeline's ``ModelStore``: register,
list, load), ``pyfunc`` (the ``mlflow.pyfunc`` model a version holds), ``descriptions``
(the MLflow UI's texts), ``lifecycle`` (``forecast models``: pin, retire, promote),
``evaluation_runs`` and ``monitor_runs`` (the runs ``evaluate`` and ``monitor`` log).

Imports nothing: MLflow loads only with the modules that need it, so the CLI starts
without it.
"""
