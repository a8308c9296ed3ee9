"""Input data: schemas, loading and validation, weather features, history as of a date."""

from forecast_core.data.history import MarketHistory, trading_steps
from forecast_core.data.loading import MarketDataset, load_dataset, sample_data_path

__all__ = ["MarketDataset", "MarketHistory", "load_dataset", "sample_data_path", "trading_steps"]
