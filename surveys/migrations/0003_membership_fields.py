from django.db import migrations, models


def copy_to_memberships(apps, schema_editor):
    """What each panel holds about a person moves from the shared respondent to the membership.

    Earlier imports merged every programme's ids and names into the one shared record, so
    they are copied to the memberships only where all of a person's panels belong to one
    programme. For a person on panels of several programmes the merged values are kept on
    the respondent as `legacy_details`, which only superusers see, rather than handed to
    every programme."""
    PanelMember = apps.get_model("surveys", "PanelMember")
    Respondent = apps.get_model("surveys", "Respondent")
    members = list(PanelMember.objects.select_related("respondent", "panel"))
    programmes: dict[int, set] = {}
    for member in members:
        programmes.setdefault(member.respondent_id, set()).add(member.panel.programme_id)
    shared = {pk for pk, owners in programmes.items() if len(owners) > 1}
    for member in members:
        member.language = member.respondent.preferred_language
        if member.respondent_id not in shared:
            member.name = member.respondent.name
            member.external_ids = member.respondent.external_ids
    PanelMember.objects.bulk_update(members, ["name", "language", "external_ids"], batch_size=1000)
    legacy = []
    for respondent in Respondent.objects.filter(pk__in=shared):
        respondent.legacy_details = {
            "name": respondent.name,
            "preferred_language": respondent.preferred_language,
            "external_ids": respondent.external_ids,
        }
        legacy.append(respondent)
    Respondent.objects.bulk_update(legacy, ["legacy_details"], batch_size=1000)


class Migration(migrations.Migration):
    dependencies = [
        ("surveys", "0002_waves_panels_invitations"),
    ]

    operations = [
        migrations.AddField(
            model_name="panelmember",
            name="external_ids",
            field=models.JSONField(blank=True, default=dict, help_text='e.g. {"bolashak": "B-2014-0031"}'),
        ),
        migrations.AddField(
            model_name="panelmember",
            name="language",
            field=models.CharField(
                choices=[("kk", "Қазақша"), ("ru", "Русский"), ("en", "English")], default="kk", max_length=8
            ),
        ),
        migrations.AddField(
            model_name="panelmember",
            name="name",
            field=models.CharField(blank=True, help_text="The name as this panel's import gave it.", max_length=200),
        ),
        migrations.AddField(
            model_name="respondent",
            name="legacy_details",
            field=models.JSONField(
                blank=True,
                default=dict,
                help_text="Details earlier imports merged from several programmes (superusers only).",
            ),
        ),
        migrations.RunPython(copy_to_memberships, migrations.RunPython.noop),
        migrations.RemoveField(model_name="respondent", name="external_ids"),
        migrations.RemoveField(model_name="respondent", name="name"),
        migrations.RemoveField(model_name="respondent", name="preferred_language"),
    ]
