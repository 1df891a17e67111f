from .aggregation import *  # noqa: F401,F403
from .official import *  # noqa: F401,F403
from .research import *  # noqa: F401,F403
