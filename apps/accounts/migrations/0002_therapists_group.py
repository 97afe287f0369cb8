"""The Therapists group exists from the start: a therapist is a staff user in it."""

from django.db import migrations

THERAPISTS_GROUP = "Therapists"  # frozen copy of apps.accounts.models.THERAPISTS_GROUP


def create_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.get_or_create(name=THERAPISTS_GROUP)


def delete_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=THERAPISTS_GROUP).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(create_group, delete_group)]
