"""Moving per-programme details from the shared respondent to memberships hands no programme another's."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("surveys", "0002_waves_panels_invitations")]
AFTER = [("surveys", "0003_membership_fields")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_the_migration_copies_details_only_where_one_programme_holds_the_person():
    apps = migrate(BEFORE)
    Programme = apps.get_model("accounts", "Programme")
    Panel = apps.get_model("surveys", "Panel")
    Respondent = apps.get_model("surveys", "Respondent")
    PanelMember = apps.get_model("surveys", "PanelMember")
    a, b = (Programme.objects.create(slug=s, name=s) for s in ("bolashak", "serpin"))
    panel_a = Panel.objects.create(slug="a", name="A", programme=a)
    panel_b = Panel.objects.create(slug="b", name="B", programme=b)
    only_a = Respondent.objects.create(email="a@example.org", name="Aigerim", preferred_language="ru",
                                       external_ids={"bolashak": "B-1"})  # fmt: skip
    both = Respondent.objects.create(email="ab@example.org", name="Merged", preferred_language="en",
                                     external_ids={"bolashak": "B-2", "serpin": "S-2"})  # fmt: skip
    PanelMember.objects.create(panel=panel_a, respondent=only_a)
    PanelMember.objects.create(panel=panel_a, respondent=both)
    PanelMember.objects.create(panel=panel_b, respondent=both)
    try:
        apps = migrate(AFTER)
        PanelMember = apps.get_model("surveys", "PanelMember")
        Respondent = apps.get_model("surveys", "Respondent")
        mine = PanelMember.objects.get(respondent__email="a@example.org")
        assert (mine.name, mine.language, mine.external_ids) == ("Aigerim", "ru", {"bolashak": "B-1"})
        for member in PanelMember.objects.filter(respondent__email="ab@example.org"):
            assert (member.name, member.external_ids) == ("", {})  # neither programme gets the merged ids
        kept = Respondent.objects.get(email="ab@example.org").legacy_details
        assert kept == {
            "name": "Merged",
            "preferred_language": "en",
            "external_ids": {"bolashak": "B-2", "serpin": "S-2"},
        }
    finally:
        migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
