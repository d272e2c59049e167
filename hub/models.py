"""Every model, imported in one place so metadata (and Alembic) sees the whole schema."""

from hub.auth import ApiToken, User
from hub.crm.models import Customer
from hub.db import Base
from hub.system import WorkerHeartbeat

metadata = Base.metadata

__all__ = ["ApiToken", "Customer", "User", "WorkerHeartbeat", "metadata"]
