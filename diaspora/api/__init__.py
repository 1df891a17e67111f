"""Thin API views of the registry: validate input, call a service or selector, serialize.

Who sees whom is decided by the selectors (every person shown comes from
`people_listed_for` or the matching querysets, as `person_card` shapes it); these views
add only the role gates: researchers never reach registry data, only institution staff
and administrators post requests, only administrators run matching and read metrics.
"""

from .matching import *  # noqa: F403
from .obligations import *  # noqa: F403
from .offers import *  # noqa: F403
from .registry import *  # noqa: F403
