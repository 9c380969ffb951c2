"""The event contract's pandas objects: the columns' dtypes and the accepted time range.

Apart from `columns` and `validate` (names and rules) so that a caller needing only names, such
as the canonical ingest path, imports no pandas; `columns`, `validate` and `schema` still
export these names, built on first use.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import pandas as pd

from vsmml.events.columns import KINDS
from vsmml.events.validate import FUTURE_TOLERANCE, MIN_TIME

KIND_DTYPE: Final = pd.CategoricalDtype(list(KINDS))
TS_DTYPE: Final = pd.DatetimeTZDtype(unit="us", tz="UTC")
STR_DTYPE: Final = pd.StringDtype(na_value=np.nan)
MIN_TS: Final = pd.Timestamp(MIN_TIME)
DEFAULT_FUTURE_TOLERANCE: Final = pd.Timedelta(FUTURE_TOLERANCE)
