"""The code of every registered version (MLflow's models-from-code): sets the served model.

``mlflow.pyfunc.log_model(python_model=<this file>, artifacts={"state": ...})`` copies this
file into the version; ``mlflow.pyfunc.load_model`` runs it, and the model it sets reads
the version's state in ``load_context``. Only the registry logs it; nothing imports it.
"""

from mlflow.models import set_model

from forecast_core.registry.pyfunc import PathSamplerModel

set_model(PathSamplerModel())
