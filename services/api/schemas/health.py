"""The JSON shape of ``GET /healthz``: the store head and every view's lag."""

from typing import Literal

from pydantic import BaseModel, Field


class ProjectionHealth(BaseModel):
    position: int = Field(description="the last event position this view reflects")
    lag: int = Field(description="how many positions the view is behind the store")
    lag_seconds: float = Field(
        description="age of the oldest event the view has not applied yet (0: caught up)"
    )


class Health(BaseModel):
    status: Literal["ok", "degraded"] = Field(
        description="degraded while a view lags more than OKRGOV_LAG_WARN_SECONDS"
    )
    position: int = Field(description="the last event position the OKR-state view reflects")
    recorded: int = Field(description="the last event position recorded in the store")
    projections: dict[str, ProjectionHealth] = Field(description="every read model, by name")
