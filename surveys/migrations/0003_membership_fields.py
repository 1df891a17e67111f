from django.db import migrations, models


def copy_to_memberships(apps, schema_editor):
    """What each panel holds about a person moves from the shared respondent to the membership."""
    PanelMember = apps.get_model("surveys", "PanelMember")
    members = list(PanelMember.objects.select_related("respondent"))
    for member in members:
        member.name = member.respondent.name
        member.language = member.respondent.preferred_language
        member.external_ids = member.respondent.external_ids
    PanelMember.objects.bulk_update(members, ["name", "language", "external_ids"], batch_size=1000)


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
        migrations.RunPython(copy_to_memberships, migrations.RunPython.noop),
        migrations.RemoveField(model_name="respondent", name="external_ids"),
        migrations.RemoveField(model_name="respondent", name="name"),
        migrations.RemoveField(model_name="respondent", name="preferred_language"),
    ]
