import pytest


@pytest.fixture(autouse=True)
def _fresh_expert_index():
    # The per-process matching index would otherwise carry one test's people into the next.
    from diaspora.services.matching import forget_expert_index

    forget_expert_index()
    yield
    forget_expert_index()
